"""Leftovers of a docs walk (session 24): a sliding_window's `size: 1.0` (seconds where samples go) answered with an
example at 250 Hz beside a 160 Hz input; the recorder's EDF/BDF channel a user named 'EDF Annotations'; --duration on
a live stream. Each test failed before its fix."""

from __future__ import annotations

from peer_hints import validate  # pyright: ignore[reportMissingImports]
from wavegraph.pipeline.cli import main

GRAPH_160 = """\
nodes:
  - {{id: src, type: sine, params: {{rate: 160, duration: 0.2}}}}
  - {{id: win, type: sliding_window, params: {params}}}
  - {{id: sink, type: null_sink}}
edges:
  - {{source: src.out, target: win.in}}
  - {{source: win.out, target: sink.in}}
"""


def test_a_window_in_seconds_is_worked_out_at_the_inputs_own_rate(tmp_path, monkeypatch, capsys):
    """`size: 1.0` (ezmsg's, Timeflux's seconds) on a 160 Hz stream: the fix said 'e.g. size: 250 at 250 Hz', though the
    input's rate was known when the graph was checked. It gives the count at 160 Hz now; a peer's name in seconds
    (ezmsg's window_dur) too."""
    code, _, err = validate(tmp_path, monkeypatch, capsys, GRAPH_160.format(params="{size: 1.0, hop: 16}"))
    assert code == 2 and len(err) == 1, err
    assert err[0].endswith("fix: for 1 s write size: 160 (1 s x the input's 160 Hz); for 1 sample, size: 1"), err
    code, _, err = validate(tmp_path, monkeypatch, capsys, GRAPH_160.format(params="{window_dur: 0.5, hop: 16}"))
    assert code == 2 and len(err) == 1, err
    assert err[0].endswith("write size: 80 (0.5 s x the input's 160 Hz)"), err
    # given by --set: the --set to type, with the count (its words apart from it: was 'size=80(0.5 s')
    code = main(["validate", "g.yaml", "--set", "win.window_dur=0.5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[0].endswith("give --set win.size=80 (0.5 s x the input's 160 Hz)"), err
