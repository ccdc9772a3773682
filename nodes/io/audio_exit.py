"""PortAudio at the exit of a process whose JACK server went away (the audio nodes are in audio.py).

sounddevice terminates PortAudio at exit (Pa_Terminate), and PortAudio's JACK host API then closes its JACK client: with
the server gone that failed an assertion and aborted the process ('pa_jack.c:820: Terminate: Assertion `err == 0'
failed.', exit status 134, after a `wavegraph run` had said its sound card was gone), or hung on a stream it could not
stop. Such a process leaves PortAudio to the OS instead (`leave_at_exit`, a stream audio.release_stream gave up on;
`jack_server_gone`, checked at exit)."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterator

_JACK_NO_START_SERVER = 0x01  # jack_options_t: only look for a running server
_state = {"registered": False, "leave": False}


def leave_at_exit() -> None:
    """PortAudio is not to be terminated at exit (a stream it did not release)."""
    _state["leave"] = True


def watch_exit() -> None:
    """Register the exit check once, after sounddevice's own exit handler (atexit runs this one first)."""
    if not _state["registered"]:
        _state["registered"] = True
        atexit.register(_at_exit)


def _at_exit() -> None:
    sd = sys.modules.get("sounddevice")
    if sd is None or not getattr(sd, "_initialized", 0):
        return
    if _state["leave"] or (_has_jack(sd) and jack_server_gone()):
        # sounddevice's exit handler terminates PortAudio while this is above 0
        sd._initialized = 0  # pyright: ignore[reportAttributeAccessIssue]


def _has_jack(sd) -> bool:
    try:
        return any("JACK" in api["name"] for api in sd.query_hostapis())
    except Exception:  # noqa: BLE001 — no answer at exit: the check is only for JACK
        return False


def jack_server_gone() -> bool:
    """Whether no JACK server answers a client now (libjack's messages kept off the terminal)."""
    name = ctypes.util.find_library("jack")
    if name is None:
        return False
    lib = ctypes.CDLL(name)
    lib.jack_client_open.restype = ctypes.c_void_p
    lib.jack_client_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.jack_client_close.argtypes = [ctypes.c_void_p]
    status = ctypes.c_int(0)
    with _stderr_off():
        client = lib.jack_client_open(b"wavegraph-exit", _JACK_NO_START_SERVER, ctypes.byref(status))
        if client:
            lib.jack_client_close(client)
    return not client


@contextlib.contextmanager
def _stderr_off() -> Iterator[None]:
    """File descriptor 2 to /dev/null meanwhile (libjack prints 'jack server is not running' there)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


__all__ = ["jack_server_gone", "leave_at_exit", "watch_exit"]
