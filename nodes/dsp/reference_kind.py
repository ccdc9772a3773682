"""Which channels car and rereference re-reference (nodes/dsp/channels.py), by their types, as MNE's
set_eeg_reference picks them: the first of REFERENCE_TYPES present ('auto'). A stream of MEG without any of them is
refused (set_eeg_reference refuses it), and so is car's default average on a typed stream without them (EOG, ECG, EMG,
bio...: set_eeg_reference says "No EEG, ECoG, sEEG or DBS channels found to rereference"; only misc and stim: untyped)."""

from __future__ import annotations

from wavegraph.pipeline.spec import SpecError, StreamSpec

from ..channel_kinds import who

REFERENCE_TYPES = ("eeg", "ecog", "seeg", "dbs")  # car's default average: the first of these present (MNE's 'auto')
NOT_IN_REFERENCE = ("stim", "misc")  # without any of them: every channel but these
MEG_TYPES = ("mag", "grad", "meg", "ref_meg")  # without any of REFERENCE_TYPES: refused (set_eeg_reference refuses)


def reference_kind(node, spec: StreamSpec) -> str | None:
    """The type car and rereference re-reference (MNE's 'auto': the first of REFERENCE_TYPES present; None: every
    channel but stim and misc, a stream of misc channels). A stream of MEG without any of them is a SpecError, as
    mne.set_eeg_reference refuses it: the average of magnetometers (T) and gradiometers (T/m) was subtracted."""
    kind = next((k for k in REFERENCE_TYPES if k in spec.channel_types), None)
    meg = list(dict.fromkeys(t for t in spec.channel_types if t in MEG_TYPES))
    if kind is None and meg:
        raise SpecError(
            f"{who(node)}: the stream has MEG channels ({', '.join(meg)}) and no EEG (nor ecog, seeg, dbs) to "
            "re-reference: an average over MEG sensors is no reference (magnetometers in T, gradiometers in T/m), and "
            "mne.set_eeg_reference refuses such a stream",
            f"remove {node.type_name or 'the node'}: MEG takes no EEG reference (EEG recorded beside it but typed "
            "otherwise: type those channels eeg at the source)",
        )
    return kind


def refuse_no_eeg(node, spec: StreamSpec) -> None:
    """car's default average (no ref_channels) on a stream whose channels are typed, none eeg, ecog, seeg or dbs (EOG,
    ECG, EMG, bio, resp...): a SpecError naming the types found, as mne.set_eeg_reference refuses it. It averaged every
    channel (an EOG pair, a respiration belt with a pulse sensor) and subtracted that from each. A stream of misc (and
    stim) channels only is one whose source gives no types (an LSL stream of another type, a CSV, array_source's
    default): averaged as before, all but stim."""
    if reference_kind(node, spec) is not None or set(spec.channel_types) <= set(NOT_IN_REFERENCE):
        return  # (no types, or only misc and stim: a source that gives none, an LSL stream, a CSV: all but stim)
    found = ", ".join(f"{t} ({spec.channel_types.count(t)})" for t in dict.fromkeys(spec.channel_types))
    raise SpecError(
        f"{who(node)}: the stream has no channel typed eeg (nor ecog, seeg, dbs) to re-reference, only {found}; "
        "mne.set_eeg_reference refuses such a stream ('No EEG, ECoG, sEEG or DBS channels found to rereference')",
        "if these channels are EEG, type them eeg at the source (lsl_inlet: a stream of type EEG or its "
        "desc/channels; file_source infer_types: false for an EDF/BDF; array_source ch_types: eeg); to average them "
        "anyway, pick the channels of the reference in ref_channels; else remove car",
    )
