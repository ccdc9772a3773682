"""ZeroMQ edges between processes: one EdgeSender and one EdgeReceiver per graph edge.

API (what the multi-process runner uses)::

    from wavegraph.pipeline.transport import EdgeSender, EdgeReceiver, ipc_endpoint, tcp_endpoint

    rx = EdgeReceiver(ipc_endpoint("filt.out"), spec, policy="block", maxlen=64)   # binds
    # ... start the producing process with rx.endpoint (the resolved address) ...
    tx = EdgeSender(rx.endpoint, spec, policy="block", hwm=64)                     # connects
    tx.send(chunk)              # assigns seq; True when queued, False when dropped or timed out
    chunk = rx.recv(timeout=1)  # a Chunk, or None on timeout; gap=True after any missing seq
    tx.close(); rx.close()      # the sender lingers (linger_ms) so queued frames, eos above all, arrive

Sockets: PUSH (sender) -> PULL (receiver), one sender per edge. By default the receiver binds and the
sender connects; pass `bind=` to swap. Endpoints are `ipc://path` on one host (`ipc_endpoint()` makes
a unique path in the temp dir) and `tcp://host:port` between hosts; a tcp endpoint without a host
(`tcp://:5555`) binds to 127.0.0.1, never to all interfaces unless a host (or `*`) is named. Binding
`tcp://127.0.0.1:*` picks a free port; `.endpoint` then holds the real address (race-free, unlike
`free_tcp_port()`, which is there for configs that need a number up front).

Frames are `pipeline.wire`'s messages, never pickle: a payload under ONE_FRAME_MAX (16 KiB) goes as one
frame, header and payload together (one send, one recv, no zmq.Frame objects: most of a small chunk's
cost is per call), a larger one as two parts, header + raw buffer, zero-copy from COPY_THRESHOLD. The spec is known to both ends from the graph (or exchanged once with wire.spec_to_json);
pass the StreamSpec (or its `wire.spec_id`) to both ends and the receiver rejects frames of another
edge. Pass spec=None to skip that check.

Flow policies (`policy=`), with the queue bound they declare:

* "block": back-pressure. The sender's send high-water mark is `hwm` and the receiver's receive
  high-water mark is `maxlen`; when both queues are full (plus what the OS socket buffers hold),
  `send()` blocks until the consumer catches up, or until `timeout` (then returns False, seq not
  consumed, nothing lost: the caller may retry). Nothing is dropped.
  With `batch=True` (the multi-process runner's senders), small chunks (one-frame, of the stream's
  usual layout) that find the pipe full are first held by the sender, up to BATCH_MAX (16, at most
  `hwm`) of them and BATCH_BYTES, and go as ONE message (wire.encode_batch: the same checked messages, concatenated)
  when the held ones reach that bound (then send() waits for room as above), before anything else
  is sent, or on flush() / close(). So a receiver that is behind gets small chunks in batches (one
  ZeroMQ message, not one each: about twice the small-chunk rate) and each chunk keeps its own seq
  and times. The price: the queues' bounds count messages, so behind a slow receiver up to 16 x
  (hwm + maxlen) small chunks can wait instead of hwm + maxlen; and send() may return True for a
  chunk still held, so the producer must call flush() when it goes idle or waits for anything (the
  worker does on every turn of its loop); a request/response caller (send, then wait for a reply)
  keeps the default, batch=False, where send() never holds.
* "drop_oldest": a background thread in the receiver drains the socket continuously into a deque of
  at most `maxlen` chunks; when it is full the oldest chunk is dropped (counter `dropped_oldest`) and
  the chunk after it is marked gap=True. A ZMQ queue cannot drop its oldest message, so if the
  receiving process stalls altogether and the sender's pipe (`hwm`) fills, the sender drops the chunk
  it is sending instead (counter `dropped_full`, seq consumed so the receiver sees the gap).
  End-of-stream chunks are never dropped: the sender sends them blocking and the deque keeps them.

Receiving: a batch is taken apart into its chunks, each checked as a message of its own (a bad one is
dropped and counted alone; a batch container that is not well formed is dropped whole, `batch`). Once a
stream has passed every check, a one-frame message that repeats, byte for byte, the checked parts of
the last one (length, magic, version, flags, dtype, ndim, spec id, shape) and is next in sequence
skips re-checking them (`_take_fast`); the sender likewise packs only the per-message fields once it
knows the stream's layout. `seq` comes from the sender (0, 1, 2, ...). A jump counts the missing chunks
(`seq_missing`) and sets gap=True on the chunk that arrives; a step back (a restarted sender) counts
`seq_reset` and also sets gap. A frame that fails wire.decode (malformed, truncated, oversized over
`max_bytes`, unknown version, unknown dtype, shape that does not match the buffer, wrong spec id) or,
when the receiver was given the StreamSpec itself, whose array does not fit it (`spec_shape`: the shape
without the time axis; `spec_dtype`) is dropped, counted as `rejected` and `rejected_<reason>`, logged
once per reason on the "wavegraph.transport" logger, and the receiver carries on. A frame larger than
the spec can need (`max_frame_bytes`: bytes per sample x max(2**20 samples, 10 min), at most 256 MiB)
is refused by libzmq itself (ZMQ_MAXMSGSIZE) before it is read into memory, which drops that peer's
connection; it is never counted. An end-of-stream frame does not move the expected seq. Received arrays are read-only views of the
received frame (no copy past libzmq's; a one-frame message is received as bytes). `last_header` holds the wire.Header (send timestamps) of the last chunk returned.

Always close() both ends (or use them as context managers): close() is what waits for queued frames,
and a drop_oldest receiver's thread keeps it alive until then. The linger covers frames still queued
in ZeroMQ, not bytes its I/O thread has taken but cannot yet write because the receiver is far behind
(full socket buffers): when the sending process must exit right after end-of-stream, keep it alive
until the receiving side confirms it saw end-of-stream (the multi-process runner waits for such a
release message) rather than relying on the linger alone. Each end makes its own zmq.Context
(one I/O thread) unless `context=` is given; then closing the socket is up to the caller's context
for the linger (the context's term() waits for it).

Counters (`.counters`, plain ints): sender: sent, bytes, dropped_full, timeouts;
receiver: received, delivered, bytes, seq_missing, seq_reset, dropped_oldest, rejected, rejected_*.
"""

