"""Channel names without their spelling, to say which channel a name meant: PhysioNet's EDFs pad them with dots
('O1..', 'Po7.'), clinical EDFs add an 'EEG ' prefix and a reference suffix ('EEG O1-REF', 'O1-A1'), amplifiers
change the case. Used by errors' fixes (file_source picks, the SSVEP decoders' channels), never to pick silently.
Also a channel given by its position, as MNE's picks take it (`position`)."""

from __future__ import annotations

import re

from wavegraph.pipeline.spec import SpecError

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


def position(pick: int, names, what: str) -> int:
    """The index of channel position `pick` (from 0; negative from the end, as Python's) among `names`; SpecError
    for one out of range, or one that is also, as text, another channel's name (channels named 1, 2, 3)."""
    names = list(names)
    if not -len(names) <= pick < len(names):
        raise SpecError(
            f"{what}: channel position {pick} is out of range: the stream has {len(names)} channels",
            f"give a position 0..{len(names) - 1} or a name ({', '.join(names)})",
        )
    if str(pick) in names and names.index(str(pick)) != pick % len(names):
        raise SpecError(
            f"{what}: {pick} is both a channel position and, as text, another channel's name",
            f"write the name quoted ('{pick}') or the position of the channel named '{pick}' ({names.index(str(pick))})",
        )
    return pick % len(names)
