"""Session 30: validating graphs of thousands of nodes (the size Timeflux, ezmsg and LabGraph users build). Two checks
scanned the whole graph once per node: passband_notes read every output spec for each node (1.3 s of a 3000-node
chain's `wavegraph validate`, 2.5 s with a crossed filter in it; 4 s on a busy machine), and peer_params.at_input_rate
read every edge, and rewrote the whole problem list, for each node when the file had problems (3.6 s of a 3000-node
fan's). Each now reads them once. The tests count the passes over the specs and the edges (no timings), and check
that the same problems and notes are said on a large graph."""

from __future__ import annotations

import pytest
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph


class _CountedDict(dict):
    """A dict that counts the passes made over it (items, keys, values, iteration): the real specs, counted."""

    passes = 0

    def items(self):
        self.passes += 1
        return super().items()

    def keys(self):
        self.passes += 1
        return super().keys()

    def values(self):
        self.passes += 1
        return super().values()

    def __iter__(self):
        self.passes += 1
        return super().__iter__()


class _CountedList(list):
    """A list that counts the passes made over it: the real edges, counted."""

    passes = 0

    def __iter__(self):
        self.passes += 1
        return super().__iter__()


def _chain(n: int) -> str:
    """sine -> n gains -> lowpass 10 Hz -> n gains -> highpass 30 Hz (passes nothing) -> n gains -> null_sink."""
    nodes = ["  - {id: src, type: sine, params: {rate: 250.0, channels: 2, duration: 1.0}}"]
    edges, prev = [], "src"

    def add(node_id: str, rest: str) -> None:
        nonlocal prev
        nodes.append(f"  - {{id: {node_id}, {rest}}}")
        edges.append(f"  - {{source: {prev}.out, target: {node_id}.in}}")
        prev = node_id

    for part in ("a", "b", "c"):
        for i in range(n):
            add(f"{part}{i}", "type: gain, params: {db: 0.0}")
        if part == "a":
            add("lp", "type: lowpass, params: {freq: 10.0}")
        if part == "b":
            add("hp", "type: highpass, params: {freq: 30.0}")
    add("sink", "type: null_sink")
    return "name: chain\nnodes:\n" + "\n".join(nodes) + "\nedges:\n" + "\n".join(edges) + "\n"


CROSSED_NOTE = (
    "node 'hp': its output passes nothing: a highpass of 30 Hz (from 'hp') at or above a lowpass of 10 Hz (from 'lp'); "
    "fix: check the cut-offs of 'hp' (highpass) and 'lp' (lowpass) (swapped? a downsample below twice the highpass?); "
    "recorders write highpass 0 Hz for it, as MNE resets such edges"
)


def test_crossed_filter_notes_read_the_output_specs_once_not_once_per_node(tmp_path):
    """Before: _out scanned every spec of the graph for each node (300 passes here, 3000 on a 3000-node chain:
    quadratic). Now the specs are grouped by node once; the note is the same."""
    from wavegraph.pipeline.passband_notes import crossed_filter_notes

    (tmp_path / "g.yaml").write_text(_chain(100))
    graph = build_graph(load_config(tmp_path / "g.yaml"))
    assert crossed_filter_notes(graph) == [CROSSED_NOTE]
    graph.specs = counted = _CountedDict(graph.specs)
    assert crossed_filter_notes(graph) == [CROSSED_NOTE]
    assert len(graph.order) == 304
    assert counted.passes <= 2, counted.passes  # (was 407: one per node, and one per node the setter walked back)


def test_a_3000_node_chain_and_a_3000_node_fan_say_the_same_as_small_ones(tmp_path):
    """On graphs of the size peers' users build, the same note and the same problems as on small ones."""
    from wavegraph.pipeline.passband_notes import crossed_filter_notes

    (tmp_path / "g.yaml").write_text(_chain(1000))
    graph = build_graph(load_config(tmp_path / "g.yaml"))
    assert len(graph.order) == 3004
    assert crossed_filter_notes(graph) == [CROSSED_NOTE]

    problems, _ = _fan_problems(tmp_path, 1500)
    assert [(line, said, fix) for _, line, said, fix in problems] == [
        (4 + 2 * i, f"node 'w{i}' (sliding_window): unknown parameter 'window_dur'", _FAN_FIX) for i in range(1500)
    ]


def _fan(n: int) -> str:
    """A sine at 500 Hz feeding n sliding_windows given a peer's window_dur (seconds): each is told its size in
    samples at the input's rate, which at_input_rate asks again once the sine's spec is known."""
    nodes = ["  - {id: src, type: sine, params: {rate: 500.0, channels: 2, duration: 1.0}}"]
    edges = []
    for i in range(n):
        nodes.append(f"  - {{id: w{i}, type: sliding_window, params: {{window_dur: 1.0, hop: 10}}}}")
        nodes.append(f"  - {{id: s{i}, type: null_sink}}")
        edges += [f"  - {{source: src.out, target: w{i}.in}}", f"  - {{source: w{i}.out, target: s{i}.in}}"]
    return "name: fan\nnodes:\n" + "\n".join(nodes) + "\nedges:\n" + "\n".join(edges) + "\n"


def _fan_problems(tmp_path, n: int) -> tuple[list[tuple], int]:
    (tmp_path / "g.yaml").write_text(_fan(n))
    config = load_config(tmp_path / "g.yaml")
    config.edges = counted = _CountedList(config.edges)
    with pytest.raises(GraphError) as e:
        build_graph(config)
    return e.value.problems, counted.passes


_FAN_FIX = "wavegraph's size counts samples, not seconds: write size: 500 (1 s x the input's 500 Hz)"


def test_problems_asked_again_at_the_input_rate_read_the_edges_once_not_once_per_node(tmp_path):
    """Before: at_input_rate read every edge for each node of the file (201 nodes here: 205 passes over the edges in
    the build, quadratic). Now the input rates are gathered in one pass; every window is still told its size at the
    input's 500 Hz."""
    problems, passes = _fan_problems(tmp_path, 100)
    assert len(problems) == 100
    for i, (_, line, said, fix) in enumerate(problems):
        assert said == f"node 'w{i}' (sliding_window): unknown parameter 'window_dur'", said
        assert fix == _FAN_FIX, fix
        assert line == 4 + 2 * i
    assert passes <= 10, passes  # (was 201 + the build's own passes)
