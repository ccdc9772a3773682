"""Shared helpers of the peer-user and YAML tests (test_peer_users*_session21, test_yaml_attack3,
test_yaml_hostile_session23, the window and parameter checks of sessions 30-31): a graph validated as a user runs
it."""

from wavegraph.pipeline import yaml_lines
from wavegraph.pipeline.cli import main
from wavegraph.pipeline.config import GraphError
from wavegraph.pipeline.graph_file import read_graph


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


# A node's parameters checked two ways: behind a device (validate cannot open it: the node's check_params) and behind
# an offline source (configure() with the source's spec).
SOURCES = (
    "type: lsl_inlet\n    params: {name: mic, resolve_timeout: 10.0}",  # behind a device: check_params
    "type: sine\n    params: {rate: 250, duration: 0.5}",  # offline: configure()
)
_BEHIND = """\
name: behind
nodes:
  - id: src
    SOURCE
  - id: n
    type: TYPE
    params:
PARAMS
  - id: sink
    type: null_sink
edges:
  - {source: src.out, target: n.in}
  - {source: n.out, target: sink.in}
"""


def behind(source: str, node_type: str, params: str) -> str:
    """`source` (one of SOURCES) into a node of `node_type` (its `- id: n` at line 6) whose params, one a line, start
    at line 9, into a sink."""
    lines = "\n".join(f"      {line}" for line in params.splitlines())
    return _BEHIND.replace("SOURCE", source).replace("TYPE", node_type).replace("PARAMS", lines)


def graph_problems_both_ways(path, monkeypatch) -> tuple[list | None, list | None]:
    """read_graph's problems for the file at `path` read with libyaml (where PyYAML has it), then with the pure-Python
    loader alone (pipeline/yaml_lines.py); None where it read the file."""

    def said():
        try:
            read_graph(path)
        except GraphError as e:
            return e.problems
        return None

    with_c = said()
    monkeypatch.setattr(yaml_lines, "CLineLoader", None)
    return with_c, said()
