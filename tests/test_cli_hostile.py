"""Hostile input to the command line: graph files, `bench enhance`, `bench bci` and `train ssvep` on the odd
files and folders a new user brings. Each mistake is one `file:line: message; fix: ...` line (exit 2, no
traceback); unusual but valid input runs."""

import textwrap

from wavegraph.pipeline.cli import main

GRAPH = """\
name: t
nodes:
  - id: src
    type: sine
    params: {channels: 4, rate: 250.0, chunk_size: 25, duration: 1.0}
  - id: bp
    type: bandpass
    params: {l_freq: 1.0, h_freq: 40.0}
  - id: rec
    type: recorder
    params: {path: out_raw.fif, overwrite: true}
edges:
  - {source: src.out, target: bp.in}
  - {source: bp.out, target: rec.in}
"""


def validate(tmp_path, monkeypatch, capsys, text, *extra):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(textwrap.dedent(text))
    code = main(["validate", "g.yaml", *extra])
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    if code == 0:
        return []
    assert code == 2 and lines, out
    for line in lines:
        assert line.startswith(("g.yaml:", "--set:")) and "; fix: " in line, line
    return lines


def test_validate_checks_ports_and_specs_despite_a_structural_problem(tmp_path, monkeypatch, capsys):
    text = GRAPH.replace("name: t", "name: t\nfoo: 1").replace("target: rec.in", "target: rec.inn")
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert any("unknown top-level key 'foo'" in e for e in err)
    assert any("node 'rec' has no input port 'inn'" in e for e in err), err
    text = GRAPH.replace("l_freq: 1.0", "l_freq: 100.0").replace("target: rec.in}", "target: rec.in, queue: 0}")
    err = validate(tmp_path, monkeypatch, capsys, text, "--set", "nosuch.x=1")
    assert any("edge queue 0" in e for e in err) and any("no node 'nosuch'" in e for e in err)
    assert any("l_freq 100 Hz must be below h_freq 40 Hz" in e for e in err), err


def test_null_id_or_type_and_plain_text_items_name_their_line(tmp_path, monkeypatch, capsys):
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("type: bandpass", "type:"))
    assert err == ["g.yaml:6: each node needs an 'id' and a 'type' (node 'bp' has none); fix: write "
                   "'- {id: name, type: node_type, params: {...}}'"]  # fmt: skip
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("id: bp", "id:"))
    assert err[0].startswith("g.yaml:6: each node needs an 'id' and a 'type';") and "None" not in "".join(err)
    err = validate(tmp_path, monkeypatch, capsys, "nodes:\n  - src\n  - bp\n")
    assert [e.split(":")[1] for e in err] == ["2", "3"], err
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("- {source: src.out, target: bp.in}", "- src.out"))
    assert err[0].startswith("g.yaml:13: each edge needs 'source' and 'target'"), err


def test_tab_indent_says_so(tmp_path, monkeypatch, capsys):
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("    type: bandpass", "\ttype: bandpass"))
    assert err[0].startswith("g.yaml:7: invalid YAML") and "fix: indent with spaces" in err[0], err


def test_a_chunk_too_big_to_allocate_is_refused_at_build(tmp_path, monkeypatch, capsys):
    text = GRAPH.replace("chunk_size: 25, duration: 1.0", "chunk_size: 1000000000, duration: null")
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert err and "exceed 1 GiB" in err[0] and "chunk_size: 25" in err[0], err
    # a chunk longer than a finite recording is one chunk of the whole recording: valid
    assert validate(tmp_path, monkeypatch, capsys, GRAPH.replace("chunk_size: 25", "chunk_size: 10000000000")) == []
