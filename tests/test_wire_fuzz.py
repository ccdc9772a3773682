"""Seeded fuzz of the frame codec's decode side, and hostile frames pushed into a live 2-process graph.

Every input is either a Chunk that matches its header exactly (dtype, shape, payload length, finite t0,
read-only) or a WireError with a known reason, the one error type a receiver counts as a dropped frame.
An independent oracle (struct, not wire's own code) says which frames must be accepted.
"""

import glob
import math
import os
import struct
import threading
import time

import numpy as np
import pytest
import zmq
from wavegraph.pipeline import wire
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import signal_spec

REASONS = {
    "frame_count",
    "buffer",
    "truncated",
    "header_size",
    "magic",
    "version",
    "flags",
    "dtype",
    "ndim",
    "oversized",
    "size_mismatch",
    "shape",
    "t0",
    "spec_id",
}
_HEAD = struct.Struct("<4sBBBBIQdqqq")
MAX_BYTES = 1 << 16


def _valid(rng: np.random.Generator) -> tuple[bytes, bytes]:
    """A valid (header, payload) of a random dtype, shape (0 to 4 axes, some of length 0) and flags."""
    dt = wire.DTYPES[int(rng.integers(1, 15))]
    shape = tuple(int(d) for d in rng.integers(0, 5, int(rng.integers(0, 5))))
    data = np.frombuffer(rng.bytes(int(np.prod(shape)) * dt.itemsize), dt).reshape(shape)
    c = Chunk(data, float(rng.normal() * 100), gap=bool(rng.random() < 0.3), eos=bool(rng.random() < 0.1))
    head, body = wire.encode(c, int(rng.integers(0, 2**63)), int(rng.integers(0, 2**32)))
    return bytes(head), bytes(body)


def _mutate(rng: np.random.Generator, head: bytes, body: bytes) -> tuple[bytes, bytes]:
    """One hostile change to a valid frame."""
    h, b = bytearray(head), bytearray(body)
    ndim = h[7]
    kind = int(rng.integers(0, 12))
    if kind == 0:  # truncated header
        h = h[: int(rng.integers(0, len(h)))]
    elif kind == 1 and ndim:  # a dimension huge, "negative" (uint64 wrap-around) or zero
        dims = [2**20, 2**31, 2**40, 2**62, 2**63, 2**64 - 1, 2**64 - int(rng.integers(1, 9)), 0]
        dim = dims[int(rng.integers(0, len(dims)))]
        struct.pack_into("<Q", h, 52 + 8 * int(rng.integers(0, ndim)), dim)
    elif kind == 2:  # another dtype code (known or not): the payload length no longer fits, mostly
        h[6] = int(rng.integers(0, 256))
    elif kind == 3:  # an older or newer frame version
        h[4] = int(rng.choice([0, 2, 3, 255]))
    elif kind == 4:  # ndim says more or fewer axes than the header holds
        h[7] = int(rng.integers(0, 256))
    elif kind == 5:  # infinite t0 (NaN is a chunk without a time: it decodes)
        struct.pack_into("<d", h, 20, float(rng.choice([np.inf, -np.inf])))
    elif kind == 6:  # payload shorter or longer
        b = b[: int(rng.integers(0, len(b) + 1))] if rng.random() < 0.5 else b + rng.bytes(int(rng.integers(1, 9)))
    elif kind == 7:  # unknown flag bits
        h[5] |= 1 << int(rng.integers(2, 8))
    elif kind == 8:  # the magic
        h[int(rng.integers(0, 4))] ^= 1 + int(rng.integers(0, 255))
    else:  # random bytes anywhere (an extreme seq/origin/time stamp decodes: those are plain numbers)
        for _ in range(int(rng.integers(1, 4))):
            target = h if rng.random() < 0.7 or not b else b
            target[int(rng.integers(0, len(target)))] = int(rng.integers(0, 256))
    return bytes(h), bytes(b)


def _oracle(head: bytes, body: bytes, two: bool) -> bool | None:
    """Whether a message must be accepted: every header field valid and the payload of the stated size
    (two frames: head, body; one frame: head + body). None: either verdict (an empty array with a huge axis,
    which numpy may refuse: decode then says 'shape')."""
    if not two:
        head = head + body
    if len(head) < 52:
        return False
    magic, version, flags, code, ndim, _, _, t0, _, _, _ = _HEAD.unpack_from(head)
    if magic != b"WGRF" or version != 1 or flags & ~3 or code not in wire.DTYPES or ndim > 32:
        return False
    if (len(head) != 52 + 8 * ndim) if two else (len(head) < 52 + 8 * ndim):
        return False
    shape = struct.unpack_from(f"<{ndim}Q", head, 52)
    payload = len(body) if two else len(head) - 52 - 8 * ndim
    if payload > MAX_BYTES or math.prod(shape) * wire.DTYPES[code].itemsize != payload or math.isinf(t0):
        return False
    return True if payload or all(d < 2**31 for d in shape) else None


