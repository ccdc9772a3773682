"""The SSVEP decoders' `channels` named in a stream that spells them otherwise: the error names the stream's own
spelling, so the fix it gives works (the example was always [O1, Oz, O2], the names just refused, for a stream of
'EEG O1-REF', 'O1-A1' or 'EEG O1')."""

from __future__ import annotations

import logging
import re

from wavegraph.pipeline.spec import SpecError, StreamSpec

from ..channel_kinds import who
from ..channel_names import core

_log = logging.getLogger("wavegraph.ssvep")


def missing_channels(spec: StreamSpec, names, missing, checkpoint: bool = False, node_id: str = "") -> SpecError:
    """The error for `channels` the stream lacks, with an example of the stream's own names (`checkpoint`: the names
    are a DNN checkpoint's, which `channels` may give in the stream's spelling, in the checkpoint's order; `node_id`:
    the decoder's id in the graph, for the --set line of the fix)."""
    key: dict[str, str] = {}
    for c in spec.channel_names:
        key.setdefault(core(c), c)
    spelt = [key[k] for k in (core(c) for c in names) if k in key]
    respelt = [key[core(c)] for c in names if core(c) in key and key[core(c)] != c]  # as the stream spells them
    # (10-05 names too: POO1, OI1h, O1h; only I1, I2 of such a cap were given as the occipital ones)
    occipital = [c for k, c in key.items() if re.fullmatch(r"(poo|po|oi|o|i)[0-9z]+h?", k)][:8]
    example = ", ".join(spelt or occipital or list(spec.channel_names[:3]))
    return SpecError(
        f"channels {missing} are not in the stream"
        + (f", which spells {len(respelt)} of the channels as {', '.join(respelt)}" if respelt else ""),
        (
            f"set `channels` to the stream's names of the checkpoint's channels, in its order (e.g. [{example}]; from "
            f"the command line: --set '{node_id or 'NODE'}.channels=[{example}]')"
            if checkpoint and len(spelt) == len(names)
            else f"the stream needs the checkpoint's channels {', '.join(names)} (so named, or spelt as 'O1..' or "
            f"'EEG O1-REF'), or train a model on its own channels {', '.join(spec.channel_names)} (wavegraph train ssvep)"
            if checkpoint
            else f"set `channels` to the occipital ones among {', '.join(spec.channel_names)} (e.g. [{example}]; "
            f"from the command line: --set '{node_id or 'NODE'}.channels=[{example}]'), or to null for every channel"
        ),
        param="channels",
    )


def channels_problems(channels) -> list[tuple[str, str, str]]:
    """check_params of the SSVEP decoders: `channels` no stream can give (what configure() refuses whatever the
    stream): an empty list (no channel to decode) or an empty name (an LSL stream names an unlabelled channel ch0,
    ch1, ...). Behind an lsl_inlet validate said 'OK' and `run` refused them at the edge's line once the stream came."""
    example = "channels: [O1, Oz, O2] (the occipital ones), or leave it out for every channel but a trigger"
    if channels is None:
        return []
    if not channels:
        return [("channels", "`channels` is an empty list: the decoder would have no channel to decode", example)]
    if "" in channels:
        said = "`channels` names '': no stream has a channel of an empty name (an unlabelled one is ch0, ch1, ...)"
        return [("channels", said, f"give the channels' names, e.g. {example}")]
    return []


# the types MNE's picks="data" takes (mne._fiff.pick._DATA_CH_TYPES_SPLIT, in our CHANNEL_TYPES): no EOG, ECG, EMG, misc
DATA_TYPES = ("eeg", "meg", "mag", "grad", "seeg", "dbs", "ecog", "fnirs")


def data_channels(node, spec: StreamSpec, stim) -> list[int]:
    """The decoders' default channels: those MNE's picks="data" takes (EEG, ...: an EOG, ECG, EMG, an accelerometer
    typed misc, a respiration belt left out, said at INFO); in a stream with none of them (an LSL stream of a type MNE
    has no name for: every channel misc) every channel but the triggers `stim`. Every channel but the triggers was
    decoded, which the docs called picks="data": a BrainFlow board's accel_x/y/z or an amplifier's EOG went into the
    CCA beside the EEG."""
    types, stim = spec.channel_types, set(stim)
    rest = [i for i in range(spec.shape[0]) if i not in stim]
    if len(types) != spec.shape[0] or not any(types[i] in DATA_TYPES for i in rest):
        return rest
    if left := [i for i in rest if types[i] not in DATA_TYPES]:
        names = spec.channel_names or tuple(f"ch{i}" for i in range(spec.shape[0]))
        _log.info(
            "%s leaves out its channel(s) %s, no EEG, as MNE's picks='data' (name them in `channels` to decode them)",
            who(node), ", ".join(f"{names[i]} ({types[i]})" for i in left),
        )  # fmt: skip
    return [i for i in rest if types[i] in DATA_TYPES]
