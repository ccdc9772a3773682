"""The frame codec: one Chunk as a two-part ZeroMQ message, never pickle.

    frames = encode(chunk, seq=7, spec_id=spec_id(spec))    # [header bytes, array buffer]
    chunk, header = decode(frames, max_bytes=..., expected_spec_id=...)   # WireError on bad input

Frame 0 is a fixed-layout, versioned header packed with `struct`, little-endian:

    offset size field
         0    4 magic           b"WGRF"
         4    1 version         uint8, currently 1
         5    1 flags           uint8: bit 0 gap, bit 1 eos (other bits must be 0)
         6    1 dtype code      uint8, see DTYPES (bool, ints, uints, floats, complex)
         7    1 ndim            uint8, 0..MAX_NDIM
         8    4 spec id         uint32: identifies the edge's StreamSpec (see spec_id())
        12    8 seq             uint64: per-edge sequence number
        20    8 t0              float64: stream-clock time of the first sample (Chunk.t0)
        28    8 origin_ns       int64: Chunk.origin_ns (time.monotonic_ns() at the source, 0 unknown)
        36    8 send_mono_ns    int64: time.monotonic_ns() when the frame was encoded (CLOCK_MONOTONIC,
                                shared by the processes of one host: one-way latency on one host)
        44    8 send_wall_ns    int64: time.time_ns() when the frame was encoded (between hosts, only
                                as good as their clock sync)
        52  8*n shape           ndim x uint64

so the header is exactly 52 + 8 * ndim bytes. Frame 1 is the array's raw C-contiguous bytes in
little-endian order (nbytes = prod(shape) * itemsize; empty for zero-size arrays). A message may also be
ONE frame, the header immediately followed by those bytes (`encode_one`; the sender uses it for small
payloads: one frame costs less than two at both ends); `decode` takes either form. `encode` returns a
flat byte memoryview of the array as frame 1 (no copy for contiguous little-endian arrays), so the
sender can pass it with copy=False; `decode` wraps frame 1 with np.frombuffer (no copy). Decoded
arrays share the frame's memory: nodes must not modify input arrays in place (the Chunk contract), so
they are marked read-only.

The StreamSpec itself never travels in data frames. Both ends know it from the graph, or it is sent
once as JSON (`spec_to_json` / `spec_from_json`, built on StreamSpec.to_dict); the header's spec id is
`spec_id(spec)` = CRC-32 of that canonical JSON, so a receiver can check a frame belongs to its edge.

Every way a frame can be wrong raises WireError with a short machine-readable `reason`:
frame_count (also: one frame too short for a header, or a lone header whose payload is missing),
buffer (a memoryview or array frame that is not C-contiguous), truncated, header_size, magic, version,
flags, dtype, ndim, oversized, size_mismatch, shape (a consistent shape numpy still refuses, such as
(0, 2**63)), t0 (infinite: no stream time; NaN passes, a chunk without a time as in one process), spec_id
(and `range` from encode for a seq or spec id that does not fit); `check_against_spec` adds spec_shape and spec_dtype (a
frame of the edge's spec id whose array does not fit the spec). The receiver
(pipeline.transport) counts rejected frames by that reason.
"""

from __future__ import annotations

import json
import math
import struct
import sys
import time
import zlib
from typing import NamedTuple

import numpy as np

from .chunk import Chunk
from .spec import SpecError, StreamSpec

MAGIC = b"WGRF"
VERSION = 1
MAX_NDIM = 32
FLAG_GAP = 0x01
FLAG_EOS = 0x02
_KNOWN_FLAGS = FLAG_GAP | FLAG_EOS
_INFINITE = (math.inf, -math.inf)  # the t0 no chunk may have (a NaN t0 is a chunk without a time)

_HEAD = struct.Struct("<4sBBBBIQdqqq")  # magic, version, flags, dtype, ndim, spec, seq, t0, origin, mono, wall
HEADER_FIXED_BYTES = _HEAD.size  # 52
assert HEADER_FIXED_BYTES == 52
_PACK = [struct.Struct(_HEAD.format + f"{n}Q") for n in range(MAX_NDIM + 1)]  # header incl. shape
# Bytes 12-52: the per-message fields (seq, t0, origin_ns, send_mono_ns, send_wall_ns). Bytes 0-12
# (magic, version, flags, dtype, ndim, spec id) and the shape are the same for every chunk of a stream
# whose shape, dtype and flags do not change: see stream_key().
_TAIL = struct.Struct("<Qdqqq")
PREFIX_BYTES = 12
assert PREFIX_BYTES + _TAIL.size == HEADER_FIXED_BYTES
pack_tail = _TAIL.pack
unpack_tail = _TAIL.unpack_from  # (frame, PREFIX_BYTES) -> (seq, t0, origin_ns, send_mono_ns, send_wall_ns)
BATCH_MAGIC = b"WGRB"
_BATCH = struct.Struct("<4sB3xII")  # magic, version, count, bytes per message (see encode_batch)
BATCH_HEADER_BYTES = _BATCH.size  # 16
_SHAPE = [struct.Struct(f"<{n}Q") for n in range(MAX_NDIM + 1)]

