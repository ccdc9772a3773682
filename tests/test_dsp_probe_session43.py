"""Session 43 probe of the DSP node library: misbehaviours a user coming from MNE / scipy found, each fixed."""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

mne = pytest.importorskip("mne")


def _epochs_of(node, x, rate, onset):
    node.configure({"in": signal_spec(rate, ["C3", "C4"]), "events": StreamSpec("events", 0.0, (3,))})
    outs = [node.process({"in": Chunk(x, t0=0.0)}), node.process({"events": Chunk(np.array([[onset, 0, 1]]), onset)})]
    outs += node.finish_all()
    return np.concatenate([o["out"].data for o in outs if o])


@pytest.mark.parametrize("baseline", [(-0.103, 0.0), (-0.2, -0.013), (None, -0.013)])
def test_epochs_baseline_takes_the_samples_inside_it_as_mne_epochs(baseline):
    """baseline ends off the sample grid were rounded to the nearest sample, which may lie outside [a, b]: (-0.103, 0)
    at 250 Hz averaged from the sample at -0.104; mne.Epochs (and the docs) take the samples with times in [a, b]."""
    rate, x = 250.0, np.random.default_rng(0).standard_normal((2, 2000))
    got = _epochs_of(Epochs(tmin=-0.2, tmax=0.5, baseline=baseline), x, rate, 2.0)
    raw = mne.io.RawArray(x, mne.create_info(["C3", "C4"], rate, "eeg"), verbose="error")
    want = mne.Epochs(raw, np.array([[500, 0, 1]]), tmin=-0.2, tmax=0.5, baseline=baseline, verbose="error")
    np.testing.assert_allclose(got, want.get_data(), rtol=0, atol=1e-12)


def test_car_with_named_ref_channels_leaves_a_trigger_eog_and_bads_as_mne():
    """car with ref_channels named re-referenced every channel: a trigger's codes came out minus the reference, an EOG
    and a bad channel too; mne.set_eeg_reference(ref_channels=[...]) re-references the good EEG channels only, as car
    does by default."""
    from wavegraph.nodes.dsp.channels import CAR

    names, types = ["C3", "C4", "Cz", "EOG", "STI"], ["eeg", "eeg", "eeg", "eog", "stim"]
    x = np.random.default_rng(0).standard_normal((5, 50))
    x[4] = 0.0
    x[4, 10] = 5.0
    node = CAR(ref_channels=["C3", "C4"])
    node.configure({"in": signal_spec(100.0, names).evolve(channel_types=tuple(types), bads=("Cz",))})
    got = node.process({"in": Chunk(x, 0.0)})["out"].data
    raw = mne.io.RawArray(x, mne.create_info(names, 100.0, types), verbose="error")
    raw.info["bads"] = ["Cz"]
    want = mne.set_eeg_reference(raw, ref_channels=["C3", "C4"], copy=True, verbose="error")[0].get_data()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_car_leaves_a_bad_channel_out_of_a_stream_of_misc_channels():
    """A stream whose channels are all typed misc (an LSL stream that gives no types, a recorder's CSV of one) with a
    channel marked bad: car averaged the bad channel in (a broken one at 100 V moved every other by -25 V), where the
    docs say channels the source marks bad stay out of the average and pass through, as for EEG."""
    from wavegraph.nodes.dsp.channels import CAR

    node = CAR()
    node.configure({"in": signal_spec(100.0, ["a", "b", "c", "d"], "misc").evolve(bads=("d",))})
    x = np.random.default_rng(0).standard_normal((4, 20))
    x[3] += 100.0
    got = node.process({"in": Chunk(x, 0.0)})["out"].data
    np.testing.assert_allclose(got[:3], x[:3] - x[:3].mean(axis=0), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got[3], x[3])


def test_epochs_buffer_error_names_the_terms_that_make_it():
    """tmin: 1e9, tmax: 1e9 (an epoch of one sample, 1e9 s after its marker) was refused as "tmax - tmin + max_delay
    = 1e+09 s", which is 10 s: the error names the terms it adds up (tmax + max_delay)."""
    from wavegraph.pipeline.spec import SpecError

    node = Epochs(tmin=1e9, tmax=1e9)
    with pytest.raises(SpecError, match=r"holds tmax \+ max_delay = 1e\+09 s") as e:
        node.configure({"in": signal_spec(128.0, ["C3"]), "events": StreamSpec("events", 0.0, (3,))})
    assert "keep tmax + max_delay at most" in e.value.hint


def test_an_iir_edge_a_hair_under_nyquist_is_told_to_move_it_not_only_to_resample():
    """lowpass 124.999999999 Hz at 250 Hz: the design's poles are 1 within float precision; the error said the edges
    were too small a fraction of the rate and to resample nearer the band, which puts the edge past Nyquist."""
    from wavegraph.nodes.dsp.filters import Lowpass
    from wavegraph.pipeline.spec import SpecError

    with pytest.raises(SpecError, match="too close to its Nyquist") as e:
        Lowpass(freq=125 - 1e-9).configure({"in": signal_spec(250.0, ["C3"])})
    assert "move an edge off Nyquist" in e.value.hint


@pytest.mark.parametrize("make", ["pick_drop", "reref_to_bad"])
def test_a_bad_channel_no_longer_in_the_stream_leaves_its_bads(make):
    """pick_channels dropping the channel the source marks bad, or rereference to it (dropped as the reference), kept
    its name in the output's bads, naming a channel the stream no longer has (an EDF recorder after it said that
    channel would read back as good)."""
    from wavegraph.nodes.dsp.channels import PickChannels, Rereference

    node = PickChannels(drop=["b"]) if make == "pick_drop" else Rereference(channel="b")
    out = node.configure({"in": signal_spec(100.0, ["a", "b", "c"]).evolve(bads=("b",))})["out"]
    assert out.channel_names == ("a", "c") and out.bads == ()


