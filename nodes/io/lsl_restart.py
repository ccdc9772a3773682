"""What a restarted outlet's stream lost (lsl_checks.InletChecks._restart_lost; the node is in lsl.py): with `recover`,
liblsl reconnects the inlet to an outlet of the stream's source_id back after it went (the amplifier app restarted), but
only once it finds it, and LSL gives an inlet nothing sent before it connects: the new outlet's first samples are lost.
Measured on loopback (pylsl 1.18.6, 250 Hz, pushed from the outlet's creation): the first sample received was its
239th, 0.96 s of it; the gap in the timestamps (a boundary in the recording) also spans the time it was away."""

from __future__ import annotations

import contextlib
import socket


def restart_offset(inlet, info, clock_sync: bool) -> float | None:
    """What to add to an outlet's created_at (its host's LSL clock) to compare it with the inlet's timestamps: 0 on this
    host or without clock_sync, else liblsl's time correction; None when it cannot be had now."""
    if not clock_sync or info.hostname() == socket.gethostname():
        return 0.0
    with contextlib.suppress(Exception):  # (pylsl's TimeoutError, LostError: the outlet gone again)
        return float(inlet.time_correction(timeout=0.1))
    return None


def restart_lost_said(stream: str, source_id: str, lost: int, lost_s: float, gap: tuple[float, float]) -> str:
    """What to say of a restarted outlet whose first `lost` samples (`lost_s` s) the inlet never got; `gap`: the
    timestamps either side of the gap."""
    return (
        f"stream '{stream}' came back (its outlet restarted, source_id {source_id}) {lost_s:.2f} s before the first "
        f"sample the inlet got from it: `recover` reconnects only once liblsl finds the new outlet, and LSL gives an "
        f"inlet nothing sent before it connects, so its first {lost} samples are not in this run (counted "
        f"restart_lost; the gap in the timestamps, a boundary in the recording, is {gap[1] - gap[0]:.2f} s); an app "
        "that keeps its outlet open while the amplifier reconnects loses none"
    )


__all__ = ["restart_lost_said", "restart_offset"]
