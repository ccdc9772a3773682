"""Review of session 28's commits f89de49 (the recorder keeps its marker log beside the file when a marker falls outside
the recording) and f1bf523 (bench enhance reads .g722): each test failed before its fix."""

from __future__ import annotations

import logging
from pathlib import Path

import mne
import numpy as np
import pytest
from conftest import need
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.nodes.io.recover import recover
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec

RATE = 200.0
SIGNAL = StreamSpec("signal", RATE, (2,), "float64", ("C3", "C4"), ("eeg", "eeg"))
EVENTS = StreamSpec("events", 0.0, (3,), labels=((1, "stim"), (2, "late")))


def _record(path: Path, markers: list[float] | None, close: bool = True) -> Recorder:
    """3.5 s of EEG to `path` (overwrite: true), with `markers` (stream times, s) on an events input when given."""
    rec = Recorder(path=str(path), overwrite=True, events=markers is not None)
    rec.configure({"in": SIGNAL} | ({"events": EVENTS} if markers is not None else {}))
    x = np.random.default_rng(0).normal(0, 1e-5, (2, 700))
    if markers:
        rec.process({"events": Chunk(np.array([[t, 0.0, 1 + (t > 3.5)] for t in markers]), t0=markers[0])})
    for k in range(0, 700, 100):
        rec.process({"in": Chunk(x[:, k : k + 100], k / RATE)})
    if close:
        rec.finish()
        rec.close()
    else:
        rec._file.flush()  # no close(): the process "died" (as test_recorder_formats does)
    return rec


def _an_earlier_run_kept_its_log(path: Path) -> Path:
    """A run whose last marker fell after the recording's end: its log stays beside its file (f89de49)."""
    _record(path, [1.0, 9.0])
    log = path.with_name(path.name + ".events.csv")
    assert log.read_text().splitlines()[1:] == ["1.0,0.0,1,stim", "9.0,0.0,2,late"]
    return log


def test_a_rerun_with_overwrite_leaves_no_earlier_runs_marker_log_beside_its_file(tmp_path):
    """The log an earlier run kept (a marker outside its recording) stayed beside the new recording that replaced its
    file (overwrite: true, no markers this time), as if it were this recording's markers."""
    path = tmp_path / "rec_raw.fif"
    log = _an_earlier_run_kept_its_log(path)
    _record(path, None)
    assert mne.io.read_raw_fif(path, verbose="error").n_times == 700
    assert not log.exists()


def test_a_killed_rerun_is_recovered_without_the_earlier_runs_markers(tmp_path):
    """recover() reads `<path>.events.csv` as the killed run's markers: the earlier run's log, kept beside its file,
    was written into the recovered recording as its annotations (a marker at 1.0 s that this run never had)."""
    path = tmp_path / "rec_raw.fif"
    _an_earlier_run_kept_its_log(path)
    _record(path, None, close=False)
    out = recover(path)
    assert len(mne.io.read_raw_fif(out, verbose="error").annotations) == 0


def test_a_rerun_with_markers_keeps_only_its_own(tmp_path):
    """A rerun with markers, all inside: its log replaced the earlier one's and goes at close (unchanged)."""
    path = tmp_path / "rec_raw.fif"
    log = _an_earlier_run_kept_its_log(path)
    _record(path, [2.0])
    assert list(mne.io.read_raw_fif(path, verbose="error").annotations.onset) == [2.0] and not log.exists()


def test_a_rerun_of_no_sample_removes_the_earlier_runs_file_and_its_log(tmp_path, caplog):
    """A stream that ended without a sample to FIF (which cannot be empty): the earlier run's FIF is removed
    (overwrite: true); its marker log stayed, alone, as if this run had kept markers."""
    path = tmp_path / "rec_raw.fif"
    log = _an_earlier_run_kept_its_log(path)
    rec = Recorder(path=str(path), overwrite=True)
    rec.configure({"in": SIGNAL})
    with caplog.at_level(logging.WARNING, "wavegraph.recorder"):
        rec.finish()
    rec.close()
    assert not path.exists() and not log.exists()
    assert "markers are kept" not in caplog.text


def test_bench_enhance_memory_check_counts_g722_files(tmp_path):
    """bench enhance --clean DIR estimates the memory its files need from their headers (libsndfile's) before reading
    them; a .g722 file (read through PyAV since f1bf523) has none libsndfile reads and counted 0 s: a G.722 corpus
    too big for the memory was read until the machine ran out, not refused."""
    pytest.importorskip("av")
    import shutil

    from wavegraph.benchmarks.enhance_data import BenchError, free_memory, load_folder

    allison = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
    prompts = sorted(allison.glob("*.g722"), key=lambda p: -p.stat().st_size) if allison.is_dir() else []
    need(prompts, "the Asterisk English G.722 prompts are not installed (apt-get install asterisk-core-sounds-en-g722)")
    free = free_memory()
    need(free, "free memory is unknown here")
    assert free is not None
    folder = tmp_path / "clean"
    folder.mkdir()
    shutil.copy(prompts[0], folder / "prompt.g722")  # its longest prompt: seconds of speech
    seconds = 2 * prompts[0].stat().st_size / 16000
    with pytest.raises(BenchError, match="would need"):  # as much memory as is free per second of audio
        load_folder(str(folder), 60.0, "--clean", log=lambda s: None, bytes_per_second=free / min(seconds, 60.0))


def test_without_pyav_bench_enhance_given_one_g722_file_says_the_pip_line(tmp_path, monkeypatch):
    """--clean FILE.g722 without PyAV was refused as 'not an audio file (.wav, ...)', with no word of PyAV (a folder of
    them gets the pip line since f1bf523)."""
    import shutil
    import sys

    from wavegraph.benchmarks.enhance_data import BenchError, load_folder

    allison = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
    prompts = sorted(allison.glob("*.g722")) if allison.is_dir() else []
    need(prompts, "the Asterisk English G.722 prompts are not installed (apt-get install asterisk-core-sounds-en-g722)")
    path = Path(shutil.copy(prompts[0], tmp_path / "prompt.g722"))
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` raises ImportError, as where it is not installed
    with pytest.raises(BenchError) as e:
        load_folder(str(path), None, "--clean", log=lambda s: None)
    assert "PyAV, which is not installed" in str(e.value) and "pip install av" in str(e.value)
    assert "not an audio file" not in str(e.value)
