"""Defects that show only in long or extreme sessions (hours of data, high rates, many channels), reproduced
quickly: a buffer already holding many seconds, a counter already far from zero."""

from __future__ import annotations

import numpy as np
from memory_checks import chunks_copying
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec


def _epochs(rate: float, n_ch: int, max_delay: float) -> Epochs:
    node = Epochs(tmin=-0.1, tmax=0.2, max_delay=max_delay)
    node.configure(
        {"in": signal_spec(rate, [f"c{i}" for i in range(n_ch)]), "events": StreamSpec("events", 0.0, (3,), "float64")}
    )
    return node


def test_epochs_buffer_append_does_not_copy_what_it_holds():
    """epochs holds tmax - tmin + max_delay seconds of the signal (11 s by default). Each chunk was appended with a
    concatenate of everything held: 256 channels at 2048 Hz in 16-sample chunks copied 46 MB per chunk and ran at 0.75x
    real time, so a high-density session fell behind for as long as it lasted. Now a chunk is written into room kept
    after the held samples (amortised: a copy of what is held only when that room runs out)."""
    rate, n_ch = 1000.0, 8
    node = _epochs(rate, n_ch, max_delay=60.0)
    x = np.arange(n_ch * 61_000, dtype=np.float64).reshape(n_ch, -1) % 1000.0
    node.process({"in": Chunk(x[:, :60_000], t0=0.0)})  # a minute held (3.8 MB), as after a minute of a session
    held_bytes = node.buf.data.nbytes

    def step(i):
        node.process({"in": Chunk(x[:, i : i + 10], t0=i / rate)})

    big = chunks_copying(step, range(60_000, 61_000, 10), held_bytes)  # 100 chunks of 10 samples
    assert big <= 1, f"{big} of 100 small chunks copied the {held_bytes / 1e6:.2g} MB epochs holds"
    # and what it holds is still the signal, at its times (the newest samples and the stamps)
    np.testing.assert_array_equal(node.buf.data[:, -1000:], x[:, 60_000:])
    np.testing.assert_allclose(node.buf.times[-1000:], np.arange(60_000, 61_000) / rate, rtol=0, atol=1e-9)


def test_epochs_cut_after_in_place_appends_equals_one_chunk():
    """The epochs cut from a signal sent in small chunks (appended in place) equal those of one whole chunk, and a
    state saved and loaded mid-stream (arrays no longer the node's own) goes on the same."""
    rate, n_ch = 250.0, 3
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n_ch, 5000))
    markers = np.array([[t, 0.0, 1.0] for t in (2.0, 7.5, 12.04, 19.0)])

    def run(sizes, reload_at=None):
        node = _epochs(rate, n_ch, max_delay=30.0)
        node.process({"events": Chunk(markers, t0=0.0)})
        got, start = [], 0
        for k, s in enumerate(sizes):
            if k == reload_at:
                saved = node.state_dict()
                node = _epochs(rate, n_ch, max_delay=30.0)
                node.load_state_dict(saved)
            out = node.process({"in": Chunk(x[:, start : start + s], t0=start / rate)})
            while out:
                got.append(out["out"].data)
                out = node.more()
            start += s
        for out in node.finish_all():
            if out:
                got.append(out["out"].data)
        return np.concatenate(got)

    whole = run([5000])
    assert whole.shape == (4, n_ch, 76)
    np.testing.assert_array_equal(run([7] * 714 + [2]), whole)
    np.testing.assert_array_equal(run([13] * 384 + [8], reload_at=200), whole)


def test_wav_recorder_stops_with_the_fix_before_the_4_gib_limit(tmp_path):
    """A WAV's sizes are 32-bit: libsndfile went on writing past 4 GiB and capped its header there, so readers stopped
    at 4 GiB and the rest of the session was lost unsaid (48 kHz x 64 float32 channels: written 17.28 M frames, read
    back 16.78 M; 8 channels of 48 kHz reach it in 46 min). Simulated: the recorder's count of frames already written
    set just under the limit. Now the chunk that would pass it fails the recorder with what is kept and the fix, and
    the file stays whole."""
    import soundfile as sf
    from wavegraph.nodes.io.recorder import Recorder

    path = tmp_path / "call.wav"
    rec = Recorder(path=str(path))
    spec = signal_spec(48000.0, ["ch0", "ch1"], "audio", "float32", "a.u.")
    rec.configure({"in": spec})
    x = np.full((2, 480), 0.25, dtype=np.float32)
    rec.process({"in": Chunk(x, t0=0.0)})
    frame_bytes = 2 * 4
    rec._n_total = (2**32 - 4096) // frame_bytes - 100  # as after 3.1 h of this stream
    try:
        rec.process({"in": Chunk(x, t0=1.0)})
    except OSError as e:
        said = str(e)
    else:
        said = ""
    finally:
        rec.close()
    assert "4 GiB" in said and "call.wav" in said, said
    assert ".flac" in said and ".npz" in said, said  # the fix (a FIF holds no audio stream)
    assert sf.info(str(path)).frames == 480  # what came before is kept, whole