# Wire dtype codes. Never renumber: add new codes at the end and bump VERSION if the layout changes.
DTYPES: dict[int, np.dtype] = {
    1: np.dtype("bool"),
    2: np.dtype("<i1"),
    3: np.dtype("<u1"),
    4: np.dtype("<i2"),
    5: np.dtype("<u2"),
    6: np.dtype("<i4"),
    7: np.dtype("<u4"),
    8: np.dtype("<i8"),
    9: np.dtype("<u8"),
    10: np.dtype("<f2"),
    11: np.dtype("<f4"),
    12: np.dtype("<f8"),
    13: np.dtype("<c8"),
    14: np.dtype("<c16"),
}
_ITEMSIZE: dict[int, int] = {code: dt.itemsize for code, dt in DTYPES.items()}
_CODES: dict[str, int] = {dt.str.lstrip("<|="): code for code, dt in DTYPES.items()}
_BY_DTYPE: dict[np.dtype, tuple[int, np.dtype]] = {}  # cache: array dtype -> (code, wire dtype)
# Buffer-protocol formats of native arrays -> code, for encode's fast path (little-endian hosts only;
# elsewhere every array takes the general path).
_BY_FORMAT: dict[str, int] = {}


class WireError(ValueError):
    """A frame cannot be encoded or decoded. `reason` is a short key used for counting."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class Header(NamedTuple):
    """The decoded fields of frame 0 that are not part of the Chunk."""

    spec_id: int
    seq: int
    send_mono_ns: int
    send_wall_ns: int


def dtype_code(dtype) -> int:
    """The wire code of a numpy dtype (byte order ignored); WireError if it cannot travel."""
    dt = np.dtype(dtype)
    code = _CODES.get(dt.newbyteorder("<").str.lstrip("<|="))
    if code is None:
        supported = ", ".join(sorted({d.name for d in DTYPES.values()}))
        raise WireError("dtype", f"dtype {dt} cannot be sent; supported: {supported}")
    return code


def _native_formats() -> dict[str, int]:
    """numpy exports the format character of its dtype (np.dtype(char) is that same type)."""
    if sys.byteorder != "little":  # pragma: no cover - big-endian hosts convert every array
        return {}
    found = {char: dtype_code(np.dtype(char)) for char in "?bBhHiIlLqQefd"}
    found["Zf"], found["Zd"] = dtype_code(np.complex64), dtype_code(np.complex128)
    return found


def _wire_dtype(dt: np.dtype) -> tuple[int, np.dtype]:
    try:
        return _BY_DTYPE[dt]
    except KeyError:
        code = dtype_code(dt)
        _BY_DTYPE[dt] = found = (code, DTYPES[code])
        return found


def spec_to_json(spec: StreamSpec) -> bytes:
    """The canonical JSON form of a spec (sorted keys, no spaces), for sending it once at connect."""
    return json.dumps(spec.to_dict(), sort_keys=True, separators=(",", ":")).encode()


def spec_from_json(data: bytes | str) -> StreamSpec:
    """The spec spec_to_json wrote; anything else (not JSON, a malformed spec) is a SpecError (StreamSpec.from_dict)."""
    try:
        d = json.loads(data)
    except (ValueError, TypeError) as e:  # (was a JSONDecodeError, or a spec that took any JSON: from_dict checks it)
        raise SpecError(f"malformed stream spec: not JSON ({e})", "send the spec as spec_to_json() writes it") from None
    return StreamSpec.from_dict(d)


def spec_id(spec: StreamSpec) -> int:
    """The uint32 that names an edge's spec in every header: CRC-32 of the canonical JSON."""
    return zlib.crc32(spec_to_json(spec)) & 0xFFFFFFFF


