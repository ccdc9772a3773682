"""Other tools' parameter names on a wavegraph node (scipy, MNE, MNE-LSL, ezmsg-sigproc, Timeflux, librosa): the
parameter each stands for, with the value to write there (graph.make_node). `cutoff: 40` on a lowpass said 'unknown
parameter' beside 'missing parameter freq' and the list of names; `sfreq: 250` on a sine 'did you mean freq?'
(the sine's frequency, where MNE's sfreq is the sampling rate); `frequencies: [1, 40]` on a bandpass two missing
parameters and no hint that it is l_freq and h_freq."""

from __future__ import annotations

import json
import math
from typing import Any, Literal, get_args, get_origin

from .config import NodeConfig
from .node import Node
from .param_problems import PYTHON, _write, shown
from .yaml_lines import lookalikes

_RATE = (
    *("fs", "sfreq", "srate", "sampling_rate", "sample_rate", "samplerate", "sampling_frequency", "nominal_srate"),
    *("fsample", "target_rate", "new_rate", "new_sfreq", "out_rate", "output_rate", "resample_rate"),
)
_LOW = ("cuton", "low", "lowcut", "low_cut", "low_cutoff", "f_low", "fmin", "f_min", "low_freq", "lfreq", "l_cutoff")
_HIGH = ("cutoff", "high", "highcut", "high_cut", "high_cutoff", "f_high", "fmax", "f_max", "high_freq", "hfreq")
_BAND = (
    *("frequencies", "freqs", "freq", "cutoff", "cutoffs", "wn", "band", "passband", "freq_range", "frequency_range"),
    *("frequency", "f_range", "critical_frequencies", "corner_frequencies"),
)
_SAME: tuple[tuple[str, tuple[str, ...]], ...] = (  # wavegraph's parameter, others' names for it (the first wins)
    ("rate", _RATE),
    ("freq", ("cutoff", "cuton", "frequency", "fc", "f0", "w0", "wn", "cutoff_freq", "cutoff_frequency", *_LOW[1:])),
    ("freq", _HIGH[1:]),
    ("quality", ("q", "Q", "quality_factor", "q_factor")),
    ("n_fft", ("nperseg", "nfft", "fft_size", "fft_length", "win_length", "window_size", "window_length", "size")),
    ("size", ("window_size", "window_length", "window_len", "win_len", "win_size", "length", "window_dur", "nperseg")),
    ("size", ("n_samples", "frame_length", "window")),
    ("hop", ("hop_length", "hop_size", "step", "step_size", "stride", "shift", "window_shift", "frame_step")),
    ("window", ("window_size", "window_length", "window_dur", "window_len", "win_len", "length", "time_constant")),
    ("window", ("duration", "win_size")),
    ("segment", ("nperseg", "n_per_seg", "segment_length", "seg_len")),
    ("bands", ("freq_bands", "frequency_bands", "band_ranges")),
    ("numtaps", ("n_taps", "ntaps", "taps", "num_taps", "filter_length", "length")),
    ("design", ("ftype", "filter_design", "design_type")),
    ("type", ("stype", "stream_type")),
    ("name", ("stream_name", "sname")),
    ("buffer_s", ("bufsize", "max_buflen", "buffer_size", "buffer", "buflen", "buffer_length")),
    ("chunk_size", ("chunk_len", "max_chunklen", "chunksize", "block_size", "blocksize", "chunk_length", "rows")),
    ("chunk_size", ("rows_max",)),
    ("channels", ("columns", "n_channels", "nchan", "num_channels", "n_chans", "nchannels", "channel_count")),
    ("channels", ("ch_names", "channel_names")),
    ("amplitude", ("amp", "scale")),
    ("path", ("fname", "filename", "file", "filepath", "file_path", "fpath", "file_name")),
    ("resolve_timeout", ("timeout",)),
    ("pick", ("picks", "include", "ch_names", "channels", "select", "keep")),
    ("picks", ("pick", "include", "ch_names", "channels", "select")),
    ("drop", ("exclude", "bads", "remove")),
    ("harmonics", ("n_harmonics", "num_harmonics")),
    ("checkpoint", ("model", "model_path", "model_file", "weights", "weights_path", "weights_file", "ckpt")),
    ("checkpoint", ("ckpt_path", "checkpoint_path", "checkpoint_file", "restore_path", "restore_from", "state_dict")),
)
_SECONDS = {"window_dur", "window_shift", "time_constant", "bufsize", "max_buflen", "duration", "timeout"}
_SAMPLES = {
    "n_per_seg",
    "seg_len",
    "nperseg",
    "nfft",
    "n_samples",
    "hop_length",
    "win_length",
    "frame_length",
    "frame_step",
    "fft_size",
}
_REPLAY = {  # a file player's options in MNE-LSL's PlayerLSL and Timeflux's Replay
    "preload": "remove it: file_source reads the file as it plays it",
    "speed": "remove it: the pace is the run's: `wavegraph run GRAPH --speed 1` (real time; max by default)",
    "realtime": "remove it: the pace is the run's: `wavegraph run GRAPH --speed 1` (real time; max by default)",
    "loop": "remove it: a file plays once; to serve it again, run the graph again (or `wavegraph batch`)",
    "n_repeat": "remove it: a file plays once; to serve it again, run the graph again (or `wavegraph batch`)",
}
_DECIMATE = ("factor", "q", "decim", "decimation", "decimate", "downsample", "downsample_factor", "down_factor")
_WINDOW_COUNTS = ("size", "hop", "n_fft")  # a window's length and step in samples, where other tools' are seconds
_SETTINGS = ("settings", "config", "cfg", "options", "opts", "kwargs", "parameters", "args", "properties")
_KIND = ("btype", "filter_type", "pass_type", "band_type", "kind", "filter_kind")
_KINDS = {
    **dict.fromkeys(("band", "bandpass", "band_pass", "bp", "pass"), "bandpass"),
    **dict.fromkeys(("low", "lowpass", "low_pass", "lp"), "lowpass"),
    **dict.fromkeys(("high", "highpass", "high_pass", "hp"), "highpass"),
    **dict.fromkeys(("bandstop", "band_stop", "stop", "bs", "notch"), "bandstop"),
}
_DESIGNS = {"butter": "butter", "butterworth": "butter", "cheby1": "cheby1", "chebyshev1": "cheby1"}
_DESIGNS |= {"cheby2": "cheby2", "chebyshev2": "cheby2", "ellip": "ellip", "elliptic": "ellip", "bessel": "bessel"}
_FILTERS = ("filter", "filters", "l_freq", "h_freq", "notch", "notch_freq", "bandpass", "highpass", "lowpass")


