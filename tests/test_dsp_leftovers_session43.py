"""Session 43 leftovers of the DSP probe: a trigger after a filterbank, a too-short tuple parameter, mix's default
mean over a trigger, a non-whole marker code, car on MEG, resample's error for a tiny rate. Each failed before."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
from peer_hints import one_node, problems
from wavegraph.nodes.dsp.bandpower import Bandpower
from wavegraph.nodes.dsp.channels import CAR, Mix, Rereference
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.nodes.dsp.filterbank import Filterbank
from wavegraph.nodes.dsp.filters import Bandpass, Notch
from wavegraph.nodes.dsp.fir import FIR
from wavegraph.nodes.dsp.resample import Resample
from wavegraph.nodes.dsp.scaling import RunningZScore
from wavegraph.nodes.dsp.windows import STFT
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec

RATE = 250.0
NAMES, TYPES = ["C3", "C4", "STI"], ("eeg", "eeg", "stim")


def _eeg_with_trigger(n=1000):
    x = np.random.default_rng(0).standard_normal((3, n))
    x[2] = 0.0
    x[2, 100:110], x[2, 501] = 5.0, 3.0
    return x


def _run(node, spec, x, cut=None):
    """The node's output on x, whole, or in two chunks split at `cut`."""
    node.configure({"in": spec})
    parts = [x] if cut is None else [x[..., :cut], x[..., cut:]]
    outs = [node.process({"in": Chunk(p, t0=i * (cut or 0) / RATE)}) for i, p in enumerate(parts)]
    return np.concatenate([o["out"].data for o in outs if o], axis=-1)


NODES = {
    "notch": lambda: Notch(freq=50.0),
    "bandpass": lambda: Bandpass(l_freq=1.0, h_freq=40.0),
    "fir": lambda: FIR(l_freq=1.0, h_freq=40.0, numtaps=51),
    "running_zscore": lambda: RunningZScore(window=1.0),
    "resample": lambda: Resample(rate=125.0),
}


@pytest.mark.parametrize("kind", list(NODES))
def test_a_trigger_after_a_filterbank_keeps_its_codes_as_without_the_band_axis(kind, caplog):
    """filterbank -> notch/bandpass/fir/running_zscore/resample: the trigger channel of each band came out filtered
    (trigger_channels took only a (channels,) signal); now each band's trigger row is what the same node makes of it
    without the band axis, and its EEG rows are filtered as before."""
    spec = signal_spec(RATE, NAMES).evolve(channel_types=TYPES)
    x = _eeg_with_trigger()
    fb = Filterbank(bands=[[8, 30], [12, 40]])
    banded = _run(fb, spec, x)
    with caplog.at_level(logging.INFO, logger="wavegraph.triggers"):
        got = _run(NODES[kind](), fb.out_specs["out"], banded, cut=333)
    want = _run(NODES[kind](), spec, x, cut=333)
    for band in range(2):
        np.testing.assert_array_equal(got[band, 2], want[2])
        eeg = _run(NODES[kind](), spec, banded[band], cut=333)[:2]  # (resample's matmul rounds by rows: 4e-16)
        np.testing.assert_allclose(got[band, :2], eeg, rtol=1e-12, atol=1e-15)
    assert set(np.unique(got[:, 2])) <= {0.0, 3.0, 5.0}
    assert "its trigger channel(s) STI" in caplog.text


@pytest.mark.parametrize(
    "make", [lambda: Bandpower(bands={"alpha": [8, 12]}, window=1.0, hop=0.5), lambda: STFT(n_fft=64, hop=32)]
)
def test_bandpower_and_stft_after_a_filterbank_leave_the_trigger_out(make):
    """bandpower and stft took a filter bank's trigger rows for data (features of 2 bands x 3 channels); now they
    leave them out as they do for a (channels,) signal: each band's features are those of its EEG channels."""
    spec = signal_spec(RATE, NAMES).evolve(channel_types=TYPES)
    x = _eeg_with_trigger()
    fb = Filterbank(bands=[[8, 30], [12, 40]])
    banded = _run(fb, spec, x)
    node = make()
    got = _run(node, fb.out_specs["out"], banded)
    per_band = [_run(make(), spec, banded[k]) for k in range(2)]
    assert node.out_specs["out"].shape[0] == 2 * make().configure({"in": spec})["out"].shape[0]
    assert "STI" not in node.out_specs["out"].channel_names
    got = got.reshape(got.shape[0], 2, -1)  # (frames, bands, the band's features)
    for k in range(2):
        np.testing.assert_allclose(got[:, k], per_band[k], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("node_type", "params", "said", "fix"),
    [
        (
            "epochs",
            "{baseline: [0.1]}",
            "parameter 'baseline' = [0.1]: 1 value where it takes 2 (a tuple[float | None, float | None])",
            "give all 2: baseline: [0.1, <float | None>]",
        ),
        (
            "filterbank",
            "{bands: [[8, 12], [30]]}",
            "parameter 'bands'[1] = [30]: 1 value where it takes 2 (a tuple[float, float])",
            "give all 2: bands[1]: [30, <float>]",
        ),
        (
            "epochs",
            "{baseline: []}",
            "parameter 'baseline' = []: 0 values where it takes 2",
            "baseline: [<float | None>, <float | None>]",
        ),
    ],
)
def test_a_tuple_given_too_few_values_says_so_not_missing_parameter(
    tmp_path, monkeypatch, capsys, node_type, params, said, fix
):
    """`baseline: [0.1]` was "missing parameter 'baseline'; fix: add params: {baseline: ...}", though it is there:
    pydantic's 'Field required' at the tuple's second position. Now one line says how many values it takes."""
    (line,) = problems(tmp_path, monkeypatch, capsys, one_node(node_type, params))
    assert said in line and line.endswith(fix), line
    assert "missing parameter" not in line


