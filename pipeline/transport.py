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
  consumed, nothing lost: the caller may retry). Nothing is dropped. Without a timeout, a sender whose
  handshakes the receiver refuses (CURVE: another server key, a client key not accepted; CURVE at one
  end only) raises EdgeUnreachable, naming the cause and its key files, instead of waiting for ever.
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

Counters (`.counters`, plain ints): sender: sent, bytes, dropped_full, timeouts, rejected_dtype (chunks of a
dtype no wire code carries, object or float128 say: dropped, seq consumed, as one process drops them);
receiver: received, delivered, bytes, seq_missing, seq_reset, dropped_oldest, rejected, rejected_*, and on a CURVE
receiver refused_peers (handshakes libzmq refused before the ZAP handler: another server key, or none; count_refused()).
"""

from __future__ import annotations

import logging
import struct
import time

import numpy as np
import zmq

from . import wire
from .chunk import Chunk
from .endpoints import (
    DEFAULT_MAX_BYTES,
    MAX_CHUNK_SAMPLES,
    POLICIES,
    _Endpoint,
    check_policy,
    free_tcp_port,
    ipc_endpoint,
    max_frame_bytes,
    ms,
    normalize_endpoint,
    resolve_spec_id,
    tcp_endpoint,
)
from .receiver import EdgeReceiver, _monitor
from .spec import StreamSpec

__all__ = [  # the endpoint helpers live in pipeline.endpoints, the receiver in pipeline.receiver; both import from here
    "BATCH_BYTES",
    "COPY_THRESHOLD",
    "DEFAULT_MAX_BYTES",
    "MAX_CHUNK_SAMPLES",
    "ONE_FRAME_MAX",
    "POLICIES",
    "EdgeReceiver",
    "EdgeSender",
    "EdgeUnreachable",
    "free_tcp_port",
    "ipc_endpoint",
    "max_frame_bytes",
    "normalize_endpoint",
    "tcp_endpoint",
]

COPY_THRESHOLD = 64 * 1024  # payloads at least this large are sent zero-copy
ONE_FRAME_MAX = 16 * 1024  # payloads smaller than this go as one frame (header + payload, wire.encode_one)
BATCH_BYTES = 64 * 1024  # a batching sender holds at most this much while its pipe is full
BATCH_MAX = 16  # and at most this many chunks (nor more than hwm)
REFUSALS_S = 0.1  # a send that waits for ever looks this often whether the receiver refused the handshake
NO_DETAIL_REFUSALS = 3  # handshakes the receiver closed in a row (no cause said: another server key) that are a refusal
log = logging.getLogger("wavegraph.transport")
_HANDSHAKE_EVENTS = (
    zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)


class EdgeUnreachable(ConnectionError):
    """A send (or flush) that waits for ever (no timeout) cannot end: the receiver refused this sender's handshake
    (CURVE: another server key, a client key it does not accept, or CURVE at one end only), or, on a shared-memory
    edge, the receiver is gone. The message names the cause and the key files to check."""


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
        name: str = "",
    ):
        check_policy(policy)
        if hwm < 1:
            raise ValueError(f"hwm={hwm}: the send queue needs room for at least one chunk")
        self.name = name or f"to {endpoint}"  # what its warnings call it: the edge (the worker's), else its endpoint
        super().__init__(zmq.PUSH, endpoint, bind, context, secure)
        self.policy = policy
        self.spec_id = resolve_spec_id(spec) or 0
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
        # Watch the handshake, so that wait_connected() can tell when the receiver is really there, and a send that
        # waits for ever, when it refuses this sender (unbounded: libzmq's I/O thread sends the events blocking;
        # inproc has no handshake).
        self._monitor = None if bind or endpoint.startswith("inproc://") else _monitor(self._sock, _HANDSHAKE_EVENTS)
        self.connected = bind
        self.refusals: dict[str, int] = {}  # handshakes the receiver refused, by cause (until one succeeds)
        self._attach(endpoint)

    def wait_connected(self, timeout: float) -> bool:
        """True once the connection to the receiver has completed its handshake (frames sent from now
        on reach it; before, a drop_oldest sender could drop them as 'full'). False after `timeout` s
        (`refusals` then counts the handshakes the receiver refused, by cause)."""
        deadline = time.monotonic() + timeout
        while self._handshakes():
            monitor, left = self._monitor, deadline - time.monotonic()
            if monitor is None or left <= 0 or not monitor.poll(ms(left)):
                break
        return self.connected

    def _handshakes(self) -> bool:
        """Read the handshake events queued so far: connected after one succeeded (the monitor stops), each refused
        one counted in `refusals` by its cause. True while there is no connection and the monitor watches."""
        monitor = self._monitor
        while monitor is not None and monitor.poll(0):
            event, value = _EVENT.unpack_from(monitor.recv_multipart()[0])
            if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.connected, self.refusals = True, {}
                self._stop_monitor()
                return False
            cause = _refusal(event, value, self._secure is not None)
            self.refusals[cause] = self.refusals.get(cause, 0) + 1
        return monitor is not None and not self.connected

    def _wait_room(self, timeout: float | None) -> bool:
        """Poll the socket for room to send, up to `timeout` s. A wait for ever (None) before any handshake
        succeeded looks every REFUSALS_S at the handshakes, and raises EdgeUnreachable once the receiver refused
        them (libzmq retries a closed one for ever, a refused key or mechanism not at all: the wait never ended)."""
        sock = self._sock
        if timeout is not None:
            if sock.poll(ms(timeout), zmq.POLLOUT):
                return True
            self._handshakes()  # (the events' queue stays short)
            return False
        while self._handshakes():
            if sock.poll(ms(REFUSALS_S), zmq.POLLOUT):
                return True
            cause = self._refused()
            if cause is not None:
                fix = self.key_note or "give both ends the same security: section (docs/multihost.md)"
                at = "" if self.endpoint in self.name else f" at {self.endpoint}"
                raise EdgeUnreachable(
                    f"edge {self.name}: the receiver{at} refused this sender's handshake ({cause}; "
                    f"{sum(self.refusals.values())} refused): a send without a timeout would wait for ever; fix: {fix}"
                )
        return bool(sock.poll(None, zmq.POLLOUT))

    def _refused(self) -> str | None:
        """The cause, once the receiver has refused this sender's handshakes and none succeeded; else None."""
        if not self._handshakes():
            return None
        refused = self.refusals
        # a handshake closed without a word is a refusal only for a CURVE sender (a CURVE receiver tells a plain one
        # it wants CURVE): to a plain sender it is a tunnel (ssh -L, docker-proxy) whose far end is not up yet
        return next(
            (
                c
                for c, n in refused.items()
                if c not in _NO_DETAIL.values() or (c == _NO_DETAIL[True] and n >= NO_DETAIL_REFUSALS)
            ),
            None,
        )

    def reconnect(self, endpoint: str) -> None:
        """Connect to `endpoint` instead (its receiver was restarted elsewhere); frames queued for the old
        one are dropped, which the new receiver sees as missing seq (a gap)."""
        if endpoint != self.endpoint:
            self._held.clear()
            # dropped at once: the old connection, ended with the socket's linger, retried the gone receiver's tcp
            # address for linger_ms and held the context's term() at the end of the run (the worker was killed)
            self._sock.setsockopt(zmq.LINGER, 0)
            self._sock.disconnect(self.endpoint)
            self._sock.setsockopt(zmq.LINGER, self.linger_ms)
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
        A chunk whose dtype cannot travel is dropped, not sent (see _unsendable): True, nothing to retry.
        """
        frame = self._cached_frame(chunk)
        if frame is not None:  # the stream's usual small layout (the common case): one send, one recv there
            nbytes = self._fast[5]  # pyright: ignore[reportOptionalSubscript]  # set with the layout
            if self.batch:
                return self._send_or_hold(frame, timeout, nbytes)
            if timeout is None and not self._held and self.policy == "block" and self._monitor is None:
                _send(self._sock, frame, 0)
                self.seq += 1
                counters = self.counters
                counters["sent"] += 1
                counters["bytes"] += nbytes
                return True
            return self._send_frames(frame, None, True, False, timeout, nbytes)
        data = chunk.data
        try:
            if type(data) is np.ndarray and data.nbytes < ONE_FRAME_MAX:  # one send here, one recv there
                return self._send_frames(self._new_frame(chunk), None, True, chunk.eos, timeout, data.nbytes)
            head, body = wire.encode(chunk, self.seq, self.spec_id)
        except wire.WireError as e:
            return self._unsendable(chunk, e, timeout)
        nbytes = len(body)
        return self._send_frames(head, body, nbytes < self.copy_threshold, chunk.eos, timeout, nbytes)

    def _unsendable(self, chunk: Chunk, e: wire.WireError, timeout: float | None) -> bool:
        """send() of a chunk that wire.encode refused for its dtype (object, float128, str: no wire code; any other
        WireError is raised). One process drops such a chunk and counts it at the receiving node (executor._fits); it
        failed the sending worker here, with a traceback. It is dropped, counted (`rejected_dtype`) and logged once,
        its seq consumed so that the receiver flags the next chunk gap; an end-of-stream chunk goes on without its data.
        True: the caller has nothing to send again."""
        if e.reason != "dtype":
            raise e
        if not chunk.eos or np.size(chunk.data):  # (an end-of-stream's data is dropped and counted as any chunk's)
            self.seq += 1
            if "rejected_dtype" not in self.counters:
                log.warning(
                    "edge %s: dropped a chunk that cannot be sent (%s); further ones are only counted; fix: make the "
                    "sending node return the dtype its configure() declares for that output",
                    self.name,
                    e,
                )
            self.counters["rejected_dtype"] = self.counters.get("rejected_dtype", 0) + 1
        if chunk.eos:
            return self.send(Chunk(np.zeros(0), chunk.t0, eos=True, origin_ns=chunk.origin_ns), timeout)
        return True

    def _cached_frame(self, chunk: Chunk) -> bytes | None:
        """The one-frame message (wire.encode_one) of a chunk with the stream's cached layout: a small
        ndarray of the same dtype, shape and strides as the last small chunk sent, neither gap nor
        end-of-stream, so only the per-message fields are packed. None for any other chunk."""
        data = chunk.data
        fast = self._fast
        if (
            fast is None
            or type(data) is not np.ndarray
            or data.dtype is not fast[0]
            or data.shape != fast[1]
            or data.strides != fast[2]  # so C-contiguous, as that one was
            or chunk.gap
            or chunk.eos
        ):
            return None
        try:
            tail = wire.pack_tail(self.seq, chunk.t0, chunk.origin_ns, _mono_ns(), _wall_ns())
        except struct.error:  # out of range: the general path (_new_frame) raises wire's error
            return None
        return _join((fast[3], tail, fast[4], data))  # pyright: ignore[reportArgumentType]  # numpy's stubs give ndarray __buffer__ only for Python >= 3.12

    def _new_frame(self, chunk: Chunk) -> bytes:
        """The one-frame message of a small ndarray chunk without the cached layout (wire.encode_one);
        the layout is cached from it when it can be (see _cached_frame)."""
        data = chunk.data
        frame = wire.encode_one(chunk, self.seq, self.spec_id)
        if not (chunk.gap or chunk.eos) and wire.is_raw(data):  # the frame holds data's own bytes
            self._fast = (data.dtype, data.shape, data.strides, *wire.stream_key(frame), data.nbytes)
            self._hold_max = max(1, min(self._hwm, BATCH_MAX, BATCH_BYTES // len(frame)))
        return frame

    def _send_or_hold(self, frame: bytes, timeout: float | None, nbytes: int) -> bool:
        """A block-policy chunk of the stream's cached layout: sent at once when the pipe has room. When
        it is full (the receiver is `hwm` + its queue behind), the chunk is held instead and sent with
        those held after it as one batch message as soon as there is room (see flush)."""
        held = self._held
        if not held:
            if not _send_now(self._sock, frame):
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
        if not _send_now(sock, msg):
            if timeout == 0 or not self._wait_room(timeout):
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
            if not _send_now(sock, first, more):
                self.counters["dropped_full"] += 1
                self.seq += 1
                return False
            # Once the first part is queued, ZeroMQ queues the rest of the message atomically.
        elif timeout is None and self._monitor is None:
            _send(sock, first, more)
        else:
            try:  # room now (the common case): no poll
                _send(sock, first, more | zmq.NOBLOCK)
            except zmq.Again:
                if not self._wait_room(timeout):
                    self.counters["timeouts"] += 1
                    return False
                _send(sock, first, more)
            if self._monitor is not None:  # until its handshake is seen done (then no monitor: the fast paths)
                self._handshakes()
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
        if linger_ms and self._refused() is not None:  # nothing queued can reach a receiver that refuses this
            linger_ms = 0  # sender (with -1 its close, or its context's term, waited for ever)
        if self._held and linger_ms:  # held chunks are queued chunks: they get the linger too
            self.flush(None if linger_ms < 0 else linger_ms / 1000)  # ZeroMQ -1: wait for ever
        self._stop_monitor()
        self._close_socket(linger_ms)


def _refusal(event: int, value: int, curve: bool) -> str:
    """What a refused handshake's monitor event says of its cause."""
    if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        return f"its ZAP handler refused this sender's client key (status {value})"
    if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
        if value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
            return "this sender uses CURVE and the receiver does not" if curve else "the receiver requires CURVE"
        return f"ZeroMQ protocol error {value:#x}"
    return _NO_DETAIL[curve]


