"""What a new user meets walking README.md and docs/*.md literally: the messages and behaviour the docs promise."""

import textwrap

import pytest
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph


def test_bids_without_subject_names_the_recorders_own_id_in_the_fix(tmp_path):
    """docs/nodes.md (recorder, BIDS): `subject` has no default, and "the error says `--set 'rec.subject="01"'`".
    It said `--set 'NODE.subject="01"'`, a placeholder a user typing it as printed got refused (no node 'NODE');
    the fix now names the recorder's id, so the line can be typed as it stands."""
    (tmp_path / "g.yaml").write_text(
        textwrap.dedent(f"""\
        name: demo
        nodes:
          - {{id: src, type: sine, params: {{rate: 100.0, duration: 1.0}}}}
          - {{id: take2, type: recorder, params: {{path: {tmp_path / "s.bdf"}, bids_root: {tmp_path / "bids"}, task: rest}}}}
        edges:
          - {{source: src.out, target: take2.in}}
        """)
    )
    with pytest.raises(GraphError) as e:
        build_graph(load_config(tmp_path / "g.yaml"))
    assert "needs a subject" in str(e.value)
    assert "--set 'take2.subject=\"01\"'" in str(e.value)
    build_graph(load_config(tmp_path / "g.yaml", ['take2.subject="01"']))  # that fix, typed, is taken


def test_recover_of_a_path_with_nothing_there_says_the_fix(tmp_path, capsys):
    """README: `wavegraph recover out/default_raw.fif` finishes a recording whose process was killed. Given a path
    where neither the recording nor its .spill is (a typo, another folder), it said only 'error: PATH:
    FileNotFoundError: no spill file PATH.spill: nothing to recover': what is missing, not what to give instead."""
    from wavegraph.nodes.io.recover import recover_main

    assert recover_main([str(tmp_path / "sesion01_raw.fif")]) == 1
    err = capsys.readouterr().err
    assert "nothing to recover" in err and "sesion01_raw.fif" in err
    assert "fix: give the path the recorder wrote" in err


def test_ssvep_decoder_missing_channels_fix_names_the_decoders_own_id(tmp_path):
    """docs/bci.md: `wavegraph describe configs/bci_ssvep.yaml --set 'eeg.channels=[O1, Oz, ...]'` on another montage
    is refused with a fix to type; it read `--set 'NODE.channels=[...]'`, a placeholder a shell refuses as typed
    (no node 'NODE'). It names the decoder's id now, as the recorder's BIDS fix does."""
    (tmp_path / "g.yaml").write_text(
        textwrap.dedent("""\
        nodes:
          - {id: src, type: sine, params: {rate: 250.0, channels: [O1, Oz, O2], duration: 1.0}}
          - {id: dec, type: ssvep_decoder, params: {freqs: [8.0, 10.0], channels: [PO3, POz]}}
          - {id: sink, type: null_sink}
        edges:
          - {source: src.out, target: dec.in}
          - {source: dec.out, target: sink.in}
        """)
    )
    with pytest.raises(GraphError) as e:
        build_graph(load_config(tmp_path / "g.yaml"))
    assert "--set 'dec.channels=[" in str(e.value)
    build_graph(load_config(tmp_path / "g.yaml", ["dec.channels=[O1, Oz, O2]"]))  # that fix, typed, is taken
