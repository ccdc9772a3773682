"""`wavegraph plot` of a file it cannot read speaks as plot, not as the file_source node whose readers it shares."""

from wavegraph.nodes.io.plot import main


def test_plot_of_an_unreadable_file_does_not_name_file_source_as_the_speaker(tmp_path, capsys):
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"garbage data here")
    assert main([str(bad)]) == 2
    said = capsys.readouterr().err
    assert said.startswith(f"error: cannot plot {bad}: cannot read {bad}: its first bytes are not those of EDF")
    assert "fix:" in said
