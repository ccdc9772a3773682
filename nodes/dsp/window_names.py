"""Window names as other tools write them (ezmsg's HAMMING, numpy's hanning, 'sqrt-hann'), checked for stft, istft
and fir: scipy said "Invalid window name 'HAMMING' in parameter window='HAMMING'!" and the fix listed examples,
not the name it meant. A window is a name, or a YAML list [name, parameter...]: scipy.signal.get_window's tuple
(`window: [kaiser, 8]`, `[tukey, 0.25]`), as scipy's and MNE's users write it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator
from wavegraph.pipeline.spec import SpecError

_ALIASES = {"hanning": "hann", "sqrthann": "sqrt_hann", "none": "boxcar", "rectangular": "boxcar", "rect": "boxcar"}
LIST_FORM = "a name with its parameters as a list (scipy.signal.get_window's tuple), e.g. [kaiser, 8] or [tukey, 0.25]"


def _frozen(value: Any) -> Any:
    """Lists as tuples, also inside (general_cosine's weights): a spec that carries the window stays hashable, and the
    stft's and the istft's compare equal whichever of YAML, Python or the wire form gave them."""
    return tuple(_frozen(v) for v in value) if isinstance(value, (list, tuple)) else value


def _as_window(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
        return _frozen(value)
    raise ValueError(
        ("a window list starts with the window's name" if isinstance(value, (list, tuple)) else "not a window")
        + f"; fix: write window: hann (a name), or {LIST_FORM}"
    )


Window = Annotated[str | tuple, BeforeValidator(_as_window)]


def window_text(window: Any) -> str:
    """A window as a graph file writes it: hann, [kaiser, 8]."""
    if isinstance(window, tuple):
        return "[" + ", ".join(window_text(v) for v in window) + "]"
    if window is None or isinstance(window, bool):
        return "null" if window is None else str(window).lower()
    return str(window)


def window_said(window: Any) -> str:
    """A window as an error message names it: 'hann' (quoted, as before), [kaiser, 8]."""
    return repr(window) if isinstance(window, str) else window_text(window)


def _valid(window: Any, n: int = 8) -> bool:
    from scipy.signal import get_window

    if window == "sqrt_hann":
        return True
    try:
        get_window(window, n)
    except (ValueError, TypeError):
        return False
    return True


def check_window(window: Any, node: str, n: int = 8) -> None:
    """Raise a SpecError naming the window meant, for a name scipy does not know in the case or spelling given
    (nothing for a name of no window: the caller's own error says it). `n`: the window's length (dpss's parameter
    must be below n / 2)."""
    if _valid(window, n):
        return
    name, rest = (window, ()) if isinstance(window, str) else (window[0], tuple(window[1:]))
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key.replace("_", ""), key)
    meant = (key, *rest) if rest or not isinstance(window, str) else key
    if key != name and _valid(meant, n):
        why = "names are lower case" if name.lower() == key else "another tool's name for it"
        raise SpecError(f"{node}: unknown window {name!r} ({why})", f"write window: {window_text(meant)}")
    # (a name of no window at all: the node's own message, with scipy's words)
