"""Session 20's walk of README.md and docs/*.md as a new user: what the docs promise, held to it."""

import textwrap

import pytest
from wavegraph.pipeline.config import GraphError, load_config


def test_a_variable_inside_a_flow_mapping_gets_the_set_fix(tmp_path):
    """docs/yaml.md: "`${VAR}` in a value is not expanded: it is a problem with its line, whose fix is the `--set` to
    type in the shell". In the flow style the docs and configs/ use (`params: {path: ${DATA}/rec.edf}`) YAML reads
    the `{` of `${DATA}` as a mapping and fails first: the error said only 'check this line's quotes and commas'."""
    (tmp_path / "g.yaml").write_text(
        textwrap.dedent("""\
        nodes:
          - {id: src, type: file_source, params: {path: ${DATA}/rec.edf, chunk_size: 16}}
          - {id: sink, type: null_sink}
        edges:
          - {source: src.out, target: sink.in}
        """)
    )
    with pytest.raises(GraphError) as e:
        load_config(tmp_path / "g.yaml")
    said = str(e.value)
    assert "g.yaml:2:" in said
    assert "does not expand" in said and "${DATA}" in said
    assert '--set "src.path=${DATA}/rec.edf"' in said
