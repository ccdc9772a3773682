"""Leftovers of session 25 (helper 179): each with the test that failed before its fix."""

from __future__ import annotations

import logging

from wavegraph.pipeline.spec import StreamSpec


def _car_warning(names: tuple[str, ...], caplog) -> list[str]:
    """car's warnings about channels typed eeg whose names say they hold none, for a stream of `names` all typed eeg."""
    from wavegraph.nodes.dsp.channels import CAR

    spec = StreamSpec(
        "signal", 250.0, (len(names),), "float64", channel_names=names, channel_types=("eeg",) * len(names)
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.rereference"):
        CAR().configure({"in": spec})
    return [r.getMessage() for r in caplog.records if "typed eeg" in r.getMessage()]


def test_car_says_the_outer_canthus_eog_labels_loc_and_roc_typed_eeg(caplog):
    """Sleep and clinical montages name their EOG by the outer canthus: 'LOC-A2', 'ROC-A1', 'EOG LOC'. car said
    HEOG/VEOG/HEO/VEO typed eeg (averaged into the reference) but not these: 'LOC-A2' and 'ROC-A1' were averaged unsaid.
    Said now, with the fix (infer_types for the one whose label starts with 'EOG', ref_channels for the rest)."""
    said = _car_warning(("Fz", "Cz", "C3", "LOC-A2", "ROC-A1", "EOG LOC", "LOC", "roc"), caplog)
    assert len(said) == 1, caplog.text
    assert "'LOC-A2', 'ROC-A1', 'EOG LOC', 'LOC', 'roc', typed eeg" in said[0]
    assert "infer_types: true types 'EOG LOC'" in said[0] and "ref_channels: [Fz, Cz, C3]" in said[0]


def test_no_eeg_name_of_the_standard_10_05_montage_is_taken_for_an_eog(caplog):
    """LOC/ROC are matched as words only: no name of MNE's standard_1005 montage (all EEG), nor a label that merely
    holds the letters ('CLOCK', 'Block1', 'ROCK', 'Proc', 'LOCA'), is said to be no EEG."""
    import mne

    names = tuple(mne.channels.make_standard_montage("standard_1005").ch_names) + (
        "CLOCK", "Block1", "ROCK", "Proc", "LOCA", "Velocity",
    )  # fmt: skip
    assert _car_warning(names, caplog) == []
