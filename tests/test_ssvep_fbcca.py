"""SSVEP decoding without training: ITR, FBCCA (models/ssvep.py) and the ssvep_decoder node with method fbcca."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import dataset
from wavegraph.models.ssvep import FBCCA, fbcca_bands, filter_bank, itr_bits, itr_bits_per_min
from wavegraph.nodes.models.ssvep import SSVEPDecoder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, run_chunked

NAMES = ["PO3", "POz", "PO4", "O1", "Oz", "O2"]


def ssvep(freq, rate=250.0, seconds=4.0, snr_amp=1.0, seed=0, n_ch=6):
    """A 6-channel SSVEP at `freq` (2 harmonics, per-channel gain and phase) in white noise of std 1."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    gains = rng.uniform(0.5, 1.0, n_ch)[:, None]
    s = np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)) + 0.5 * np.sin(4 * np.pi * freq * t + 1.0)
    return snr_amp * gains * s[None] + rng.standard_normal((n_ch, t.size))


def test_itr_matches_a_hand_computed_value():
    # M = 40, P = 0.9, T = 1.0 s window + 0.5 s gaze shift:
    # B = log2(40) + 0.9 log2(0.9) + 0.1 log2(0.1/39) = 5.321928 - 0.136803 - 0.860733 = 4.324392 bits
    # ITR = 4.324392 * 60 / 1.5 = 172.976 bits/min
    assert itr_bits(40, 0.9) == pytest.approx(4.324392, abs=1e-5)
    assert itr_bits_per_min(40, 0.9, 1.0, 0.5) == pytest.approx(172.976, abs=1e-2)
    assert itr_bits(8, 1.0) == pytest.approx(3.0)  # perfect: log2 M
    assert itr_bits(4, 0.25) == 0.0 and itr_bits(4, 0.1) == 0.0  # at or below chance
    with pytest.raises(ValueError):
        itr_bits(1, 0.5)


def test_fbcca_bands_follow_the_paper_and_clip_to_nyquist():
    assert fbcca_bands(250.0) == [(6.0, 90.0), (14.0, 90.0), (22.0, 90.0), (30.0, 90.0), (38.0, 90.0)]
    assert fbcca_bands(160.0)[0] == (6.0, 72.0)
    m = FBCCA([8.0], 250.0)
    n = np.arange(1, 6)
    np.testing.assert_allclose(m.weights, n**-1.25 + 0.25)


@pytest.mark.parametrize("freq", [8.0, 10.0, 12.4, 15.0])
def test_fbcca_finds_the_stimulus_frequency_in_noise(freq):
    freqs = [8.0, 9.0, 10.0, 11.0, 12.4, 13.0, 15.0]
    m = FBCCA(freqs, 250.0)
    x = ssvep(freq, snr_amp=0.6, seed=int(freq * 10))
    assert freqs[int(m.predict(x[None, :, :500])[0])] == freq


def make_node(**kw):
    params = dict(method="fbcca", freqs=[6.0, 7.5, 8.57, 10.0], window=1.0, step=0.5)
    params.update(kw)
    return SSVEPDecoder(**params)


