"""One model saved twice gives the same file: safetensors wrote its metadata's keys in its hash map's order, which
changes from one save to the next, so a seeded training run repeated (session 22's rebuild of stage 23b) gave a file
whose sha256 differed from the one recorded, with every tensor the same."""

import hashlib

import pytest


@pytest.fixture
def gla(one_torch_thread):
    import torch
    from wavegraph.models.gla import GLAConfig, GLAStack

    torch.manual_seed(0)
    return GLAStack(GLAConfig(d_model=16, n_layers=1, d_in=8, n_heads=2, gate_low_rank=4)).eval()


def test_one_model_saved_eight_times_gives_eight_identical_files(tmp_path, gla):
    from wavegraph.models import checkpoint

    digests = set()
    for i in range(8):
        path = tmp_path / f"m{i}.safetensors"
        checkpoint.save(gla, path)
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 1
    back = checkpoint.load(tmp_path / "m0.safetensors")  # still a file that loads, value for value
    for (name, a), (_, b) in zip(gla.state_dict().items(), back.state_dict().items(), strict=True):
        assert a.equal(b), name


def test_the_header_is_reordered_not_changed():
    """same_bytes sorts the metadata and keeps the header's length, the tensors' bytes and what safetensors reads."""
    import torch
    from safetensors.torch import load, save
    from wavegraph.models.checkpoint import same_bytes

    tensors = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.ones(2, dtype=torch.float64)}
    blob = save(tensors, metadata={"kind": "gla", "format": "wavegraph-model", "note": "é"})
    out = same_bytes(blob)
    assert len(out) == len(blob) and out[-60:] == blob[-60:]
    n = int.from_bytes(out[:8], "little")
    assert out[8 : 8 + n].index(b'"format"') < out[8 : 8 + n].index(b'"kind"') < out[8 : 8 + n].index(b'"note"')
    got = load(out)
    assert got.keys() == tensors.keys() and all(got[k].equal(tensors[k]) for k in tensors)
