"""Endpoint addresses and the socket set-up shared by both ends of an edge (pipeline.transport).

ipc_endpoint("filt.out")   # a unique ipc:// path in the temp dir
tcp_endpoint()             # tcp://127.0.0.1:* (bind picks a port); free_tcp_port() for a number up front
normalize_endpoint(addr)   # checks the scheme, fills in the loopback host of tcp://:PORT
max_frame_bytes(spec)      # the largest payload a chunk of that spec may need

Also the flow policies and the spec id an end checks, shared by the sender (transport) and receiver.
"""

from __future__ import annotations

import math
import os
import socket
import tempfile
import uuid

import numpy as np
import zmq

from . import wire
from .spec import StreamSpec

# --- endpoints -----------------------------------------------------------------------------------
MAX_IPC_PATH = 107  # bytes in a unix socket path (sun_path), with its terminating NUL excluded


def socket_dir(longest_name: str) -> str:
    """The temp dir, or /tmp when TMPDIR is so long that `longest_name` in it would not fit in a unix
    socket address (pytest-xdist's tmp_path, a deep per-job TMPDIR on a cluster)."""
    base = tempfile.gettempdir()
    return base if len(os.fsencode(os.path.join(base, longest_name))) <= MAX_IPC_PATH else "/tmp"


def ipc_endpoint(name: str = "edge") -> str:
    """A unique `ipc://` address in the temp dir (kept short: unix socket paths max ~107 bytes)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:32]
    file = f"wg-{os.getpid()}-{uuid.uuid4().hex[:10]}-{safe}.ipc"
    return f"ipc://{os.path.join(socket_dir(file), file)}"


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now (another process may take it before you bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def tcp_endpoint(port: int | str = "*", host: str | None = None) -> str:
    """`tcp://host:port`; host defaults to 127.0.0.1 (loopback), port "*" lets bind() pick one."""
    return f"tcp://{host or '127.0.0.1'}:{port}"


def normalize_endpoint(endpoint: str) -> str:
    """Check the scheme and fill in the loopback host of a `tcp://:port` address."""
    scheme, sep, rest = endpoint.partition("://")
    if not sep or scheme not in ("ipc", "tcp", "inproc"):
        raise ValueError(f"endpoint {endpoint!r}: use ipc://PATH (one host) or tcp://HOST:PORT (between hosts)")
    if scheme == "tcp":
        host, colon, port = rest.rpartition(":")
        if not colon or not port:
            raise ValueError(f"endpoint {endpoint!r} has no port; write tcp://HOST:PORT (or PORT '*' to bind any)")
        if port != "*" and not (port.isascii() and port.isdigit() and int(port) <= 65535):  # (libzmq took 99999 as
            raise ValueError(  # 34463, its low 16 bits, and 65536 as 0: a bind to whatever port was free)
                f"endpoint {endpoint!r}: port {port!r} is not a TCP port; write one of 1 to 65535, or '*' (or 0) to "
                "bind any free one"
            )
        return tcp_endpoint(port, host or None)
    if not rest:
        raise ValueError(f"endpoint {endpoint!r} has no path")
    return endpoint


MAX_CHUNK_SAMPLES = 1 << 20  # the frame bound from a spec: this many samples, or 10 min at its rate


def max_frame_bytes(spec: StreamSpec) -> int:
    """The largest payload a chunk of this spec may need: bytes per sample x max(2**20, 10 min)."""
    per_sample = int(np.dtype(spec.dtype).itemsize * math.prod(spec.shape))
    samples = max(MAX_CHUNK_SAMPLES, int(min(spec.rate, 1e9) * 600)) if math.isfinite(spec.rate) else MAX_CHUNK_SAMPLES
    return max(per_sample, 1) * samples


POLICIES = ("block", "drop_oldest")
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


def resolve_spec_id(spec: StreamSpec | int | None) -> int | None:
    if spec is None or isinstance(spec, int):
        return spec
    return wire.spec_id(spec)


def check_policy(policy: str) -> None:
    if policy not in POLICIES:
        raise ValueError(f"unknown flow policy {policy!r}; use one of {', '.join(POLICIES)}")


class _Endpoint:
    """Shared socket set-up: own context unless one is given, bind or connect, resolved endpoint."""

    def __init__(self, kind: int, endpoint: str, bind: bool, context: zmq.Context | None, secure=None):
        normalize_endpoint(endpoint)  # fail before creating anything
        self._secure = secure  # secure(socket, bind, endpoint) before bind/connect: CURVE (pipeline.curve)
        self.key_note = ""  # what secure() returned: the key files to check when a handshake is refused
        self._own_ctx = context is None
        self._ctx = context if context is not None else zmq.Context(io_threads=1)
        self._sock = self._ctx.socket(kind)
        self._bound_ipc: str | None = None
        self._closed = False
        self.bind = bind
        self.counters: dict[str, int] = {}

    def _attach(self, endpoint: str) -> None:
        endpoint = normalize_endpoint(endpoint)
        if self._secure is not None:
            self.key_note = self._secure(self._sock, self.bind, endpoint) or ""
        if self.bind:
            self._sock.bind(endpoint)
            self.endpoint = self._sock.getsockopt_string(zmq.LAST_ENDPOINT)
            if self.endpoint.startswith("ipc://"):
                self._bound_ipc = self.endpoint[len("ipc://") :]
        else:
            self._sock.connect(endpoint)
            self.endpoint = endpoint

    def _close_socket(self, linger_ms: int) -> None:
        self._sock.close(linger=linger_ms)
        if self._own_ctx:
            self._ctx.term()  # waits (up to the linger) until queued frames are handed to the peer
        if self._bound_ipc and os.path.exists(self._bound_ipc):
            try:
                os.unlink(self._bound_ipc)
            except OSError:  # pragma: no cover - removed by libzmq or someone else meanwhile
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # Garbage collection never waits on a linger: frames still queued are dropped. Call close().
        if not getattr(self, "_closed", True):
            self._closed = True
            try:
                self._close_socket(0)
            except Exception:  # pragma: no cover - interpreter shutdown
                pass

    def close(self) -> None:  # overridden
        raise NotImplementedError


def ms(seconds: float) -> int:
    """Seconds as the whole milliseconds ZeroMQ's timeouts take (rounded up; never negative)."""
    return max(0, int(math.ceil(seconds * 1000.0)))
