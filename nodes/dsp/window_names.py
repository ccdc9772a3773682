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


# scipy.signal.get_window's windows that must have parameters (its aliases too): (name, what the parameters are,
# a typical value for a window `n` long). A window of optional ones (tukey, taylor, exponential) is taken without.
_NEEDS_ALIASES = {"ksr": "kaiser", "gauss": "gaussian", "gss": "gaussian", "general_gauss": "general_gaussian",
                  "ggs": "general_gaussian", "cheb": "chebwin", "kbd": "kaiser_bessel_derived"}  # fmt: skip
_NEEDS = {
    "kaiser": ("beta, its shape: 5 is near hamming, 6 near hann, 8.6 near blackman", lambda n: (8,)),
    "gaussian": ("std, its width in samples; (length - 1) / 5 is MATLAB's gausswin", lambda n: (_std(n),)),
    "general_gaussian": (
        "p, its power (1 is gaussian, 0.5 laplace), and sig, its width in samples",
        lambda n: (1.5, _std(n)),
    ),  # fmt: skip
    "general_cosine": (
        "its weights a0, a1, ... as a list: [0.5, 0.5] is hann, [0.42, 0.5, 0.08] blackman",
        lambda n: ((0.5, 0.5),),
    ),  # fmt: skip
    "general_hamming": ("alpha: 0.54 is hamming, 0.5 hann", lambda n: (0.54,)),
    "dpss": ("NW, its time-half-bandwidth product, below length / 2: 2 to 4 usual", lambda n: (3 if n > 6 else n / 4,)),
    "chebwin": ("at, its sidelobe attenuation in dB", lambda n: (100,)),
}


FIRWIN_COSINE = (  # scipy's firwin passes get_window its array namespace, which general_cosine refuses (scipy 1.17)
    "write window: hann (the cosine sum [0.5, 0.5]; scipy's firwin makes no general_cosine window), or blackman "
    "([0.42, 0.5, 0.08]), nuttall, blackmanharris, flattop, [general_hamming, 0.54]"
)


def _std(n: int) -> float:
    return max(1, round((n - 1) / 5))


def needs_parameters(name: str, n: int) -> tuple[str, Any] | None:
    """(what the parameters of window `name` are, a typical window for `n` samples, as the list form) when
    scipy.signal.get_window's `name` must have parameters (any case, aliases, _periodic and _symmetric); else None.
    kaiser_bessel_derived, which no stft (periodic), istft or fir (odd numtaps) takes: the kaiser window."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    suffix = next((s for s in ("_periodic", "_symmetric") if key.endswith(s)), "")
    key = _NEEDS_ALIASES.get(key[: len(key) - len(suffix)], key[: len(key) - len(suffix)])
    if key == "kaiser_bessel_derived":
        what = ("beta, but it is a window of even length made symmetric, which neither an stft (periodic), an istft "
                "nor a fir (odd numtaps) takes: the kaiser window it derives from, whose beta is its shape")  # fmt: skip
        return what, (f"kaiser{suffix}", 8)
    if key not in _NEEDS:
        return None
    what, example = _NEEDS[key]
    return what, (f"{key}{suffix}", *example(n))


def check_window(window: Any, node: str, n: int = 8) -> None:
    """Raise a SpecError naming the window meant, for a name scipy does not know in the case or spelling given, and
    for a window that must have parameters given without (`window: kaiser`: the list form, with a typical value);
    nothing for a name of no window (the caller's own error says it). `n`: the window's length (dpss's parameter
    must be below n / 2)."""
    if _valid(window, n):
        return
    name, rest = (window, ()) if isinstance(window, str) else (window[0], tuple(window[1:]))
    if not rest and (needs := needs_parameters(name, n)):  # scipy: "'kaiser' must have parameters, but ..."
        fix = f"write window: {window_text(needs[1])} (the list form: the name, then its parameters)"
        if node == "fir" and needs[1][0].startswith("general_cosine"):
            fix = FIRWIN_COSINE
        raise SpecError(f"{node}: window {window_said(window)} must have parameters ({needs[0]})", fix)
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key.replace("_", ""), key)
    meant = (key, *rest) if rest or not isinstance(window, str) else key
    if key != name and _valid(meant, n):
        why = "names are lower case" if name.lower() == key else "another tool's name for it"
        raise SpecError(f"{node}: unknown window {name!r} ({why})", f"write window: {window_text(meant)}")
    # (a name of no window at all: the node's own message, with scipy's words)
