"""An amplifier whose real rate is off its nominal rate (clock drift): lsl_inlet's chunk times follow the
LSL timestamps (a smoothed fit), so epochs cut the sample each marker points at even after minutes; a
real jump in the timestamps is still a gap. Loopback LSL; the outlet pushes two minutes of samples at
once with explicit timestamps (as an amplifier would have stamped them), so the test takes seconds."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from unittest import mock  # noqa: E402

import numpy as np  # noqa: E402
import pylsl  # noqa: E402
from wavegraph.nodes.dsp.epochs import Epochs  # noqa: E402
from wavegraph.nodes.dsp.resample import Resample  # noqa: E402
from wavegraph.nodes.io import lsl  # noqa: E402
from wavegraph.nodes.io.lsl import LslInlet  # noqa: E402
from wavegraph.nodes.models.ssvep import _Samples  # noqa: E402
from wavegraph.pipeline.chunk import Chunk  # noqa: E402
from wavegraph.pipeline.spec import StreamSpec  # noqa: E402

RATE = 500.0
DRIFT = 500e-6  # the amplifier runs 500 ppm fast: its samples are 1/(RATE*(1+DRIFT)) apart
BLOCK = 10  # samples per push; the push stamps the block's last sample, liblsl derives the others
JITTER = 1e-3  # each push is stamped up to 1 ms late (uniform), as a driver's push timing jitters
LATENCY = JITTER / 2  # the mean of that lateness: the line the timestamps scatter around
GAP_AT, GAP_S = 30000, 1.0  # at sample 30000 (60 s) the timestamps jump by 1 s: the outlet paused


def stamps(n: int, rng, drift: float = DRIFT, jitter: float = JITTER) -> tuple[np.ndarray, np.ndarray]:
    """(true acquisition time of every sample, the time stamp pushed with each block's last sample)."""
    k = np.arange(n)
    true = 1000.0 + k / (RATE * (1.0 + drift)) + GAP_S * (k >= GAP_AT)
    last = np.minimum(np.arange(0, n, BLOCK) + BLOCK, n) - 1
    return true, true[last] + rng.uniform(0.0, jitter, last.size)


def pull(n: int, pushed: np.ndarray) -> list:
    """The chunks an lsl_inlet reads from an outlet that pushes n samples (sample k carries the value k),
    block by block with the `pushed` time stamps, as fast as it can."""
    name = f"drift-{uuid.uuid4().hex[:8]}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 1, RATE, pylsl.cf_double64, name))
    node = LslInlet(name=name, max_samples=n, chunk_size=32, buffer_s=300)
    # a uuid-named stream: configure()'s 0.8 s listen for a second one of the query (AMBIGUITY_WAIT_S) finds none
    with mock.patch.object(lsl, "AMBIGUITY_WAIT_S", 0.05):
        node.configure({})

    def push():
        assert outlet.wait_for_consumers(10.0)
        for j, b in enumerate(range(0, n, BLOCK)):
            outlet.push_chunk(np.arange(b, min(b + BLOCK, n), dtype=np.float64)[:, None], float(pushed[j]))

    th = threading.Thread(target=push)
    th.start()
    chunks, t_end = [], time.monotonic() + 30.0
    while (r := node.read()) is not None and time.monotonic() < t_end:
        chunks.extend([r["out"]] if r else [])
    th.join()
    node.close()
    assert node.counters.get("gaps") == 1
    return chunks


def test_chunk_times_follow_a_drifting_amplifier_and_epochs_cut_the_marked_samples():
    n = int(120 * RATE)
    true, pushed = stamps(n, np.random.default_rng(1))
    chunks = pull(n, pushed)
    first = np.cumsum([0] + [c.data.shape[1] for c in chunks[:-1]])
    assert np.concatenate([c.data for c in chunks], axis=1)[0].tolist() == list(range(n))

    # The timestamp jump is a gap, at its sample; the rest is one stream.
    assert [int(k) for k, c in zip(first, chunks) if c.gap] == [GAP_AT]
    # Chunk times track the line the LSL timestamps scatter around (drift and all) within 0.3 ms once
    # 2 s of a segment are in (the raw stamps scatter 0.5 ms either side of it) ...
    t0 = np.array([c.t0 for c in chunks])
    err = t0 - (true[first] + LATENCY)
    settled = (first % GAP_AT) >= 2 * RATE  # (n is two segments of GAP_AT samples)
    assert np.abs(err[settled]).max() < 3e-4, np.abs(err[settled]).max()
    assert np.abs(err).max() < 1e-3
    # ... and are smooth: a chunk's t0 + n/rate meets the next one's within 0.1 ms (drift included).
    sizes = np.array([c.data.shape[1] for c in chunks])
    step = t0[1:] - (t0[:-1] + sizes[:-1] / RATE)
    same_segment = first[1:] != GAP_AT
    assert np.abs(step[same_segment & settled[1:]]).max() < 1e-4

    # Markers on the LSL clock (a stimulus program's local_clock at the stimulus) at known samples, cut
    # with epochs as a live graph would (signal chunks with their t0s): every epoch starts at its
    # marked sample. Time stamped from the first chunk and the nominal rate, the last marker (two
    # minutes in, 60 ms of drift) would be 30 samples off.
    marked = np.array([500, 20000, 29990, GAP_AT + 10, 45000, n - 100])
    ep = Epochs(tmin=0.0, tmax=0.01)
    ep.configure({"in": StreamSpec("signal", RATE, (1,), "float64"), "events": StreamSpec("events", 0.0, (3,))})
    rows = np.column_stack([true[marked] + LATENCY, np.zeros(marked.size), np.ones(marked.size)])
    out = [ep.process({"events": Chunk(rows, rows[0, 0])})]
    out += [ep.process({"in": c}) for c in chunks]
    out.append(ep.finish())
    epochs = np.concatenate([o["out"].data for o in out if "out" in o])
    assert epochs[:, 0, 0].tolist() == marked.tolist()

    # The same through a resampler to 250 Hz first (it stamps its output from its input's chunk times):
    # the epoch starts at the marked sample, seen through the filter (its declared delay, in input
    # samples); markers whose filter window spans the jump are left out.
    rs = Resample(rate=250.0)
    rs.configure({"in": StreamSpec("signal", RATE, (1,), "float64")})
    down = [o["out"] for o in [rs.process({"in": c}) for c in chunks] + [rs.finish()] if "out" in o]
    ep.configure({"in": StreamSpec("signal", 250.0, (1,), "float64"), "events": StreamSpec("events", 0.0, (3,))})
    smooth = marked[np.abs(marked - GAP_AT) > 100]
    rows = rows[np.isin(marked, smooth)]
    out = [ep.process({"events": Chunk(rows, rows[0, 0])})] + [ep.process({"in": c}) for c in down] + [ep.finish()]
    epochs = np.concatenate([o["out"].data for o in out if "out" in o])
    np.testing.assert_allclose(epochs[:, 0, 0], smooth - rs.latency_samples, atol=1.0)

    # ssvep_trial_decoder's sample buffer (it cuts trials at markers the same way) finds them too, and
    # sees the jump as the one break.
    held = _Samples(1, RATE)
    for c in chunks:
        held.append(c.data, c.t0, c.gap)
    assert [held.nearest(t) for t in true[marked] + LATENCY] == marked.tolist()
    assert held.has_break(GAP_AT - 1, GAP_AT + 1) and not held.has_break(1, GAP_AT) and not held.has_break(GAP_AT, n)


if __name__ == "__main__":  # the figures in docs/nodes.md: python tests/test_lsl_drift.py
    from wavegraph.nodes.dsp.timebuffer import TimedBuffer

    for drift, jitter in [
        (100e-6, JITTER),
        (500e-6, JITTER),
        (1000e-6, JITTER),
        (-1000e-6, JITTER),
        (0, 0),
        (500e-6, 0),
    ]:
        n = int(120 * RATE)
        true, pushed = stamps(n, np.random.default_rng(1), drift, jitter)
        state = type("State", (), {})()
        buf = TimedBuffer((1,), "float64", RATE, lambda s=state: s)
        vars(state).update(buf.fresh())
        for c in pull(n, pushed):
            buf.append(c.data, c.t0, c.gap)  # the sample times epochs and join see
        err = np.abs(buf.times - (true + jitter / 2))
        print(
            f"{drift * 1e6:+5.0f} ppm, pushes stamped up to {jitter * 1e3:.0f} ms late: sample times within "
            f"{err.max() * 1e3:.3f} ms of the timestamps' line (last 10 s: {err[-int(10 * RATE) :].max() * 1e3:.3f} ms)"
        )
