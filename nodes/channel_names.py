"""Channel names without their spelling, to say which channel a name meant: PhysioNet's EDFs pad them with dots
('O1..', 'Po7.'), clinical EDFs add an 'EEG ' prefix and a reference suffix ('EEG O1-REF', 'O1-A1'), amplifiers
change the case. Used by errors' fixes (file_source picks, the SSVEP decoders' channels), never to pick silently."""

from __future__ import annotations

import re

_PREFIX = re.compile(r"^eeg[\s_:-]*")


def core(name: str) -> str:
    """'EEG O1-REF', 'O1..', 'o1', 'O1-A1' -> 'o1'."""
    n = _PREFIX.sub("", name.strip(". ").lower()).strip(". ")
    return n.split("-")[0].strip(". ") or n


def spelt(wanted, names) -> dict[str, str]:
    """Each wanted name not in `names` that one of them spells otherwise -> that name (the first such)."""
    key: dict[str, str] = {}
    for c in names:
        key.setdefault(core(c), c)
    have = set(names)
    return {w: key[core(w)] for w in wanted if w not in have and core(w) in key}
