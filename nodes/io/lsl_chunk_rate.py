"""A stream whose sending app declares a rate it does not send, seen through the gaps it makes (lsl_inlet, lsl_checks).

pylsl's push_chunk without timestamps stamps a chunk's last sample with the time of the push and back-dates the others
at the nominal rate. An app that declares 250 Hz and sends 125 Hz (or 500 Hz) in chunks of 25 then makes chunks of
timestamps 0.1 s apart at 250 Hz with a hole between them (or overlapping): a gap (or a step back: a clock reset) at
every chunk, each said as samples lost, and the timestamp fit (restarted at each gap) never holds enough samples to see
the rate. `ChunkRate` looks at the gaps: GAPS_SEEN of them in a row, all within short segments that are either of one
length (the app's chunk) or all after a step back (lost samples never step back), whose starts give a rate over 5 % off
the nominal one, are that app."""

from __future__ import annotations

from collections import deque

from .lsl_time import RATE_TOLERANCE

GAPS_SEEN = 4  # gaps in a row whose starts are compared
SHORT_S = 2.0  # s (at the nominal rate): a segment longer than this is no back-dated chunk


class ChunkRate:
    """The starts (sample index, timestamp) of the last segments of a regular stream, one per gap."""

    def __init__(self, rate: float):
        self.rate = rate
        self.starts: deque[tuple[int, float, bool]] = deque(maxlen=GAPS_SEEN)  # (index, timestamp, stepped back)

    def gap(self, index: int, ts: float, back: bool) -> float | None:
        """Take a gap before sample `index` (of the stream), whose timestamp is `ts` (`back`: the step before it went
        back); return the rate the last GAPS_SEEN gaps' starts give, when they look like a mis-declared rate, else None."""
        self.starts.append((index, ts, back))
        if len(self.starts) < GAPS_SEEN:
            return None
        idx = [s[0] for s in self.starts]
        lengths = {b - a for a, b in zip(idx, idx[1:])}
        if max(lengths) > SHORT_S * self.rate or not (len(lengths) == 1 or all(s[2] for s in self.starts)):
            return None
        span = self.starts[-1][1] - self.starts[0][1]
        if span <= 0:
            return None
        true_rate = (idx[-1] - idx[0]) / span
        return true_rate if abs(true_rate / self.rate - 1.0) > RATE_TOLERANCE else None


def chunk_rate_said(stream: str, true_rate: float, rate: float, chunk: int, back: bool) -> str:
    """What to say of a stream whose timestamps jump at every chunk of about `chunk` samples it sends, at `true_rate` Hz
    by them, for a nominal `rate` (`back`: they step back)."""
    return (
        f"stream '{stream}' has a gap in its timestamps at every chunk it sends (chunks of {chunk} samples, "
        f"{'overlapping the one before' if back else 'with a hole between them'}), and its samples come at about "
        f"{true_rate:.3g} Hz, while its nominal rate is {rate:g} Hz, which the graph takes the samples at: the sending "
        "app declares a rate it does not send, and each chunk is stamped back from its last sample at the nominal rate "
        "(pylsl's push_chunk without timestamps); its gaps are no samples lost; fix the rate in the sending app"
    )


__all__ = ["ChunkRate", "chunk_rate_said"]
