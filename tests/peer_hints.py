"""Shared helpers of the peer-user and YAML tests (test_peer_users*_session21, test_yaml_attack3,
test_yaml_hostile_session23): a graph validated as a user runs it."""

from wavegraph.pipeline.cli import main


def problems(tmp_path, monkeypatch, capsys, text):
    """`wavegraph validate g.yaml` on `text` (written byte for byte: its line ends kept): its problem lines, [] when
    it passed; each must be `g.yaml:line: what; fix: how` (exit 2), with no traceback."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(text, encoding="utf-8", newline="")
    code = main(["validate", "g.yaml"])
    out = capsys.readouterr()
    if code == 0:
        return []
    lines = out.err.strip().splitlines()
    assert code == 2 and lines and "Traceback" not in out.err, out
    for line in lines:
        assert line.startswith("g.yaml:") and "; fix: " in line, line
    return lines


def validate(tmp_path, monkeypatch, capsys, text):
    """`wavegraph validate g.yaml` on `text`: (exit code, stdout lines, stderr lines)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(text)
    code = main(["validate", "g.yaml"])
    out = capsys.readouterr()
    assert "Traceback" not in out.err, out.err
    return code, out.out.strip().splitlines(), out.err.strip().splitlines()


def one_node(node_type, params):
    """A sine at 250 Hz into one node of `node_type` with flow-style `params`, into a null sink."""
    return f"""\
nodes:
  - {{id: src, type: sine, params: {{rate: 250, duration: 0.2}}}}
  - id: n
    type: {node_type}
    params: {params}
  - {{id: sink, type: null_sink}}
edges:
  - {{source: src.out, target: n.in}}
  - {{source: n.out, target: sink.in}}
"""