def encode(chunk: Chunk, seq: int, spec_id: int) -> tuple[bytes, memoryview]:
    """Frame 0 (header bytes) and frame 1 (a flat byte memoryview of a C-contiguous little-endian array).

    Frame 1 views the chunk's own array when it is already C-contiguous and little-endian (no copy);
    otherwise a converted copy. The caller must not modify the array while ZeroMQ still holds it.
    """
    head, view = _encode(chunk, seq, spec_id)
    # A flat byte view: len() is the byte count for every consumer (sockets, bytes(), tests).
    return head, view.cast("B") if view.nbytes else _EMPTY


def encode_one(chunk: Chunk, seq: int, spec_id: int) -> bytes:
    """The one-frame form: header and payload in one bytes object (a copy of the payload)."""
    head, view = _encode(chunk, seq, spec_id)
    return head + view  # bytes + any C-contiguous buffer: one copy, no flat view needed


def _encode(chunk: Chunk, seq: int, spec_id: int) -> tuple[bytes, memoryview]:
    """The header, and a C-contiguous memoryview of the array's wire form (its own memory if it can)."""
    data = chunk.data
    # Fast path: one buffer export gives format, layout and shape (cheap on the per-hop hot path).
    try:
        view = memoryview(data) if type(data) is np.ndarray else None  # pyright: ignore[reportArgumentType]  # numpy's stubs give ndarray __buffer__ only for Python >= 3.12
    except ValueError:  # dtypes without a buffer format (datetime, ...): the general path says why
        view = None
    code = _BY_FORMAT.get(view.format) if view is not None and view.c_contiguous else None
    if code is None:
        data = _wire_array(data)
        view = memoryview(data)  # pyright: ignore[reportArgumentType]  # numpy's stubs give ndarray __buffer__ only for Python >= 3.12
        code = _wire_dtype(data.dtype)[0]
    assert view is not None  # a wire code comes only with a view
    ndim = view.ndim
    if ndim > MAX_NDIM:
        raise WireError("ndim", f"{ndim} dimensions; at most {MAX_NDIM} can be sent")
    flags = (FLAG_GAP if chunk.gap else 0) | (FLAG_EOS if chunk.eos else 0)
    try:
        head = _PACK[ndim].pack(
            MAGIC,
            VERSION,
            flags,
            code,
            ndim,
            spec_id,
            seq,
            chunk.t0,
            chunk.origin_ns,
            time.monotonic_ns(),
            time.time_ns(),
            *(view.shape or ()),  # typeshed: shape is None only for views without a format
        )
    except struct.error as e:
        raise WireError(
            "range", f"a header field is out of range (spec id uint32, seq uint64, origin_ns int64): {e}"
        ) from None
    return head, view


def _wire_array(data) -> np.ndarray:
    """The slow path: any array-like as a C-contiguous array of a wire dtype (converted if needed)."""
    data = np.asarray(data)
    _, wire_dt = _wire_dtype(data.dtype)
    if data.dtype != wire_dt:  # big-endian: convert once
        data = data.astype(wire_dt)
    return np.ascontiguousarray(data)


_EMPTY = memoryview(b"")


