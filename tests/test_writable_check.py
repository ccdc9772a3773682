"""One "can this path be written" check (wavegraph.unwritable), shared by the checkpoint's out_problem and the CLI."""

from __future__ import annotations

from wavegraph.models.checkpoint import out_problem

from wavegraph import unwritable


def test_unwritable_makes_the_folder_and_leaves_no_file(tmp_path):
    target = tmp_path / "new" / "deeper" / "out.json"
    assert unwritable(str(target)) == ""
    assert target.parent.is_dir() and not target.exists()
    (tmp_path / "keep.txt").write_text("x")
    assert unwritable(tmp_path / "keep.txt") == "" and (tmp_path / "keep.txt").read_text() == "x"
    assert unwritable(tmp_path) == "it is a folder"
    (tmp_path / "file").write_text("")
    assert unwritable(tmp_path / "file" / "out.json")  # its folder is a file: the OS's reason


def test_a_checkpoint_whose_config_name_is_a_folder_says_the_config(tmp_path):
    """enc.json a folder beside enc.safetensors: out_problem said 'cannot write it (Is a directory)' of the weights
    file, which can be written; it names the config now."""
    (tmp_path / "enc.json").mkdir()
    why = out_problem(tmp_path / "enc.safetensors")
    assert "enc.json" in why and "folder" in why, why
    assert not (tmp_path / "enc.safetensors").exists()  # no empty weights file left behind
    assert out_problem(tmp_path) == "it is a folder; give the weights file (.safetensors) in it"
    assert out_problem(tmp_path / "ok.safetensors") == ""