from __future__ import annotations

import logging
import math
import struct
import threading
import time
from collections import deque
from typing import overload

import numpy as np
import zmq

from . import wire
from .chunk import Chunk
from .endpoints import (
    MAX_CHUNK_SAMPLES,
    _Endpoint,
    free_tcp_port,
    ipc_endpoint,
    max_frame_bytes,
    normalize_endpoint,
    tcp_endpoint,
)
from .spec import StreamSpec

__all__ = [  # the endpoint helpers live in pipeline.endpoints; importing them from here still works
    "BATCH_BYTES",
    "COPY_THRESHOLD",
    "DEFAULT_MAX_BYTES",
    "MAX_CHUNK_SAMPLES",
    "ONE_FRAME_MAX",
    "POLICIES",
    "EdgeReceiver",
    "EdgeSender",
    "free_tcp_port",
    "ipc_endpoint",
    "max_frame_bytes",
    "normalize_endpoint",
    "tcp_endpoint",
]

log = logging.getLogger("wavegraph.transport")
# What a receiver keeps of a chunk's header: the Header, or the frame (or batch frame and offset) it is
# unpacked from on demand (see EdgeReceiver.last_header).
_Head = wire.Header | bytes | tuple[bytes, int]

POLICIES = ("block", "drop_oldest")
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
COPY_THRESHOLD = 64 * 1024  # payloads at least this large are sent zero-copy
ONE_FRAME_MAX = 16 * 1024  # payloads smaller than this go as one frame (header + payload, wire.encode_one)
BATCH_BYTES = 64 * 1024  # a batching sender holds at most this much while its pipe is full
BATCH_MAX = 16  # and at most this many chunks (nor more than hwm)


def _resolve_spec_id(spec: StreamSpec | int | None) -> int | None:
    if spec is None or isinstance(spec, int):
        return spec
    return wire.spec_id(spec)


def _check_policy(policy: str) -> None:
    if policy not in POLICIES:
        raise ValueError(f"unknown flow policy {policy!r}; use one of {', '.join(POLICIES)}")


