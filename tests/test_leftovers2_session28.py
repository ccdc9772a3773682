"""Session-28 leftovers (helper 2): markers of a FIF cut short, AASM EOG names, `band` through join and NPZ."""

from __future__ import annotations

import logging
import struct

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource

mne = pytest.importorskip("mne")


def _fif_with_markers(path, n=4000, sfreq=100.0):
    info = mne.create_info(["C3", "C4", "Cz"], sfreq, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).standard_normal((3, n)) * 1e-5, info, verbose="error")
    raw.set_annotations(mne.Annotations([1, 5, 15, 25, 35], [0, 0, 0, 0.5, 0], ["a", "b", "c", "d", "e"]))
    raw.save(path, overwrite=True, buffer_size_sec=1.0, verbose="error")
    return path.read_bytes()


def _buffer_ends(data: bytes) -> list[int]:
    """Byte offsets just after each FIFF_DATA_BUFFER tag (kind 300) of a FIF's tag chain."""
    at, ends = 0, []
    while at < len(data):
        kind, _, size, _ = struct.unpack(">iiii", data[at : at + 16])
        at += 16 + size
        if kind == 300:
            ends.append(at)
    return ends


def _replay(path, chunk_size=100):
    src = FileSource(path=str(path), chunk_size=chunk_size)
    src.configure({})
    samples, events = 0, []
    for c in iter(src.read, None):
        samples += c["out"].data.shape[1] if "out" in c else 0
        if "events" in c:
            events += c["events"].data.tolist()
    return src, samples, events


@pytest.mark.parametrize("cut", ["at a buffer's end", "inside a buffer"])
def test_a_fif_cut_short_sends_the_markers_past_its_data_after_its_last_sample(tmp_path, caplog, cut):
    """Before: MNE lists the buffers of a FIF cut short and leaves out, unsaid, the annotations after them: c, d, e
    (15, 25, 35 s of a 40 s recording cut at 12 s) were lost, and a cut at a buffer's end warned of nothing."""
    data = _fif_with_markers(tmp_path / "whole_raw.fif")
    end = _buffer_ends(data)[11]  # 12 whole buffers of 1 s
    (tmp_path / "cut_raw.fif").write_bytes(data[: end if cut == "at a buffer's end" else end + 500])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        src, samples, events = _replay(tmp_path / "cut_raw.fif")
    assert samples == 1200
    assert [e[0] for e in events] == [1.0, 5.0, 15.0, 25.0, 35.0]  # onsets as the file gives them
    assert events[3][1] == pytest.approx(0.5)  # d's duration kept
    labels = dict(src.out_specs["events"].labels)
    assert [labels[int(e[2])] for e in events] == ["a", "b", "c", "d", "e"]
    assert "3 of the 5 markers" in caplog.text and "lie after its last sample" in caplog.text


def test_a_whole_fif_replays_its_markers_once(tmp_path):
    _fif_with_markers(tmp_path / "whole_raw.fif")
    _, samples, events = _replay(tmp_path / "whole_raw.fif", chunk_size=32)
    assert samples == 4000 and [e[0] for e in events] == [1.0, 5.0, 15.0, 25.0, 35.0]


def test_markers_after_data_that_ends_at_a_block_boundary_go_out_in_an_events_only_chunk(tmp_path, caplog):
    """Before: a block read that found no samples (the file ended at a block's end, before the length it said)
    ended the replay and dropped the markers after it, 'lost with it'. (MNE's readers raise there instead; a WAV's
    libsndfile returns what the file holds, as a copy still being written or cut short gives.)"""
    import soundfile as sf

    sf.write(tmp_path / "a.wav", np.zeros((1000, 1)), 100)
    src = FileSource(path=str(tmp_path / "a.wav"), chunk_size=100)
    src.configure({})
    assert src.reader is not None
    src.reader.n_times = 3000  # as a reader whose header promised more than the file then held
    src._block_len = 100  # blocks of a chunk: the data's end falls on a block boundary
    src._events = np.array([[100.0, 1.0, 0.0, 1.0], [1500.0, 15.0, 0.0, 2.0], [2500.0, 25.0, 0.5, 3.0]])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        chunks = list(iter(src.read, None))
    assert sum(c["out"].data.shape[1] for c in chunks if "out" in c) == 1000
    last = chunks[-1]
    assert "out" not in last and last["events"].data.tolist() == [[15.0, 0.0, 2.0], [25.0, 0.5, 3.0]]
    assert "the 2 markers after it go out alone" in caplog.text


def _car_warning(names: tuple[str, ...], caplog) -> list[str]:
    """car's warnings about channels typed eeg whose names say they hold none, for a stream of `names` all typed eeg."""
    from wavegraph.nodes.dsp.channels import CAR
    from wavegraph.pipeline.spec import StreamSpec

    spec = StreamSpec(
        "signal", 250.0, (len(names),), "float64", channel_names=names, channel_types=("eeg",) * len(names)
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.rereference"):
        CAR().configure({"in": spec})
    return [r.getMessage() for r in caplog.records if "typed eeg" in r.getMessage()]


def test_car_says_the_aasm_eog_names_e1_e2_to_a_mastoid_typed_eeg(caplog):
    """AASM names a sleep study's EOG E1/E2 referenced to a mastoid (or ear): 'E1-M2', 'E2-M1', 'E1:M2', 'EOG E1-M2'.
    car said LOC/ROC (session 26) but not these: 'E1-M2', 'E2-M2', 'E1-M1', 'E2-M1', 'E1:M2', 'E1-A2' were averaged
    into the reference unsaid."""
    names = ("F4-M1", "C4-M1", "O2-M1", "E1-M2", "E2-M2", "E1-M1", "E2-M1", "E1:M2", "E2-A1", "EOG E1-M2")
    said = _car_warning(names, caplog)
    assert len(said) == 1, caplog.text
    assert "'E1-M2', 'E2-M2', 'E1-M1', 'E2-M1', 'E1:M2', 'E2-A1', 'EOG E1-M2', typed eeg" in said[0]
    assert "infer_types: true types 'EOG E1-M2'" in said[0] and "ref_channels: [F4-M1, C4-M1, O2-M1]" in said[0]


def test_no_name_of_mne_s_montages_egi_s_e1_e256_included_is_taken_for_an_eog(caplog):
    """Only E1/E2 with a mastoid or ear reference are EOG: a bare 'E1'..'E256' is an EGI net's EEG, and no name of any
    of MNE's built-in montages (standard_1005, GSN-HydroCel-256, EGI_256, ...) is said to be no EEG."""
    names = {n for m in mne.channels.get_builtin_montages() for n in mne.channels.make_standard_montage(m).ch_names}
    names |= {"E1-Cz", "E1-REF", "E11-M2", "E1-M12", "E3-M2", "E1M2"}
    assert "E1" in names and "E256" in names
    assert _car_warning(tuple(sorted(names)), caplog) == []