def decode(frames, max_bytes: int | None = None, expected_spec_id: int | None = None) -> tuple[Chunk, Header]:
    """Check and unpack a received message: two frames (header, payload) or one (header + payload);
    zmq.Frames, bytes or other byte buffers.

    max_bytes bounds the payload; expected_spec_id, if given, must match the header.
    Raises WireError(reason, ...) for anything malformed; never trusts a length it has not checked.
    """
    count = len(frames)
    if count == 2:
        head, body = frames
    elif count == 1:
        head = body = frames[0]
    else:
        raise WireError("frame_count", f"{count} frames; expected 2 (header, payload) or 1 (both)")
    # Byte lengths: zmq.Frame and bytes have len(); memoryviews and arrays have nbytes (isinstance,
    # not getattr with a default: a missed attribute costs microseconds per frame).
    head_len = _byte_len(head) if isinstance(head, _VIEWS) else len(head)
    if head_len < HEADER_FIXED_BYTES:
        if count == 1:
            raise WireError("frame_count", f"one frame of {head_len} bytes: too short for a header")
        raise WireError("truncated", f"header of {head_len} bytes; the fixed part is {HEADER_FIXED_BYTES}")
    (magic, version, flags, code, ndim, sid, seq, t0, origin_ns, mono_ns, wall_ns) = _HEAD.unpack_from(head)  # pyright: ignore[reportArgumentType]  # ndarray is a buffer; numpy stubs say so only on Python >= 3.12
    if magic != MAGIC:
        raise WireError("magic", f"magic {bytes(magic)!r}; expected {MAGIC!r}")
    if version != VERSION:
        raise WireError("version", f"frame version {version}; this build reads version {VERSION}")
    if flags & ~_KNOWN_FLAGS:
        raise WireError("flags", f"unknown flag bits 0x{flags & ~_KNOWN_FLAGS:02x}")
    dt = DTYPES.get(code)
    if dt is None:
        raise WireError("dtype", f"unknown dtype code {code}")
    if ndim > MAX_NDIM:
        raise WireError("ndim", f"{ndim} dimensions; at most {MAX_NDIM}")
    expect_len = HEADER_FIXED_BYTES + 8 * ndim
    if count == 2:
        if head_len != expect_len:
            reason = "truncated" if head_len < expect_len else "header_size"
            raise WireError(reason, f"header of {head_len} bytes; {ndim} dimensions need {expect_len}")
        body_len, offset = _byte_len(body) if isinstance(body, _VIEWS) else len(body), 0
    elif head_len < expect_len:
        raise WireError(
            "truncated", f"one frame of {head_len} bytes; {ndim} dimensions need a {expect_len}-byte header"
        )
    else:
        body_len, offset = head_len - expect_len, expect_len
    shape = _SHAPE[ndim].unpack_from(head, HEADER_FIXED_BYTES)
    if max_bytes is not None and body_len > max_bytes:
        raise WireError("oversized", f"payload of {body_len} bytes; the limit is {max_bytes}")
    need = math.prod(shape) * _ITEMSIZE[code]  # Python ints: no overflow on hostile shapes
    if need != body_len:
        if count == 1 and not body_len:
            raise WireError("frame_count", f"a lone header: the payload of {need} bytes is missing")
        raise WireError("size_mismatch", f"shape {tuple(shape)} of {dt.name} needs {need} bytes; got {body_len}")
    if expected_spec_id is not None and sid != expected_spec_id:
        raise WireError("spec_id", f"spec id {sid:#010x}; this edge expects {expected_spec_id:#010x}")
    if t0 in _INFINITE:  # (NaN passes: a chunk without a time, as in one process; nodes/dsp/timebuffer.py)
        raise WireError("t0", f"t0 {t0!r} is not a stream time (NaN is a chunk without one)")
    try:
        data = np.ndarray(shape, dt, body, offset)  # a view of the frame's memory, no copy
    except ValueError as e:  # numpy's own limits, e.g. a zero-size shape with a dimension >= 2**63
        raise WireError("shape", f"shape {tuple(shape)} cannot be an array: {e}") from None
    if type(body) is not bytes:  # a view of bytes is read-only already
        data.setflags(write=False)
    chunk = Chunk(data, t0, seq, bool(flags & FLAG_GAP), bool(flags & FLAG_EOS), origin_ns)
    return chunk, _new_header(Header, (sid, seq, mono_ns, wall_ns))


def decode_one(frame: bytes, max_bytes: int | None = None, expected_spec_id: int | None = None) -> tuple[Chunk, Header]:
    """decode((frame,)) for a one-frame message received as bytes, with the checks in one pass (the
    per-message path of small chunks); anything it does not accept goes through decode() for its reason."""
    if type(frame) is not bytes:  # a view of bytes is read-only; of anything else, decode says so
        return decode((frame,), max_bytes, expected_spec_id)
    n = len(frame)
    ndim = frame[7] if n > HEADER_FIXED_BYTES else 255
    offset = HEADER_FIXED_BYTES + 8 * ndim
    if ndim <= MAX_NDIM and n > offset:  # a header and a non-empty payload
        (magic, version, flags, code, _, sid, seq, t0, origin_ns, mono_ns, wall_ns) = _HEAD.unpack_from(frame)
        shape = _SHAPE[ndim].unpack_from(frame, HEADER_FIXED_BYTES)
        size = _ITEMSIZE.get(code)
        if (
            magic == MAGIC
            and version == VERSION
            and not flags & ~_KNOWN_FLAGS
            and size is not None
            and (max_bytes is None or n - offset <= max_bytes)
            and (expected_spec_id is None or sid == expected_spec_id)
            and math.prod(shape) * size == n - offset
            and t0 not in _INFINITE  # (NaN: a chunk without a time)
        ):
            data = np.ndarray(shape, DTYPES[code], frame, offset)  # read-only: a view of bytes
            chunk = Chunk(data, t0, seq, bool(flags & FLAG_GAP), bool(flags & FLAG_EOS), origin_ns)
            return chunk, _new_header(Header, (sid, seq, mono_ns, wall_ns))
    return decode((frame,), max_bytes, expected_spec_id)


