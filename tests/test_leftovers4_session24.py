"""Leftovers of session 24's reviews (4): each replayed with the input that showed it."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec


# --- 1. each live follower gets the grace, not only the first ----------------------------------------------------
class _Followers:
    """An executor's part that last_reads uses: followers that hold `held[id]` chunks, one taken a read."""

    def __init__(self, held: dict[str, int]):
        self.held, self.taken = dict(held), dict.fromkeys(held, 0)
        self.active_sources = list(held)
        self.nodes = {n: SimpleNamespace(live=True) for n in held}
        self.stop = False

    def _read_source(self, node_id: str) -> bool:
        if self.held[node_id]:
            self.held[node_id] -= 1
            self.taken[node_id] += 1
            return True
        return False

    def drain(self):
        pass


def test_a_second_live_follower_is_read_until_it_gives_nothing():
    """Two marker inlets end with the EEG: the first got nothing more, the second held 3 chunks of markers. Before,
    the one 0.25 s grace was spent polling the first, and the second got a single read (1 chunk of 3, the others
    lost). Now they are read in turn in the one grace, and each until it gives nothing: all 3 are taken."""
    from wavegraph.pipeline.followers import last_reads

    ex = _Followers({"quiet": 0, "markers": 3})
    last_reads(ex)  # pyright: ignore[reportArgumentType]
    assert ex.taken == {"quiet": 0, "markers": 3}  # (was markers: 1)


# --- 4. an OpenSignals header without channel columns ------------------------------------------------------------
def test_an_opensignals_export_without_channel_columns_is_said_so(tmp_path):
    """Before: the hint showed numpy.loadtxt(PATH, usecols=()).T, which loads nothing. Now it says the file holds
    no channel columns."""
    device = {"sampling rate": 1000, "column": ["nSeq", "DI"], "label": []}
    path = tmp_path / "rec.txt"
    path.write_text(
        "# OpenSignals Text File Format\n# " + json.dumps({"00:07:80:79:6F:DB": device}) + "\n# EndOfHeader\n0\t0\n"
    )
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert "usecols=()" not in e.value.hint
    assert "no channel columns" in e.value.hint


# --- 5. an SSVEP window whose scores are NaN gets no decision ----------------------------------------------------
def _ssvep(fs=250.0, n_s=3.0):
    t = np.arange(int(fs * n_s)) / fs
    x = np.sin(2 * np.pi * 10 * t) * 1e-5 + np.random.default_rng(0).standard_normal((3, len(t))) * 1e-6
    return x, StreamSpec("signal", fs, (3,), "float64", ("O1", "Oz", "O2"), ("eeg",) * 3, "V")


def _nan_for_some(score):
    """A scorer (a DNN whose weights went NaN, on some windows) that gives NaN for every other window."""

    def scored(frames):
        s = np.asarray(score(frames), dtype=np.float64)
        s[::2] = np.nan
        return s

    return scored


def test_an_ssvep_window_scored_nan_gets_no_decision_and_is_counted():
    """Before: argmax of NaN scores decided code 1 (the first frequency) from nothing. Now such a window gets no
    decision and is counted undecided_nonfinite, as a window holding a NaN."""
    from wavegraph.nodes.models.ssvep import SSVEPDecoder

    x, spec = _ssvep()
    dec = SSVEPDecoder(freqs=[8.0, 10.0, 12.0], window=1.0, step=0.5)
    dec.configure({"in": spec})
    dec._score = _nan_for_some(dec._score)
    out = dec.process({"in": Chunk(x, 0.0)})
    n = len(out["scores"].data)
    nan_rows = np.flatnonzero(np.isnan(out["scores"].data).any(axis=1))
    assert nan_rows.tolist() == list(range(0, n, 2))
    assert len(out["out"].data) == n - len(nan_rows)  # (was n: code 1 for each NaN window)
    np.testing.assert_allclose(out["out"].data[:, 0], 0.5 * np.arange(1, n, 2))
    assert dec.counters["undecided_nonfinite"] == len(nan_rows)


def test_an_ssvep_trial_scored_nan_gets_no_decision_and_is_counted():
    from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder

    x, spec = _ssvep()
    dec = SSVEPTrialDecoder(freqs=[8.0, 10.0, 12.0], window=1.0)
    dec.configure({"in": spec, "events": StreamSpec("events", 0.0, (3,), "float64")})
    dec._score = _nan_for_some(dec._score)  # one trial a call: each is scored NaN
    markers = Chunk(np.array([[0.5, 0.0, 1.0], [1.5, 0.0, 1.0]]), 0.5)
    out = dec.process({"in": Chunk(x, 0.0), "events": markers})
    assert "out" not in out or len(out["out"].data) == 0  # (was two decisions of code 1)
    assert dec.counters["undecided_nonfinite"] == 2


