"""Review of the session's changes: defects found in them, each with the test that fails before its fix."""

import errno

import numpy as np
import pytest
import torch


def test_a_checkpoint_saves_where_the_folder_takes_no_chmod(tmp_path, monkeypatch):
    """dd3c441 gave the weights file the JSON's mode with os.chmod; on a folder whose file system takes no chmod (a
    FAT/exFAT stick, an SMB share: 'Operation not permitted') that made every save fail, where it saved before."""
    from wavegraph.models import checkpoint
    from wavegraph.models.mamba import MambaConfig, MambaStack

    def refused(path, mode, *a, **k):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(path))

    model = MambaStack(MambaConfig(d_in=3, d_model=8, n_layers=1)).eval()
    monkeypatch.setattr(checkpoint.os, "chmod", refused)
    path = checkpoint.save(model, tmp_path / "m.safetensors")
    assert path.exists() and (tmp_path / "m.safetensors").exists()
    loaded = checkpoint.load(tmp_path / "m.safetensors")
    x = torch.randn(1, 5, 3)
    torch.testing.assert_close(loaded(x), model(x))


@pytest.mark.parametrize("nested", [np.array([[2], [1]]), torch.tensor([[2], [1]])])
def test_a_nested_att_context_array_is_refused_as_a_nested_list_is(nested):
    """9d520a9 says nested pairs stay refused: [[2], [1]] is, but the same as a numpy array or a tensor was taken as
    (2, 1) (.item() of each one-element row)."""
    from wavegraph.models.conformer import check_att_context

    with pytest.raises(ValueError, match="pair"):
        check_att_context([[2], [1]])
    with pytest.raises(ValueError, match="pair"):
        check_att_context(nested)
    assert check_att_context(np.array([2, 1])) == (2, 1)
    assert check_att_context(torch.tensor([2, 1])) == (2, 1)
