"""`wavegraph batch` under hostile inputs: colliding output folders, a --set that fights --inputs."""

import subprocess
import sys
from pathlib import Path

import pytest
from wavegraph.pipeline.batch import _stems, plan
from wavegraph.pipeline.config import GraphError

GRAPH = """\
nodes:
  - id: src
    type: file_source
    params: {path: placeholder.wav, chunk_size: 256}
  - id: rec
    type: recorder
    params: {path: out.wav}
edges:
  - {source: src.out, target: rec.in}
"""


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "wavegraph.pipeline.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_every_input_gets_its_own_output_folder_even_when_paths_flatten_alike():
    # in/a__x.wav and in/a/x.wav both flattened to a__x_wav: two runs wrote one folder, one silently lost
    for inputs in (
        [Path("/t/in/a__x.wav"), Path("/t/in/a/x.wav"), Path("/t/in/b/x.wav")],
        [Path("/t/in/A.wav"), Path("/t/in/a.wav")],  # one folder on a case-insensitive disk (macOS, Windows)
    ):
        stems = _stems(inputs)
        assert len({s.casefold() for s in stems}) == len(inputs), stems
    # a dot file (.x.wav) had the empty stem: its outputs went into OUT itself
    assert all(_stems([Path("/t/in/.x.wav"), Path("/t/in/y.wav")]))


def test_a_set_of_the_source_path_is_refused_not_silently_replaced_by_each_input(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text(GRAPH)
    (tmp_path / "x.wav").write_bytes(b"")
    with pytest.raises(GraphError) as e:  # before: every job ran its input, the --set was dropped without a word
        plan(str(graph), str(tmp_path / "*.wav"), str(tmp_path / "out"), ["src.path=other.wav"])
    said = "; ".join(e.value.lines())
    assert "--set src.path" in said and "--inputs" in said and "fix:" in said, said
    # other parameters of the source are the user's to set
    assert plan(str(graph), str(tmp_path / "*.wav"), str(tmp_path / "out"), ["src.chunk_size=64"])