def test_running_zscore_block_append_does_not_copy_the_block():
    """running_zscore keeps the samples of its current block (up to `window` seconds) and appended each chunk with a
    concatenate of the whole block: 256 channels at 2048 Hz with a 30 s window, in 16-sample chunks, copied up to 126 MB
    per chunk and ran at 0.7x real time mid-block. Now the block is written into an array of `window` samples kept for
    it. Its outputs are unchanged (small chunks, a state reload mid-block: the same as one chunk)."""
    from wavegraph.nodes.dsp.scaling import RunningZScore

    rate, n_ch = 1000.0, 8
    spec = signal_spec(rate, [f"c{i}" for i in range(n_ch)])
    x = np.random.default_rng(3).standard_normal((n_ch, 32_000)) + 5.0

    def node():
        z = RunningZScore(window=60.0)
        z.configure({"in": spec})
        return z

    z = node()
    z.process({"in": Chunk(x[:, :30_000], t0=0.0)})  # half a block held (1.9 MB)
    held_bytes = z.state.block.nbytes

    def step(i):
        z.process({"in": Chunk(x[:, i : i + 10], t0=i / rate)})

    big = chunks_copying(step, range(30_000, 31_000, 10), held_bytes)
    assert big <= 1, f"{big} of 100 small chunks copied the {held_bytes / 1e6:.2g} MB block held"

    def run(sizes, reload_at=None):
        z, got, start = node(), [], 0
        for k, s in enumerate(sizes):
            if k == reload_at:
                saved = z.state_dict()
                z = node()
                z.load_state_dict(saved)
            got.append(z.process({"in": Chunk(x[:, start : start + s], t0=start / rate)})["out"].data)
            start += s
        return np.concatenate(got, axis=1)

    whole = run([32_000])
    np.testing.assert_array_equal(run([30_000] + [20] * 100), whole)
    np.testing.assert_array_equal(run([997] * 32 + [96], reload_at=20), whole)


def test_chirp_that_would_leave_nyquist_within_its_duration_is_refused_with_the_longest_duration():
    """scipy.signal.chirp's sweep goes on past t1: an endless chirp (duration: null) or a long one passed Nyquist (1-40 Hz
    over 10 s at 250 Hz: after 32 s, aliased without a word) and a logarithmic one overflowed to NaN after 32 min (every
    sample NaN from there on). Now configure refuses a chirp whose frequency leaves (0, Nyquist) within its duration,
    with the longest duration that stays within it; one that stays (a shorter duration, a downward logarithmic or
    hyperbolic sweep, endless too) runs as before, finite."""
    import pytest
    from wavegraph.nodes.sim.synthetic import Chirp
    from wavegraph.pipeline.spec import SpecError

    for method, duration, longest in [
        ("linear", None, "31.7949"),  # 10 * (125 - 1) / 39: f0 + (f1 - f0) t / t1 = Nyquist
        ("linear", 60.0, "31.7949"),
        ("logarithmic", None, "13.0888"),  # 10 ln(125) / ln(40)
        ("logarithmic", 3600.0, "13.0888"),
        ("quadratic", 20.0, "17.8311"),  # 10 sqrt(124 / 39)
        ("hyperbolic", 30.0, "10.1744"),  # f0 f1 t1 / ((f0 - f1) t + f1 t1) = 125
    ]:
        with pytest.raises(SpecError) as e:
            Chirp(method=method, duration=duration, rate=250.0).configure({})
        assert "Nyquist" in str(e.value) and f"duration: {longest}" in e.value.hint, (
            method,
            str(e.value),
            e.value.hint,
        )
    for method, params in [
        ("linear", dict(duration=30.0)),
        ("logarithmic", dict(f0=40.0, f1=1.0, duration=None)),
        ("hyperbolic", dict(f0=40.0, f1=1.0, duration=None)),
    ]:
        c = Chirp(method=method, rate=250.0, chunk_size=250, **params)
        c.configure({})
        for hours in (28 / 3600, 8) if params["duration"] is None else (28 / 3600,):
            c.state.pos = round(hours * 3600 * 250)  # as after 28 s (an endless one: as after 8 h, too)
            out = c.read()
            assert out is not None and np.isfinite(out["out"].data).all()
    for method in ("linear", "quadratic", "logarithmic", "hyperbolic"):  # endless and upward: refused, none overflows
        with pytest.raises(SpecError, match="Nyquist"):
            Chirp(method=method, duration=None, rate=250.0).configure({})