@pytest.mark.parametrize("marker_after_gap", [False, True])
def test_an_epoch_marker_on_a_half_sample_takes_the_same_sample_when_it_comes_after_a_gap(marker_after_gap):
    """A marker at 1.145 s of a 100 Hz stream (sample 114.5: MNE's round gives 114) took sample 114 when it arrived
    before the next segment (a gap), 115 when it came after it: once a later segment started, the tie was computed from
    the sample before (1.145 - 1.14 = 0.00500000000000012 s), not from its segment's start as before. An epoch one
    sample off with the arrival order (principle 1); each grid's start is now kept while samples of it are held."""
    node = Epochs(tmin=0.0, tmax=0.0)
    node.configure({"in": signal_spec(100.0, ["a"]), "events": StreamSpec("events", 0.0, (3,))})
    marker = {"events": Chunk(np.array([[1.145, 0.0, 1.0]]), 1.145)}
    outs = [node.process({"in": Chunk(np.arange(258.0)[None], 0.0)})]
    if not marker_after_gap:
        outs.append(node.process(marker))
    saved = node.state_dict()  # (the grids survive a state round trip)
    node = Epochs(tmin=0.0, tmax=0.0)
    node.configure({"in": signal_spec(100.0, ["a"]), "events": StreamSpec("events", 0.0, (3,))})
    node.load_state_dict(saved)
    outs.append(node.process({"in": Chunk(np.arange(1000.0, 1009.0)[None], 2.593, gap=True)}))
    if marker_after_gap:
        outs.append(node.process(marker))
    got = [o["out"].data.ravel().tolist() for o in [*outs, *node.finish_all()] if o]
    assert got == [[float(np.round(1.145 * 100))]] == [[114.0]]


def test_an_on_time_marker_whose_window_starts_in_a_gap_is_counted_so_in_any_chunking():
    """tmin -0.2 s, a marker 0.05 s into a segment after a gap: the window starts in the gap, counted gap_in_epoch when
    the segment came whole, but late_marker in small chunks (max_delay 0.3 s had pruned every sample before the gap, so
    the window start read as pruned): the fix said was max_delay, for a marker that came on time."""

    def counters(sizes):
        node = Epochs(tmin=-0.2, tmax=0.1, max_delay=0.3)
        node.configure({"in": signal_spec(100.0, ["a"]), "events": StreamSpec("events", 0.0, (3,))})
        node.process({"in": Chunk(np.zeros((1, 30)), 0.0)})  # 0 .. 0.29 s, then a gap to 1.0 s
        pos, x = 0, np.ones((1, 100))
        for n in sizes:
            if pos <= 5 < pos + n:  # the marker at 1.05 s comes with the chunk that holds it
                node.process({"events": Chunk(np.array([[1.05, 0.0, 1.0]]), 1.05)})
            node.process({"in": Chunk(x[:, pos : pos + n], 1.0 + pos / 100, gap=pos == 0)})
            pos += n
        node.finish_all()
        return node.counters

    assert counters([100]) == counters([4] * 25) == {"gap_in_epoch": 1}


def test_a_half_sample_marker_waiting_for_its_window_keeps_its_sample_when_the_one_before_is_pruned():
    """A marker at 1.055 s of a 100 Hz stream (MNE's round: sample 106), its window (tmin 0.05, tmax 0.55) not complete
    yet: in small chunks the samples before it were pruned up to sample 105, and the tie went to the first held one,
    105: the epoch came out one sample early; whole, 106."""

    def first_value(sizes):
        node = Epochs(tmin=0.05, tmax=0.55, max_delay=0.3)
        node.configure({"in": signal_spec(100.0, ["a"]), "events": StreamSpec("events", 0.0, (3,))})
        outs, pos, x = [], 0, np.arange(300.0)[None]
        for n in sizes:
            outs.append(node.process({"in": Chunk(x[:, pos : pos + n], pos / 100)}))
            pos += n
            if pos == 110:
                outs.append(node.process({"events": Chunk(np.array([[1.055, 0.0, 1.0]]), 1.055)}))
        return [o["out"].data[0, 0, 0] for o in [*outs, *node.finish_all()] if o]

    assert (
        first_value([110, 190]) == first_value([110] + [3] * 63 + [1]) == [float(np.round(1.055 * 100)) + 5] == [111.0]
    )


def test_running_zscore_of_meg_in_tesla_is_not_zeroed_and_a_flat_window_still_gives_zero():
    """The default eps (1e-12, in the signal's units) zeroed every z-score of a magnetometer's MEG (2e-13 T, as MNE
    gives it): silently flat output. With eps 0, a flat window must still give 0: its std is the rounding of its values
    (piecewise-flat 1e3-level data gave +-17)."""
    from wavegraph.nodes.dsp.scaling import RunningZScore

    rng = np.random.default_rng(0)
    x = np.zeros((2, 4000))
    x[0] = rng.standard_normal(4000) * 2e-13
    x[1] = np.repeat(rng.standard_normal(8) * 1e3, 500)
    node = RunningZScore(window=0.3)
    node.configure({"in": signal_spec(1000.0, ["MEG0111", "flat"], "mag")})
    y = node.process({"in": Chunk(x, 0.0)})["out"].data
    want = [
        (x[0, t] - x[0, max(0, t - 299) : t + 1].mean()) / x[0, max(0, t - 299) : t + 1].std() for t in range(1, 4000)
    ]
    np.testing.assert_allclose(y[0, 1:], want, rtol=1e-6)
    flat = [np.ptp(x[1, max(0, t - 299) : t + 1]) == 0 for t in range(4000)]
    assert np.abs(y[1][flat]).max() < 1e-6
