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


def test_a_variable_in_a_flow_mapping_under_a_block_node_names_the_node(tmp_path):
    """a67e1a6's fix for `params: {path: ${DATA}/rec.edf}` named the node only when its `id:` stood on the same line;
    in the block style configs/ use (`- id: src` then `params: {...}` below it) it gave `--set "NODE.path=..."`."""
    from wavegraph.pipeline.config import GraphError, load_config

    (tmp_path / "g.yaml").write_text(
        "nodes:\n"
        "  - id: src\n"
        "    type: file_source\n"
        "    params: {path: ${DATA}/rec.edf, chunk_size: 16}\n"
        "  - id: sink\n"
        "    type: null_sink\n"
        "edges:\n"
        "  - {source: src.out, target: sink.in}\n"
    )
    with pytest.raises(GraphError) as e:
        load_config(tmp_path / "g.yaml")
    said = str(e.value)
    assert "g.yaml:4:" in said and "node 'src': parameter 'path' holds ${DATA}" in said
    assert '--set "src.path=${DATA}/rec.edf"' in said and "NODE" not in said


def test_a_state_of_fewer_layers_says_to_start_from_init_state():
    """fcb9a99's state check gives each wrong state the fix (start the stream with this model's init_state) but the
    one of fewer layers (a key missing), which said only "not a MambaStack state of 2 layers: no '...'"."""
    from wavegraph.models.mamba import MambaConfig, MambaStack

    one = MambaStack(MambaConfig(d_in=3, d_model=8, n_layers=1)).eval()
    two = MambaStack(MambaConfig(d_in=3, d_model=8, n_layers=2)).eval()
    with pytest.raises(ValueError, match=r"state of 2 layers: no '.*'; start the stream with this model's init_state"):
        two.stream(torch.randn(1, 4, 3), one.init_state(1))


@pytest.mark.parametrize("subtype", ["OPUS", "VORBIS"])
def test_an_ogg_file_cut_inside_its_last_page_is_said(tmp_path, caplog, subtype):
    """1a7b856 said an Ogg file cut short by its last page lacking the end-of-stream flag; one cut inside that last
    page (the flag is in the page's header, before the cut) lost the page's samples unsaid: libsndfile reads up to
    the last whole page. A page that runs past the end of the file is said now; a whole file still is not."""
    import logging

    import soundfile as sf
    from wavegraph.nodes.io.file_source import FileSource

    x = np.random.default_rng(0).uniform(-0.5, 0.5, (48000 * 3, 1))
    whole = tmp_path / "whole.ogg"
    sf.write(str(whole), x, 48000, format="OGG", subtype=subtype)
    raw = whole.read_bytes()
    cut = tmp_path / "cut.ogg"
    cut.write_bytes(raw[: len(raw) - 40])  # the end of the last page, whose header holds the end-of-stream flag
    for path, said in ((cut, True), (whole, False)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
            FileSource(path=str(path)).configure({})
        assert (f"{path} is truncated" in caplog.text) == said, caplog.text


def test_check_dtype_says_the_dtypes_under_a_torch_without_device_autocast_query(monkeypatch):
    """pyproject takes torch >= 2.1, whose torch.is_autocast_enabled() takes no device type (2.4 added it):
    streaming.check_dtype (the Conformer's, Frames', the SSVEP DNN's since this session) asked it with one, so a
    frame of another dtype was "TypeError: ... takes 0 positional arguments but 1 was given", not its message."""
    from wavegraph.models.conformer import ConformerConfig, ConformerEncoder

    def old_is_autocast_enabled():  # torch 2.1-2.3: CUDA's autocast only
        return False

    monkeypatch.setattr(torch, "is_autocast_enabled", old_is_autocast_enabled)
    monkeypatch.setattr(torch, "is_autocast_cpu_enabled", old_is_autocast_enabled)  # (deprecated in torch >= 2.4)
    model = ConformerEncoder(ConformerConfig(d_in=6, d_model=8, n_heads=2, n_layers=1)).eval()
    with pytest.raises(ValueError, match=r"x has dtype torch.float64 but the ConformerEncoder weights are"):
        model(torch.randn(1, 8, 6, dtype=torch.float64))


def test_a_chain_given_lengths_says_which_part_takes_them_and_how():
    """74e8899 made an option no part of a Chain takes a TypeError; `lengths` (ConformerEncoder.forward's padding
    mask) got 'no part of this Chain (ConformerEncoder, Frames) takes the option 'lengths'', which its first part
    does: the Chain passes its parts their stream options only. It says so now, and how to give the lengths."""
    from torch import nn
    from wavegraph.models.conformer import ConformerConfig, ConformerEncoder
    from wavegraph.models.streaming import Chain, Frames

    enc = ConformerEncoder(ConformerConfig(d_in=6, d_model=8, n_heads=2, n_layers=1)).eval()
    chain = Chain(enc, Frames(nn.Linear(8, 3), 8, 3))
    with pytest.raises(TypeError) as e:
        chain(torch.randn(2, 20, 6), lengths=torch.tensor([20, 10]))
    said = str(e.value)
    assert "no part" not in said and "ConformerEncoder.forward takes 'lengths'" in said
    assert "['att_context']" in said and "run the parts one by one" in said
