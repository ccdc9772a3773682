"""Session 44's probe of file names and file-system oddities across what takes a path: a recorder's path that is a
link (to a file, into a missing folder, a loop), a whole path past PATH_MAX, a disk full before the first sample,
a recording or checkpoint named in the wrong case or Unicode form, a named pipe as an output, a file whose name
starts with '-' on the command line, a disk that fills up under `bench`."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline import cli
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec

SPEC = StreamSpec("signal", 100.0, (2,), "float32", ("a", "b"), ("eeg", "eeg"))
WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "weights"


def _record(path: Path, **params) -> None:
    rec = Recorder(path=str(path), **params)
    rec.configure({"in": SPEC})
    rec.process({"in": Chunk(np.ones((2, 50), np.float32) * 1e-5, 0.0)})
    rec.close()


@pytest.mark.parametrize("name", ["t_raw.fif", "t.edf", "t.npz", "t.flac"])
def test_a_link_to_a_recording_is_written_through_as_wav_and_csv_are(tmp_path, name):
    """FIF, EDF, NPZ and FLAC are written beside and moved in: with `overwrite: true`, a path that is a link (a
    'latest' link, a link into a bigger disk) had the link itself replaced by a file, and its target kept the old
    recording, while WAV and CSV (written in place) and the shell's `>` wrote through it. Now all write through."""
    store = tmp_path / "store"
    store.mkdir()
    (store / name).write_bytes(b"old")
    link = tmp_path / ("l" + name[1:])
    link.symlink_to(store / name)
    _record(link, overwrite=True)
    assert link.is_symlink() and os.readlink(link) == str(store / name)
    assert (store / name).stat().st_size > 3  # the new recording, in the link's target
    assert not list(tmp_path.glob("*.tmp")) and not list(store.glob("*.tmp")) and not list(store.glob(".*"))


def test_a_link_to_a_new_file_creates_it_where_the_link_points(tmp_path):
    (tmp_path / "store").mkdir()
    link = tmp_path / "new_raw.fif"
    link.symlink_to(tmp_path / "store" / "new_raw.fif")
    _record(link)
    assert link.is_symlink() and (tmp_path / "store" / "new_raw.fif").is_file()


@pytest.mark.parametrize("ext", ["_raw.fif", ".wav", ".csv"])
def test_a_link_into_a_missing_folder_or_a_loop_is_refused_when_the_graph_is_built(tmp_path, ext):
    """Such a link failed at the first chunk, with a traceback and 'fix: free space on that disk' (WAV, CSV), or was
    silently replaced by a file (FIF): now a build error naming the link, where it points, and the fix."""
    dangling = tmp_path / f"d{ext}"
    dangling.symlink_to(tmp_path / "nodir" / f"x{ext}")
    with pytest.raises(SpecError, match="in a folder that does not exist") as e:
        Recorder(path=str(dangling)).configure({"in": SPEC})
    assert "nodir" in str(e.value) and "fix:" in str(e.value)
    one, two = tmp_path / f"a{ext}", tmp_path / f"b{ext}"
    one.symlink_to(two)
    two.symlink_to(one)
    with pytest.raises(SpecError, match="loop of links"):
        Recorder(path=str(one)).configure({"in": SPEC})
    assert not list(tmp_path.glob("*.chunks.csv"))


def test_a_path_longer_than_the_system_takes_is_a_clear_build_error(tmp_path):
    """A path past PATH_MAX (each name in it short) raised '[Errno 36] File name too long: <4000 characters>' from
    Path.is_dir, which did not say that the whole path was too long, nor what to do."""
    deep = tmp_path.joinpath(*["d" * 200] * 21) / "x_raw.fif"
    with pytest.raises(SpecError, match="bytes long as a full path") as e:
        Recorder(path=str(deep)).configure({"in": SPEC})
    assert "nearer the root" in str(e.value)


def test_a_disk_full_before_the_first_sample_is_said_without_the_runtimes_traceback(tmp_path, monkeypatch):
    """'cannot start writing ...: No space left on device; nothing was recorded; fix: ...' says it all, but it
    came after the runtime's traceback and 'fix: correct the node' (a write failing later was already said bare)."""
    import wavegraph.nodes.io.recorder as recorder_module

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(recorder_module, "open_whole", full)
    rec = Recorder(path=str(tmp_path / "x.csv"))
    rec.configure({"in": SPEC})
    with pytest.raises(OSError, match="nothing was recorded") as e:
        rec.process({"in": Chunk(np.zeros((2, 5), np.float32), 0.0)})
    assert getattr(e.value, "explained", False)