def _value(v: Any) -> str:
    """A value as a fix writes it: a number %g, a list in brackets, text as is."""
    if isinstance(v, bool) or v is None:
        return json.dumps(v)
    if isinstance(v, int):  # (not %g: 1000000 is not 1e+06)
        return str(v)
    if isinstance(v, float):
        return f"{v:g}" if float(f"{v:g}") == v else repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v) if isinstance(v, str) else shown(v)


def _two_edges(v: Any) -> bool:
    return (
        isinstance(v, (list, tuple))
        and len(v) == 2
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
    )


def _as_mapping(value: Any) -> dict | None:
    """A mapping, or a dataclass's fields (ezmsg's Settings are frozen dataclasses); None for anything else."""
    import dataclasses

    if isinstance(value, dict):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return None


def _option(value: str, annotation: Any) -> str:
    """The choice meant by `value` where a parameter takes a few ('Butterworth' or 'BUTTER' for design: butter,
    'Zero' for nan_policy: zero): pydantic's "Input should be 'butter', 'cheby1', ..."; "" when none or exact."""
    options = _literal(annotation) or [a for arg in get_args(annotation) for a in _literal(arg)]  # (or Optional)
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    meant = key if key in options else _DESIGNS.get(key, "")
    return meant if meant in options and meant != value else ""


def _literal(annotation: Any) -> list:
    return [a for a in get_args(annotation) if isinstance(a, str)] if get_origin(annotation) is Literal else []