_NO_DETAIL = {  # a handshake the receiver closed without a word (EVENT_HANDSHAKE_FAILED_NO_DETAIL)
    True: "it closed each CURVE handshake: it holds another server key than this sender was given",
    False: "it closed each handshake: it may require CURVE, which this sender does not use",
}
_EVENT = struct.Struct("=HI")  # a monitor event's first frame: event, value
_join = b"".join
_mono_ns, _wall_ns = time.monotonic_ns, time.time_ns
# pyzmq's Socket.send is a Python wrapper (routing ids, groups) around the backend's: calling that one
# directly saves about a quarter of a microsecond per part.
_send = next((k.__dict__["send"] for k in zmq.Socket.__mro__[1:] if "send" in k.__dict__), zmq.Socket.send)


def _send_now(sock: zmq.Socket, msg, more: int = 0) -> bool:
    """Send without waiting; False when the pipe is full. A NOBLOCK send may find the pipe full only
    because the socket has not yet taken in the reader's room notice (ZeroMQ takes in commands at most
    about once a millisecond on send); a zero-timeout poll takes them in, so one retry after it tells a
    pipe that is really full from that."""
    try:
        _send(sock, msg, more | zmq.NOBLOCK)
        return True
    except zmq.Again:
        if not sock.poll(0, zmq.POLLOUT):
            return False
    try:
        _send(sock, msg, more | zmq.NOBLOCK)
        return True
    except zmq.Again:
        return False
