"""The live monitor's web server: Bokeh's server (page, BokehJS, the document websocket) plus the /traces
websocket of each page (pipeline/monitor_app.py), in a background thread of the process that runs it.

It binds 127.0.0.1 by default; binding anywhere else requires a token, which is part of the printed URL.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Callable

from .monitor import MonitorHub
from .monitor_app import Session


def _trace_socket():
    """The /traces websocket handler: it hands the connection to the Session its `key` names. Only a page
    that passed the token check has a Session, and only that page knows its key."""
    from tornado.websocket import WebSocketHandler

    class TraceSocket(WebSocketHandler):
        def initialize(self, sessions: dict[str, Session]) -> None:
            self.sessions = sessions
            self.session: Session | None = None

        def open(self, *args, **kwargs) -> None:
            self.session = self.sessions.get(self.get_argument("key", ""))
            if self.session is None:
                self.close(4003, "unknown session")
                return
            self.set_nodelay(True)
            self.session.attach(self)

        def on_message(self, message) -> None:
            if self.session is not None and self.session.socket is self:
                self.session.acked_message(message)  # the page has drawn that many trace messages

        def on_close(self) -> None:
            if self.session is not None and self.session.socket is self:
                self.session.detach()

    return TraceSocket


def _access_log(handler) -> None:
    """Tornado's request log, with a refused request (4xx: a wrong path, a scanner, a page of an ended run) at debug
    level: at tornado's warning level each one was a line in the run's terminal, between the run's own messages.
    A server error (5xx) is still said."""
    status = handler.get_status()
    level = logging.ERROR if status >= 500 else logging.DEBUG
    request = handler.request
    logging.getLogger("tornado.access").log(
        level, "%d %s %.2fms", status, handler._request_summary(), 1000.0 * request.request_time()
    )


class _Quiet4xx:
    """A filter for tornado's 'general' log: drops the line tornado adds for a 4xx HTTPError that carries a reason
    (`403 GET /static/../x: ... is not in root static directory`), as _access_log does for the request itself."""

    def filter(self, record) -> bool:
        args = record.args
        code = args[0] if isinstance(args, tuple) and args else None
        return not (record.msg == "%d %s: %s" and isinstance(code, int) and 400 <= code < 500)


def start_server(
    hub: MonitorHub, host: str = "127.0.0.1", port: int = 0, token: str | None = None
) -> tuple[str, Callable[[], None]]:
    """Serve the page in a background thread. Returns (url, stop). Binding anywhere but loopback needs a
    token; one is made when none is given, and it is part of the URL."""
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.models import Div
    from bokeh.server.server import BaseServer
    from bokeh.server.tornado import BokehTornado
    from tornado.httpserver import HTTPServer
    from tornado.ioloop import IOLoop
    from tornado.netutil import bind_sockets

    loopback = host in ("127.0.0.1", "localhost", "::1")
    general = logging.getLogger("tornado.general")
    if not any(isinstance(f, _Quiet4xx) for f in general.filters):
        general.addFilter(_Quiet4xx())
    if not loopback and not token:
        token = secrets.token_urlsafe(16)
    sockets = bind_sockets(port, host)
    port = sockets[0].getsockname()[1]
    sessions: dict[str, Session] = {}  # key -> the Session of a page, for its /traces websocket

    def make_doc(doc):
        if token:
            given = doc.session_context.request.arguments.get("token", [b""])[0]
            given = given if isinstance(given, bytes) else str(given).encode("utf-8", "surrogateescape")
            # compared as bytes: `?token=%FF` (not UTF-8) and `?token=%C3%A9` (not ASCII, which compare_digest
            # refuses in a str) were a traceback in the run's terminal and a 500, not the page's refusal
            if not secrets.compare_digest(given, token.encode()):
                doc.add_root(Div(text="wrong or missing token: open the URL that `wavegraph run --monitor` printed"))
                return
        Session(hub, doc, sessions)

    ready = threading.Event()
    state: dict = {}

    def serve():
        try:
            asyncio.set_event_loop(asyncio.new_event_loop())
            io_loop = IOLoop.current()
            # Off loopback a browser's origin is whatever address it used: the token is the gate there.
            origins = [f"{h}:{port}" for h in {host, "127.0.0.1", "localhost"}] if loopback else ["*"]
            app = BokehTornado(
                {"/": Application(FunctionHandler(make_doc))},
                extra_websocket_origins=origins,
                extra_patterns=[("/traces", _trace_socket(), {"sessions": sessions})],
                log_function=_access_log,
            )
            http = HTTPServer(app)
            http.add_sockets(sockets)
            server = BaseServer(io_loop, app, http)
            server.start()
            state["server"], state["loop"] = server, io_loop
        except BaseException as e:  # reported to the caller below
            state["error"] = e
            for sock in sockets:
                sock.close()
            return
        finally:
            ready.set()
        io_loop.start()

    thread = threading.Thread(target=serve, name="monitor-web", daemon=True)
    thread.start()
    if not ready.wait(30) or "error" in state:
        raise RuntimeError(f"the monitor's web server did not start: {state.get('error', 'timed out')}")

    def stop():
        loop = state.get("loop")
        if loop is not None:

            def close():
                # Each open page's /traces socket is closed (its page then says the run has ended): stopping the
                # loop alone left the connections open while this process lived on (a notebook's), so a page left
                # open went on showing the last figures as a running graph's.
                for session in list(sessions.values()):
                    if session.socket is not None:
                        session.socket.close(1001, "the run ended")
                state["server"].stop()
                loop.call_later(0.1, loop.stop)  # the close frames go out first

            loop.add_callback(close)
            thread.join(timeout=2)

    shown = address_for_others() if host in ("0.0.0.0", "::") else host  # any address: one a remote browser can use
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    return url, stop


def address_for_others() -> str:
    """This machine's address for a browser on another one: what its name resolves to, unless that is loopback
    (Debian and Ubuntu map the host name to 127.0.1.1 in /etc/hosts), then the address of the interface its route
    to others leaves by; loopback when it has none."""
    import socket

    try:
        named = socket.gethostbyname(socket.gethostname())
    except OSError:
        named = "127.0.0.1"
    if not named.startswith("127."):
        return named
    return _route_address() or named


def _route_address() -> str | None:
    """The source address of this machine's route to a public address (a UDP connect sends nothing), or None."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("8.8.8.8", 53))
            address = s.getsockname()[0]
    except OSError:  # no route (an offline machine)
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address