def _decimal(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _unit(field) -> str:
    """'samples' or 'seconds', as a parameter's description states its unit ('' for neither)."""
    text = (field.description or "").lower()
    if "samples" in text and "per second" not in text and "int" in str(field.annotation):  # (a rate: neither)
        return "samples"
    return "seconds" if "second" in text and "per second" not in text else ""


def _in_samples(file: str, target: str, seconds: float, rate: float | None) -> str:
    """`target: <seconds> s x the input's rate>`, with an example at 250 Hz; at the input's rate, where it is known,
    the count itself (`size: 1.0` on a 160 Hz stream said 'e.g. size: 250 at 250 Hz')."""
    if rate is not None and rate > 0:
        return f"{_write(file, target, _value(round(seconds * rate)))} ({_value(seconds)} s x the input's {_value(rate)} Hz)"
    return (
        f"{_write(file, target, '<' + _value(seconds))} s x the input's rate> "
        f"(e.g. {_write(file, target, _value(round(seconds * 250)))} at 250 Hz)"
    )


def _in_seconds(file: str, target: str, samples: float, rate: float | None) -> str:
    """`target: <samples> / the input's rate>`, as _in_samples the other way."""
    if rate is not None and rate > 0:
        return f"{_write(file, target, _value(samples / rate))} ({_value(samples)} samples at the input's {_value(rate)} Hz)"
    return (
        f"{_write(file, target, '<' + _value(samples))} / the input's rate> "
        f"(e.g. {_write(file, target, _value(samples / 250))} at 250 Hz)"
    )


def _converted(name: str, target: str, value: Any, field, file: str, rate: float | None = None) -> str:
    """The fix for `name: value` that stands for `target`, with the unit changed where the two differ (ezmsg's
    window_dur is seconds, sliding_window's size samples; scipy's nperseg samples, bandpower's window seconds).
    `rate`: the input's, where it is known (the examples are at it; at 250 Hz else)."""
    unit, number = _unit(field), isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and not math.isfinite(value):  # (NaN, infinity: no number of samples to work out)
        return f"wavegraph calls it {target}, and takes a finite number: write {_write(file, target, '<a number>')}"
    seconds = name in _SECONDS or (number and isinstance(value, float) and not float(value).is_integer())
    if number and unit == "samples" and seconds:
        return f"wavegraph's {target} counts samples, not seconds: write {_in_samples(file, target, value, rate)}"
    small = target in _WINDOW_COUNTS and name not in _SAMPLES and number and value < 16
    if number and unit == "samples" and (isinstance(value, float) or small):
        # `length: 1.0` or `length: 1` (Timeflux's window, seconds): not one sample without a word
        return (
            f"wavegraph calls it {target}, a count of samples: {_seconds_for_samples(target, float(value), file, rate)}"
        )
    if number and unit == "seconds" and name in _SAMPLES:
        return f"wavegraph's {target} is in seconds, not samples: write {_in_seconds(file, target, value, rate)}"
    if number and "int" in str(field.annotation) and "float" not in str(field.annotation) and isinstance(value, float):
        value = math.ceil(value)  # MNE-LSL's bufsize: 2.5 (s) -> buffer_s: 3
    note = " (a running window's length, not an exponential time constant)" if name == "time_constant" else ""
    return f"wavegraph calls it {target}: write {_write(file, target, _value(value))}{note}"


def _kind_fix(nc: NodeConfig, value: Any, fields: dict, file: str) -> str:
    """The fix for `btype: low` (scipy), `filter_type: bandpass` (Timeflux): the band is the node's type; `ftype:
    butter` is the design."""
    text = str(value).strip().lower()
    if text in _DESIGNS and "design" in fields:
        return f"the filter's design is its design parameter: write {_write(file, 'design', _DESIGNS[text])}"
    kind = _KINDS.get(text)
    if kind is None:
        return "the band is the node's type: bandpass, lowpass, highpass or notch (`wavegraph nodes`)"
    if kind == nc.type:
        return f"remove it: the node's type, {nc.type}, is the band"
    if kind == "bandstop":
        return "a band-stop is type: notch (one frequency and its harmonics) or type: fir with l_freq above h_freq"
    return f"the band is the node's type: write type: {kind} (this node is a {nc.type})"


def _notch_fix(value: list, file: str) -> str:
    """MNE's notch_filter(freqs=[50, 100, 150]): one notch node takes a frequency and its harmonics."""
    base = value[0]
    if base > 0 and all(abs(f - base * (i + 1)) < 1e-9 * base for i, f in enumerate(value)):
        n = len(value)
        return f"one notch takes a frequency and its harmonics: write {_write(file, 'freq', _value(base))}" + (
            f", {_write(file, 'harmonics', str(n))}" if n > 1 else ""
        )
    return (
        f"a notch node takes one frequency (and its multiples: harmonics: 2 notches {_value(base)} and "
        f"{_value(2 * base)} Hz): add a notch node for each of {', '.join(_value(f) for f in value)}"
    )


def _normalised_fix(value: Any, fields: dict, file: str) -> tuple[str, str]:
    """scipy's Wn (butter, iirfilter) and w0 (iirnotch) are fractions of Nyquist unless fs= is given: `wn: 0.2` was
    told 'write freq: 0.2', 0.2 Hz. Values in (0, 1) get the Hz to work out; others (fs= was given) are Hz already."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values or len(values) > 2 or not all(_number(v) and 0 < v < 1 for v in values):
        return "", ""
    why = "scipy's Wn and w0 are fractions of Nyquist (unless fs= is given); wavegraph takes Hz"
    hz = [f"<{_value(v)} x rate/2>" for v in values]
    if len(values) == 2 and "l_freq" in fields and "h_freq" in fields:
        return f"{why}: write {_write(file, 'l_freq', hz[0])}, {_write(file, 'h_freq', hz[1])}", "l_freq,h_freq"
    if len(values) == 1 and "freq" in fields:
        return f"{why}: write {_write(file, 'freq', hz[0])}", "freq"
    return "", ""


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def peer_param_problems(
    nc: NodeConfig, cls: type[Node], file: str, rate: float | None = None
) -> tuple[dict[str, tuple], set[str]]:
    """(peer parameter -> problem (file, line, what, fix), the parameters they stand for), for each parameter the
    node does not have that another tool names so, and for the value another tool's way (a notch's `freq: [50,
    100]`, a lowpass's `freq: [1, 40]`). The parameters stood for are left out of 'missing parameter' problems.
    `rate`: the input's, where it is known (build_graph asks again once it is): a fix's example is at it."""
    fields = getattr(getattr(cls, "Params", None), "model_fields", {})
    forbid = getattr(getattr(cls, "Params", None), "model_config", {}).get("extra") == "forbid"  # (any name: kept)
    if not fields:
        return _no_params(nc, cls, file) if forbid else ({}, set())
    given = nc.params
    out: dict[str, tuple] = {}
    covered: set[str] = set()
    for name, value in given.items():
        name = str(name)
        if name not in fields and not forbid:
            continue
        fix, stands = _fix(nc, name, value, fields, file, rate)
        if not fix:
            continue
        if name in nc.overridden:  # --set src.sfreq=500: the --set to type, not a line to write or remove
            fix = _as_set(nc.id, fix)
        elif stands and stands in given and name not in fields:
            fix = f"remove {name}: {stands} is given ({_write(file, stands, _value(given[stands]))})"
        covered.update(s for s in stands.split(",") if s and s not in given)
        said = f"node '{nc.id}' ({nc.type}): " + (
            f"parameter '{name}' = {shown(value)}{_what(nc, name, value)}"
            if name in fields
            else f"unknown parameter '{name}'{lookalikes(name)}"
        )
        said += " (from --set)" if name in nc.overridden else ""
        out[name] = (file, nc.param_lines.get(name, nc.line), said, fix)
    return out, covered


def at_input_rate(config, problems: list, unmade: set[str], specs: dict) -> list:
    """`problems` with the peer-parameter fixes of each node that could not be made (`unmade`: `size: 1.0` on a
    sliding_window) asked again at its input's rate, known once the nodes before it are configured (`specs`: edge
    source -> StreamSpec): the examples were at 250 Hz whatever the stream's."""
    from .registry import lookup

    rates_into: dict[str, set] = {}  # node id -> its inputs' rates, in one pass (one per node made it quadratic)
    for e in config.edges:
        if e.source in specs:
            rates_into.setdefault(e.target_node, set()).add(specs[e.source].rate)
    places: dict[tuple, list[int]] | None = None  # problem -> its places in `problems` (a pass per node: quadratic)
    for nc in config.nodes:
        rates = set(rates_into.get(nc.id, ()))
        if nc.id not in unmade or len(rates) != 1 or not (rate := rates.pop()) > 0:
            continue
        try:
            cls = lookup(nc.type)
            before, after = (
                peer_param_problems(nc, cls, config.file)[0],
                peer_param_problems(nc, cls, config.file, rate)[0],
            )
        except Exception:  # noqa: BLE001 (an unknown type, a user's class: its problems stay as they were)
            continue
        swap = {before[k]: after[k] for k in before if k in after}
        if places is None:
            problems, places = list(problems), {}
            for i, p in enumerate(problems):
                places.setdefault(p, []).append(i)
        moved = [(places.pop(p), new) for p, new in swap.items() if p in places]  # (all at once, as one pass did)
        for where, new in moved:
            for i in where:
                problems[i] = new
            places.setdefault(new, []).extend(where)
    return problems


