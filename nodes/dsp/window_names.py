"""Window names as other tools write them (ezmsg's HAMMING, numpy's hanning, 'sqrt-hann'), checked for stft, istft
and fir: scipy said "Invalid window name 'HAMMING' in parameter window='HAMMING'!" and the fix listed examples,
not the name it meant."""

from __future__ import annotations

from wavegraph.pipeline.spec import SpecError

_ALIASES = {"hanning": "hann", "sqrthann": "sqrt_hann", "none": "boxcar", "rectangular": "boxcar", "rect": "boxcar"}


def _valid(name: str) -> bool:
    from scipy.signal import get_window

    if name == "sqrt_hann":
        return True
    try:
        get_window(name, 8)
    except (ValueError, TypeError):
        return False
    return True


def check_window(name: str, node: str) -> None:
    """Raise a SpecError naming the window meant, for a name scipy does not know in the case or spelling given
    (nothing for a name of no window: the caller's own error says it)."""
    if _valid(name):
        return
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key.replace("_", ""), key)
    if key != name and _valid(key):
        why = "names are lower case" if name.lower() == key else "another tool's name for it"
        raise SpecError(f"{node}: unknown window {name!r} ({why})", f"write window: {key}")
    # (a name of no window at all: the node's own message, with scipy's words)
