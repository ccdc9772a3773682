"""Other tools' node and function names as a graph's `type:` (ezmsg-sigproc's units, Timeflux's module:Class, MNE's
and MNE-LSL's names): the wavegraph type that does it (graph.make_node, GraphBuilder.add). `type: Scaler` said "did
you mean 'car'?", `StreamLSL` "did you mean 'resample'?", `IIRFilter` "did you mean 'filterbank'?", and
`module: timeflux_dsp.nodes.filters, class: IIRFilter` "write type: timeflux_dsp.nodes.filters:IIRFilter" (a class
that is no wavegraph Node, in a package that is not installed)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .registry import UnknownNodeType

_EDGES = "its edges are l_freq and h_freq; one edge: lowpass or highpass (freq)"
_PEERS: dict[str, tuple[str, str]] = {  # another tool's name, lower case without _ and - -> (type, what to know)
    **dict.fromkeys(("butterworthfilter", "butterworth", "butter", "iirfilter", "iir", "filter"), ("bandpass", _EDGES)),
    **dict.fromkeys(("bandpassfilter", "filterdata"), ("bandpass", _EDGES)),
    "chebyshevfilter": ("bandpass", "design: cheby1 (or cheby2); " + _EDGES),
    **dict.fromkeys(("lowpassfilter",), ("lowpass", "its cutoff is freq")),
    **dict.fromkeys(("highpassfilter",), ("highpass", "its cutoff is freq")),
    **dict.fromkeys(("notchfilter", "iirnotch"), ("notch", "one freq, with harmonics for its multiples")),
    **dict.fromkeys(("firfilter", "firwin"), ("fir", "its length is numtaps, its edges l_freq and h_freq")),
    **dict.fromkeys(
        ("downsample", "decimate", "decimator", "resamplepoly", "upsample"), ("resample", "rate, or up and down")
    ),
    **dict.fromkeys(("window", "rolling", "slidingwindow", "windowing"), ("sliding_window", "size and hop in samples")),
    **dict.fromkeys(("spectrum", "spectrogram", "fft", "rfft", "shorttimefft"), ("stft", "n_fft and hop in samples")),
    **dict.fromkeys(
        ("scaler", "adaptivestandardscaler", "standardscaler", "zscore", "zscorer"),
        ("running_zscore", "window in seconds"),
    ),
    **dict.fromkeys(
        ("welch", "psd", "psdwelch", "computepsd", "bands", "bandpowers"),
        ("bandpower", "window and hop in seconds, bands in Hz"),
    ),
    **dict.fromkeys(("epoch", "epocher", "trials"), ("epochs", "tmin and tmax in seconds around each marker")),
    **dict.fromkeys(
        ("commonrereference", "commonaveragereference", "seteegreference"),
        ("car", "or rereference for other references"),
    ),
    **dict.fromkeys(
        ("slicer", "pick", "picks", "pickchannels", "channelpicker", "select"), ("pick_channels", "pick: [names]")
    ),
    **dict.fromkeys(
        ("streamlsl", "streaminlet", "inlet", "lsl", "lslinlet", "receive", "lslreceive"),
        ("lsl_inlet", "name, type (MNE-LSL's stype), buffer_s"),
    ),
    **dict.fromkeys(("streamoutlet", "outlet", "lsloutlet", "send", "lslsend"), ("lsl_outlet", "name and type")),
    **dict.fromkeys(
        ("playerlsl", "player", "replay", "readraw", "reader", "filereader"),
        ("file_source", "path; add an lsl_outlet after it to serve it as a stream"),
    ),
    **dict.fromkeys(
        ("save", "hdf5", "writer", "filewriter", "record", "saver"), ("recorder", "path: its suffix picks the format")
    ),
    **dict.fromkeys(
        ("display", "debug", "print", "console", "plot", "scope"),
        ("monitor", "a live web page of the stream (or null_sink to drop it)"),
    ),
    **dict.fromkeys(("random", "randomdata", "randomsource", "whitenoise"), ("noise", "rate, channels")),
    **dict.fromkeys(("sinegenerator", "sinusoid", "oscillator", "sin"), ("sine", "rate, freq")),
}
_PACKAGES = ("timeflux", "timeflux_dsp", "timeflux_ml", "ezmsg", "mne_lsl", "labgraph", "pylsl", "mne")


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


def peer_type_fix(name: str, known: list[str]) -> str:
    """The fix for an unknown `type:` that another tool names so ('' when none is known): the wavegraph type, and
    what its parameters are called. A name that is a registered type but for its case is left to 'did you mean'."""
    if not isinstance(name, str) or not name:
        return ""
    module, _, cls = name.rpartition(":") if ":" in name else name.rpartition(".")  # (mymod.Window: the user's)
    if module and module.partition(".")[0] not in _PACKAGES:  # a module:Class of the user's own: not another tool's
        return ""
    short = cls.rpartition(".")[2]
    if _key(short) in {_key(k) for k in known}:
        return ""
    found = _PEERS.get(_key(short))
    if found is None:
        if module:  # timeflux.nodes.foo:Bar that wavegraph has nothing like: not a class it can load
            top = module.partition(".")[0]
            return f"{top} is another tool: its classes are not wavegraph nodes; `wavegraph nodes` lists the types"
        return ""
    wg, note = found
    return (
        f"wavegraph's type for {short} is {wg}: write type: {wg} ({note}; `wavegraph nodes {wg}` lists its parameters)"
    )


def unknown_type_fix(name: str, error: UnknownNodeType, dirs: list[str]) -> str:
    """The fix for an unknown type, one way for a graph file, GraphBuilder.add and `wavegraph nodes`: another tool's
    name, then a class of one's own named by a dotted path or a file (looked for in `dirs`), then the registry's
    'did you mean' or why a module:Class did not load. (The three put these in three orders: `wavegraph nodes
    mynodes.Window` and add('mynodes.Window') said "did you mean 'sliding_window'?" where a graph file, since
    7a9c614, said the module:Class to write.)"""
    from .node_class import type_path_fix
    from .registry import catalogue

    return (
        peer_type_fix(name, list(catalogue()))
        or type_path_fix(name, dirs)
        or (f"did you mean '{error.suggestion}'?" if error.suggestion else error.reason)
        or "run `wavegraph nodes` to list the types"
    )
