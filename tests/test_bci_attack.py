"""The BCI path on real recordings (ssvepy's SSVEP epochs) and their realistic variants: flat or zeroed stretches,
odd rates and stimulus frequencies, markers; results checked against offline computations written here."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import dataset
from wavegraph.nodes.models.ssvep import SSVEPDecoder, SSVEPTrialDecoder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, run_chunked

OCC = ["O1", "Oz", "O2", "PO3", "POz", "PO4", "PO7", "PO8"]
RATE = 256.0


@pytest.fixture(scope="module")
def real():
    """4 s of each of ssvepy's first 3 epochs (real SSVEP at 6 Hz), occipital channels, volts: (8, 3072)."""
    import mne

    ep = mne.read_epochs(dataset("ssvepy-epochs"), verbose="error").pick(OCC)
    return np.concatenate([e[:, : int(4 * RATE)] for e in ep.get_data()[:3]], axis=1)


def fbcca(**kw):
    return SSVEPDecoder(**{"method": "fbcca", "freqs": [6.0, 7.5, 10.0, 12.0], "window": 2.0, "step": 0.5, **kw})


def test_a_window_without_signal_gets_no_decision_and_is_counted(real, caplog):
    """A flat recording (every channel 0, or each at its own DC offset: electrodes off) was decided 6 Hz (the first
    frequency: every score 0) in every window, and windows inside a zeroed stretch after real EEG were decided on the
    sub-band filters' ringing (scores like real ones). They get NaN scores and no decision now, counted and said."""
    spec = signal_spec(RATE, OCC)
    n = real.shape[1]
    for flat in (np.zeros_like(real), np.linspace(-1e-4, 1e-4, len(OCC))[:, None] + np.zeros_like(real)):
        node = fbcca()
        with caplog.at_level(logging.WARNING, "wavegraph.ssvep"):
            out = run_chunked(node, flat, spec, [64] * (n // 64))
        assert out["out"].shape == (0, 3), f"decided {out['out'][:, 2]} on no signal"
        assert np.isnan(out["scores"]).all()
        assert node.counters["undecided_flat"] == out["scores"].shape[0] == 21
        assert "no signal" in caplog.text and "undecided_flat" in caplog.text
    # real EEG, then 6 s of zeros: the windows on the EEG are decided as without the zeros; those deep in the zeros
    # (the sub-bands' ringing under 0.1 nV) are not
    x = np.concatenate([real, np.zeros((len(OCC), int(6 * RATE)))], axis=1)
    ref = run_chunked(fbcca(), real, spec, [n])
    node = fbcca()
    got = run_chunked(node, x, spec, [n, x.shape[1] - n])
    k = ref["scores"].shape[0]
    np.testing.assert_array_equal(got["scores"][:k], ref["scores"])
    np.testing.assert_array_equal(got["out"][:k], ref["out"])
    assert np.isnan(got["scores"][-6:]).all() and node.counters["undecided_flat"] >= 6
    assert got["out"][-1, 0] < (n + 4 * RATE) / RATE  # no decision on a window starting 4 s into the zeros


def test_windows_without_signal_are_the_same_in_any_chunking(real):
    """Which windows have no signal is tracked across chunks (a constant stretch that starts and ends mid-chunk)."""
    x = real[:, :2048].copy()
    x[:, 700:1500] = x[:, 700:701]  # each channel held at its value (a frozen amplifier)
    whole = assert_streaming_equivalent(lambda: fbcca(window=1.0, step=0.25), x, signal_spec(RATE, OCC), rtol=1e-9)
    starts = np.arange(whole["scores"].shape[0]) * 64
    inside = (starts > 700) & (starts + 256 <= 1500)
    assert inside.sum() == 9 and np.isnan(whole["scores"][inside]).all()
    assert np.isfinite(whole["scores"][~inside]).all()


def test_a_trial_on_a_flat_stretch_gets_no_decision(real):
    """ssvep_trial_decoder: a marker whose window holds no signal was decided (the first frequency); now counted."""
    x = np.concatenate([real[:, :1024], np.zeros((len(OCC), 1024)) + 3e-5], axis=1)
    specs = {"in": signal_spec(RATE, OCC), "events": StreamSpec("events", 0.0, (3,), "float64")}
    node = SSVEPTrialDecoder(method="fbcca", freqs=[6.0, 7.5, 10.0, 12.0], window=1.0, pre=0.5)
    node.configure(specs)
    outs = [node.process({"events": Chunk(np.array([[1.0, 1.0, 1], [5.0, 1.0, 1]]), 1.0)})]
    outs += [node.process({"in": Chunk(x[:, i : i + 128], i / RATE)}) for i in range(0, x.shape[1], 128)]
    outs.append(node.finish())
    ev = np.concatenate([o["out"].data for o in outs if "out" in o])
    assert ev[:, 0].tolist() == [1.0]  # the trial on real EEG only
    assert node.counters == {"undecided_flat": 1}