def test_a_recording_named_in_another_case_is_offered(tmp_path, monkeypatch, capsys):
    """`rec.wav` given, `rec.WAV` on disk (copied from Windows or a FAT card): file_source's 'did you mean' offered
    rec.Flac or nothing (difflib ranks by letters), and `wavegraph plot` said only 'no such recording'."""
    monkeypatch.chdir(tmp_path)
    sf.write("rec.WAV", np.zeros((100, 1)), 8000)
    sf.write("rec.Flac", np.zeros((100, 1)), 8000)
    with pytest.raises(SpecError) as e:
        FileSource(path="rec.wav").configure({})
    assert "did you mean rec.WAV" in str(e.value)
    assert cli.main(["plot", "rec.wav"]) == 2
    assert "did you mean rec.WAV" in capsys.readouterr().err


def test_a_checkpoint_named_in_the_other_unicode_form_or_case_is_found(tmp_path, monkeypatch):
    """file_source finds a name typed NFC whose file is NFD (copied from a Mac); a checkpoint said 'does not exist'.
    ENH.SAFETENSORS beside ENH.JSON said 'has no config ENH.json beside it'."""
    from wavegraph.models.checkpoint import config_path, out_problem
    from wavegraph.nodes.models.common import checkpoint_problem

    monkeypatch.chdir(tmp_path)
    nfd = unicodedata.normalize("NFD", "modèle")
    shutil.copy(WEIGHTS / "enhancer.safetensors", f"{nfd}.safetensors")
    shutil.copy(WEIGHTS / "enhancer.json", f"{nfd}.json")
    assert checkpoint_problem(unicodedata.normalize("NFC", "modèle") + ".safetensors") == ""
    shutil.copy(WEIGHTS / "enhancer.safetensors", "ENH.SAFETENSORS")
    shutil.copy(WEIGHTS / "enhancer.json", "ENH.JSON")
    assert checkpoint_problem("ENH.SAFETENSORS") == ""
    assert config_path("ENH.SAFETENSORS") == Path("ENH.JSON")
    assert "config's name" in out_problem("m.JSON")  # (not a traceback from config_path)


def test_a_checkpoint_that_is_a_broken_link_or_lacks_its_suffix_gets_the_fix(tmp_path, monkeypatch):
    from wavegraph.nodes.models.common import checkpoint_problem

    monkeypatch.chdir(tmp_path)
    shutil.copy(WEIGHTS / "enhancer.safetensors", "enhancer.safetensors")
    shutil.copy(WEIGHTS / "enhancer.json", "enhancer.json")
    Path("dang.safetensors").symlink_to("gone.safetensors")
    assert "is a link to gone.safetensors, which does not exist" in checkpoint_problem("dang.safetensors")
    assert "recording" not in checkpoint_problem("dang.safetensors")
    assert "did you mean enhancer.safetensors?" in checkpoint_problem("enhancer")


def test_an_output_that_is_a_named_pipe_nothing_reads_is_refused_at_once(tmp_path):
    """`train enhancer --out fifo` (the writability check opened it for appending) waited for ever for a reader."""
    fifo = tmp_path / "ff"
    os.mkfifo(fifo)
    code = f"from wavegraph import unwritable; print(unwritable({str(fifo)!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "named pipe that nothing reads" in out.stdout, out.stderr[-2000:]


def test_a_file_whose_name_starts_with_a_dash_gets_a_note(tmp_path, monkeypatch, capsys):
    """`wavegraph plot -rec.edf` said only 'the following arguments are required: recording'."""
    monkeypatch.chdir(tmp_path)
    Path("-rec.edf").write_bytes(b"")
    with pytest.raises(SystemExit):
        cli.main(["plot", "-rec.edf"])
    assert "give a file whose name starts with '-' as ./-rec.edf" in capsys.readouterr().err


def test_a_disk_that_fills_up_under_a_bench_is_said_without_a_traceback(monkeypatch, capsys):
    """A bench's --png on a disk that filled up while it ran (checked writable before): PIL's traceback after the
    results. Now one line with the fix."""

    class Entry:
        name = "bench.nodes"

        def load(self):
            def run(argv):
                raise OSError(errno.ENOSPC, "No space left on device")

            return run

    monkeypatch.setattr(cli, "_commands", lambda: {"bench.nodes": Entry()})
    assert cli.main(["bench", "nodes"]) == 1
    err = capsys.readouterr().err
    assert "No space left on device; fix: free space" in err and "Traceback" not in err
