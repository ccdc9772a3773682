"""Checkpoints: safetensors weights + JSON config; the model is rebuilt from the config alone."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.conformer import ConformerConfig, ConformerEncoder
from wavegraph.models.gla import GLAConfig, GLAStack
from wavegraph.models.mamba import MambaConfig, MambaStack

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def conformer(seed=0, d_model=32):
    torch.manual_seed(seed)
    return ConformerEncoder(
        ConformerConfig(
            d_in=8, d_model=d_model, n_layers=2, n_heads=4, conv_kernel=3, att_context_sizes=[[4, 1], [0, 0]]
        )
    ).eval()


def mamba(seed=0):
    torch.manual_seed(seed)
    return MambaStack(MambaConfig(d_model=16, n_layers=2, d_in=8, d_state=4)).eval()


def gla(seed=0):
    torch.manual_seed(seed)
    return GLAStack(GLAConfig(d_model=16, n_layers=2, d_in=8, n_heads=2, gate_low_rank=4)).eval()


@pytest.mark.parametrize("make", [conformer, mamba, gla])
def test_roundtrip_rebuilds_from_config_alone(tmp_path, make):
    model = make()
    path = tmp_path / "m.safetensors"
    cpath = ckpt.save(model, path)
    assert cpath == tmp_path / "m.json"
    meta = json.loads(cpath.read_text())
    assert meta["kind"] in ckpt.KINDS and meta["config"] == model.cfg.to_dict()
    loaded = ckpt.load(path)
    assert type(loaded) is type(model) and not loaded.training
    x = torch.randn(1, 24, 8)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
        other = make(seed=1)
        assert not torch.equal(other(x), model(x))  # a fresh model differs: the weights really loaded
    with open(path, "rb") as f:  # safetensors, not pickle: an 8-byte little-endian header length then JSON
        n = int.from_bytes(f.read(8), "little")
        assert json.loads(f.read(n))["__metadata__"]["format"] == "wavegraph-model"


def test_shape_mismatch_names_the_tensor(tmp_path):
    path = tmp_path / "enc.safetensors"
    ckpt.save(conformer(), path)
    tensors = load_file(str(path))
    tensors["layers.1.qkv.weight"] = torch.zeros(3, 3)
    save_file(tensors, str(path))
    with pytest.raises(ckpt.CheckpointError, match=r"'layers\.1\.qkv\.weight' has shape \(3, 3\).*expects \(96, 32\)"):
        ckpt.load(path)
    # a config that no longer matches the weights
    ckpt.save(conformer(), path)
    meta = json.loads((tmp_path / "enc.json").read_text())
    meta["config"]["d_model"] = 64
    (tmp_path / "enc.json").write_text(json.dumps(meta))
    with pytest.raises(ckpt.CheckpointError, match="subsampling.convs.0.weight"):
        ckpt.load(path)


def test_missing_and_extra_tensors_and_bad_configs(tmp_path):
    path = tmp_path / "s.safetensors"
    ckpt.save(mamba(), path)
    tensors = load_file(str(path))
    del tensors["layers.0.A_log"]
    save_file(tensors, str(path))
    with pytest.raises(ckpt.CheckpointError, match="lacks tensor 'layers.0.A_log'"):
        ckpt.load(path)
    tensors["layers.0.A_log"] = torch.zeros(32, 4)
    tensors["junk"] = torch.zeros(1)
    save_file(tensors, str(path))
    with pytest.raises(ckpt.CheckpointError, match="has tensor 'junk'"):
        ckpt.load(path)
    meta = json.loads((tmp_path / "s.json").read_text())
    meta["config"]["d_hidden"] = 3
    (tmp_path / "s.json").write_text(json.dumps(meta))
    with pytest.raises(ckpt.CheckpointError, match="unknown MambaConfig keys \\['d_hidden'\\]"):
        ckpt.load(path)
    with pytest.raises(ckpt.CheckpointError, match="no model config"):
        ckpt.load(tmp_path / "absent.safetensors")
    with pytest.raises(ckpt.CheckpointError, match="unknown model kind 'lstm'"):
        ckpt.build("lstm", {})
    with pytest.raises(ckpt.CheckpointError, match="pass the weights file"):
        ckpt.load(tmp_path / "s.json")
    with pytest.raises(ckpt.CheckpointError, match="cannot checkpoint a Linear; known models: .*GLAStack"):
        ckpt.save(torch.nn.Linear(2, 2), tmp_path / "lin.safetensors")
