"""The receiving end of an edge (PULL): EdgeReceiver. What it checks and counts, its policies and the frame
fast path are described in pipeline.transport, which also makes the sending end (EdgeSender)."""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections import deque
from typing import overload

import numpy as np
import zmq

from . import wire
from .chunk import Chunk
from .endpoints import DEFAULT_MAX_BYTES, _Endpoint, check_policy, max_frame_bytes, ms, resolve_spec_id
from .spec import StreamSpec

log = logging.getLogger("wavegraph.transport")
_MISFIT_FIX = (
    "; fix: make the edge's sending node return the shape and dtype its configure() declares for that output (or "
    "declare what it returns)"
)
# What a receiver keeps of a chunk's header: the Header, or the frame (or batch frame and offset) it is
# unpacked from on demand (see EdgeReceiver.last_header).
_Head = wire.Header | bytes | tuple[bytes, int]


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
        check_policy(policy)
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
        self.expected_spec_id = resolve_spec_id(spec)
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
        # seqs ahead of _next_seq of frames that decoded but did not fit the spec: dropped and counted rejected, not
        # missing too (rx_seq_missing beside rx_rejected_spec_shape said a chunk was lost twice, where one process
        # counts it once); the next chunk is flagged gap all the same
        self._misfits: set[int] = set()
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
        # A CURVE server: libzmq refuses a sender holding another server key, or none, before the ZAP handler is
        # asked (which counts a client key not listed): the socket's monitor tells, read where this end waits.
        self._monitor = _monitor(self._sock, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL) if self._sock.curve_server else None
        self._queue: deque[tuple[Chunk, _Head]] = deque()
        self._backlog: deque[tuple[Chunk, _Head]] = deque()  # the rest of a batch (block policy)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._setup()
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

    def has_pending(self) -> bool:
        """True when recv(timeout=0) has a chunk without reading the socket: the rest of a batch, or what a drop_oldest
        receiver's thread has queued."""
        return bool(self._backlog or self._queue)

    def wait_handles(self) -> list | None:
        """What to poll for POLLIN (zmq.Poller.register) to wait for this receiver's next message along with other
        receivers' (pipeline.wait_inputs): its socket; [] for a drop_oldest receiver, whose own thread reads the socket
        (look at has_pending() again soon); None when a message is there now. Call end_wait() after the poll (a
        shared-memory edge arms its bell here)."""
        return [] if self._thread is not None else [self._sock]

    def end_wait(self) -> None:
        """After a poll on wait_handles(): disarm what it armed."""

    def count_refused(self) -> int:
        """Count the handshakes a CURVE receiver's socket refused before its ZAP handler was asked (see _refused);
        the count so far (`refused_peers`). A drop_oldest receiver's thread counts them itself while it runs."""
        if self._thread is None and self._monitor is not None:
            self._refused()
        return self.counters.get("refused_peers", 0)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        if self._monitor is not None:
            self._refused()
        self._close_socket(0)

    # --- internals -------------------------------------------------------------------------------
    def _close_socket(self, linger_ms: int) -> None:
        monitor, self._monitor = getattr(self, "_monitor", None), None
        if monitor is not None:  # before the socket, from the thread that reads it (never a thread of its own)
            self._sock.disable_monitor()
            monitor.close(linger=0)
        super()._close_socket(linger_ms)

    def _refused(self) -> None:
        """Count (`refused_peers`, rx_refused_peers in a run's summary) the handshakes refused as the socket's monitor
        reports them: a sender holding another server key (its hello does not decrypt) or connecting without CURVE.
        Each reconnection attempt counts, as the ZAP handler counts a client key it refuses; the first of each cause
        is logged with the key file to check (the edge's hook says which: key_note). Without this such a sender was
        refused unseen at this end, and the run waited for its data."""
        monitor = self._monitor
        while monitor is not None and monitor.poll(0):
            event, value = _EVENT.unpack_from(monitor.recv_multipart()[0])
            if event != zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
                continue
            self.counters["refused_peers"] = self.counters.get("refused_peers", 0) + 1
            cause = _REFUSALS.get(value, f"ZeroMQ protocol error {value:#x}")
            if cause not in self._logged:
                self._logged.add(cause)
                log.warning(
                    "edge %s: refused a sender's CURVE handshake (%s): nothing it sends reaches the graph; further "
                    "refusals are only counted (rx_refused_peers); fix: %s",
                    self.name,
                    cause,
                    self.key_note or _KEY_FIX,
                )

    def _setup(self) -> None:
        """A subclass's set-up that needs the bound socket (self.endpoint), before a drop_oldest
        receiver's thread starts."""

    def _wait(self, timeout_ms: int) -> bool:
        """Wait up to timeout_ms for something to receive; False if nothing came."""
        if self._monitor is not None:  # (only when there was nothing to receive: off the busy path)
            self._refused()
        return bool(self._sock.poll(timeout_ms))

    def _accept(self, frames) -> tuple[Chunk, wire.Header] | None:
        """Decode, count, and check the sequence; None (after counting) for a rejected frame. `frames`
        is a list of frames, or bytes: one frame holding header and payload (see _rest)."""
        chunk = None
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
            if chunk is not None and chunk.seq >= self._next_seq and len(self._misfits) < 64 and not chunk.eos:
                self._misfits.add(chunk.seq)
            if type(frames) is bytes:  # read as one frame: its message may have more parts (see _rest)
                self._discard_rest()
            return None
        seq = chunk.seq
        # An end-of-stream frame does not move the expected seq (one the runner refuses, an injected
        # one, must not make the next real frame look out of order); a frame right after it is in
        # order too (a sender that goes on after an end-of-stream, as the transport benchmark does).
        expected = seq if seq == self._after_eos and not chunk.eos else self._next_seq
        if seq > expected:
            misfits = self._misfits
            self.counters["seq_missing"] += seq - expected - sum(expected <= s < seq for s in misfits)
            chunk.gap = True
        elif seq < expected:
            self.counters["seq_reset"] += 1
            chunk.gap = True
            self._misfits.clear()  # (the old numbering's: kept, they were taken off a later real loss)
        if chunk.eos:
            self._after_eos = seq + 1
        else:
            self._next_seq, self._after_eos = seq + 1, -1
        if self._misfits:
            self._misfits = {s for s in self._misfits if s > seq}
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
            # a chunk that does not fit its spec came from a node's code (one process names it and the fix the same way)
            fix = _MISFIT_FIX if e.reason in ("spec_shape", "spec_dtype") else ""
            log.warning(
                "edge %s: dropped a bad frame (%s); further %r frames are only counted%s", self.name, e, e.reason, fix
            )

    def _recv_direct(self, timeout: float):
        deadline = None
        while True:
            try:  # a message already queued (the busy case): no poll
                item = self._next(zmq.NOBLOCK)
            except zmq.Again:
                if deadline is None:
                    deadline = time.monotonic() + timeout
                # A poll can also wake with no message (a CURVE/ZAP handshake step): the loop waits on.
                if not self._wait(ms(max(0.0, deadline - time.monotonic()))):
                    return None
                continue
            if item is not None:
                return item

    def _next(self, flags: int) -> tuple[Chunk, _Head] | None:
        """Receive one message (flags 0: wait for it; zmq.NOBLOCK: zmq.Again if none) and accept it:
        (chunk, its header or where to find it: see last_header), or None for a rejected one. A batch
        (wire.encode_batch) gives its first chunk; the rest wait in _backlog."""
        return self._take_message(self._sock.recv(flags))

    def _take_message(self, first: bytes) -> tuple[Chunk, _Head] | None:
        """Accept the message whose first (or only) frame is `first` (see _next)."""
        fast = self._fast
        if (  # _take_fast for one message, written out: this is every small hop's path
            fast is not None
            and len(first) == fast[0]
            and first.startswith(fast[1])
            and first.startswith(fast[2], _ONE_FRAME_MIN)
        ):
            seq, t0, origin_ns, _, _ = _unpack_tail(first, wire.PREFIX_BYTES)
            if seq == self._next_seq and t0 - t0 == 0.0:  # next in order, t0 finite (else decode says why)
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
            if got != seq or t0 - t0 != 0.0:  # out of order, or t0 NaN/inf: the full path decides
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
        while not self._stop.is_set():
            if not self._wait(50):
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


def _monitor(sock: zmq.Socket, events: int) -> zmq.Socket:
    """sock.get_monitor_socket(events), with no bound on the events it queues: libzmq's I/O thread sends them
    blocking, so with pyzmq's (1000 messages) a receiver too busy to read them (it reads where it waits) froze its
    socket once a refused sender had retried about 1000 times (every 100 ms: under 2 minutes), good senders too."""
    addr = f"inproc://monitor.s-{sock.FD}"
    sock.monitor(addr, events)
    monitor = sock.context.socket(zmq.PAIR)
    monitor.rcvhwm = 0  # (an inproc pipe is unbounded when either end's bound is 0)
    monitor.connect(addr)
    return monitor


_ONE_FRAME_MIN = wire.HEADER_FIXED_BYTES
_EVENT = struct.Struct("=HI")  # a monitor event's first frame: event, value (zmq.utils.monitor.parse_monitor_message)
_KEY_FIX = "connect the sender with this receiver's server public key and a client key it accepts (docs/multihost.md)"
_REFUSALS = {
    zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: "it holds another server key: its hello does not decrypt",
    zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: "it connects without CURVE",
}
_ndarray = np.ndarray
_unpack_tail = wire.unpack_tail