def _as_set(node_id: str, fix: str) -> str:
    """A fix's `write a: 1, b: 2` as the --set options to type instead (`--set bp.a=1 --set bp.b=2`); a fix that
    changes the node's type, or writes nothing, as it is."""
    import re

    found = re.search(r"write ([^();]+)", fix)
    pairs = re.findall(r"(\w+): (<[^>]*>|\[[^\]]*\]|[^,\s]+)", found.group(1)) if found else []
    if not found or not pairs or any(k in ("type", "params") for k, _ in pairs):
        return fix
    if any(v.startswith("<") for _, v in pairs):  # a number to work out: said, then the --set to give it with
        return f"{fix}; on the command line: " + " ".join(f"--set {node_id}.{k}=N" for k, _ in pairs)
    sets = " ".join(f"--set {node_id}.{k}={v}" for k, v in pairs)
    space = " " if found.group(0)[-1].isspace() else ""  # `write size: 240 (1.5 s x ...)`: its space kept
    return f"{fix[: found.start()]}give {sets}{space}{fix[found.end() :].rstrip()}".replace("  ", " ")


def _fix(nc: NodeConfig, name: str, value: Any, fields: dict, file: str, rate: float | None = None) -> tuple[str, str]:
    """(the fix, the parameters it stands for, comma-separated) for one parameter; ("", "") when none applies."""
    if mne := _mne_fix(nc, name, value, fields, file):
        return mne
    if name not in fields and name.lower() in ("wn", "w0") and (fix := _normalised_fix(value, fields, file))[0]:
        return fix
    if name in fields and name in _WINDOW_COUNTS and _unit(fields[name]) == "samples" and _decimal(value):
        return _seconds_for_samples(name, float(value), file, rate), ""
    if name in fields and isinstance(value, str) and (option := _option(value, fields[name].annotation)):
        return f"write {_write(file, name, option)}", ""
    if name in fields:  # a parameter of the node, with another tool's value (a list where one number goes)
        if fields[name].annotation is not float:  # (a sine's freq takes one per channel)
            return "", ""
        if name == "freq" and isinstance(value, (list, tuple)) and value and nc.type == "notch":
            if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
                return _notch_fix(list(value), file), "harmonics"
        if name == "freq" and _two_edges(value) and "l_freq" not in fields:
            return _band_on_cutoff(nc, value, file), ""
        return "", ""
    if value is None:  # ezmsg's cutoff=None on a high-pass: nothing to carry over (was 'write freq: null')
        return "remove it: it is null, and a parameter left out takes its default", ""
    edges = "l_freq" in fields and "h_freq" in fields
    if edges and name in _BAND and _two_edges(value):
        lo, hi = value
        return f"write {_write(file, 'l_freq', _value(lo))}, {_write(file, 'h_freq', _value(hi))}", "l_freq,h_freq"
    if edges and name in _LOW:
        return f"wavegraph calls the lower edge l_freq: write {_write(file, 'l_freq', _value(value))}", "l_freq"
    if edges and name in _HIGH:
        return f"wavegraph calls the upper edge h_freq: write {_write(file, 'h_freq', _value(value))}", "h_freq"
    if name in ("freqs", "frequencies") and nc.type == "notch" and isinstance(value, (list, tuple)) and value:
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
            return _notch_fix(list(value), file), "freq"
    if "freq" in fields and name in _BAND and _two_edges(value):
        return _band_on_cutoff(nc, value, file), "freq"
    if name in _SETTINGS and (inner := _as_mapping(value)) is not None:  # ezmsg's settings object, one mapping
        stood = ",".join(str(k) for k in inner if k in fields)
        if file == PYTHON:
            said = ", ".join(f"{k}={v!r}" for k, v in inner.items())
            return f"pass the parameters themselves as keywords: {said or '...'} (not inside {name}=)", stood
        said = ", ".join(f"{k}: {_value(v)}" for k, v in inner.items())
        return f"the parameters go straight under params: write params: {{{said}}} (not under {name}:)", stood
    if name in _KIND:
        return _kind_fix(nc, value, fields, file), ""
    if name == "coef_type":  # ezmsg's 'ba' or 'sos'
        return "remove it: wavegraph's IIR filters always run as second-order sections (sos)", ""
    if name == "axis":  # ezmsg's axis='time'
        return "remove it: every node works along time, channel by channel", ""
    if name == "order" and "numtaps" in fields and isinstance(value, int) and not isinstance(value, bool):
        taps = value + 1 if value % 2 == 0 else value + 2
        return f"an FIR's length is numtaps (order + 1, odd): write {_write(file, 'numtaps', str(taps))}", "numtaps"
    if name in ("order", "filter_order") and nc.type == "notch":
        return "remove it: a notch is second order; its width is quality (Q = freq / bandwidth)", ""
    if name == "noverlap" and ("n_fft" in fields or "size" in fields):
        length = "n_fft" if "n_fft" in fields else "size"
        frame = next((nc.params[k] for k in (length, "nperseg", "window_size") if k in nc.params), None)
        if isinstance(frame, int) and isinstance(value, int) and not isinstance(value, bool):
            return f"wavegraph gives the step, not the overlap: write {_write(file, 'hop', str(frame - value))}", "hop"
        return f"wavegraph gives the step, not the overlap: write {_write(file, 'hop', f'<{length} - noverlap>')}", ""
    if (name in _RATE or name == "rate") and "rate" not in fields:
        return (
            "remove it: this node takes its rate from the stream it receives; the rate is set where the stream "
            "starts (a source's rate or its file's), and a resample node changes it",
            "",
        )
    if name in _FILTERS and not any(k in fields for k in ("freq", "l_freq", "bands")):
        return (
            "a filter is a node of its own: add a bandpass (or highpass, lowpass, notch) node after this one",
            "",
        )
    if name in _DECIMATE and "down" in fields and isinstance(value, int) and not isinstance(value, bool):
        if "rate" in nc.params:
            return f"remove it: rate is given ({_write(file, 'rate', _value(nc.params['rate']))})", ""
        said = f"{_write(file, 'up', '1')}, {_write(file, 'down', str(value))}"
        return f"a decimation by {value} is {said} (the resampler low-pass filters first: nothing aliases)", "down"
    if name in ("before", "after") and "tmin" in fields and isinstance(value, (int, float)) and value >= 0:
        said = _write(file, "tmin", _value(-value)) if name == "before" else _write(file, "tmax", _value(value))
        return f"epochs take the times from the marker (s): write {said}", "tmin" if name == "before" else "tmax"
    if name in ("output", "transform", "mode", "scaling", "return_onesided") and "n_fft" in fields:
        if nc.type == "istft":  # (its input is the complex spectrum, its output the signal: no magnitude after it)
            return "remove it: istft takes an stft's complex spectrum and gives the signal back", ""
        return (
            "remove it: stft gives the complex spectrum; add a magnitude node after it for |X| (or phase for the "
            "angle)",
            "",
        )
    if name == "processing_flags" and "dejitter" in fields:  # MNE-LSL's connect(processing_flags=...), pylsl's
        flags = {str(f).lower() for f in (value if isinstance(value, list) else [value])}
        on = {"clocksync": "clock_sync", "dejitter": "dejitter"}
        said = [f"{v}: true" for k, v in on.items() if k in flags or "all" in flags]
        said += [f"{v}: false" for k, v in on.items() if k not in flags and "all" not in flags]
        return f"liblsl's flags are two parameters: write {', '.join(said)}", ""
    if name == "acquisition_delay" and "wait" in fields and isinstance(value, (int, float)):
        return (
            f"the wait for data is wait (s, at most 1): write {_write(file, 'wait', _value(min(value, 1.0)))}",
            "wait",
        )
    if name in _REPLAY and ("path" in fields or "data" in fields) and not fields.get(name):
        return _REPLAY[name], ""
    if name in ("picks", "pick", "channels", "include") and not {"pick", "picks"} & set(fields):
        return (
            f"channels are picked by a node of their own: add {{type: pick_channels, params: {{pick: "
            f"{_value(value if isinstance(value, list) else [value])}}}}} after this one",
            "",
        )
    number = isinstance(value, (int, float, list)) and not isinstance(value, bool)
    for target, names in _SAME:
        if name in names and target in fields and not (number and fields[target].annotation is str):
            if target == "checkpoint" and not _a_file(value):  # `model: conformer`: 'write checkpoint: conformer'
                if "kind" in fields and isinstance(value, str) and value:
                    return f"a model's architecture is its kind: write {_write(file, 'kind', _value(value))}", "kind"
                continue
            if target == "freq" and _two_edges(value) and "l_freq" not in fields:
                return _band_on_cutoff(nc, value, file), target
            return _converted(name, target, value, fields[target], file, rate), target
    return "", ""


