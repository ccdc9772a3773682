"""Broken and unusual inputs, a fourth sweep: `wavegraph recover` without or with the wrong paths, files
file_source does not read, marker streams of several channels, odd YAML and `--set` values, recorder paths.
Each test failed before its fix."""

from __future__ import annotations

import pytest
from wavegraph.nodes.io.recorder import recover_main
from wavegraph.pipeline.cli import main


def test_recover_without_a_path_is_a_usage_error(capsys):
    """`wavegraph recover` alone printed its help and exited 0, as if something had been recovered."""
    with pytest.raises(SystemExit) as e:  # argparse's usage error, as `wavegraph plot` alone gives
        main(["recover"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "usage: wavegraph recover" in err and "required: paths" in err
    with pytest.raises(SystemExit) as e:  # asked for: the help, exit 0
        main(["recover", "--help"])
    assert e.value.code == 0


def test_recover_refuses_a_folder_or_a_file_no_recorder_writes(tmp_path, capsys):
    """`wavegraph recover out/` or `recover notes.txt`: the path was printed and the exit was 0, as for a recording
    found complete."""
    (tmp_path / "d_raw.fif").mkdir()
    (tmp_path / "notes.txt").write_text("take 2\n")
    assert recover_main([str(tmp_path / "d_raw.fif")]) == 1
    assert "is a folder" in capsys.readouterr().err
    assert recover_main([str(tmp_path / "notes.txt")]) == 1
    err = capsys.readouterr().err
    assert "not a file a recorder writes" in err and "nothing to recover" in err


@pytest.mark.parametrize("name", ["notes.txt", "NOTES.TXT", "trial.mat"])
def test_a_table_or_matlab_file_says_what_to_do_without_a_reader_s_internals(tmp_path, name):
    """A .txt reached MNE's BOXY reader, and the message was 'cannot read x.txt: AssertionError'; a .mat reached
    read_raw_fieldtrip through mne.io.read_raw: 'TypeError: read_raw_fieldtrip() got an unexpected keyword argument
    'verbose'', with the list of formats as the fix."""
    from wavegraph.nodes.io.readers import open_reader
    from wavegraph.pipeline.spec import SpecError

    (tmp_path / name).write_bytes(b"time,C3,C4\n0.0,1.5,2.5\n")
    with pytest.raises(SpecError) as e:
        open_reader(tmp_path / name, None)
    said = str(e.value)
    assert "Error" not in said and f"cannot read {tmp_path / name}: not a recording" in said
    assert "array_source" in e.value.hint and ("loadmat" in e.value.hint) == name.endswith(".mat")