def _as_buffer(rng: np.random.Generator, frame: bytes):
    """The same bytes as bytes, bytearray, memoryview or a uint8 array (what callers may hand decode)."""
    k = int(rng.integers(0, 4))
    return [frame, bytearray(frame), memoryview(frame), np.frombuffer(frame, np.uint8)][k]


def _decode(frames):
    try:
        return wire.decode(frames, max_bytes=MAX_BYTES)
    except wire.WireError as e:
        assert e.reason in REASONS, e
        return None


def _check_accepted(got, payload: int) -> None:
    chunk, header = got
    assert isinstance(chunk.data, np.ndarray) and chunk.data.dtype in wire.DTYPES.values()
    assert chunk.data.nbytes == payload and not chunk.data.flags.writeable
    assert not math.isinf(chunk.t0) and chunk.seq == header.seq and 0 <= chunk.seq < 2**64


def test_decode_of_random_and_mutated_frames_is_a_valid_chunk_or_a_wire_error():
    rng = np.random.default_rng(20261129)
    verdicts = {True: 0, False: 0}
    for i in range(4000):
        if i % 8 == 0:  # pure noise: 0 to 3 frames of random bytes
            frames = [rng.bytes(int(rng.integers(0, 120))) for _ in range(int(rng.integers(0, 4)))]
            assert _decode(frames) is None  # no magic (2**-32 per frame), so never accepted
            continue
        head, body = _valid(rng)
        if i % 8 != 1:  # one in eight stays valid
            head, body = _mutate(rng, head, body)
        two = rng.random() < 0.5
        want = _oracle(head, body, two)
        frames = [_as_buffer(rng, head), _as_buffer(rng, body)] if two else [_as_buffer(rng, head + body)]
        got = _decode(frames)
        assert want is None or (got is not None) == want, (i, head.hex(), len(body), two)
        verdicts[got is not None] += 1
        if got is not None:
            payload = body if two else (head + body)[52 + 8 * head[7] :]
            _check_accepted(got, len(payload))
            assert got[0].data.tobytes() == payload and got[0].data.shape == struct.unpack_from(
                f"<{head[7]}Q", head, 52
            )
        if not two:  # the one-frame fast path gives the same verdict and chunk
            try:
                one = wire.decode_one(head + body, MAX_BYTES)
            except wire.WireError as e:
                assert got is None and e.reason in REASONS
            else:
                assert got is not None and one[0].t0 == got[0].t0 and one[1] == got[1]
    assert verdicts[True] > 300 and verdicts[False] > 2000, verdicts


def test_batch_containers_are_checked_before_their_messages():
    rng = np.random.default_rng(3)
    one = wire.encode_one(Chunk(np.ones((2, 3))), 0, 1)
    good = wire.encode_batch([one, one, one])
    assert wire.batch_layout(good) == (3, len(one))
    for _ in range(2000):
        frame = bytearray(good)
        for _ in range(int(rng.integers(1, 4))):
            frame[int(rng.integers(0, 16))] = int(rng.integers(0, 256))  # the container header
        if rng.random() < 0.3:
            frame = frame[: int(rng.integers(0, len(frame)))]
        try:
            count, size = wire.batch_layout(bytes(frame))
        except wire.WireError as e:
            assert e.reason == "batch"
            continue
        assert wire.BATCH_HEADER_BYTES + count * size == len(frame) and size > wire.HEADER_FIXED_BYTES


def test_non_finite_t0_is_a_wire_error_in_both_forms():
    x = np.arange(6.0).reshape(2, 3)
    for t0 in (np.inf, -np.inf):  # (NaN decodes: a chunk without a time, as one process passes it)
        head, body = wire.encode(Chunk(x, t0=t0), 0, 0)
        with pytest.raises(wire.WireError) as e:
            wire.decode([head, body])
        assert e.value.reason == "t0"
        with pytest.raises(wire.WireError) as e:
            wire.decode_one(wire.encode_one(Chunk(x, t0=t0), 0, 0))
        assert e.value.reason == "t0"


