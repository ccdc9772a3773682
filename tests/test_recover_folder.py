"""`wavegraph recover out/` after a killed run: `.` failed with "PosixPath('.') has an empty name", and any
other folder was refused, so each spill had to be named by hand (a batch run leaves one folder per file). A
folder now recovers every spill under it. A WAV that is empty or not a WAV got libsndfile's bare error."""

import numpy as np
import pytest
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.nodes.io.recover import recover_main
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec


def _killed_recording(path):
    rec = Recorder(path=str(path))
    rec.configure({"in": StreamSpec("signal", 50.0, (1,), "float64", channel_names=("x",))})
    rec.process({"in": Chunk(np.arange(20.0)[None], t0=0.0)})
    rec._file.close()  # the process died: the system closed its files, the spill stays


def test_a_folder_recovers_every_spill_under_it(tmp_path, capsys, monkeypatch):
    (tmp_path / "sub01").mkdir()
    _killed_recording(tmp_path / "a.npz")
    _killed_recording(tmp_path / "sub01" / "b.npz")
    monkeypatch.chdir(tmp_path)
    assert recover_main(["."]) == 0
    for p in (tmp_path / "a.npz", tmp_path / "sub01" / "b.npz"):
        np.testing.assert_array_equal(np.load(p)["data"], np.arange(20.0)[None])
        assert not p.with_name(p.name + ".spill").exists()
    assert recover_main(["."]) == 0  # nothing left: said, and no error (test_cli_leftovers_session20.py)
    assert "no .spill file under it: nothing to recover" in capsys.readouterr().out


@pytest.mark.parametrize(("content", "said"), [(b"", "is empty (0 bytes)"), (b"RIFF\x00\x00", "is not a readable WAV")])
def test_a_wav_that_is_not_one_says_so(tmp_path, capsys, content, said):
    (tmp_path / "x.wav").write_bytes(content)
    assert recover_main([str(tmp_path / "x.wav")]) == 1
    err = capsys.readouterr().err
    assert said in err and "LibsndfileError" not in err