class EdgeSender(_Endpoint):
    """The sending end of an edge (PUSH). Not thread-safe: use it from one thread."""

    def __init__(
        self,
        endpoint: str,
        spec: StreamSpec | int | None,
        *,
        policy: str = "block",
        hwm: int = 64,
        bind: bool = False,
        linger_ms: int = 5000,
        copy_threshold: int = COPY_THRESHOLD,
        context: zmq.Context | None = None,
        secure=None,
        batch: bool = False,
    ):
        _check_policy(policy)
        if hwm < 1:
            raise ValueError(f"hwm={hwm}: the send queue needs room for at least one chunk")
        super().__init__(zmq.PUSH, endpoint, bind, context, secure)
        self.policy = policy
        self.spec_id = _resolve_spec_id(spec) or 0
        self.linger_ms = int(linger_ms)
        self.copy_threshold = int(copy_threshold)
        self.seq = 0  # the seq of the next chunk
        self.counters = {"sent": 0, "bytes": 0, "dropped_full": 0, "timeouts": 0}
        # The stream's last one-frame layout (see send): dtype, shape, strides, wire.stream_key parts.
        self._fast: tuple | None = None
        self._held: list[bytes] = []  # encoded chunks held while the pipe is full (see flush)
        self._hold_max = 1
        self._hwm = int(hwm)
        self.batch = batch and policy == "block"  # may hold small chunks while the pipe is full (see flush)
        self._sock.setsockopt(zmq.SNDHWM, int(hwm))
        self._sock.setsockopt(zmq.LINGER, self.linger_ms)
        # Watch the handshake, so that wait_connected() can tell when the receiver is really there.
        self._monitor = None if bind else self._sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        self.connected = bind
        self._attach(endpoint)

    def wait_connected(self, timeout: float) -> bool:
        """True once the connection to the receiver has completed its handshake (frames sent from now
        on reach it; before, a drop_oldest sender could drop them as 'full'). False after `timeout` s."""
        if not self.connected and self._monitor is not None and self._monitor.poll(_ms(timeout)):
            self._monitor.recv_multipart()
            self.connected = True
            self._stop_monitor()
        return self.connected

    def reconnect(self, endpoint: str) -> None:
        """Connect to `endpoint` instead (its receiver was restarted elsewhere); frames queued for the old
        one are dropped, which the new receiver sees as missing seq (a gap)."""
        if endpoint != self.endpoint:
            self._held.clear()
            self._sock.disconnect(self.endpoint)
            self._attach(endpoint)

    def _stop_monitor(self) -> None:
        if self._monitor is not None:
            self._sock.disable_monitor()
            self._monitor.close(linger=0)
            self._monitor = None

    def send(self, chunk: Chunk, timeout: float | None = None) -> bool:
        """Send one chunk with the next seq. True when handed to ZeroMQ.

        block: waits for room (forever, or up to `timeout` s, then False with seq not consumed).
        drop_oldest: never waits, except for end-of-stream chunks; when the pipe is full the chunk is
        dropped, counted in `dropped_full`, and its seq consumed (the receiver marks the gap).
        The array must not be modified afterwards: large payloads are sent without a copy.
        """
        data = chunk.data
        fast = self._fast
        if (  # the same layout as the last small chunk: only the per-message fields are packed
            fast is not None
            and type(data) is np.ndarray
            and data.dtype is fast[0]
            and data.shape == fast[1]
            and data.strides == fast[2]  # so C-contiguous, as that one was
            and not chunk.gap
            and not chunk.eos
        ):
            try:
                tail = wire.pack_tail(self.seq, chunk.t0, chunk.origin_ns, _mono_ns(), _wall_ns())
            except struct.error:  # out of range: the general path below raises wire's error
                pass
            else:
                frame = _join((fast[3], tail, fast[4], data))  # pyright: ignore[reportArgumentType]  # numpy's stubs give ndarray __buffer__ only for Python >= 3.12
                if self.batch:
                    return self._send_or_hold(frame, timeout, fast[5])
                return self._send_frames(frame, None, True, False, timeout, fast[5])
        if type(data) is np.ndarray and data.nbytes < ONE_FRAME_MAX:  # one send here, one recv there
            frame = wire.encode_one(chunk, self.seq, self.spec_id)
            if not (chunk.gap or chunk.eos) and wire.is_raw(data):  # the frame holds data's own bytes
                self._fast = (data.dtype, data.shape, data.strides, *wire.stream_key(frame), data.nbytes)
                self._hold_max = max(1, min(self._hwm, BATCH_MAX, BATCH_BYTES // len(frame)))
            return self._send_frames(frame, None, True, chunk.eos, timeout, data.nbytes)
        head, body = wire.encode(chunk, self.seq, self.spec_id)
        nbytes = len(body)
        return self._send_frames(head, body, nbytes < self.copy_threshold, chunk.eos, timeout, nbytes)

    def _send_or_hold(self, frame: bytes, timeout: float | None, nbytes: int) -> bool:
        """A block-policy chunk of the stream's cached layout: sent at once when the pipe has room. When
        it is full (the receiver is `hwm` + its queue behind), the chunk is held instead and sent with
        those held after it as one batch message as soon as there is room (see flush)."""
        held = self._held
        if not held:
            try:
                _send(self._sock, frame, zmq.NOBLOCK)
            except zmq.Again:
                held.append(frame)
            self.seq += 1
            counters = self.counters
            counters["sent"] += 1
            counters["bytes"] += nbytes
            return True
        if len(held) >= self._hold_max and not self.flush(timeout):
            self.counters["timeouts"] += 1
            return False
        held.append(frame)
        self.seq += 1
        self.counters["sent"] += 1
        self.counters["bytes"] += nbytes
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Send the chunks a block-policy sender held while the pipe was full: one message (a batch,
        wire.encode_batch, when there are several), at once when there is room, else waiting up to
        `timeout` s (None: forever; 0: not at all). True when nothing is held any more.

        Only a sender made with batch=True holds chunks. send() flushes before anything that is not
        held, and holds at most BATCH_MAX chunks (and `hwm`, and 64 KiB) before it waits; close()
        flushes too. The producer calls flush() when it goes idle or waits on anything else (the
        multi-process worker does, every loop), so that held chunks never wait for its next send."""
        held = self._held
        if not held:
            return True
        msg = held[0] if len(held) == 1 else wire.encode_batch(held)
        sock = self._sock
        try:
            _send(sock, msg, zmq.NOBLOCK)
        except zmq.Again:
            if timeout == 0 or not sock.poll(None if timeout is None else _ms(timeout), zmq.POLLOUT):
                return False
            _send(sock, msg, 0)
        held.clear()
        return True

    def _send_frames(self, first, second, copy: bool, eos: bool, timeout: float | None, nbytes: int) -> bool:
        """Queue a message of one part (second None) or two under the edge's policy (see send); counts,
        and consumes the seq. Chunks held by the block policy go first (see flush)."""
        if self._held and not self.flush(timeout):
            self.counters["timeouts"] += 1
            return False
        sock = self._sock
        more = 0 if second is None else zmq.SNDMORE
        if self.policy == "drop_oldest" and not eos:
            try:
                _send(sock, first, more | zmq.NOBLOCK)
            except zmq.Again:
                self.counters["dropped_full"] += 1
                self.seq += 1
                return False
            # Once the first part is queued, ZeroMQ queues the rest of the message atomically.
        elif timeout is None:
            _send(sock, first, more)
        else:
            try:  # room now (the common case): no poll
                _send(sock, first, more | zmq.NOBLOCK)
            except zmq.Again:
                if not sock.poll(_ms(timeout), zmq.POLLOUT):
                    self.counters["timeouts"] += 1
                    return False
                _send(sock, first, more)
        if second is not None:
            _send(sock, second, 0, copy)
        self.seq += 1
        self.counters["sent"] += 1
        self.counters["bytes"] += nbytes
        return True

    def close(self, linger_ms: int | None = None) -> None:
        """Close, waiting up to `linger_ms` (default: the constructor's) for queued frames to go out."""
        if self._closed:
            return
        self._closed = True
        linger_ms = self.linger_ms if linger_ms is None else int(linger_ms)
        if self._held and linger_ms:  # held chunks are queued chunks: they get the linger too
            self.flush(None if linger_ms < 0 else linger_ms / 1000)  # ZeroMQ -1: wait for ever
        self._stop_monitor()
        self._close_socket(linger_ms)


class EdgeReceiver(_Endpoint):
    """The receiving end of an edge (PULL). Call recv() from one thread."""

    def __init__(
        self,
        endpoint: str,
        spec: StreamSpec | int | None,
        *,
        policy: str = "block",
        maxlen: int = 64,
        bind: bool = True,
        max_bytes: int = DEFAULT_MAX_BYTES,
        context: zmq.Context | None = None,
        name: str = "",
        secure=None,
    ):
        _check_policy(policy)
        if maxlen < 1:
            raise ValueError(f"maxlen={maxlen}: the receive queue needs room for at least one chunk")
        super().__init__(zmq.PULL, endpoint, bind, context, secure)
        self.policy = policy
        self.maxlen = int(maxlen)
        self.spec = spec if isinstance(spec, StreamSpec) else None
        # Frames over max_bytes are dropped and counted; libzmq itself refuses (before allocating it,
        # and by dropping that connection) a frame over what the spec can need, at most 256 MiB.
        limit = min(max_frame_bytes(self.spec), DEFAULT_MAX_BYTES) if self.spec else DEFAULT_MAX_BYTES
        self.max_bytes = min(int(max_bytes), limit)
        self.zmq_max_bytes = max(limit, int(max_bytes) if self.spec is None else 0)
        self.expected_spec_id = _resolve_spec_id(spec)
        self.name = name or endpoint
        self._last: _Head | None = None  # see last_header
        self.counters = {
            "received": 0,
            "delivered": 0,
            "bytes": 0,
            "seq_missing": 0,
            "seq_reset": 0,
            "dropped_oldest": 0,
            "rejected": 0,
        }
        self._next_seq = 0
        self._after_eos = -1
        self._ok_shape: tuple = ()  # the last shape and dtype that passed the spec check
        self._ok_dtype: np.dtype | None = None
        # The stream's last accepted one-frame layout (see _next): frame length, wire.stream_key parts,
        # shape, dtype, payload offset, payload bytes.
        self._fast: tuple | None = None
        self._logged: set[str] = set()
        self._sock.setsockopt(zmq.RCVHWM, self.maxlen)
        self._sock.setsockopt(zmq.LINGER, 0)
        # libzmq refuses a larger frame before allocating it (and drops that connection).
        self._sock.setsockopt(zmq.MAXMSGSIZE, max(self.zmq_max_bytes, wire.HEADER_FIXED_BYTES + 8 * wire.MAX_NDIM))
        self._attach(endpoint)
        self._queue: deque[tuple[Chunk, _Head]] = deque()
        self._backlog: deque[tuple[Chunk, _Head]] = deque()  # the rest of a batch (block policy)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if policy == "drop_oldest":
            self._thread = threading.Thread(target=self._drain_loop, name=f"wg-rx-{self.name}", daemon=True)
            self._thread.start()

    # --- public ----------------------------------------------------------------------------------
    @overload
    def recv(self, timeout: None = None) -> Chunk: ...  # waits forever: always a chunk
    @overload
    def recv(self, timeout: float) -> Chunk | None: ...
    def recv(self, timeout: float | None = None) -> Chunk | None:
        """The next chunk, waiting up to `timeout` seconds (None: forever, 0: don't wait); None if none."""
        if self._thread is not None:
            item = self._pop(timeout)
        elif self._backlog:  # the rest of a batch (see _unbatch)
            item = self._backlog.popleft()
        elif timeout is None:  # the common blocking case, kept short: it is on every hop
            while True:
                item = self._next(0)
                if item is not None:
                    break
        else:
            item = self._recv_direct(timeout)
        if item is None:
            return None
        chunk, self._last = item
        self.counters["delivered"] += 1
        return chunk

    @property
    def last_header(self) -> wire.Header | None:
        """The wire.Header (send timestamps) of the last chunk recv() returned; None before the first."""
        last = self._last
        if type(last) is bytes:  # a frame the fast path accepted: its header is unpacked on demand
            last = self._last = wire.header_of(last)
        elif type(last) is tuple:  # (batch frame, offset) of a message in a batch
            last = self._last = wire.header_of(*last)
        return last  # pyright: ignore[reportReturnType]  # bytes was replaced just above

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        self._close_socket(0)

    # --- internals -------------------------------------------------------------------------------
    def _accept(self, frames) -> tuple[Chunk, wire.Header] | None:
        """Decode, count, and check the sequence; None (after counting) for a rejected frame. `frames`
        is a list of frames, or bytes: one frame holding header and payload (see _rest)."""
        try:
            if type(frames) is bytes:  # a one-frame message (_rest)
                chunk, header = wire.decode_one(frames, self.max_bytes, self.expected_spec_id)
            else:
                chunk, header = wire.decode(frames, self.max_bytes, self.expected_spec_id)
            data = chunk.data
            # The spec check, skipped for the shape and dtype the previous chunk passed with.
            if self.spec is not None and data.size and (data.shape != self._ok_shape or data.dtype != self._ok_dtype):
                wire.check_against_spec(data, self.spec)
                self._ok_shape, self._ok_dtype = data.shape, data.dtype
            if type(frames) is bytes and not frames[5]:  # a valid one-frame message without flags
                n = len(frames)
                self._fast = (n, *wire.stream_key(frames), data.shape, data.dtype, n - data.nbytes, data.nbytes)
        except wire.WireError as e:
            self._reject(e)
            if type(frames) is bytes:  # read as one frame: its message may have more parts (see _rest)
                self._discard_rest()
            return None
        seq = chunk.seq
        # An end-of-stream frame does not move the expected seq (one the runner refuses, an injected
        # one, must not make the next real frame look out of order); a frame right after it is in
        # order too (a sender that goes on after an end-of-stream, as the transport benchmark does).
        expected = seq if seq == self._after_eos and not chunk.eos else self._next_seq
        if seq > expected:
            self.counters["seq_missing"] += seq - expected
            chunk.gap = True
        elif seq < expected:
            self.counters["seq_reset"] += 1
            chunk.gap = True
        if chunk.eos:
            self._after_eos = seq + 1
        else:
            self._next_seq, self._after_eos = seq + 1, -1
        counters = self.counters
        counters["received"] += 1
        counters["bytes"] += data.nbytes
        return chunk, header

    def _reject(self, e: wire.WireError) -> None:
        """Count a dropped frame by its reason; log the first of each reason."""
        self.counters["rejected"] += 1
        key = f"rejected_{e.reason}"
        self.counters[key] = self.counters.get(key, 0) + 1
        if e.reason not in self._logged:
            self._logged.add(e.reason)
            log.warning("edge %s: dropped a bad frame (%s); further %r frames are only counted", self.name, e, e.reason)

    def _recv_direct(self, timeout: float):
        deadline = None
        while True:
            try:  # a message already queued (the busy case): no poll
                item = self._next(zmq.NOBLOCK)
            except zmq.Again:
                if deadline is None:
                    deadline = time.monotonic() + timeout
                # A poll can also wake with no message (a CURVE/ZAP handshake step): the loop waits on.
                if not self._sock.poll(_ms(max(0.0, deadline - time.monotonic()))):
                    return None
                continue
            if item is not None:
                return item

    def _next(self, flags: int) -> tuple[Chunk, _Head] | None:
        """Receive one message (flags 0: wait for it; zmq.NOBLOCK: zmq.Again if none) and accept it:
        (chunk, its header or where to find it: see last_header), or None for a rejected one. A batch
        (wire.encode_batch) gives its first chunk; the rest wait in _backlog."""
        first = self._sock.recv(flags)
        fast = self._fast
        if (  # _take_fast for one message, written out: this is every small hop's path
            fast is not None
            and len(first) == fast[0]
            and first.startswith(fast[1])
            and first.startswith(fast[2], _ONE_FRAME_MIN)
        ):
            seq, t0, origin_ns, _, _ = _unpack_tail(first, wire.PREFIX_BYTES)
            if seq == self._next_seq:
                self._next_seq, self._after_eos = seq + 1, -1
                counters = self.counters
                counters["received"] += 1
                counters["bytes"] += fast[6]
                return Chunk(_ndarray(fast[3], fast[4], first, fast[5]), t0, seq, False, False, origin_ns), first
        if first.startswith(wire.BATCH_MAGIC):
            return self._unbatch(first)
        return self._accept(self._rest(first))

    def _take_fast(self, frame: bytes, at: int, end: int, size: int, out: list) -> int:
        """The fast path, for one-frame messages of `size` bytes from offset `at` to `end` of `frame`
        (one message, or the messages of a batch): each that equals, in every byte the checks look at
        (its length; bytes 0-12: magic, version, flags 0, dtype, ndim, spec id; the shape), the last
        message that passed them all (_accept), and is next in sequence, would pass them the same
        way; only its per-message fields are unpacked, and (chunk, head) appended to `out`. Returns
        the offset of the first message that does not qualify (`end` when all did): it takes the full
        path."""
        fast = self._fast
        if fast is None or size != fast[0]:
            return at
        _, prefix, shape_bytes, shape, dtype, offset, nbytes = fast
        seq = start_seq = self._next_seq
        while at < end and frame.startswith(prefix, at) and frame.startswith(shape_bytes, at + _ONE_FRAME_MIN):
            got, t0, origin_ns, _, _ = _unpack_tail(frame, at + wire.PREFIX_BYTES)
            if got != seq:
                break
            data = _ndarray(shape, dtype, frame, at + offset)
            out.append((Chunk(data, t0, seq, False, False, origin_ns), frame if at == 0 else (frame, at)))
            seq += 1
            at += size
        if seq != start_seq:
            self._next_seq, self._after_eos = seq, -1
            counters = self.counters
            counters["received"] += seq - start_seq
            counters["bytes"] += (seq - start_seq) * nbytes
        return at

    def _unbatch(self, frame: bytes) -> tuple[Chunk, _Head] | None:
        """The chunks of a batch frame, each checked as a message of its own (the fast path where it
        applies, else _accept on a copy of it: counted and dropped alone if bad); the first returned,
        the others queued in _backlog. A malformed container is dropped whole (rejected_batch)."""
        try:
            count, size = wire.batch_layout(frame)
        except wire.WireError as e:
            self._reject(e)
            self._discard_rest()
            return None
        items: list[tuple[Chunk, _Head]] = []
        at, end = wire.BATCH_HEADER_BYTES, wire.BATCH_HEADER_BYTES + count * size
        while at < end:
            at = self._take_fast(frame, at, end, size, items)
            if at < end:
                item = self._accept(frame[at : at + size])
                if item is not None:
                    items.append(item)
                at += size
        if not items:
            return None
        self._backlog.extend(items[1:])
        return items[0]

    def _rest(self, first: bytes):
        """All frames of the message whose first frame is `first` (received as bytes: a header, or a
        header and a small payload in one frame, the common case, decided from its own length without
        asking libzmq); the parts after it, if any, as zmq.Frames (no copy). ZeroMQ delivers messages
        whole, so only the first recv can wait or raise Again."""
        sock = self._sock
        n = len(first)
        if n > _ONE_FRAME_MIN and first.startswith(wire.MAGIC) and n > _ONE_FRAME_MIN + 8 * first[7]:
            return first  # longer than its header: header and payload in one frame
        frames: list = [first]
        while sock.getsockopt(zmq.RCVMORE):
            frames.append(sock.recv(copy=False))
        return frames

    def _discard_rest(self) -> None:
        """Drop the remaining parts of the message whose first frame _rest returned alone and _accept
        rejected, so they are not read as the next messages. RCVMORE is asked only here, on the error
        path: a one-frame message that decodes is accepted without asking it (a microsecond a hop). So a
        rejected message is always dropped whole and counted once; every accepted chunk is a complete,
        valid message by itself; but parts sent after a valid one-frame first part are each judged as
        messages of their own, which gives a sender nothing it could not get by sending them apart."""
        sock = self._sock
        while sock.getsockopt(zmq.RCVMORE):
            sock.recv(copy=False)

    def _pop(self, timeout: float | None) -> tuple[Chunk, _Head] | None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._queue, timeout):
                return None
            return self._queue.popleft()

    def _push(self, item: tuple[Chunk, _Head]) -> None:
        with self._cond:
            q = self._queue
            if len(q) >= self.maxlen:
                i = next((k for k, (c, _) in enumerate(q) if not c.eos), None)
                if i is not None:  # the oldest chunk that is not an end-of-stream marker
                    del q[i]
                    self.counters["dropped_oldest"] += 1
                    (q[i][0] if i < len(q) else item[0]).gap = True
            q.append(item)
            self._cond.notify()

    def _drain_loop(self) -> None:
        sock = self._sock
        while not self._stop.is_set():
            if not sock.poll(50):
                continue
            while True:
                try:
                    item = self._next(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if item is not None:
                    self._push(item)
                while self._backlog:  # the rest of a batch, in order
                    self._push(self._backlog.popleft())


_ONE_FRAME_MIN = wire.HEADER_FIXED_BYTES
_join = b"".join
_ndarray = np.ndarray
_unpack_tail = wire.unpack_tail
_mono_ns, _wall_ns = time.monotonic_ns, time.time_ns
# pyzmq's Socket.send is a Python wrapper (routing ids, groups) around the backend's: calling that one
# directly saves about a quarter of a microsecond per part.
_send = next((k.__dict__["send"] for k in zmq.Socket.__mro__[1:] if "send" in k.__dict__), zmq.Socket.send)


def _ms(seconds: float) -> int:
    return max(0, int(math.ceil(seconds * 1000.0)))
