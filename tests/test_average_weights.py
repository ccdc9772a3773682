"""models/average_weights: the uniform average of checkpoints of one config (a model soup), as a loadable model."""

import torch
from wavegraph.models import checkpoint
from wavegraph.models.average_weights import main
from wavegraph.models.enhancer import Enhancer, EnhancerConfig


def _saved(tmp_path, name, seed, **cfg):
    torch.manual_seed(seed)
    model = Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1, **cfg))
    path = tmp_path / f"{name}.safetensors"
    checkpoint.save(model, path)
    return model, path


def test_the_average_is_the_mean_of_every_tensor_and_loads_as_that_model(tmp_path, capsys):
    a, pa = _saved(tmp_path, "a", 1)
    b, pb = _saved(tmp_path, "b", 2)
    out = tmp_path / "soup" / "ab.safetensors"
    assert main([str(pa), str(pb), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    soup = checkpoint.load(out)
    assert isinstance(soup, Enhancer)
    assert soup.cfg == a.cfg
    sa, sb = a.state_dict(), b.state_dict()
    for name, t in soup.state_dict().items():
        assert t.dtype == sa[name].dtype
        torch.testing.assert_close(t, (sa[name] + sb[name]) / 2, rtol=0, atol=1e-7)
    speech, _ = soup.enhance(torch.randn(1, 1600))
    assert speech.shape[-1] == 1600 and torch.isfinite(speech).all()


def test_checkpoints_of_other_configs_or_files_are_refused_naming_what_differs(tmp_path, capsys):
    _, pa = _saved(tmp_path, "a", 1)
    _, pwide = _saved(tmp_path, "wide", 1, gate_blocks=8)
    out = tmp_path / "x.safetensors"
    assert main([str(pa), str(pwide), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "gate_blocks" in err and "wide.safetensors" in err and not out.exists()

    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    junk.with_suffix(".json").write_text(pa.with_suffix(".json").read_text())
    assert main([str(pa), str(junk), "--out", str(out)]) == 2
    assert "junk.safetensors: not a safetensors file" in capsys.readouterr().err and not out.exists()

    assert main([str(pa), "--out", str(out)]) == 2
    assert "at least two" in capsys.readouterr().err