# --- 2. a Unicode line break inside quotes: the value PyYAML gives ------------------------------------------------
GRAPH2 = """\
name: NAME
nodes:
  - {id: src, type: sine, params: {freq: 10.0, rate: 250.0, duration: 0.2}}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: sink.in}
"""


@pytest.mark.parametrize(
    "quoted",
    [
        '"a\x85b"',  # PyYAML: 'a b' (NEL is a line break, folded to a space); was 'a\x85b'
        "'a  \x85  b'",  # 'a b': the spaces around a break go with it
        '"a\x85\x85b"',  # 'a\nb': two breaks are a newline
        '"a\u2028  b"',  # 'a\u2028b': U+2028 is kept, the spaces after it are not
        '"a\x85\n   b"',  # over two lines: 'a\nb'
    ],
)
def test_a_line_break_inside_quotes_reads_as_plain_yaml_reads_it(tmp_path, quoted):
    """Before: a U+0085 (NEL) inside a quoted value was kept in it, where yaml.safe_load of the same file folds it to a
    space (and drops the spaces around a U+2028). Now wavegraph's value is PyYAML's, and lines keep their numbers."""
    import yaml
    from wavegraph.pipeline.config import GraphError, load_config

    text = GRAPH2.replace("NAME", quoted)
    (tmp_path / "g.yaml").write_text(text, encoding="utf-8", newline="\n")
    assert load_config(tmp_path / "g.yaml").name == yaml.safe_load(text)["name"]
    (tmp_path / "g.yaml").write_text(text.replace("null_sink}", "null_sink"), encoding="utf-8", newline="\n")
    with pytest.raises(GraphError) as e:  # an unclosed { on the editor's line 4 (+1 for the real newline in NAME)
        load_config(tmp_path / "g.yaml")
    assert f"g.yaml:{4 + quoted.count(chr(10))}: invalid YAML" in str(e.value)


# --- 3. a filter chain that passes nothing is said, and its edges written as MNE reads them -----------------------
CROSSED = """\
nodes:
  - {id: src, type: sine, params: {freq: 10.0, rate: 250.0, duration: 0.2}}
  - {id: first, type: FIRST}
  - {id: second, type: SECOND}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: first.in}
  - {source: first.out, target: second.in}
  - {source: second.out, target: sink.in}
"""


@pytest.mark.parametrize(
    ("first", "second", "said"),
    [
        ("'lowpass', params: {freq: 10.0}", "'highpass', params: {freq: 30.0}", "highpass of 30 Hz (from 'second')"),
        ("'highpass', params: {freq: 40.0}", "'resample', params: {rate: 50.0}", "lowpass of 25 Hz (from 'second'"),
        ("'lowpass', params: {freq: 30.0}", "'highpass', params: {freq: 10.0}", None),  # a band: nothing said
    ],
)
def test_a_filter_chain_that_passes_nothing_is_said_naming_both_nodes(tmp_path, caplog, first, second, said):
    """Before: highpass 30 Hz after lowpass 10 Hz (or a highpass 40 Hz before a downsample to 50 Hz) validated and ran
    without a word, and recorders wrote highpass 30 > lowpass 10 (MNE warns reading it and resets the edges). Now
    validate and the run say it, naming both nodes, and the edges written are MNE's reset: 0 Hz and the lowpass."""
    import logging

    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.passband_notes import crossed_filter_notes
    from wavegraph.pipeline.runner import run_graph

    text = CROSSED.replace("type: FIRST}", f"type: {first}}}").replace("type: SECOND}", f"type: {second}}}")
    (tmp_path / "g.yaml").write_text(text)
    graph = build_graph(load_config(tmp_path / "g.yaml"))
    notes = crossed_filter_notes(graph)
    hp, lp = graph.specs["second.out"].passband()
    if said is None:
        assert notes == [] and (hp, lp) == (10.0, 30.0)
        return
    assert len(notes) == 1 and "passes nothing" in notes[0] and said in notes[0], notes
    assert "'first'" in notes[0] and "'second'" in notes[0]
    assert (hp, lp) == (0.0, 10.0 if "lowpass" in first else 25.0)  # (was 30 > 10, 40 > 25)
    with caplog.at_level(logging.WARNING, logger="wavegraph.runner"):
        assert run_graph(graph, in_process=True).exit_code == 0
    assert [r.getMessage() for r in caplog.records if "passes nothing" in r.getMessage()] == notes
