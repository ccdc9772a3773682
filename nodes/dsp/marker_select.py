"""`codes` that match none of the markers (epochs, ssvep_trial_decoder): said at the end, with the codes the markers
had. A recording replayed through a graph made for the live session meets this: lsl_inlet's `marker_codes` gives
"7.5" the code 75, file_source numbers such a text after the largest integer one (7 after "6"), so `codes: [75]`
epoched nothing, and only the summary's ignored_marker counter showed it."""

from __future__ import annotations

import logging

import numpy as np

from ..channel_kinds import who

_log = logging.getLogger("wavegraph.markers")


class Selection:
    """Whether any marker passed `codes`, and how many of each other code were left out (the first 20 codes)."""

    def __init__(self, codes, labels) -> None:
        self.codes = None if codes is None else [int(c) for c in codes]
        self.labels: dict[float, str] = {int(c): str(t) for c, t in labels}  # (a code 2.5 is looked up too)
        self.matched = False
        self.ignored: dict[int | float, int] = {}
        self.said_fraction = False

    def note(self, codes: np.ndarray, keep: np.ndarray, node=None) -> None:
        """The codes of a chunk's markers and which of them passed `codes`. A code that is no whole number (2.5) is
        kept as it is, and said once: it matches no code of `codes`, as MNE's event ids are integers (it was cast to
        2 and matched `codes: [2]`)."""
        self.matched = self.matched or bool(np.any(keep))
        for c in np.asarray(codes, dtype=np.float64)[~np.asarray(keep, dtype=bool)].tolist():
            c = int(c) if c.is_integer() else c
            if isinstance(c, float) and self.codes is not None and not self.said_fraction:
                self.said_fraction = True
                _log.warning(
                    "%s: a marker's code %g is no whole number: it matches none of `codes` %s (MNE's event ids are "
                    "integers; counted ignored_marker); fix: give the markers integer codes (lsl_inlet marker_codes "
                    "maps a text such as '7.5' to one), or list the integer codes they have",
                    who(node) if node is not None else "markers", c, self.codes,
                )  # fmt: skip
            if c in self.ignored or len(self.ignored) < 20:
                self.ignored[c] = self.ignored.get(c, 0) + 1

    def say(self, node, what: str) -> None:
        """At the end: `codes` given, no marker passed, some came: say which codes they had and the fix."""
        if self.codes is None or self.matched or not self.ignored:
            return
        had = ", ".join(
            f"{c}" + (f" ({self.labels[c]!r})" if c in self.labels else "") + f" x{n}" for c, n in self.ignored.items()
        )
        _log.warning(
            "%s: none of the markers had a code in `codes` %s, so no %s was made; the markers had codes %s. Set "
            "`codes` to those of the markers to use (a recording's markers are numbered by file_source, not by the live "
            "session's marker_codes: a text that is no integer, '7.5', comes after the largest integer one)",
            node.type_name or type(node).__name__,
            self.codes,
            what,
            had,
        )
