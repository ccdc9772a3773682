"""Shared helpers of the peer-user tests (test_peer_users*_session21): a graph validated as a user runs it."""

from wavegraph.pipeline.cli import main


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