def _a_file(value: Any) -> bool:
    """Whether a value names a file (weights: x.pt, runs/best.ckpt), not a model's name (conformer, bert-base)."""
    return isinstance(value, str) and ("/" in value or "\\" in value or "." in value.lstrip(".~")[1:])


def _what(nc: NodeConfig, name: str, value: Any) -> str:
    """What is wrong with another tool's value for a parameter the node has."""
    if isinstance(value, str) and name != "ref_channels":
        return " is not one of its choices"
    if name == "ref_channels":
        return " is MNE's average reference, which car is"
    if isinstance(value, float):
        return f" is a decimal number: {name} counts samples, a whole number"
    return f" is a list: a {nc.type} takes one {name}"


def _seconds_for_samples(name: str, value: float, file: str, rate: float | None = None) -> str:
    """The fix for `size: 1.0` on a sliding_window (ezmsg's, Timeflux's windows are seconds): pydantic took the
    whole float as 1 sample and the graph ran windows of one sample; `hop: 0.5` said 'give an int'. `rate`: the
    input's, where it is known: the samples worked out at it."""
    seconds = _in_samples(file, name, value, rate)
    whole = _write(file, name, _value(int(value)))
    if value.is_integer() and value >= 16:
        return f"write {whole} (a count of samples is a whole number)"
    if value.is_integer() and value >= 1:
        return f"for {_value(value)} s write {seconds}; for {_value(value)} sample{'s' * (value > 1)}, {whole}"
    return f"for {_value(value)} s write {seconds}"


