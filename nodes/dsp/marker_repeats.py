"""Two markers in one sample (epochs, ssvep_trial_decoder): both kept, and said once.

mne.Epochs refuses events whose samples are not unique (event_repeated='error', its default; 'drop' keeps the first,
'merge' makes one event of a new code). A streaming node cannot raise mid-stream without losing the session, and
dropping or merging would lose a marker (its code, its row in the events output) unsaid. So both markers get their
epoch (or decision) on the same samples, as before, and the first such pair is said (WARNING, once per node) with the
codes, the time and MNE's options, so that a user who expected mne.Epochs' refusal learns of it (a stimulus program
that sends two codes for one stimulus, or a marker stream and an annotation both marking it)."""

from __future__ import annotations

import logging

from .gap_drops import marker_text, node_name

_log = logging.getLogger("wavegraph.markers")


class SameSample:
    """The event sample of the last marker cut; says the first marker cut in the same sample as the one before."""

    def __init__(self) -> None:
        self.last: tuple[int, float, float] | None = None  # (absolute sample index, onset, code)
        self.said = False

    def forget(self) -> None:
        """A new stream (reset, a state loaded): its sample indices are not the last one's."""
        self.last = None

    def note(self, node, sample: int, onset: float, code: float, labels, what: str) -> None:
        """A marker (onset, code) whose event sample is `sample` (absolute) has its `what` (epoch, trial) cut."""
        last, self.last = self.last, (int(sample), float(onset), float(code))
        if last is None or last[0] != sample or self.said:
            return
        self.said = True
        _log.warning(
            "%s: markers %s at %.3f s and %s at %.3f s fall in one sample: each gets its own %s, on the same "
            "samples (said once). mne.Epochs refuses this by default (event_repeated='error'; 'drop' keeps the "
            "first, 'merge' makes one event); drop or merge such markers upstream if each stimulus must count once",
            node_name(node, what), marker_text(last[2], labels), last[1],
            marker_text(code, labels), onset, "decision" if what == "trial" else what,
        )  # fmt: skip