def test_framing_nodes_append_without_copying_the_window_held():
    """sliding_window, stft and bandpower keep the samples not yet in a whole frame (up to a window): each chunk was
    appended with a concatenate of them and the rest copied again, two windows per chunk: a 10 s sliding_window of 32
    channels at 30 kHz in 1 ms chunks ran at 0.96x real time. Now chunks go into room kept after the held samples. The
    frames are unchanged (the streaming harness: any chunking equals one chunk), also those emitted as views (one
    channel's sliding_window), which later chunks must not overwrite."""
    from wavegraph.nodes.dsp.bandpower import Bandpower
    from wavegraph.nodes.dsp.windows import STFT, SlidingWindow
    from wavegraph.pipeline.testing import assert_streaming_equivalent

    rate, n_ch = 1000.0, 4
    spec = signal_spec(rate, [f"c{i}" for i in range(n_ch)])
    node = SlidingWindow(size=40_000, hop=40_000)
    node.configure({"in": spec})
    x = np.random.default_rng(1).standard_normal((n_ch, 31_000))
    node.process({"in": Chunk(x[:, :30_000], t0=0.0)})  # 30 s held, no frame yet (0.96 MB)
    held_bytes = node.state.buf.nbytes

    def step(i):
        assert node.process({"in": Chunk(x[:, i : i + 10], t0=i / rate)}) == {}

    big = chunks_copying(step, range(30_000, 31_000, 10), held_bytes)
    assert big <= 1, f"{big} of 100 small chunks copied the {held_bytes / 1e6:.2g} MB held"
    np.testing.assert_array_equal(node.state.buf, x)

    y = np.random.default_rng(2).standard_normal((1, 700))
    one = signal_spec(100.0, ["c0"])
    whole = assert_streaming_equivalent(lambda: SlidingWindow(size=50, hop=20), y, one, rtol=0, atol=0)["out"]
    np.testing.assert_array_equal(whole[3], y[0, 60:110])  # frames are the signal's windows
    assert_streaming_equivalent(lambda: SlidingWindow(size=30, hop=45), y, one, rtol=0, atol=0)  # hop > size
    assert_streaming_equivalent(lambda: STFT(n_fft=64, hop=16), y, one, rtol=1e-12, atol=1e-12)
    assert_streaming_equivalent(lambda: Bandpower(window=1.0, hop=0.3), y, one, rtol=1e-10, atol=1e-12)


def _wav_past_4_gib(path, tail: np.ndarray) -> int:
    """A float32 stereo WAV holding 2**32 + 8 * len(tail) bytes of samples, as libsndfile leaves one written past 4 GiB
    (its header's sizes capped at 0xFFFFFFFF): zeros (a sparse file: no disk used), then `tail` (frames, 2) at its end.
    Returns the frames it holds."""
    import soundfile as sf

    sf.write(str(path), np.zeros((4, 2), np.float32), 16000, "FLOAT", format="WAV")
    raw = bytearray(path.read_bytes())
    at = raw.index(b"data") + 8
    raw[4:8] = raw[at - 4 : at] = (0xFFFFFFFF).to_bytes(4, "little")
    frames = (2**32 + tail.nbytes) // 8
    with open(path, "wb") as f:
        f.write(bytes(raw[:at]))
        f.truncate(at + frames * 8 - tail.nbytes)
        f.seek(0, 2)
        f.write(np.ascontiguousarray(tail, "<f4").tobytes())
    return frames


def test_file_source_reads_a_wav_past_4_gib_to_its_end(tmp_path, caplog):
    """A WAV written past 4 GiB (libsndfile caps its header's sizes at 0xFFFFFFFF; a streaming writer leaves that
    'unknown size'): libsndfile reads only the first 4 GiB, so file_source replayed 16.7 M of 17.3 M frames of a
    session (48 kHz x 64 ch) and stopped, unsaid. Now what follows the header is read to the end of the file, said."""
    from wavegraph.nodes.io.audio_reader import AudioReader

    path = tmp_path / "long.wav"
    tail = np.arange(20, dtype=np.float32).reshape(10, 2) / 100
    frames = _wav_past_4_gib(path, tail)
    with caplog.at_level("WARNING", logger="wavegraph.file_source"):
        r = AudioReader(path, "float32")
    try:
        assert r.n_times == frames  # not 0xFFFFFFFF // 8
        assert "more than the 4 GiB" in caplog.text and f"reading all {frames} frames" in caplog.text
        np.testing.assert_array_equal(r.get([0, 1], frames - 10, frames), tail.T)
        np.testing.assert_array_equal(r.get([0, 1], 0, 3), np.zeros((2, 3)))
    finally:
        r.close()


