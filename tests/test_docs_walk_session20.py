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


def test_a_saved_checkpoint_is_as_readable_as_its_json(tmp_path):
    """docs/multihost.md: keep a model's weights at the same path on the machine that runs it ("a shared folder, or a
    copy"); docs/models.md: `models.checkpoint.save` writes the weights and their JSON. safetensors wrote the
    weights file with mode 0600 whatever the umask (its JSON 0644): `wavegraph train ssvep --out subject01.safetensors`
    gave a checkpoint that no other account (a Ray worker's, the stimulus PC's) could read."""
    import os
    import stat

    from wavegraph.models import checkpoint
    from wavegraph.models.mamba import MambaConfig, MambaStack

    old = os.umask(0o022)
    try:
        cpath = checkpoint.save(MambaStack(MambaConfig(d_model=8, n_layers=1)), tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    weights = stat.S_IMODE(os.stat(tmp_path / "m.safetensors").st_mode)
    assert weights == stat.S_IMODE(os.stat(cpath).st_mode) == 0o644
    checkpoint.load(tmp_path / "m.safetensors")
