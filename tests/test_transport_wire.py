"""The frame codec alone (no sockets): layout, every dtype and shape, flags, and every rejection."""

import struct

import numpy as np
import pytest
from wavegraph.pipeline import wire
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

DTYPES = [
    "bool",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]
SHAPES = [(), (0,), (3, 0), (5,), (2, 3), (2, 3, 4)]


def sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    dt = np.dtype(dtype)
    if dt.kind == "b":
        x = rng.integers(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        x = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
    elif dt.kind == "c":
        x = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dt)
    else:
        x = rng.standard_normal(n).astype(dt)
    return x.reshape(shape)


def roundtrip(chunk, seq=0, sid=0, **kw):
    head, body = wire.encode(chunk, seq, sid)
    return wire.decode([head, bytes(body)], **kw)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_and_shape_round_trips_exactly(dtype):
    for shape in SHAPES:
        x = sample(dtype, shape)
        got, header = roundtrip(Chunk(x, t0=12.25), seq=5, sid=77)
        assert got.data.dtype == x.dtype and got.data.shape == x.shape, (dtype, shape)
        assert np.array_equal(got.data, x)
        assert got.t0 == 12.25 and got.seq == 5 and header.seq == 5 and header.spec_id == 77


def test_flags_t0_origin_and_extreme_header_values():
    x = np.arange(6.0).reshape(2, 3)
    for gap in (False, True):
        for eos in (False, True):
            got, _ = roundtrip(Chunk(x, t0=-3.5, gap=gap, eos=eos, origin_ns=123456789012345))
            assert (got.gap, got.eos, got.t0, got.origin_ns) == (gap, eos, -3.5, 123456789012345)
    got, header = roundtrip(Chunk(x, t0=-1e300), seq=2**64 - 1, sid=2**32 - 1)  # (a non-finite t0 is refused)
    assert got.seq == 2**64 - 1 and header.spec_id == 2**32 - 1 and got.t0 == -1e300
    end, _ = roundtrip(Chunk.end(t0=9.0))
    assert end.eos and end.data.size == 0 and end.t0 == 9.0


def test_non_contiguous_fortran_and_big_endian_inputs_arrive_as_values():
    base = sample("float64", (6, 8))
    for x in (
        base[:, ::2],
        np.asfortranarray(base),
        base.astype(">f8"),
        base.T,
        sample("complex128", (3, 4)).astype(">c16"),
        sample("int32", (4, 5)).astype(">i4"),
    ):
        got, _ = roundtrip(Chunk(x))
        assert got.data.flags.c_contiguous and got.data.shape == x.shape
        assert np.array_equal(got.data, x)


def test_header_layout_is_the_documented_one():
    x = np.zeros((3, 7), dtype=np.complex64)
    head, body = wire.encode(Chunk(x, t0=1.5, gap=True, origin_ns=42), seq=9, spec_id=0xABCD)
    assert len(head) == 52 + 8 * 2 and body.nbytes == x.nbytes
    assert head[:4] == b"WGRF" and head[4] == wire.VERSION and head[5] == wire.FLAG_GAP
    assert wire.DTYPES[head[6]] == np.dtype("<c8") and head[7] == 2
    assert struct.unpack_from("<IQdq", head, 8) == (0xABCD, 9, 1.5, 42)
    assert struct.unpack_from("<2Q", head, 52) == (3, 7)


def test_encode_aliases_the_array_and_decode_does_not_copy():
    x = np.arange(1000, dtype=np.float32).reshape(10, 100)
    head, body = wire.encode(Chunk(x), 0, 0)
    assert len(body) == x.nbytes  # a flat byte view: len() is the byte count
    assert np.shares_memory(np.frombuffer(body, dtype=np.uint8), x)  # zero-copy on the send side
    buf = bytearray(body)
    got, _ = wire.decode([head, memoryview(buf)])
    assert not got.data.flags.writeable
    buf[:4] = np.float32(-7.0).tobytes()
    assert got.data[0, 0] == -7.0  # the chunk is a view of the received frame's memory


@pytest.mark.parametrize(
    "bad", [np.array(["a", "b"]), np.array([object()]), np.array(["2020-01-01"], dtype="datetime64[s]")]
)
def test_unsupported_dtypes_raise_a_clear_error(bad):
    with pytest.raises(wire.WireError) as e:
        wire.encode(Chunk(bad), 0, 0)
    assert e.value.reason == "dtype" and "supported" in str(e.value)


def _valid(shape=(2, 4), dtype="float64", sid=5):
    head, body = wire.encode(Chunk(np.ones(shape, dtype=dtype)), 3, sid)
    return bytearray(head), bytes(body)


