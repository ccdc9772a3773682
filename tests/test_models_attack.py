"""The model nodes tried as a user would, with hostile inputs: checkpoints whose JSON is hand-edited, corrupt or
from another tool, parameters of the wrong type or size, odd input streams. Each gets a clear error naming what
is wrong and the fix, never a raw torch/scipy traceback or a silently wrong output."""

import json
import shutil

import pytest
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.mamba import MambaConfig, MambaStack
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, StreamSpec

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SPEC = StreamSpec("features", 100.0, (6,), "float32")


@pytest.fixture
def mamba_ckpt(tmp_path):
    path = tmp_path / "m.safetensors"
    ckpt.save(MambaStack(MambaConfig(d_model=8, n_layers=1, d_in=6)), path)
    return path


def edited(path, tmp_path, name, **config):
    """A copy of checkpoint `path` whose JSON config has `config` changed (as a user editing it by hand)."""
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["config"].update(config)
    out = tmp_path / f"{name}.safetensors"
    shutil.copy(path, out)
    out.with_suffix(".json").write_text(json.dumps(meta))
    return out


@pytest.mark.parametrize(
    "change, said",
    [
        ({"d_model": "8"}, "MambaConfig.d_model must be a whole number, got '8' (str)"),
        ({"d_model": 8.5}, "MambaConfig.d_model must be a whole number, got 8.5"),
        ({"d_model": None}, "MambaConfig.d_model must be a whole number, got None"),
        ({"dt_min": "0.001"}, "MambaConfig.dt_min must be a number, got '0.001' (str)"),
        ({"n_layers": True}, "MambaConfig.n_layers must be a whole number, got True"),
    ],
)
def test_checkpoint_config_of_the_wrong_type_is_named(mamba_ckpt, tmp_path, change, said):
    """A JSON config holding "8" or 8.5 for d_model failed inside torch ("empty(): argument 'size' must be tuple of
    ints") with no word of the file or the field."""
    path = edited(mamba_ckpt, tmp_path, "typed", **change)
    for node in (lookup("mamba")(checkpoint=str(path)), lookup("model")(checkpoint=str(path))):
        with pytest.raises(SpecError) as e:
            node.configure({"in": SPEC})
        assert said in str(e.value) and str(path.with_suffix(".json")) in str(e.value), str(e.value)


def test_a_whole_float_in_a_config_still_loads(mamba_ckpt, tmp_path):
    path = edited(mamba_ckpt, tmp_path, "whole", d_model=8.0, n_layers=1.0)
    assert lookup("mamba")(checkpoint=str(path)).configure({"in": SPEC})["out"].shape == (8,)


@pytest.mark.parametrize(
    "config, said",
    [
        ({"d_model": "16"}, "MambaConfig.d_model must be a whole number, got '16' (str)"),
        ({"d_model": 16.5}, "MambaConfig.d_model must be a whole number, got 16.5"),
    ],
)
def test_inline_config_of_the_wrong_type_is_named(config, said):
    """`type: model` with `config: {d_model: "16"}` (a quoted YAML value) failed inside torch."""
    node = lookup("model")(random_init=True, kind="mamba", config=config, device="cpu")
    with pytest.raises(SpecError, match="fix the inline model dims") as e:
        node.configure({"in": SPEC})
    assert said in str(e.value)


def test_conformer_contexts_not_a_list():
    node = lookup("model")(random_init=True, kind="conformer", config={"att_context_sizes": "x"}, device="cpu")
    with pytest.raises(SpecError, match=r"ConformerConfig.att_context_sizes must be a list, got 'x'"):
        node.configure({"in": SPEC})


def test_config_json_not_utf8(mamba_ckpt):
    """A config saved in another encoding raised UnicodeDecodeError out of configure()."""
    mamba_ckpt.with_suffix(".json").write_bytes(b"\xff\xfe{\x00}\x00")
    with pytest.raises(SpecError, match=r"m\.json is not valid JSON: 'utf-8' codec can't decode"):
        lookup("mamba")(checkpoint=str(mamba_ckpt)).configure({"in": SPEC})


def test_a_model_too_big_for_memory_is_named(mamba_ckpt, tmp_path):
    """d_model: 10000000 (a typo) raised torch's "DefaultCPUAllocator: can't allocate memory" RuntimeError."""
    path = edited(mamba_ckpt, tmp_path, "huge", d_model=10**7, d_in=0)  # no input projection: the first layer fails
    with pytest.raises(SpecError, match="a mamba model of this config does not fit in memory") as e:
        lookup("mamba")(checkpoint=str(path)).configure({"in": SPEC})
    assert "make it smaller" in str(e.value) and "huge.json" in str(e.value)
