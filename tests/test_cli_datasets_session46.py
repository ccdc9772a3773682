"""Session 46: `wavegraph datasets` (a new user, told by a config's comment to fetch a recording, typed `wavegraph
datasets fetch ...` and got "invalid choice": the command was `python -m wavegraph.pipeline.datasets` only)."""

from __future__ import annotations

import pytest
from wavegraph.pipeline import cli
from wavegraph.pipeline.datasets import DATASETS


def test_wavegraph_datasets_lists_every_packaged_recording(capsys):
    assert cli.main(["datasets", "list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == list(DATASETS)


def test_wavegraph_datasets_says_its_own_name_and_the_fix(capsys):
    assert cli.main(["datasets", "fetch", "eegmmidb"]) == 1  # (the module's exit code for an unknown name)
    assert "did you mean 'eegmmidb-s001r02'?" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["datasets"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: wavegraph datasets")
