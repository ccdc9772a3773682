"""What the docs say a user can type does what they say (README.md, docs/*.md), for the cases a docs read-through
found broken; tests/test_docs_example.py covers the worked node example of docs/architecture.md."""

import textwrap

from wavegraph.pipeline.cli import bids_overrides
from wavegraph.pipeline.config import load_config


def test_bids_takes_a_path_typed_with_colon_space(tmp_path):
    """docs/yaml.md: a text parameter takes `--set "src.path=Interview: part 1.wav"` as typed, and `--bids ROOT` is
    an override for every recorder writing .edf/.bdf. With both, --bids read the YAML mapping {'Interview': 'part
    1.edf'} and refused the graph: 'no recorder writes EDF or BDF'."""
    (tmp_path / "g.yaml").write_text(
        textwrap.dedent("""\
        name: demo
        nodes:
          - {id: src, type: sine, params: {rate: 100.0, duration: 1.0}}
          - {id: rec, type: recorder, params: {path: x_raw.fif}}
        edges:
          - {source: src.out, target: rec.in}
        """)
    )
    config = load_config(tmp_path / "g.yaml", ["rec.path=Interview: part 1.edf"])
    sets = bids_overrides(config, str(tmp_path / "bids"))
    assert sets == [f'rec.bids_root="{tmp_path / "bids"}"', 'rec.task="demo"']