def test_strided_buffers_are_wire_errors_and_views_are_read_only():
    one = wire.encode_one(Chunk(np.arange(8.0).reshape(2, 4), t0=1.0), 3, 5)
    head, body = wire.encode(Chunk(np.arange(8.0).reshape(2, 4), t0=1.0), 3, 5)
    spread = np.zeros(2 * len(one), np.uint8)
    spread[::2] = np.frombuffer(one, np.uint8)
    strided = spread[::2]  # the right bytes, not contiguous
    for frames in ([strided], [memoryview(strided)], [bytes(head), strided[: len(body)]]):  # pyright: ignore[reportArgumentType]
        with pytest.raises(wire.WireError) as e:
            wire.decode(frames)
        assert e.value.reason == "buffer"
    with pytest.raises(wire.WireError):
        wire.decode_one(strided)  # pyright: ignore[reportArgumentType]
    chunk, _ = wire.decode_one(bytearray(one))  # pyright: ignore[reportArgumentType]
    assert not chunk.data.flags.writeable and chunk.data.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]


# --- a live 2-process graph with a foreign peer pushing hostile frames into its edge ----------------------

GRAPH = """\
nodes:
  - id: src
    type: fixture_nodes:Ramp
    params: {rate: 1000.0, chunk_size: 10, n_samples: 1500}
  - id: bp
    type: lowpass
    params: {freq: 100.0}
  - id: rec
    type: recorder
    params: {path: OUT}
edges:
  - {source: bp.out, target: rec.in}
  - {source: src.out, target: bp.in}
processes:
  a: [src]
  b: [bp, rec]
"""
SPEC = signal_spec(1000.0, ["ch0", "ch1"], "misc", units="a.u.")  # fixture_nodes.Ramp's output


def _hostile(sid: int, rng: np.random.Generator) -> list[tuple[str, list[bytes]]]:
    """(reason, frames) of messages with the edge's spec id and a seq far from the stream's."""

    def enc(data, t0=0.0, seq=None, one=False):
        c = Chunk(np.asarray(data), t0=t0)
        s = int(rng.integers(10**6, 10**9)) if seq is None else seq
        return [wire.encode_one(c, s, sid)] if one else [bytes(f) for f in wire.encode(c, s, sid)]

    x = np.ones((2, 10))
    out = []
    for _ in range(20):
        out += [
            ("t0", enc(x, -np.inf, one=True)),
            ("t0", enc(x, np.inf, one=True)),
            ("t0", enc(x, -np.inf)),
            ("spec_shape", enc(np.ones((3, 10)), one=True)),
            ("spec_shape", enc(np.ones((2, 5, 2)))),
            ("spec_dtype", enc(x.astype(np.int16))),
            ("size_mismatch", [enc(x)[0], rng.bytes(16)]),
            ("frame_count", [rng.bytes(int(rng.integers(0, 52)))]),
            ("batch", [b"WGRB" + rng.bytes(int(rng.integers(0, 64)))]),
        ]
    return out


def _push_when_bound(scratch: str, frames: list, done: list, run_ended: threading.Event) -> None:
    deadline = time.monotonic() + 60
    while not (found := glob.glob(os.path.join(scratch, "wg-*", "[0-9]*.ipc"))) and time.monotonic() < deadline:
        time.sleep(0.01)
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 5000)
    push.connect(f"ipc://{found[0]}")
    for _, message in frames:
        push.send_multipart(message)
    done.append(True)
    run_ended.wait(60)
    push.close()
    ctx.term()


def test_a_live_node_keeps_running_and_counts_every_hostile_frame(tmp_path, socket_tmpdir):
    scratch = socket_tmpdir  # the run folder (and its ipc:// sockets) go here
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH.replace("OUT", str(tmp_path / "g.npz")))
    g = build_graph(load_config(p))
    frames = _hostile(wire.spec_id(SPEC), np.random.default_rng(5))
    done: list = []
    run_ended = threading.Event()
    pusher = threading.Thread(target=_push_when_bound, args=(str(scratch), frames, done, run_ended), daemon=True)
    pusher.start()
    r = run_graph(g, speed=1.0)
    run_ended.set()
    pusher.join(timeout=10)
    assert done and r.exit_code == 0, r.failure
    counters = r.stats["bp"]["counters"]
    assert counters["rx_rejected"] == len(frames), counters
    for reason in {reason for reason, _ in frames}:
        assert counters[f"rx_rejected_{reason}"] == sum(k == reason for k, _ in frames), (reason, counters)
    assert r.stats["bp"]["gaps"] == 0
    data = np.load(tmp_path / "g.npz")["data"]
    from scipy.signal import butter, sosfilt

    ramp = np.arange(1500.0)[None] + 1000.0 * np.arange(2)[:, None]
    want = sosfilt(butter(4, 100.0, "lowpass", output="sos", fs=1000.0), ramp, axis=-1)
    np.testing.assert_allclose(data, want, rtol=1e-12, atol=1e-9)  # whole, in order, untouched
