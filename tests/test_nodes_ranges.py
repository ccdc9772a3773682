"""`wavegraph nodes TYPE` showed a parameter's type and default but not the range the code enforces (bandpass order
1..20, audio_output prefill at most 10 s): a user learnt it only from the error of a wrong value."""

from wavegraph.pipeline.cli import main


def test_nodes_type_shows_the_range_each_parameter_takes(capsys):
    assert main(["nodes", "bandpass"]) == 0
    out = capsys.readouterr().out
    assert "order: int (default 4; >= 1, <= 20)" in out
    assert "init: 'zero'|'steady' (default 'zero') —" in out  # no range: nothing added
    assert main(["nodes", "audio_output"]) == 0
    assert "prefill: float (default 0.05; >= 0, <= 10.0)" in capsys.readouterr().out