def _bad_frames():
    """(case name, expected reason, frames) for every way a frame can be malformed."""
    head, body = _valid()

    def patched(offset, fmt, value):
        h = bytearray(head)
        struct.pack_into(fmt, h, offset, value)
        return bytes(h)

    return [
        ("one_frame", "frame_count", [bytes(head)]),
        ("three_frames", "frame_count", [bytes(head), body, b"x"]),
        ("short_header", "truncated", [bytes(head[:20]), body]),
        ("short_shape", "truncated", [bytes(head[:-3]), body]),
        ("long_header", "header_size", [bytes(head) + b"\0" * 8, body]),
        ("magic", "magic", [patched(0, "4s", b"XXXX"), body]),
        ("version", "version", [patched(4, "B", 2), body]),
        ("flags", "flags", [patched(5, "B", 0x80), body]),
        ("dtype_code", "dtype", [patched(6, "B", 99), body]),
        ("ndim", "ndim", [patched(7, "B", 200), body]),
        ("short_body", "size_mismatch", [bytes(head), body[:-8]]),
        ("huge_shape", "size_mismatch", [patched(52, "<Q", 2**40), body]),
        ("dtype_vs_size", "size_mismatch", [patched(6, "B", 11), body]),  # says float32, holds float64
    ]


@pytest.mark.parametrize("name,reason,frames", _bad_frames(), ids=[c[0] for c in _bad_frames()])
def test_every_malformed_frame_is_rejected_with_its_reason(name, reason, frames):
    with pytest.raises(wire.WireError) as e:
        wire.decode(frames)
    assert e.value.reason == reason


def test_empty_arrays_with_dimensions_numpy_refuses_are_wire_errors():
    # 0 x 2**63 holds no bytes, so the size check passes; numpy refuses the shape (ValueError)
    head, body = wire.encode(Chunk(np.zeros((0, 3))), 0, 0)
    for dims in ((0, 2**63), (2**64 - 1, 0)):
        h = bytearray(head)
        struct.pack_into("<2Q", h, 52, *dims)
        with pytest.raises(wire.WireError) as e:
            wire.decode([bytes(h), bytes(body)])
        assert e.value.reason == "shape"


def test_oversized_and_wrong_spec_id_are_rejected():
    head, body = _valid(shape=(4, 64))
    assert wire.decode([head, body], max_bytes=len(body))[0].data.shape == (4, 64)
    with pytest.raises(wire.WireError, match="oversized"):
        wire.decode([head, body], max_bytes=len(body) - 1)
    with pytest.raises(wire.WireError) as e:
        wire.decode([head, body], expected_spec_id=6)
    assert e.value.reason == "spec_id"


def test_spec_id_is_stable_and_specs_travel_as_json():
    a = signal_spec(250, ["Fz", "Cz", "Pz"])
    b = signal_spec(250, ["Fz", "Cz", "Oz"])
    ev = StreamSpec("events", 0.0, (3,), labels=((1, "left"), (2, "right")))
    assert wire.spec_id(a) == wire.spec_id(signal_spec(250, ["Fz", "Cz", "Pz"]))
    assert wire.spec_id(a) != wire.spec_id(b)
    for s in (a, b, ev):
        assert wire.spec_from_json(wire.spec_to_json(s)) == s
        assert 0 <= wire.spec_id(s) < 2**32


def test_header_fields_out_of_range_and_too_many_dims_are_refused_at_encode():
    x = np.zeros((2, 2))
    for seq, sid in ((-1, 0), (2**64, 0), (0, 2**32), (0, -5)):
        with pytest.raises(wire.WireError) as e:
            wire.encode(Chunk(x), seq, sid)
        assert e.value.reason == "range"
    with pytest.raises(wire.WireError) as e:
        wire.encode(Chunk(np.zeros((1,) * (wire.MAX_NDIM + 1))), 0, 0)
    assert e.value.reason == "ndim"
    got, _ = roundtrip(Chunk(np.arange(3.0).reshape((3,) + (1,) * (wire.MAX_NDIM - 1))))
    assert got.data.ndim == wire.MAX_NDIM and got.data.sum() == 3.0


def test_mutated_frames_either_decode_consistently_or_raise_wire_error():
    rng = np.random.default_rng(7)
    x = sample("complex64", (3, 5))
    head, body = wire.encode(Chunk(x, t0=1.0), 4, 9)
    head, body = bytes(head), bytes(body)
    outcomes = {"ok": 0, "rejected": 0}
    for _ in range(3000):
        h, b = bytearray(head), bytearray(body)
        for _ in range(int(rng.integers(1, 4))):
            target = h if rng.random() < 0.8 else b
            if len(target):
                target[int(rng.integers(0, len(target)))] = int(rng.integers(0, 256))
        if rng.random() < 0.2:
            h = h[: int(rng.integers(0, len(h) + 1))]
        if rng.random() < 0.1:
            b = b[: int(rng.integers(0, len(b) + 1))]
        try:
            got, _ = wire.decode([bytes(h), bytes(b)], max_bytes=4096)
        except wire.WireError:
            outcomes["rejected"] += 1
            continue
        outcomes["ok"] += 1
        assert got.data.nbytes == len(b) and got.data.dtype in wire.DTYPES.values()
    assert outcomes["ok"] > 0 and outcomes["rejected"] > 0


def test_a_malformed_spec_from_json_is_a_spec_error():
    from wavegraph.pipeline.spec import SpecError

    two = signal_spec(250, ["Fz", "Cz"]).to_dict()
    for shape in ([], [3]):  # a scalar signal is one channel
        with pytest.raises(SpecError, match="2 channel names for"):
            StreamSpec.from_dict({**two, "shape": shape})
    scalar = StreamSpec.from_dict({**signal_spec(250, ["Fz"]).to_dict(), "shape": []})
    assert scalar.n_channels == 1 and scalar.chunk_shape(4) == (4,)
