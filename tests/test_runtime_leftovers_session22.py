"""Leftovers of the runtime (session 22), each as a user meets it: a model checkpoint saved in float64 (or float16,
bfloat16) that checkpoint.load gave back as float32."""

import pytest


@pytest.fixture
def gla(one_torch_thread):
    """A fresh tiny GLA stack (float32): torch is imported here, not by the module (worker processes import it)."""
    import torch
    from wavegraph.models.gla import GLAConfig, GLAStack

    torch.manual_seed(0)
    return GLAStack(GLAConfig(d_model=16, n_layers=2, d_in=8, n_heads=2, gate_low_rank=4)).eval()


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_a_checkpoint_saved_in_another_dtype_loads_in_that_dtype(tmp_path, gla, dtype):
    """checkpoint.load built the model in float32 and copied the weights into it: a model saved in float64 came back
    float32 (its values rounded), one saved in float16 or bfloat16 came back twice the size, without a word. The
    weights now come back in the dtype they were saved in, value for value."""
    import torch
    from wavegraph.models import checkpoint

    model = gla.to(getattr(torch, dtype))
    checkpoint.save(model, tmp_path / "m.safetensors")
    loaded = checkpoint.load(tmp_path / "m.safetensors")
    want, got = model.state_dict(), loaded.state_dict()
    assert {k: v.dtype for k, v in got.items()} == {k: v.dtype for k, v in want.items()}
    assert all(torch.equal(got[k], want[k]) for k in want)
    if dtype == "float64":  # the same model: the same output, to the bit
        x = torch.randn(1, 12, 8, dtype=torch.float64)
        with torch.no_grad():
            assert torch.equal(loaded(x), model(x))


def test_a_checkpoint_of_mixed_dtypes_keeps_each_tensors_dtype(tmp_path, gla):
    """A half model whose first weight was kept in float32 (as a norm may be) is saved with both dtypes: each comes
    back in its own."""
    import torch
    from wavegraph.models import checkpoint

    model = gla.half()
    first = next(iter(model.parameters()))
    first.data = first.data.float()
    checkpoint.save(model, tmp_path / "m.safetensors")
    got = checkpoint.load(tmp_path / "m.safetensors").state_dict()
    want = model.state_dict()
    assert {k: v.dtype for k, v in got.items()} == {k: v.dtype for k, v in want.items()}
    assert {v.dtype for v in got.values() if v.is_floating_point()} == {torch.float16, torch.float32}
    assert all(torch.equal(got[k], want[k]) for k in want)


def test_load_takes_an_explicit_dtype(tmp_path, gla):
    """load(path, dtype=torch.float32) casts a float64 checkpoint; a dtype that is not a floating torch dtype is said
    so, with what to give."""
    import torch
    from wavegraph.models import checkpoint

    model = gla.double()
    checkpoint.save(model, tmp_path / "m.safetensors")
    got = checkpoint.load(tmp_path / "m.safetensors", dtype=torch.float32).state_dict()
    assert {v.dtype for v in got.values() if v.is_floating_point()} == {torch.float32}
    assert all(torch.equal(got[k], v.float()) for k, v in model.state_dict().items())
    for bad in ("float32", torch.int64):
        with pytest.raises(checkpoint.CheckpointError) as e:
            checkpoint.load(tmp_path / "m.safetensors", dtype=bad)
        assert str(e.value) == (
            f"dtype must be a floating torch dtype (torch.float32, ...) or None (as saved), got {bad!r}"
        )