def test_streaming_equals_offline_fbcca():
    rate = 250.0
    x = np.concatenate([ssvep(7.5, seconds=3, seed=1), ssvep(10.0, seconds=3, seed=2)], axis=1) * 1e-5
    spec = signal_spec(rate, NAMES)
    chunkings = [
        [1] * 300 + [x.shape[1] - 300],
        [37] * (x.shape[1] // 37) + [x.shape[1] % 37],
        [x.shape[1] // 2, x.shape[1] - x.shape[1] // 2],
    ]
    out = assert_streaming_equivalent(make_node, x, spec, chunkings=chunkings, rtol=1e-9, atol=1e-12)
    # offline reference: causal filter bank over the whole signal, then FBCCA on each window
    node = make_node()
    node.configure({"in": spec})
    y = filter_bank(x, node.scorer.sos)[0]
    ref = np.stack([node.scorer.scores(y[..., k * 125 : k * 125 + 250]) for k in range((x.shape[1] - 250) // 125 + 1)])
    np.testing.assert_allclose(out["scores"], ref, rtol=1e-9)
    ev = out["out"]
    assert ev.shape == (ref.shape[0], 3)
    np.testing.assert_allclose(ev[:, 0], np.arange(ref.shape[0]) * 0.5)  # window starts
    assert (ev[:, 1] == 1.0).all()
    codes = ev[:, 2].astype(int)
    # after the filter settles, the first half decodes 7.5 Hz (code 2), the last windows 10 Hz (code 4)
    assert (codes[1:4] == 2).all() and (codes[-4:] == 4).all()
    assert node.out_specs["out"].labels == ((1, "6"), (2, "7.5"), (3, "8.57"), (4, "10"))
    assert node.latency_samples == 249 and node.latency_seconds == pytest.approx(0.996)


def test_state_round_trip_and_gap_reset():
    rate = 250.0
    x = ssvep(8.57, seconds=4, seed=3) * 1e-5
    spec = signal_spec(rate, NAMES)
    whole = run_chunked(make_node(), x, spec, [x.shape[1]])
    a = make_node()
    a.configure({"in": spec})
    first = a.process({"in": Chunk(x[:, :333], 0.0)})
    b = make_node()
    b.configure({"in": spec})
    b.load_state_dict(a.state_dict())
    rest = b.process({"in": Chunk(x[:, 333:], 333 / rate)})
    got = np.concatenate([first["scores"].data, rest["scores"].data])
    np.testing.assert_allclose(got, whole["scores"], rtol=1e-12)
    # a gap restarts the filters and the windows at the gap chunk's own time
    c = make_node()
    c.configure({"in": spec})
    c.process({"in": Chunk(x[:, :300], 0.0)})
    out = c.process({"in": Chunk(x[:, 300:], 100.0, gap=True)})
    assert c.counters["samples_dropped_at_gap"] == 300 - 125  # held from the next window start (sample 125) on
    ref = make_node()
    ref.configure({"in": spec})
    ref_out = ref.process({"in": Chunk(x[:, 300:], 100.0)})
    np.testing.assert_allclose(out["scores"].data, ref_out["scores"].data)
    assert out["out"].data[0, 0] == 100.0 and out["scores"].gap


def test_nan_propagate_gives_nan_scores_and_no_decision():
    x = ssvep(10.0, seconds=3, seed=4) * 1e-5
    x[2, 400] = np.nan
    node = make_node(nan_policy="propagate")
    node.configure({"in": signal_spec(250.0, NAMES)})
    out = node.process({"in": Chunk(x, 0.0)})
    s = out["scores"].data
    hit = [k for k in range(s.shape[0]) if k * 125 <= 400 < k * 125 + 250]
    assert np.isnan(s[hit]).all() and np.isfinite(np.delete(s, hit, axis=0)).all()
    assert len(out["out"].data) == s.shape[0] - len(hit)


def test_spec_errors():
    spec = signal_spec(100.0, NAMES)
    with pytest.raises(SpecError, match="Nyquist"):
        make_node(freqs=[6.0, 60.0]).configure({"in": spec})
    with pytest.raises(SpecError, match=r"channels \['Cz'\] are not in the stream"):
        make_node(channels=["O1", "Cz"]).configure({"in": spec})
    with pytest.raises(ValueError, match="needs `freqs`"):
        SSVEPDecoder(method="fbcca")
    with pytest.raises(ValueError, match="needs `checkpoint`"):
        SSVEPDecoder(method="dnn")


def test_fbcca_node_on_real_ssvep_recording():
    """ssvepy's example epochs (real SSVEP, 6 Hz): 2 s windows over occipital channels pick 6 Hz among 5
    (after a causal 50 Hz notch, as in the live graph: the 5th harmonic of 10 Hz is the mains line)."""
    path = dataset("ssvepy-epochs")
    import mne

    ep = mne.read_epochs(path, verbose="error").pick(["O1", "Oz", "O2", "PO3", "POz", "PO4", "Iz"])
    from scipy.signal import iirnotch, lfilter

    b, a = iirnotch(50.0, 30.0, fs=ep.info["sfreq"])
    data = lfilter(b, a, ep.get_data()[:4], axis=-1)  # 4 epochs x 16 s
    spec = signal_spec(ep.info["sfreq"], ep.ch_names)
    hits = total = 0
    for x in data:
        node = make_node(freqs=[6.0, 6.67, 7.5, 8.57, 10.0], window=2.0, step=1.0)
        codes = run_chunked(node, x, spec, [512] * (x.shape[1] // 512))["out"][:, 2]
        hits += int((codes == 1).sum())
        total += codes.size
    assert hits / total > 0.8, f"6 Hz chosen in {hits}/{total} windows"


def test_trial_decoder_equals_offline_and_drops_late_markers():
    """ssvep_trial_decoder: one decision per marker on [marker + delay, + window], filtered from zero state
    `pre` s before the marker (offline: sosfilt on that span); a marker later than max_delay is counted."""
    from scipy.signal import sosfilt
    from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
    from wavegraph.pipeline.spec import StreamSpec

    rate, freqs = 250.0, [6.0, 7.5, 8.57, 10.0]
    x = np.concatenate([ssvep(f, seconds=3, seed=i) for i, f in enumerate([7.5, 10.0, 6.0, 8.57])], axis=1) * 1e-5
    markers = np.array([[0.5, 2.0, 2], [3.4, 2.0, 4], [6.2, 2.0, 1], [4.8, 2.0, 4]])
    specs = {"in": signal_spec(rate, NAMES), "events": StreamSpec("events", 0.0, (3,), "float64")}
    node = SSVEPTrialDecoder(method="fbcca", freqs=freqs, window=1.0, delay=0.2, pre=0.5, max_delay=2.0)
    node.configure(specs)
    outs = [node.process({"events": Chunk(markers[:3], 0.5)})]  # early markers
    for i in range(0, x.shape[1], 100):
        outs.append(node.process({"in": Chunk(x[:, i : i + 100], i / rate)}))
    outs.append(node.process({"events": Chunk(markers[3:], 4.8)}))  # 7 s after its samples: too late
    ev = np.concatenate([o["out"].data for o in outs if "out" in o])
    sc = np.concatenate([o["scores"].data for o in outs if "scores" in o])
    assert node.counters == {"late_marker": 1}
    np.testing.assert_allclose(ev[:, 0], markers[:3, 0])
    assert list(ev[:, 2]) == [2, 4, 1]  # the simulated targets
    for row, (t, _, _) in zip(sc, markers[:3]):
        s = int(round(t * rate))
        seg = x[:, s - 125 : s + 50 + 250]
        y = np.stack([sosfilt(sos, seg, axis=-1) for sos in node.scorer.sos])[..., -250:]
        np.testing.assert_allclose(row, node.scorer.scores(y), rtol=1e-10)


def test_trial_decoder_takes_the_times_from_the_first_timed_chunk():
    """A first signal chunk with t0 NaN (a source that had no time for it yet) failed the trial decoder at the
    first pending marker (int(NaN) in its sample lookup): the run exited 1. Those samples now take their times
    from the first chunk that has one, less the samples before it: the same decisions as with every time known."""
    from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
    from wavegraph.pipeline.spec import StreamSpec

    rate = 250.0
    x = np.concatenate([ssvep(f, seconds=3, seed=i) for i, f in enumerate([7.5, 10.0])], axis=1) * 1e-5
    markers = Chunk(np.array([[0.6, 2.0, 1], [3.4, 2.0, 2]]), 0.6)
    specs = {"in": signal_spec(rate, NAMES), "events": StreamSpec("events", 0.0, (3,), "float64")}

    def run(first_t0):
        node = SSVEPTrialDecoder(method="fbcca", freqs=[7.5, 10.0], window=1.0, delay=0.2, pre=0.5, max_delay=2.0)
        node.configure(specs)
        outs = [node.process({"events": markers})]
        for i in range(0, x.shape[1], 100):
            outs.append(node.process({"in": Chunk(x[:, i : i + 100], first_t0 if i == 0 else i / rate)}))
        return np.concatenate([o["out"].data for o in outs if "out" in o]), node.counters

    (want, want_counters), (got, counters) = run(0.0), run(float("nan"))
    assert want[:, 2].tolist() == [1, 2]
    np.testing.assert_array_equal(got, want)
    assert counters == want_counters


def test_trial_decoder_counts_the_markers_the_signal_never_completed():
    """A marker whose window runs past the end of the signal was dropped at the end of the run without a
    count (a calibration run cut short lost its last trials unsaid); it is counted `after_end` now."""
    from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
    from wavegraph.pipeline.spec import StreamSpec

    rate = 250.0
    x = np.concatenate([ssvep(f, seconds=3, seed=i) for i, f in enumerate([7.5, 10.0])], axis=1) * 1e-5
    node = SSVEPTrialDecoder(method="fbcca", freqs=[7.5, 10.0], window=1.0, delay=0.2, pre=0.5, max_delay=2.0)
    node.configure({"in": signal_spec(rate, NAMES), "events": StreamSpec("events", 0.0, (3,), "float64")})
    outs = [node.process({"events": Chunk(np.array([[0.6, 2.0, 1], [5.5, 2.0, 2]]), 0.6)})]
    outs += [node.process({"in": Chunk(x[:, i : i + 100], i / rate)}) for i in range(0, x.shape[1], 100)]
    outs.append(node.finish())  # 5.5 s + 0.2 + 1 s of window: past the 6 s of signal
    assert [float(o["out"].data[0, 0]) for o in outs if "out" in o] == [0.6]
    assert node.counters == {"after_end": 1}


@pytest.mark.parametrize("node_type", ["ssvep_decoder", "ssvep_trial_decoder"])
@pytest.mark.parametrize(
    "params,said",
    [
        (dict(freqs=[8.0, 10.0, 8.0]), "`freqs` lists 8.0 more than once"),  # two targets that split their votes
        (dict(freqs=[8.0, 10.0], channels=["O1", "Oz", "O1"]), "`channels` lists O1 more than once"),
    ],
)
def test_a_frequency_or_channel_listed_twice_is_refused(node_type, params, said):
    # Before: accepted; a repeated frequency was a second class that FBCCA scored the same as the first.
    from pydantic import ValidationError
    from wavegraph.pipeline.registry import lookup

    with pytest.raises(ValidationError, match=said):
        lookup(node_type)(**params)
