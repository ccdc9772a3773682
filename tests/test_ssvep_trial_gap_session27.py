"""ssvep_trial_decoder: a trial whose window [marker + delay, + window] starts after a gap that follows its marker.

The decoder found the window's first sample by counting `delay` samples on from the marker's sample, across the
gap as if the samples were continuous: with a marker at 1.9 s, a gap 2.0-2.5 s and delay 0.2 s it counted
short_preroll and decided on 2.6-3.6 s instead of the window 2.1-3.1 s, whose start the gap lost (the samples of the
missing span are later by the gap's length). Now a window that starts in a gap's missing span is dropped and counted
gap_in_trial (as a window a gap falls inside; epochs drops it as gap_in_epoch), and a window that starts after the gap
is decided on the samples of its own times (its pre-roll from the gap on, short_preroll).
"""

from __future__ import annotations

import numpy as np
import pytest
import wavegraph.nodes.models.ssvep as ssvep_module
from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder, _Samples
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec

RATE = 250.0
FREQS = [6.0, 7.5, 10.0]
SPECS = {
    "in": StreamSpec("signal", RATE, (3,), "float64", channel_names=("O1", "Oz", "O2")),
    "events": StreamSpec("events", 0.0, (3,), "float64"),
}


class _Recorded(_Samples):
    """The decoder's sample buffer, noting the time span of the window of every trial it filters."""

    windows: list[tuple[float, float]] = []

    def take(self, lo: int, hi: int) -> np.ndarray:
        size = int(round(1.0 * self.rate))  # the tests' window: 1 s
        _Recorded.windows.append((round(self.time(hi - size), 6), round(self.time_after(hi), 6)))
        return super().take(lo, hi)


@pytest.fixture
def recorded(monkeypatch):
    _Recorded.windows = []
    monkeypatch.setattr(ssvep_module, "_Samples", _Recorded)
    return _Recorded.windows


def _ssvep(times: np.ndarray, freq_at) -> np.ndarray:
    """An occipital SSVEP: the frequency freq_at(t) on three channels (10 uV), phases apart, with a little noise."""
    f = np.array([freq_at(t) for t in times])
    x = np.stack([np.sin(2 * np.pi * f * times + ph) for ph in (0.0, 0.4, 0.8)]) * 1e-5
    return x + np.random.default_rng(7).standard_normal(x.shape) * 1e-7


def _run(markers, gap=(2.0, 2.5), freq_at=lambda t: 6.0, delay=0.2, chunk=None, end=6.0):
    """Decide `markers` on a signal from 0 to `end` s that lost the samples of `gap` (the chunk after it flagged gap),
    fed in chunks of `chunk` samples (None: one per segment). (decisions as (onset, frequency), counters)."""
    node = SSVEPTrialDecoder(method="fbcca", freqs=FREQS, window=1.0, delay=delay, pre=0.5, max_delay=8)
    node.configure(SPECS)
    feeds = [{"events": Chunk(np.array([[m, 0.0, 1.0] for m in markers]), markers[0])}]
    for t_start, t_stop in ((0.0, gap[0]), (gap[1], end)):
        n = int(round((t_stop - t_start) * RATE))
        x = _ssvep(t_start + np.arange(n) / RATE, freq_at)
        step = chunk or n
        for i in range(0, n, step):
            feeds.append({"in": Chunk(x[:, i : i + step], t_start + i / RATE, gap=t_start > 0 and i == 0)})
    decided = []
    for outs in [*(node.process(f) for f in feeds), node.finish()]:
        if "out" in outs:
            decided += [(round(float(r[0]), 6), FREQS[int(r[2]) - 1]) for r in np.asarray(outs["out"].data)]
    return decided, dict(node.counters)


@pytest.mark.parametrize("chunk", [None, 25])
def test_a_window_that_starts_in_the_gap_is_dropped_as_gap_in_trial(recorded, chunk):
    # the helper's case: marker 1.9 s, gap 2.0-2.5 s, delay 0.2 s: the window 2.1-3.1 s lost its first 0.4 s
    decided, counts = _run([1.9, 4.0], chunk=chunk)
    assert counts == {"gap_in_trial": 1}  # before: {"short_preroll": 1}, and a decision on 2.6-3.6 s
    assert decided == [(4.0, 6.0)]
    assert recorded == [(4.2, 5.2)]  # only the 4 s trial was filtered, on its own window


@pytest.mark.parametrize("chunk", [None, 25])
def test_a_marker_inside_the_gap_whose_window_starts_there_is_dropped(recorded, chunk):
    decided, counts = _run([2.1, 4.0], chunk=chunk)  # window 2.3-3.3 s: starts in the gap 2.0-2.5 s
    assert counts == {"gap_in_trial": 1}  # before: decided on 2.7-3.7 s
    assert decided == [(4.0, 6.0)]
    assert recorded == [(4.2, 5.2)]


@pytest.mark.parametrize("chunk", [None, 25])
def test_a_window_after_the_gap_is_decided_on_its_own_samples(recorded, chunk):
    # marker 1.9 s, gap 2.0-3.0 s, delay 1.2 s: the window 3.1-4.1 s is wholly after the gap; 10 Hz there, 6 Hz after
    # 4.1 s, where the decoder looked before (4.1-5.1 s: `delay` counted in samples across the lost second)
    decided, counts = _run([1.9], gap=(2.0, 3.0), delay=1.2, freq_at=lambda t: 10.0 if t < 4.1 else 6.0, chunk=chunk)
    assert recorded == [(3.1, 4.1)]
    assert decided == [(1.9, 10.0)]  # before: (1.9, 6.0)
    assert counts == {"short_preroll": 1}  # filtered from the gap's end (3.0 s), not from 1.4 s


@pytest.mark.parametrize("chunk", [None, 25])
def test_a_marker_inside_the_gap_with_its_window_after_it_is_decided_on_its_own_samples(recorded, chunk):
    # marker 2.3 s in the gap 2.0-3.0 s, delay 0.9 s: the window 3.2-4.2 s; 10 Hz there, 7.5 Hz after
    decided, counts = _run([2.3], gap=(2.0, 3.0), delay=0.9, freq_at=lambda t: 10.0 if t < 4.2 else 7.5, chunk=chunk)
    assert recorded == [(3.2, 4.2)]  # before: 4.2-5.2 s
    assert decided == [(2.3, 10.0)]  # before: (2.3, 7.5)
    assert counts == {"short_preroll": 1}


def test_a_trial_before_the_gap_and_one_spanning_it_are_as_before(recorded):
    # unchanged: a window wholly before the gap is decided; one the gap falls inside is gap_in_trial
    decided, counts = _run([0.6, 1.5], freq_at=lambda t: 7.5)
    assert decided == [(0.6, 7.5)]
    assert recorded == [(0.8, 1.8)]
    assert counts == {"gap_in_trial": 1}