def stream_key(frame: bytes) -> tuple[bytes, bytes]:
    """The parts of an encoded one-frame message that every chunk of its stream repeats while shape,
    dtype and flags stay the same: bytes 0-12 (magic, version, flags, dtype code, ndim, spec id) and
    the shape (after byte 52). An edge caches them per stream: its sender joins them around the
    per-message fields (pack_tail) instead of packing all of them again, its receiver compares them
    with those of a frame that passed every check instead of checking again (see pipeline.transport)."""
    return frame[:PREFIX_BYTES], frame[HEADER_FIXED_BYTES : HEADER_FIXED_BYTES + 8 * frame[7]]


def encode_batch(frames: list[bytes]) -> bytes:
    """Several one-frame messages of one stream and one length (see stream_key) as one frame: a 16-byte
    container header (magic b"WGRB", version, count, bytes per message), then the messages in order.
    A sender batches only chunks it has already encoded while the pipe to its receiver was full."""
    return _BATCH.pack(BATCH_MAGIC, VERSION, len(frames), len(frames[0])) + b"".join(frames)


def batch_layout(frame: bytes) -> tuple[int, int]:
    """(count, bytes per message) of a batch frame, WireError 'batch' unless its container header is
    valid and its length is exactly count x bytes per message after it. The messages themselves are
    checked one by one, as messages of their own (decode_one), by the receiver."""
    n = len(frame)
    if n < BATCH_HEADER_BYTES:
        raise WireError("batch", f"a batch frame of {n} bytes; its header alone is {BATCH_HEADER_BYTES}")
    magic, version, count, size = _BATCH.unpack_from(frame)
    if magic != BATCH_MAGIC or version != VERSION:
        raise WireError(
            "batch", f"batch magic {bytes(magic)!r}, version {version}; expected {BATCH_MAGIC!r}, {VERSION}"
        )
    if count < 1 or size <= HEADER_FIXED_BYTES or BATCH_HEADER_BYTES + count * size != n:
        raise WireError("batch", f"{count} messages of {size} bytes do not fill a batch frame of {n} bytes")
    return count, size


def is_raw(data: np.ndarray) -> bool:
    """True when an array's own bytes are its wire payload (C-contiguous, a little-endian wire dtype:
    encode sends them as they are rather than a converted copy)."""
    try:
        view = memoryview(data)  # pyright: ignore[reportArgumentType]  # numpy's stubs give ndarray __buffer__ only for Python >= 3.12
    except ValueError:
        return False
    return view.c_contiguous and view.format in _BY_FORMAT


def header_of(frame: bytes, offset: int = 0) -> Header:
    """The Header of an encoded message at `offset` of `frame` that decode() has accepted (no checks)."""
    sid = _HEAD.unpack_from(frame, offset)[5]
    seq, _, _, mono_ns, wall_ns = _TAIL.unpack_from(frame, offset + PREFIX_BYTES)
    return Header(sid, seq, mono_ns, wall_ns)


def check_against_spec(data: np.ndarray, spec: StreamSpec) -> None:
    """WireError 'spec_shape' or 'spec_dtype' unless a decoded array fits the edge's spec: its dtype,
    and its shape without the time axis (last for signals, first otherwise)."""
    want = _SPEC_DTYPES.get(spec.dtype)
    if want is None:  # np.dtype(name) once per name; dtype.name itself costs microseconds per call
        want = _SPEC_DTYPES[spec.dtype] = np.dtype(spec.dtype)
    if data.dtype != want:
        raise WireError("spec_dtype", f"{data.dtype.name} payload on a {spec.dtype} edge")
    shape = data.shape[:-1] if spec.kind == "signal" else data.shape[1:]
    if data.ndim != len(spec.shape) + 1 or shape != spec.shape:
        raise WireError("spec_shape", f"shape {data.shape} does not fit the edge's {spec.describe()}")


_VIEWS = (memoryview, np.ndarray)


def _byte_len(buf: memoryview | np.ndarray) -> int:
    """The byte length of a memoryview or array frame; WireError 'buffer' unless it is C-contiguous (a
    strided buffer is no frame: unpacking or wrapping it would fail with another error, or read the
    wrong bytes)."""
    if not (buf.c_contiguous if type(buf) is memoryview else buf.flags.c_contiguous):
        raise WireError("buffer", "a frame buffer that is not C-contiguous")
    return buf.nbytes


_SPEC_DTYPES: dict[str, np.dtype] = {}
_new_header = tuple.__new__  # builds a Header without the Python-level NamedTuple __new__ (hot path)


_BY_FORMAT.update(_native_formats())