def test_ssvep_trial_decoder_append_does_not_copy_the_signal_held():
    """ssvep_trial_decoder keeps max_delay + pre + window seconds of its channels (all by default) and appended each
    chunk with a concatenate of all of it: 256 channels at 2048 Hz in 16-sample chunks ran at 0.92x real time. Now the
    chunk is written into room kept after the held samples; a state saved and loaded mid-stream goes on the same."""
    from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder

    rate, n_ch = 250.0, 8
    specs = {
        "in": signal_spec(rate, [f"E{i}" for i in range(n_ch)]),
        "events": StreamSpec("events", 0.0, (3,), "float64"),
    }

    def node():
        d = SSVEPTrialDecoder(method="fbcca", freqs=[6.0, 7.5, 10.0, 12.0], window=1.0, pre=0.5, max_delay=60.0)
        d.configure(specs)
        return d

    x = np.random.default_rng(4).standard_normal((n_ch, 16_000)) * 1e-5
    d = node()
    d.process({"in": Chunk(x[:, :15_000], t0=0.0)})  # 60 s held (0.96 MB)
    held_bytes = d._buf.data.nbytes

    def step(i):
        d.process({"in": Chunk(x[:, i : i + 10], t0=i / rate)})

    big = chunks_copying(step, range(15_000, 16_000, 10), held_bytes)
    assert big <= 1, f"{big} of 100 small chunks copied the {held_bytes / 1e6:.2g} MB held"
    np.testing.assert_array_equal(d._buf.data[:, -1000:], x[:, 15_000:])

    def decide(sizes, reload_at=None):
        d, start, rows = node(), 0, []
        d.process({"events": Chunk(np.array([[t, 1.0, 1.0] for t in (5.0, 20.0, 41.0, 60.0)]), t0=0.0)})
        for k, s in enumerate(sizes):
            if k == reload_at:
                saved = d.state_dict()
                d = node()
                d.load_state_dict(saved)
            out = d.process({"in": Chunk(x[:, start : start + s], t0=start / rate)})
            while out:  # (one marker time per chunk: the others from more())
                rows.append(out["out"].data)
                out = d.more()
            start += s
        return np.concatenate(rows)

    whole = decide([16_000])
    assert len(whole) == 4
    np.testing.assert_array_equal(decide([97] * 164 + [92], reload_at=80), whole)


def test_ssvep_decoder_append_does_not_copy_the_window_held():
    """ssvep_decoder keeps its filtered bands from the next window's start (up to window + step seconds, every channel
    by default) and appended each chunk with a concatenate of all of it: with 256 channels at 2048 Hz and a 4 s window
    that alone took 14 ms per 16-sample chunk (7.8 ms of signal). Now the chunk is written into room kept after them;
    the scores are unchanged (small chunks, a state reload)."""
    from wavegraph.nodes.models.ssvep import SSVEPDecoder

    rate, n_ch = 250.0, 8
    spec = signal_spec(rate, [f"E{i}" for i in range(n_ch)])

    def node(window=30.0, step=30.0):
        d = SSVEPDecoder(method="fbcca", freqs=[6.0, 7.5, 10.0, 12.0], window=window, step=step)
        d.configure({"in": spec})
        return d

    x = np.random.default_rng(6).standard_normal((n_ch, 6_000)) * 1e-5
    d = node()
    d.process({"in": Chunk(x[:, :5_000], t0=0.0)})  # 20 s of a 30 s window held (5 bands: 1.6 MB)
    held_bytes = d._buf.nbytes

    def step(i):
        assert d.process({"in": Chunk(x[:, i : i + 10], t0=i / rate)}) == {}

    big = chunks_copying(step, range(5_000, 6_000, 10), held_bytes)
    assert big <= 1, f"{big} of 100 small chunks copied the {held_bytes / 1e6:.2g} MB held"

    def scores(sizes, reload_at=None):
        d, start, got = node(2.0, 0.5), 0, []
        for k, s in enumerate(sizes):
            if k == reload_at:
                saved = d.state_dict()
                d = node(2.0, 0.5)
                d.load_state_dict(saved)
            out = d.process({"in": Chunk(x[:, start : start + s], t0=start / rate)})
            got += [out["scores"].data] if "scores" in out else []
            start += s
        return np.concatenate(got)

    whole = scores([6_000])
    assert whole.shape == (45, 4)
    np.testing.assert_allclose(scores([37] * 162 + [6], reload_at=90), whole, rtol=1e-9, atol=1e-12)
