"""Broken and unusual inputs a new user brings (files from MNE-LSL, Timeflux or ezmsg set-ups): each gives an
error that names the file and the fix, or is replayed correctly and said. Each test failed before its fix."""

from __future__ import annotations

import logging
import shutil

import mne
import numpy as np
import pytest
import yaml
from test_io_hostile import replay  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.spec import SpecError


def _refused(path, **params) -> SpecError:
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path), **params).configure({})
    assert str(path) in str(e.value) and e.value.hint
    return e.value


@pytest.mark.parametrize("name", ["rec.edf", "rec_raw.fif", "rec-epo.fif", "rec.wav", "rec.xdf", "rec.vhdr"])
def test_an_empty_file_is_said_to_be_empty(tmp_path, name):
    """Before: MNE's own words ("AttributeError: 'NoneType' object has no attribute 'kind'", "Bad EDF file")."""
    (tmp_path / name).write_bytes(b"")
    assert "is empty (0 bytes)" in _refused(tmp_path / name).message


def test_an_edf_cut_short_says_how_much_it_holds(edf_path, tmp_path, caplog):
    """Before: MNE inferred the record count from the size without a word; half the recording replayed unsaid."""
    whole = edf_path.read_bytes()
    cut = tmp_path / "cut.edf"
    cut.write_bytes(whole[: len(whole) // 2])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        src = FileSource(path=str(cut))
        src.configure({})
    assert src.n_times == 30 * 160
    src.close()
    assert "truncated: its header lists 61 data records, the file holds 30" in caplog.text
    cut.write_bytes(whole[:300])  # before: "ValueError: could not convert string to float: ''"
    assert "cut short inside its header (300 bytes of the 16896" in _refused(cut).message
    cut.write_bytes(whole[:16896])  # before: "AssertionError: "
    assert "holds no data record" in _refused(cut).message
    cut.write_bytes(whole[:100])
    assert "(100 bytes of at least 256)" in _refused(cut).message
    cut.write_bytes(whole[:244] + b"abc     " + whole[252:])  # before: "could not convert string to float"
    assert "header is damaged: its record duration field (bytes 244-252) holds 'abc     '" in _refused(cut).message


def test_a_file_named_as_another_format_says_what_it_holds(edf_path, tmp_path):
    """Before: "ValueError: Bad EDF file provided." for a FIF saved as .edf."""
    raw = mne.io.read_raw_edf(edf_path, verbose="error").crop(0, 1.0).pick([0, 1]).load_data()
    fif = tmp_path / "session.edf"
    raw.save(tmp_path / "x_raw.fif", verbose="error")
    shutil.copy(tmp_path / "x_raw.fif", fif)
    e = _refused(fif)
    assert "its first bytes say FIF" in e.message and "session_raw.fif" in e.hint
    dat = tmp_path / "session.dat"
    shutil.copy(edf_path, dat)
    assert "first bytes say EDF" in _refused(dat).message


def _edf(path, signals, n_rec, notes=None):
    """An EDF(+) file of 1 s records: signals [(label, int16 samples, samples per record)], and with `notes`
    [(onset, duration, text)] an annotation signal (only that, without signals: as Sleep-EDF's hypnograms)."""

    def f(s, n):
        return str(s).encode()[:n].ljust(n)

    if notes is not None:
        tal = b"+0\x14\x14\x00" + b"".join(f"+{o}\x15{d}\x14{t}\x14\x00".encode() for o, d, t in notes)
        signals = [*signals, ("EDF Annotations", np.frombuffer(tal.ljust(120, b"\x00"), "<i2"), 60)]
    ns = len(signals)
    head = f("0", 8) + f("X", 80) + f("Startdate 01-JAN-2020 X", 80) + f("01.01.20", 8) + f("00.00.00", 8)
    head += f(256 * (ns + 1), 8) + f("EDF+C" if notes is not None else "", 44) + f(n_rec, 8) + f(1, 8) + f(ns, 4)
    for field, width in (("label", 16), ("", 80), ("uV", 8), (-32768, 8), (32767, 8), (-32768, 8), (32767, 8)):
        head += b"".join(f(label if field == "label" else field, width) for label, _, _ in signals)
    head += b"".join(f("", 80) for _ in signals) + b"".join(f(n, 8) for _, _, n in signals)
    head += b"".join(f("", 32) for _ in signals)
    body = b"".join(np.asarray(x[r * n : (r + 1) * n], "<i2").tobytes() for r in range(n_rec) for _, x, n in signals)
    path.write_bytes(head + body)
    return path


def test_an_edf_of_annotations_only_says_how_to_use_it(tmp_path):
    """Before: "ValueError: picks (None, treated as "all") yielded no channels"."""
    path = _edf(tmp_path / "SC4001EC-Hypnogram.edf", [], 1, [(0, 30, "Sleep stage W")])
    e = _refused(path)
    assert "holds 1 annotations and no signal channel" in e.message and "read_annotations" in e.hint


def test_ssp_projectors_of_a_fif_are_said_or_applied_as_mne_applies_them(edf_path, tmp_path, caplog):
    """Before: a FIF's average-reference (or ECG/EOG) projectors were neither applied nor said."""
    raw = mne.io.read_raw_edf(edf_path, verbose="error").crop(0, 2.0).pick(list(range(8))).load_data()
    raw.set_eeg_reference("average", projection=True, verbose="error")
    path = tmp_path / "proj_raw.fif"
    raw.save(path, verbose="error")
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, stored, _ = replay(path)
    assert "carries 1 SSP projector not applied to its data (Average EEG reference)" in caplog.text
    assert "proj: true" in caplog.text
    saved = mne.io.read_raw_fif(path, preload=True, verbose="error")
    np.testing.assert_array_equal(stored, saved.get_data())  # as stored, as raw.get_data() gives it
    saved.apply_proj(verbose="error")
    _, x, _ = replay(path, proj=True, picks=["C5..", "Fc5.", "Fc3."])
    np.testing.assert_allclose(x, np.asarray(saved.get_data())[[7, 0, 1]], rtol=0, atol=1e-15)
    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        replay(path, proj=False)
    assert "SSP" not in caplog.text


def _xdf_replay(tmp_path, stamps, marks, at, fs):
    """(samples where each marker lands, first samples of chunks flagged gap) of a 3-channel XDF with markers."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    x = np.random.default_rng(0).standard_normal((len(stamps), 3)).astype(np.float32)
    eeg = XdfStream("amp", "EEG", fs, x, stamps, "float32", ["O1", "Oz", "O2"], "EEG", "microvolts", hostname="pc")
    mk = XdfStream("stim", "Markers", 0.0, [f"m{i}" for i in range(len(marks))], at, "string", hostname="pc")
    src = FileSource(path=str(write_xdf(tmp_path / "rec.xdf", [eeg, mk])), chunk_size=50)
    src.configure({})
    times, gaps, ev = [], [], []
    while (c := src.read()) is not None:
        gaps += [sum(map(len, times))] if c["out"].gap else []
        times.append(c["out"].t0 + np.arange(c["out"].data.shape[1]) / fs)
        ev += [c["events"].data] if "events" in c else []
    t = np.concatenate(times)
    return np.abs(t[:, None] - np.concatenate(ev)[:, 0]).argmin(axis=0), gaps  # the sample nearest each marker


def test_an_xdf_dropout_under_a_second_is_a_gap_and_markers_stay_on_their_samples(tmp_path):
    """Before: pyxdf's dejittering (breaks only over 1 s) fitted one line across a 0.3 s dropout: no gap, and the
    markers around it landed up to 37 samples off theirs. A jittery stream stamped in late chunks (Bluetooth) is
    not cut at its chunks."""
    fs, n, cut = 250.0, 5000, 2500
    rng = np.random.default_rng(1)
    marks = np.array([250, 1000, 2400, 2499, 2500, 2600, 4000, 4900])
    clock = 1000.0 + np.arange(n) / fs
    clock[cut:] += 0.3  # the amplifier's radio dropped 75 samples
    stamps = clock + rng.normal(0, 2e-3, n)  # 2 ms of LSL jitter
    sample, gaps = _xdf_replay(tmp_path, stamps, marks, clock[marks], fs)
    assert gaps == [cut]
    np.testing.assert_array_equal(sample, marks)
    chunky = 1000.0 + np.arange(n) / fs + rng.exponential(0.02, n // 12 + 1).repeat(12)[:n]  # late by 0-100 ms
    assert _xdf_replay(tmp_path, chunky, marks, clock[marks], fs)[1] == []


def _ssvep_input(n_s=6.0, fs=250.0):
    from wavegraph.pipeline.spec import StreamSpec

    t = np.arange(int(fs * n_s)) / fs
    x = np.sin(2 * np.pi * 10 * t) * 1e-5 + np.random.default_rng(0).standard_normal((3, len(t))) * 1e-6
    return x, StreamSpec("signal", fs, (3,), "float64", ("O1", "Oz", "O2"), ("eeg",) * 3, "V")


def test_ssvep_windows_skipped_at_a_gap_or_for_a_nan_are_counted():
    """Before: the windows a gap cut, and those a NaN (propagate) or an overflow left undecided, were not counted:
    the summary said only samples_dropped_at_gap / overflow (samples), not how many decisions were missing."""
    from wavegraph.nodes.models.ssvep import SSVEPDecoder
    from wavegraph.pipeline.chunk import Chunk

    x, spec = _ssvep_input()
    dec = SSVEPDecoder(freqs=[8.0, 10.0, 12.0], window=1.0, step=0.25)  # 250-sample windows every 62 samples
    dec.configure({"in": spec})
    first = dec.process({"in": Chunk(x[:, :600], 0.0)})["out"].data
    dec.process({"in": Chunk(x[:, 600:], 2.6, gap=True)})
    assert len(first) == 6  # windows from 0, 62, ..., 310; those from 372, 434, 496, 558 would span the gap
    assert dec.counters["windows_lost_at_gap"] == 4 and dec.counters["samples_dropped_at_gap"] == 600 - 372
    y = x.copy()
    y[:, 800] = np.nan
    dec = SSVEPDecoder(freqs=[8.0, 10.0, 12.0], window=1.0, step=0.25, nan_policy="propagate")
    dec.configure({"in": spec})
    out = dec.process({"in": Chunk(y, 0.0)})
    holding = [k for k in range(len(out["scores"].data)) if k * 62 <= 800 < k * 62 + 250]
    assert np.flatnonzero(np.isnan(out["scores"].data).any(axis=1)).tolist() == holding
    assert dec.counters["undecided_nonfinite"] == len(holding) == len(out["scores"].data) - len(out["out"].data)


@pytest.mark.parametrize("bad", ["overflow", "nan"])
def test_the_ssvep_trial_decoder_gives_no_decision_from_a_window_it_cannot_score(bad):
    """Before: a trial window the filters overflowed in, or holding a NaN under nan_policy propagate, got a
    decision all the same (the scorer reads such a window as one without signal: a code from nothing)."""
    from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    x, spec = _ssvep_input()
    x[:, 600:603] = 1.7e308 if bad == "overflow" else np.nan  # 2.4 s: in the window of the marker at 2 s
    dec = SSVEPTrialDecoder(freqs=[8.0, 10.0, 12.0], window=1.0, nan_policy="propagate")
    dec.configure({"in": spec, "events": StreamSpec("events", 0.0, (3,), "float64")})
    markers = Chunk(np.array([[2.0, 0.0, 1.0], [4.0, 0.0, 1.0]]), 2.0)
    with np.errstate(over="ignore", invalid="ignore"):
        out = dec.process({"in": Chunk(x, 0.0), "events": markers})
    assert out["out"].data[:, 0].tolist() == [4.0]  # the trial at 4 s is decided, the one at 2 s is not
    assert dec.counters["undecided_nonfinite"] == 1


def test_a_brainvision_set_missing_a_part_or_cut_short_says_so(tmp_path, caplog):
    """Before: a missing .eeg gave 'FileNotFoundError' with a list of formats as the fix; a missing .vmrk replayed
    without its markers, an .eeg cut inside a sample as a shorter recording, an empty .eeg as nothing: all unsaid."""
    from test_formats_sweep import _brainvision  # pyright: ignore[reportMissingImports]

    header = _brainvision(tmp_path, [("S  8", 100), ("S  9", 400)])
    data = (tmp_path / "rec.eeg").read_bytes()
    (tmp_path / "rec.eeg").rename(tmp_path / "elsewhere.eeg")
    e = _refused(header)
    assert "names its data file 'rec.eeg', which is not beside it" in e.message and ".vmrk" in e.hint
    (tmp_path / "elsewhere.eeg").rename(tmp_path / "rec.eeg")
    (tmp_path / "rec.vmrk").unlink()
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, x, ev = replay(header)
    assert x.shape == (3, 500) and len(ev) == 0
    assert "names its marker file 'rec.vmrk', which is not beside it: replayed without its markers" in caplog.text
    caplog.clear()
    _brainvision(tmp_path, [("S  8", 100), ("S  9", 400)])  # whole again
    (tmp_path / "rec.eeg").write_bytes(data[: 6 * 250 + 4])  # 250 samples of 3 INT_16 channels, and 4 bytes
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, x, ev = replay(header)
    assert x.shape == (3, 250)
    assert "ends 4 bytes into a sample (a sample takes 6)" in caplog.text
    # S 9 (sample 400), past the cut: kept, after the last sample (MNE left it out: tests/test_cut_markers_session28.py)
    assert len(ev) == 2 and "1 of the 2 markers" in caplog.text and "lie after its last sample" in caplog.text
    caplog.clear()
    (tmp_path / "rec.eeg").write_bytes(b"")
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        src = FileSource(path=str(header))
        src.configure({})
    assert src.read() is None and "holds no samples: the replay ends at once" in caplog.text


def test_a_path_with_an_environment_variable_says_it_is_not_expanded(edf_path, tmp_path, monkeypatch):
    """Before: only 'no such file: $DATA/S001R02.edf (relative to the current folder: ...)'."""
    monkeypatch.setenv("WAVEGRAPH_TEST_DATA", str(edf_path.parent))
    e = _refused("$WAVEGRAPH_TEST_DATA/" + edf_path.name)
    assert f"not expanded in a graph file: give {edf_path}" in e.hint


def test_an_xdf_cut_before_its_first_samples_says_so(tmp_path):
    """Before: the fix said to pick another stream 'listed without a note', where none was."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    stamps = 100.0 + np.arange(500) / 250.0
    whole = write_xdf(tmp_path / "whole.xdf", [XdfStream("amp", "EEG", 250.0, np.ones((500, 2)), stamps)])
    cut = tmp_path / "cut.xdf"
    cut.write_bytes(whole.read_bytes()[:2000])
    assert "holds no samples of its signal streams: it was cut short" in _refused(cut).hint


def test_an_edf_of_mixed_rates_replays_as_mne_reads_it_whole(tmp_path, caplog, monkeypatch):
    """Before: MNE upsampled a PSG's 10 Hz channel block by block as file_source read it (16 MB blocks: every
    50 min of an 8 h Sleep-EDF night), with artifacts of twice the signal's size at each block edge, unsaid."""
    import wavegraph.nodes.io.file_source as file_source

    t = np.arange(6000) / 100
    eeg, resp = np.sin(2 * np.pi * 3 * t) * 1e4, np.sin(2 * np.pi * 0.3 * t[::10]) * 1e4
    path = _edf(tmp_path / "SC4001E0-PSG.edf", [("EEG Fpz-Cz", eeg, 100), ("Resp oro-nasal", resp, 10)], 60)
    monkeypatch.setattr(file_source, "BLOCK_BYTES", 16_000)  # blocks of 1000 samples: a long night's, scaled down
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, x, _ = replay(path, chunk_size=250)
    assert "channel recorded below the file's 100 Hz (Resp oro-nasal 10 Hz)" in caplog.text
    whole = mne.io.read_raw_edf(path, preload=True, verbose="error").get_data()
    np.testing.assert_array_equal(x, whole)
    _, eeg_only, _ = replay(path, picks=["EEG Fpz-Cz"], chunk_size=250)  # lazily: nothing to upsample
    np.testing.assert_array_equal(eeg_only, whole[:1])


def test_a_band_too_narrow_for_the_rate_is_a_spec_error_not_a_singular_matrix():
    """Before: 'node 'bp' (bandpass): Singular matrix; fix: check its params' (numpy's LinAlgError) for 1-40 Hz on
    a 1 GHz stream (a FIF or WAV header may say any rate)."""
    from wavegraph.nodes.dsp.filters import Bandpass
    from wavegraph.pipeline.spec import signal_spec

    with pytest.raises(SpecError, match="too small a fraction of the stream's rate") as e:
        Bandpass(l_freq=1.0, h_freq=40.0).configure({"in": signal_spec(1e9, ["a"])})
    assert "resample" in e.value.hint


def test_yaml_mistakes_from_other_tools_get_the_exact_fix(tmp_path, monkeypatch, capsys):
    """Before: an edge as a list or an arrow got the generic 'write {source: a.out, target: b.in}', a single name
    where a list is wanted 'give a list[str] | None', and an optional choice 'give a Optional[Literal[...]]'."""
    from test_cli_hostile import validate  # pyright: ignore[reportMissingImports]

    lines = validate(
        tmp_path,
        monkeypatch,
        capsys,
        """\
        nodes:
          - id: src
            type: sine
            params: {channels: 2, rate: 250.0, duration: 1.0}
          - id: pick
            type: pick_channels
            params: {pick: ch0}
          - {id: f, type: file_source, params: {path: x.wav, dtype: float16}}
          - {id: car, type: car}
        edges:
          - [src.out, pick.in]
          - src.out -> car.in
        """,
    )
    assert (
        lines[0]
        == "g.yaml:11: each edge needs 'source' and 'target'; fix: write '- {source: src.out, target: pick.in}'"
    )
    assert (
        lines[1] == "g.yaml:12: each edge needs 'source' and 'target'; fix: write '- {source: src.out, target: car.in}'"
    )
    assert "g.yaml:7: node 'pick' (pick_channels): parameter 'pick' = 'ch0'" in lines[2]
    assert lines[2].endswith("fix: write a list, even of one item: pick: [ch0]")
    assert lines[3].endswith("fix: give a 'float64'|'float32' | None")


@pytest.mark.parametrize("name", ["rec.edf", "rec.bdf", "rec_raw.fif", "rec.xdf"])
def test_a_file_that_is_not_what_its_name_says_is_said_so(tmp_path, name):
    """Before: MNE's 'Bad EDF file provided.' (or pyxdf's 'Invalid XDF file') with the list of formats as the fix."""
    (tmp_path / name).write_text("<html><body>404 Not Found</body></html>\n" * 20)  # a download that failed
    e = _refused(tmp_path / name)
    assert "its first bytes are not those of" in e.message and "`file " in e.hint


def test_an_eeglab_set_without_its_fdt_says_to_copy_it_along(tmp_path):
    """Before: 'FileNotFoundError: File .../rec.fdt not found.' with the list of formats as the fix."""
    import scipy.io

    x = np.random.default_rng(0).standard_normal((500, 3)).astype("<f4")  # EEGLAB's .fdt: samples-major float32
    x.tofile(tmp_path / "rec.fdt")
    chanlocs = np.array(
        [(f"E{i}", 0.0, 0.0, 0.0) for i in range(3)], dtype=[(k, "O") for k in ("labels", "X", "Y", "Z")]
    )
    eeg = {"setname": "x", "nbchan": 3, "trials": 1, "pnts": 500, "srate": 250.0, "xmin": 0.0, "xmax": 1.996}
    eeg |= {"data": "rec.fdt", "chanlocs": chanlocs, "event": np.array([], dtype=[("type", "O"), ("latency", "f8")])}
    eeg |= {"times": np.arange(500) * 4.0, "icawinv": [], "icasphere": [], "icaweights": [], "ref": "common"}
    scipy.io.savemat(tmp_path / "rec.set", {"EEG": eeg}, appendmat=False)
    assert replay(tmp_path / "rec.set")[1].shape == (3, 500)
    (tmp_path / "rec.fdt").unlink()
    e = _refused(tmp_path / "rec.set")
    assert "a file of the recording is missing" in e.message and ".fdt" in e.hint


def test_the_recorders_npz_and_a_timeflux_or_opensignals_hdf5_say_how_to_replay_them(tmp_path):
    """Before: MNE's 'Unsupported file type (.npz)' with the list of formats as the fix, for the recorder's own
    output and for the HDF5 files Timeflux and OpenSignals record (a real OpenSignals file here)."""
    from conftest import dataset  # pyright: ignore[reportMissingImports]
    from test_io_hostile import eeg_spec, record  # pyright: ignore[reportMissingImports]

    record(tmp_path / "eeg.npz", np.zeros((2, 100)), eeg_spec(2))  # the recorder's own: replayed since 2026-12-01
    assert replay(tmp_path / "eeg.npz")[1].shape == (2, 100)  # (tests/test_round_trip.py)
    np.save(tmp_path / "features.npy", np.zeros((2, 100)))
    assert "NumPy arrays are not read" in _refused(tmp_path / "features.npy").hint
    hint = _refused(dataset("bsn-eeg-closed-open-eyes")).hint
    assert "read_opensignals(PATH)" in hint  # (Timeflux's pandas.read_hdf for its own files: test_real_files3)
    txt = tmp_path / "OpenBCI-RAW-2024-01-01.txt"  # MNE takes .txt for BOXY and fails inside
    txt.write_text(
        "%OpenBCI Raw EEG Data\n%Number of channels = 8\n%Sample Rate = 250 Hz\nSample Index, EXG 0\n0, 1.0\n"
    )
    assert "text tables (OpenBCI's" in _refused(txt).hint


@pytest.mark.parametrize("command", ["run", "validate", "describe"])
def test_a_recording_given_where_a_graph_is_wanted_says_how_to_replay_it(edf_path, capsys, command):
    """Before (`wavegraph run rec.edf`, as `mne-lsl player rec.edf`): 'the file is not UTF-8 text (byte 771: 0xff);
    fix: save it as UTF-8'."""
    from wavegraph.pipeline.cli import main

    assert main([command, str(edf_path)]) == 2
    err = capsys.readouterr().err
    assert "this is a recording, not a graph file (YAML)" in err and f'params: {{path: "{edf_path}"}}' in err


def test_the_replay_hint_for_a_recording_is_valid_yaml_whatever_its_path(tmp_path, capsys):
    """Before: the path went into the hint's YAML between quotes unescaped: a name holding '"' or a Windows '\\'
    gave a graph that does not parse, or reads another path."""
    from wavegraph.pipeline.cli import main

    for name in ('my "best" run.edf', "C:\\data\\new run.edf"):
        assert main(["validate", str(tmp_path / name)]) == 2
        hint = capsys.readouterr().err.split("e.g. a file holding '", 1)[1].split("' and the nodes after it")[0]
        assert yaml.safe_load(hint)["nodes"][0]["params"]["path"] == str(tmp_path / name)


def test_an_xdf_stream_of_no_channels_or_with_a_nan_timestamp(tmp_path, caplog):
    """Before: a 0-channel stream replayed as a signal of no channels; one NaN timestamp made every chunk time NaN."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    stamps = 5.0 + np.arange(100) / 250.0
    empty = write_xdf(tmp_path / "empty.xdf", [XdfStream("amp", "EEG", 250.0, np.ones((100, 0)), stamps)])
    assert "holds no channel" in _refused(empty).message
    stamps[50] = np.nan
    path = write_xdf(tmp_path / "nan.xdf", [XdfStream("amp", "EEG", 250.0, np.ones((100, 2)), stamps)])
    src = FileSource(path=str(path), chunk_size=25)
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        src.configure({})
    assert "nan.xdf: stream 'amp': 1 timestamps of 100 are not finite" in caplog.text
    t0 = [c["out"].t0 for c in iter(src.read, None)]
    np.testing.assert_allclose(t0, [0.0, 0.1, 0.2, 0.3], atol=1e-9)


def test_array_source_says_when_a_table_of_samples_is_read_as_channels(caplog):
    """Before: a (samples, channels) array (a pandas/Timeflux table) replayed as 5000 channels of 4 samples, unsaid;
    an array of no channel was called 'file_source: ...'."""
    from wavegraph.nodes.io.array_source import ArraySource

    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        ArraySource(data=np.zeros((5000, 4)), rate=250.0).configure({})
    assert "data (5000, 4) is read as 5000 channels of 4 samples (0.016 s at 250 Hz)" in caplog.text
    assert "pass data.T" in caplog.text
    with pytest.raises(SpecError, match="^array_source: <array in memory> holds no channel"):
        ArraySource(data=np.zeros((0, 100)), rate=250.0).configure({})


def test_an_xdf_stream_whose_stamps_disagree_with_its_nominal_rate_is_said(tmp_path, caplog):
    """Before (since our dejittering replaced pyxdf's, which warned): a stream declared 250 Hz whose timestamps
    advance at 200 samples/s replayed as 250 Hz without a word."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    path = write_xdf(tmp_path / "r.xdf", [XdfStream("amp", "EEG", 250.0, np.ones((400, 2)), 5 + np.arange(400) / 200)])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        FileSource(path=str(path)).configure({})
    assert "r.xdf: stream 'amp': its timestamps advance at 200 samples/s, not its nominal 250 Hz" in caplog.text


def test_only_the_replayed_xdf_streams_timestamps_are_said(tmp_path, caplog):
    """Before: the rate and NaN-stamp warnings came for every numeric stream of the file, also for one not replayed
    (an accelerometer recorded beside the EEG)."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    eeg = XdfStream("amp", "EEG", 250.0, np.ones((400, 2)), 5 + np.arange(400) / 250, hostname="pc")
    acc = XdfStream("acc", "Accelerometer", 50.0, np.ones((80, 3)), 5 + np.arange(80) / 40, hostname="pc")
    path = write_xdf(tmp_path / "r.xdf", [eeg, acc])
    for stream, said in (("amp", False), ("acc", True)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
            FileSource(path=str(path), stream=stream).configure({})
        assert ("stream 'acc': its timestamps advance at 40 samples/s" in caplog.text) is said


def test_xdf_markers_after_the_signal_stream_ended_are_said(tmp_path, caplog):
    """Before: a marker stream that outlived the EEG stream (the amplifier's battery died) had its markers sent with
    the last chunk, unsaid."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    eeg = XdfStream("amp", "EEG", 250.0, np.ones((500, 2)), 5 + np.arange(500) / 250, hostname="pc")
    mk = XdfStream("stim", "Markers", 0.0, ["a", "b"], [6.0, 9.0], "string", hostname="pc")
    path = write_xdf(tmp_path / "r.xdf", [eeg, mk])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        FileSource(path=str(path)).configure({})
    assert "1 of the 2 markers of" in caplog.text and "lie after its last sample (1.996 s)" in caplog.text


@pytest.mark.parametrize(("fmt", "subtype"), [("FLAC", "PCM_24"), ("MP3", "MPEG_LAYER_III")])
def test_a_compressed_audio_file_cut_short_replays_what_it_holds(tmp_path, caplog, fmt, subtype):
    """Before: a FLAC cut in half failed the run at its first read ('flac decoder lost sync'); an MP3 cut in half
    replayed 17327 of the 48000 frames its header lists, then 30 empty chunks, unsaid."""
    import soundfile as sf

    path = tmp_path / f"call.{fmt.lower()}"
    sf.write(
        path, np.sin(2 * np.pi * 440 * np.arange(48000) / 48000)[:, None] * 0.5, 48000, format=fmt, subtype=subtype
    )
    whole = replay(path)[1]
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        src = FileSource(path=str(path), chunk_size=1000)
        src.configure({})
        chunks = [c["out"].data for c in iter(src.read, None)]
    assert "is truncated: its header lists 48000 frames" in caplog.text
    assert all(c.shape[1] for c in chunks) and 0 < src.n_times < 48000
    np.testing.assert_allclose(np.concatenate(chunks, axis=1), whole[:, : src.n_times], atol=2e-7)


def test_a_reader_that_returns_fewer_samples_than_its_file_said_ends_the_replay_there(tmp_path, caplog):
    """Before: every chunk after the data's end went out empty (0 samples), unsaid (a file cut while replayed)."""
    import soundfile as sf

    sf.write(tmp_path / "a.wav", np.zeros((1000, 1)), 1000)
    src = FileSource(path=str(tmp_path / "a.wav"), chunk_size=100)
    src.configure({})
    assert src.reader is not None
    src.reader.n_times = 3000  # as a reader whose header promised more than the file then held
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        chunks = [c["out"].data.shape[1] for c in iter(src.read, None)]
    assert chunks == [100] * 10 and "ends at sample 1000, not 3000 as it said" in caplog.text


def test_markers_after_a_data_end_the_file_did_not_announce_go_out_with_the_last_chunk(tmp_path):
    """Before: the markers between the data's real end and the length its header promised were dropped unsaid."""
    import soundfile as sf

    sf.write(tmp_path / "a.wav", np.zeros((1000, 1)), 1000)
    src = FileSource(path=str(tmp_path / "a.wav"), chunk_size=100)
    src.configure({})
    assert src.reader is not None
    src.reader.n_times = 3000  # as a reader whose header promised more than the file then held
    src._events = np.array([[500.0, 0.5, 0.0, 1.0], [950.0, 0.95, 0.0, 2.0], [2000.0, 2.0, 0.0, 3.0]])
    events = [c["events"].data[:, 2].tolist() for c in iter(src.read, None) if "events" in c]
    assert events == [[1.0], [2.0, 3.0]]


def test_an_ogg_cut_short_says_it_is_damaged_and_how_to_recover_it(tmp_path):
    """Before: libsndfile's 'file is malformed' with the list of formats as the fix."""
    import soundfile as sf

    path = tmp_path / "call.ogg"
    sf.write(path, np.zeros((48000, 1)), 48000, format="OGG", subtype="VORBIS")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert "damaged, cut short or not audio: ffmpeg decodes what it can (ffmpeg -i call.ogg" in _refused(path).hint


def test_a_brainvision_set_with_spaces_and_accents_in_its_names_replays(tmp_path):
    """The check for a missing data file read a UTF-8 header (Codepage=UTF-8) as Latin-1 and refused 'my réc.eeg'."""
    from test_formats_sweep import _brainvision  # pyright: ignore[reportMissingImports]

    folder = tmp_path / "séance 1"
    folder.mkdir()
    _brainvision(folder, [("S  8", 100)])
    for part in ("vhdr", "vmrk", "eeg"):
        text = (folder / f"rec.{part}").read_bytes().replace(b"rec.", "my réc.".encode())
        (folder / f"my réc.{part}").write_bytes(text)
        (folder / f"rec.{part}").unlink()
    _, x, ev = replay(folder / "my réc.vhdr")
    assert x.shape == (3, 500) and len(ev) == 1


def test_a_renamed_brainvision_set_says_which_line_to_edit_and_keeps_its_markers(tmp_path, caplog):
    """A set renamed without editing its header (BIDS): DataFile= names the old .eeg (MNE: FileNotFoundError), and
    MNE finds the renamed .vmrk itself, which the missing-marker check wrongly said was lost."""
    from test_formats_sweep import _brainvision  # pyright: ignore[reportMissingImports]

    _brainvision(tmp_path, [("S  8", 100)])
    for part in ("vhdr", "vmrk", "eeg"):
        (tmp_path / f"rec.{part}").rename(tmp_path / f"sub-01_task-ssvep_eeg.{part}")
    e = _refused(tmp_path / "sub-01_task-ssvep_eeg.vhdr")
    assert "edit the header's DataFile= line to sub-01_task-ssvep_eeg.eeg" in e.hint
    (tmp_path / "sub-01_task-ssvep_eeg.eeg").rename(tmp_path / "rec.eeg")  # the data as the header names it
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, x, ev = replay(tmp_path / "sub-01_task-ssvep_eeg.vhdr")
    assert len(ev) == 1 and "marker file" not in caplog.text


def test_two_xdf_streams_of_one_name_can_be_told_apart(tmp_path):
    """Before: two amplifiers of one model (both 'OpenBCI', type EEG) could not be picked: the fix said to give the
    name or type, which both share."""
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    stamps = 5 + np.arange(100) / 250
    amps = [XdfStream("OpenBCI", "EEG", 250.0, np.full((100, 2), k), stamps) for k in (1.0, 2.0)]
    path = write_xdf(tmp_path / "two.xdf", amps)
    e = _refused(path, stream="OpenBCI")
    assert "#1 'OpenBCI'" in e.message and "#2 'OpenBCI'" in e.message and "stream: '#2'" in e.hint
    _, x, _ = replay(path, stream="#2")
    assert (x == 2.0).all()


def test_a_number_written_with_a_decimal_comma_or_a_unit_gets_the_number_to_write(tmp_path, monkeypatch, capsys):
    """Before: 'write a number without quotes, e.g. l_freq: 1.0' for '1,5', '40 Hz', '1s' and '1.5 kHz'; '1,500' (a
    thousands separator as often as a decimal comma) was read as 1.5 alone."""
    from test_cli_hostile import validate  # pyright: ignore[reportMissingImports]

    lines = validate(
        tmp_path,
        monkeypatch,
        capsys,
        """\
        nodes:
          - {id: src, type: sine, params: {channels: 2, rate: 8000.0, duration: 1.0}}
          - {id: bp, type: bandpass, params: {l_freq: "1,5", h_freq: 1.5 kHz}}
          - {id: dec, type: ssvep_decoder, params: {freqs: [8.0], window: 1s}}
          - {id: bp2, type: bandpass, params: {l_freq: 1.0, h_freq: "1,500"}}
        edges:
          - {source: src.out, target: bp.in}
          - {source: bp.out, target: dec.in}
          - {source: src.out, target: bp2.in}
        """,
    )
    assert lines[0].endswith("`wavegraph nodes bandpass` has them): l_freq: 1.5")
    assert lines[1].endswith("write it as a plain number of Hz: h_freq: 1500")
    assert lines[2].endswith("window: 1")
    assert lines[3].endswith("h_freq: 1.500 or h_freq: 1500")


def test_a_worker_on_another_host_says_its_own_configure_warnings(edf_path, tmp_path, caplog):
    """The worker drops its configure() warnings because the parent said them; on another host (`host:`, --ray)
    its files and devices are its own, so it must say them (before the parent's host was recorded in the plan,
    every worker dropped them)."""
    import dataclasses

    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.worker import _build_nodes
    from wavegraph.pipeline.worker_plans import make_plans

    cut = tmp_path / "cut.edf"
    cut.write_bytes(edf_path.read_bytes()[: edf_path.stat().st_size // 2])
    graph = tmp_path / "g.yaml"
    graph.write_text(f"nodes:\n  - {{id: src, type: file_source, params: {{path: '{cut}'}}}}\nedges: []\n")
    plan = next(iter(make_plans(build_graph(load_config(graph)), None, "ipc://unused", str(tmp_path)).values()))
    for host, said in ((plan.parent_host, 0), ("another-host", 1)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
            _build_nodes(dataclasses.replace(plan, parent_host=host), {})
        assert caplog.text.count("is truncated: its header lists 61 data records") == said
