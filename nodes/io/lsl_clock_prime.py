"""lsl_inlet's clock offset asked for when the graph starts, off the graph's thread (the node is in lsl.py).

With clock_sync, liblsl stamps each pulled sample with the outlet's clock offset, and it measures that offset only when
first asked: the first pull that returned data waited for its time probes, about 0.64 s on loopback (8 probes 64 ms
apart), holding the graph's loop. For the EEG that was at the session's start; for the stimulus program's marker stream
it was at its first marker, mid-session: the EEG waited in liblsl's buffer meanwhile and the decisions of those 0.64 s
came that much late (a marker sent before the data: 'behind', 2.1 s of the stream waiting, at 2x real time). Asked
here from open(), in a thread of its own, the offset is there before the first pull needs it (liblsl then keeps it
fresh in its own thread)."""

from __future__ import annotations

import contextlib
import threading

PRIME_TIMEOUT_S = 2.0  # s: liblsl's probes take ~0.64 s on loopback; an outlet that never answers is left to read()


class ClockPrime:
    """Ask liblsl for the inlet's clock offset once, in a daemon thread (liblsl guards its time receiver with a mutex:
    a pull meanwhile waits for the same answer). `wait()` joins it; close() of the node calls it before dropping the
    inlet, which the thread holds until it returns."""

    def __init__(self, pylsl, inlet):
        def ask():
            with contextlib.suppress(pylsl.util.TimeoutError, pylsl.util.LostError, RuntimeError):
                inlet.time_correction(timeout=PRIME_TIMEOUT_S)

        self._thread = threading.Thread(target=ask, name="lsl-clock-prime", daemon=True)
        self._thread.start()

    def wait(self, timeout: float = PRIME_TIMEOUT_S + 1.0) -> None:
        self._thread.join(timeout)


__all__ = ["PRIME_TIMEOUT_S", "ClockPrime"]