def _band_on_cutoff(nc: NodeConfig, value: Any, file: str) -> str:
    lo, hi = value
    edges = f"{_write(file, 'l_freq', _value(lo))}, {_write(file, 'h_freq', _value(hi))}"
    if file == PYTHON:
        return f"two edges are a band: add('bandpass', ..., {edges}) (a {nc.type} has one freq)"
    return f"two edges are a band: write type: bandpass, params: {{{edges}}} (a {nc.type} has one freq)"


def _no_params(nc: NodeConfig, cls: type[Node], file: str) -> tuple[dict[str, tuple], set[str]]:
    """Parameters given to a class of one's own that declares none: was 'unknown parameter ...; fix: parameters
    are: none' for each, with no word on how a class declares them (LabGraph's `config: Config` and ezmsg's
    SETTINGS, where its user put them, are not read). One problem, at the first, naming them all."""
    given = [str(k) for k in nc.params]
    if not given or ":" not in nc.type:
        return {}, set()
    kinds = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}
    fields = "; ".join(f"{k}: {kinds.get(type(v), 'Any')} = {v!r}" for k, v in nc.params.items())
    hints = getattr(cls, "__annotations__", {})
    peer = [w for w in ("config", "SETTINGS", "settings") if w in hints or w in vars(cls)]
    note = f" ({', '.join(peer)}, as LabGraph and ezmsg declare them, is not read)" if peer else ""
    what = f"node '{nc.id}' ({nc.type}): unknown parameter{'s' * (len(given) > 1)} {', '.join(given)}: class "
    what += f"{cls.__name__} declares no parameters{note}"
    fix = f"declare them in it: class Params(NodeParams): {fields} (read as self.params.{given[0]})"
    return {given[0]: (file, nc.param_lines.get(given[0], nc.line), what, fix)}, set(given[1:])


