"""`wavegraph batch` takes a recording that is a folder (an EGI .mff, a CTF .ds, as file_source reads them) and says
the folders it leaves out (session 43: a .mff folder was 'no file matches', a folder named x.edf was dropped unsaid)."""

from pathlib import Path

from conftest import wavegraph_cli
from wavegraph.pipeline.batch import plan

GRAPH = """\
nodes:
  - id: src
    type: file_source
    params: {path: placeholder.edf}
  - id: rec
    type: recorder
    params: {path: out_raw.fif}
edges:
  - {source: src.out, target: rec.in}
"""


def test_a_recording_folder_is_an_input_and_a_plain_folder_is_not(tmp_path):
    g = tmp_path / "g.yaml"
    g.write_text(GRAPH)
    for folder in ("in/s1.mff", "in/s2.ds", "in/odd.edf"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "info.xml").write_text("<x/>")
    jobs = plan(str(g), str(tmp_path / "in" / "*"), str(tmp_path / "out"), [])
    assert sorted(Path(j.input).name for j in jobs) == ["s1.mff", "s2.ds"]


def test_a_folder_matched_beside_recordings_is_said_not_dropped_unsaid(tmp_path, edf_path):
    g = tmp_path / "g.yaml"
    g.write_text(GRAPH)
    (tmp_path / "in" / "odd.edf").mkdir(parents=True)
    (tmp_path / "in" / "S001R02.edf").write_bytes(Path(edf_path).read_bytes())
    r = wavegraph_cli("batch", str(g), "--inputs", str(tmp_path / "in" / "*.edf"), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert "1 folder(s) that hold no recording of their own, not taken" in r.stderr and "odd.edf" in r.stderr
    assert (tmp_path / "out" / "S001R02" / "out_raw.fif").is_file()


def test_a_recursive_pattern_takes_a_recording_folder_once_not_its_parts(tmp_path):
    """Review: '**/*' took the files inside an .mff (info.xml, signal1.bin) as inputs of their own, and the folder
    note named the pattern's root and a folder holding a recording."""
    from wavegraph.pipeline.batch_inputs import folders_left_out

    g = tmp_path / "g.yaml"
    g.write_text(GRAPH)
    for part in ("in/s1.mff/info.xml", "in/s1.mff/signal1.bin", "in/sub/s2.ds/s2.meg4", "in/empty/x.txt~"):
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / part).write_text("x")
    (tmp_path / "in" / "odd").mkdir()
    jobs = plan(str(g), str(tmp_path / "in" / "**" / "*"), str(tmp_path / "out"), [])
    assert sorted(Path(j.input).name for j in jobs) == ["s1.mff", "s2.ds", "x.txt~"]
    left = folders_left_out(str(tmp_path / "in" / "**"), str(tmp_path / "out"))
    assert sorted(Path(p).name for p in left) == ["odd"], left
