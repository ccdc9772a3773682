"""The one rule for a marker text that is its own code, shared by the LSL inlet and the file readers."""

from __future__ import annotations

import re

_INTEGER = re.compile(r"[+-]?[0-9]+")


def integer_code(text: str) -> int | None:
    """The integer a marker text spells in plain decimal (ASCII digits, an optional sign, spaces around), else
    None. Not int(): it also reads "1_2" as 12 and non-ASCII digits ("\\u0663" as 3)."""
    s = text.strip()
    return int(s) if _INTEGER.fullmatch(s) else None
