"""What docs/nodes.md ("Dates") says of an undated recording, followed literally (session 24): a replay of a file that
gives no date stays undated, also once it went through the recorder's own EDF/BDF (EDF+'s 'Startdate X', the date
not known, with 01.01.85 in the date field, which MNE reads as 1985-01-01). Tiny arrays in tmp_path, one process."""

from datetime import UTC, datetime

import mne
import numpy as np
import pytest
from wavegraph.pipeline.api import GraphBuilder

RATE = 100.0


def _record(source: tuple[str, dict], out) -> None:
    g = GraphBuilder()
    src = g.add(source[0], **source[1])
    g.add("recorder", src, path=out, overwrite=True)
    g.run()


def _undated_array() -> tuple[str, dict]:
    x = np.random.default_rng(0).normal(0, 1e-5, (2, 300))
    return "array_source", {"data": x, "rate": RATE, "ch_names": ["Fz", "Cz"], "ch_types": "eeg"}


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
def test_an_undated_recording_replayed_from_the_recorders_own_edf_stays_undated(tmp_path, suffix):
    """An undated array recorded to EDF (EDF+ 'Startdate X', 01.01.85) and replayed into a FIF was dated
    1985-01-01 00:00:00: MNE reads EDF+'s 'unknown' as that date, and file_source took it as the recording's."""
    edf = tmp_path / f"undated{suffix}"
    _record(_undated_array(), edf)
    assert b"Startdate X" in edf.read_bytes()[88:168]  # EDF+'s 'the date is not known'
    out = tmp_path / "replay_raw.fif"
    _record(("file_source", {"path": edf}), out)
    assert mne.io.read_raw_fif(out, verbose="error").info["meas_date"] is None


def test_a_dated_recording_keeps_its_date_through_the_recorders_edf(tmp_path):
    """The same round trip of a dated recording keeps its date (whole seconds, as EDF's header holds)."""
    info = mne.create_info(["Fz", "Cz"], RATE, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(1).normal(0, 1e-5, (2, 300)), info, verbose="error")
    when = datetime(2021, 3, 10, 12, 30, 5, tzinfo=UTC)
    raw.set_meas_date(when)
    edf = tmp_path / "dated.edf"
    _record(("array_source", {"data": raw}), edf)
    out = tmp_path / "replay_raw.fif"
    _record(("file_source", {"path": edf}), out)
    assert mne.io.read_raw_fif(out, verbose="error").info["meas_date"] == when
