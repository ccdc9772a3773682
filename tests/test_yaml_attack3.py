"""A new user's graph files, written wrong the ways users write them (tabs an editor left, units in values,
YAML merge keys): each said by `wavegraph validate` as `file:line: what; fix: how` (exit 2), the fix one that works."""

from wavegraph.pipeline.cli import main

GRAPH = """\
nodes:
  - id: src
    type: sine
    params:
      duration: 0.2
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: sink.in}
"""


def validate(tmp_path, monkeypatch, capsys, text):
    """`wavegraph validate g.yaml` on `text`: its problem lines, [] when it passed."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(text)
    code = main(["validate", "g.yaml"])
    out = capsys.readouterr()
    if code == 0:
        return []
    lines = out.err.strip().splitlines()
    assert code == 2 and lines and "Traceback" not in out.err, out
    for line in lines:
        assert line.startswith("g.yaml:") and "; fix: " in line, line
    return lines


def test_a_tab_after_a_value_says_its_column_not_to_indent_with_spaces(tmp_path, monkeypatch, capsys):
    # a trailing tab, a tab before a comment, a tab after the ':' (the line is indented with spaces): the fix was
    # "indent with spaces; YAML does not allow tabs", which the user's indentation already is
    for line, column in (("  - id: src\t", 12), ("  - id: src\t# the source", 12), ("  - id:\tsrc", 8)):
        err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("  - id: src", line))
        assert len(err) == 1 and err[0].startswith(f"g.yaml:2: invalid YAML: column {column} holds a tab"), err
        assert "after '- id:" in err[0] and "fix: replace the tab with a space" in err[0], err
        fixed = GRAPH.replace("  - id: src", line.replace("\t", " "))
        assert validate(tmp_path, monkeypatch, capsys, fixed) == []
    # a tab in the indentation keeps its fix
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("    type: sine", "\ttype: sine"))
    assert len(err) == 1 and err[0].startswith("g.yaml:3:") and "indent with spaces" in err[0], err