_AVERAGE = ("average", "avg", "car", "mean")
_FILTER_OPTIONS = ("n_jobs", "npad", "verbose", "copy", "fir_design", "pad", "skip_by_annotation", "fir_window")


def _mne_fix(nc: NodeConfig, name: str, value: Any, fields: dict, file: str) -> tuple[str, str] | None:
    """MNE's names and values: set_eeg_reference's ref_channels, Epochs' event_id and reject, notch_filter's
    notch_widths, filter()'s method, phase and iir_params, and options a stream has no use for (n_jobs, npad)."""
    text = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if name == "ref_channels" and nc.type == "car" and text and str(text[0]).lower() in _AVERAGE and len(text) == 1:
        return "remove ref_channels: car's default is MNE's 'average' (the mean of the EEG channels)", ""
    if name in fields:
        return None
    if name in ("ref_channels", "ref_channel", "reference", "ref") and nc.type == "rereference" and text:
        if str(text[0]).lower() in _AVERAGE:
            return "MNE's average reference is a node of its own: write type: car", ""
        if len(text) == 1:
            return f"one reference channel is channel: write {_write(file, 'channel', str(text[0]))}", "channel"
        return f"the mean of several channels is car's: write type: car, params: {{ref_channels: {_value(text)}}}", ""
    if name == "event_id" and "codes" in fields and isinstance(value, dict):
        codes = [v for v in value.values() if isinstance(v, int)]
        return f"epochs take the marker codes: write {_write(file, 'codes', _value(codes))}", "codes"
    if name in ("reject", "flat") and nc.type == "epochs":
        return "remove it: epochs has no amplitude rejection (reject_by_annotation drops BAD_ segments)", ""
    if name == "notch_widths" and "quality" in fields and isinstance(value, (int, float)) and value > 0:
        freq = nc.params.get("freq")
        q = f"{freq / value:g}" if isinstance(freq, (int, float)) and not isinstance(freq, bool) else "<freq / width>"
        return f"a notch's width is its quality, freq / width: write {_write(file, 'quality', q)}", "quality"
    if name == "method" and "order" in fields:  # raw.filter(method='iir'|'fir')
        if str(value).lower() == "fir":
            return "an FIR is a node of its own: write type: fir (numtaps, l_freq, h_freq)", ""
        return f"remove it: {nc.type} is an IIR filter (order, design)", ""
    if name == "phase" and ("order" in fields or "numtaps" in fields):
        return (
            "remove it: a streaming filter runs forward only (causal): a zero-phase one needs the signal's future",
            "",
        )
    if name == "iir_params" and isinstance(value, dict) and "order" in fields:
        said = ", ".join(
            f"{'design' if k == 'ftype' else k}: {_value(v)}"
            for k, v in value.items()
            if k in ("order", "ftype", "rp", "rs")
        )
        return f"write them as parameters: {said or 'order: 4, design: butter'}", ""
    if name in _FILTER_OPTIONS or (name in ("l_trans_bandwidth", "h_trans_bandwidth") and "order" in fields):
        return f"remove it: {name} is an option of MNE's offline function with no use on a stream", ""
    return None