def test_mix_leaves_a_trigger_out_of_its_default_mean():
    """mix (the mean of the channels) averaged a trigger's codes into the signal, and a trigger first made the mix
    typed stim; now the default mean is over the other channels, as MNE's picks='data'."""
    spec = signal_spec(RATE, ["STI", "C3", "C4"]).evolve(channel_types=("stim", "eeg", "eeg"))
    x = _eeg_with_trigger()[[2, 0, 1]]
    node = Mix()
    got = _run(node, spec, x)
    np.testing.assert_allclose(got[0], x[1:].mean(axis=0), rtol=0, atol=1e-15)
    assert node.out_specs["out"].channel_types == ("eeg",)
    weighted = _run(Mix(weights=[1.0, 0.0, 0.0]), spec, x)  # (weights still mix what they name)
    np.testing.assert_array_equal(weighted[0], x[0])
    with pytest.raises(SpecError, match="every channel of its input is a trigger") as e:
        Mix().configure({"in": signal_spec(RATE, ["S1", "S2"], "stim")})
    assert "weights" in e.value.hint


def test_epochs_a_non_whole_marker_code_matches_no_integer_code(caplog):
    """A marker of code 2.5 was cast to 2 and epoched under `codes: [2]` (and its code said as 2); MNE's event ids are
    integers: it matches none, counted ignored_marker and said once."""
    node = Epochs(tmin=-0.1, tmax=0.2, codes=[2])
    node.configure({"in": signal_spec(100.0, ["C3"]), "events": StreamSpec("events", 0.0, (3,))})
    x = np.random.default_rng(0).standard_normal((1, 400))
    markers = np.array([[1.0, 0, 2.5], [2.0, 0, 2.0], [3.0, 0, 1.5]])
    with caplog.at_level(logging.WARNING, logger="wavegraph.markers"):
        outs = [node.process({"in": Chunk(x, 0.0)}), node.process({"events": Chunk(markers, 1.0)})]
        outs += node.finish_all()
    codes = [row[2] for o in outs if o and "events" in o for row in o["events"].data]
    assert codes == [2.0]
    assert node.counters["ignored_marker"] == 2
    said = [r.getMessage() for r in caplog.records if "no whole number" in r.getMessage()]
    assert len(said) == 1 and "2.5" in said[0] and "fix:" in said[0]


def test_epochs_a_non_whole_code_is_not_taken_for_a_bad_segment_code():
    """A marker 3.5 in a stream whose code 3 labels BAD_ segments was cast to 3 and dropped its own epoch as a bad
    segment (bad_segments.py), as it matched `codes: [3]`."""
    events = StreamSpec("events", 0.0, (3,), labels=((3, "BAD_blink"),))
    node = Epochs(tmin=-0.1, tmax=0.2)
    node.configure({"in": signal_spec(100.0, ["C3"]), "events": events})
    x = np.random.default_rng(0).standard_normal((1, 400))
    outs = [node.process({"in": Chunk(x, 0.0)}), node.process({"events": Chunk(np.array([[2.0, 0, 3.5]]), 2.0)})]
    outs += node.finish_all()
    assert [row[2] for o in outs if o and "events" in o for row in o["events"].data] == [3.5]


def test_car_refuses_a_meg_stream_without_eeg_as_mne():
    """car on magnetometers and gradiometers averaged them together (T with T/m) and subtracted it from both;
    mne.set_eeg_reference refuses a stream without EEG (ECoG, sEEG, DBS), with ref_channels named too."""
    mne = pytest.importorskip("mne")
    names, types = ["MEG0111", "MEG0112", "MEG0113", "MEG0121", "STI"], ["mag", "grad", "grad", "mag", "stim"]
    x = np.random.default_rng(0).standard_normal((5, 20)) * np.array([[1e-13], [1e-11], [1e-11], [1e-13], [1.0]])
    raw = mne.io.RawArray(x, mne.create_info(names, 100.0, types), verbose="error")
    with pytest.raises(ValueError, match="No EEG"):
        mne.set_eeg_reference(raw, copy=True, verbose="error")
    spec = signal_spec(100.0, names).evolve(channel_types=tuple(types))
    for node in (CAR(), CAR(ref_channels=["MEG0111", "MEG0121"]), Rereference(channel="MEG0111")):
        with pytest.raises(SpecError, match=r"MEG channels \(mag, grad\) and no EEG") as e:
            node.configure({"in": spec})
        assert "remove" in e.value.hint
    # EEG beside the MEG: only the EEG is re-referenced, as before and as MNE
    both = signal_spec(100.0, [*names, "EEG001", "EEG002"]).evolve(channel_types=(*types, "eeg", "eeg"))
    y = np.vstack([x, np.random.default_rng(1).standard_normal((2, 20))])
    got = _run(CAR(), both, y)
    np.testing.assert_array_equal(got[:5], y[:5])
    np.testing.assert_allclose(got[5:], y[5:] - y[5:].mean(axis=0), rtol=0, atol=1e-15)


@pytest.mark.parametrize("rate", [1e-300, 1e-320, 5e-324])
def test_resample_to_a_tiny_rate_is_refused_in_readable_numbers(rate):
    """`rate: 1e-300` was refused with up/down written out in 303 digits (twice); 1e-320 raised OverflowError (a
    float division of the filter's size), no SpecError."""
    with pytest.raises(SpecError) as e:
        Resample(rate=rate).configure({"in": signal_spec(RATE, ["C3"])})
    said = f"{e.value} {e.value.hint}"
    assert not re.search(r"\d{16}", said), said
    assert "up/down = 1/" in said and "e+" in said and len(said) < 700, said
