"""What the docs say a user can type does what they say (README.md, docs/*.md), for the cases a docs read-through
found broken; tests/test_docs_example.py covers the worked node example of docs/architecture.md."""

import re
import textwrap

import pytest
from conftest import ROOT
from wavegraph.pipeline.cli import bids_overrides
from wavegraph.pipeline.cli import main as cli
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


def _documented_options() -> dict[tuple[str, ...], set[str]]:
    """Every `wavegraph CMD [NAME] ... --option` typed in README.md and docs/*.md (continuation lines joined; an
    option counts up to the end of its command: a backtick, |, ;, #, &&, ' (' or the next command)."""
    found: dict[tuple[str, ...], set[str]] = {}
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"\\\n\s*", " ", doc.read_text())
        for m in re.finditer(r"wavegraph (bench [a-z-]+|train [a-z-]+|[a-z]+)\b([^\n]*)", text):
            cmd = tuple(m.group(1).split())
            if cmd[0] not in (
                "run",
                "describe",
                "validate",
                "batch",
                "plot",
                "recover",
                "keys",
                "bench",
                "train",
                "devices",
            ):
                continue
            rest = re.split(r"`|\||;|#|&&| \(|wavegraph ", m.group(2))[0]
            found.setdefault(cmd, set()).update(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", rest))
    return {cmd: opts for cmd, opts in found.items() if opts}


def test_every_option_the_docs_type_is_one_the_command_takes(capsys):
    """Option names in the docs' command lines (README, docs/*.md, benchmarks' and speech's included) are those the
    commands' parsers define: a renamed option leaves no doc line behind that argparse would refuse."""
    documented = _documented_options()
    assert ("run",) in documented and ("train", "enhancer") in documented, sorted(documented)
    wrong = {}
    for cmd, opts in documented.items():
        with pytest.raises(SystemExit):
            cli([*cmd, "--help"])
        helptext = capsys.readouterr().out
        assert "usage:" in helptext, cmd
        wrong.update({" ".join(cmd): sorted(o for o in opts if not re.search(rf"(?<![\w-]){o}(?![\w-])", helptext))})
    assert not any(wrong.values()), {k: v for k, v in wrong.items() if v}
