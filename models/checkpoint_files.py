"""Checkpoint files told apart by their first bytes, without torch (the node parameters' checks import this)."""

from __future__ import annotations

__all__ = ["foreign"]


def foreign(path) -> str:
    """What `path` holds when it is another tool's checkpoint that is not read here ("" otherwise): a torch.save
    file (.pt, .pth, a Lightning .ckpt, pytorch_model.bin: a zip or a pickle) or a NeMo .nemo (a tar). Said with
    the fix, since their names are what a user of NeMo, mamba_ssm or DeepFilterNet has at hand."""
    try:
        with open(path, "rb") as f:
            head = f.read(262)
    except OSError:
        return ""
    if head[8:9] == b"{":  # safetensors: an 8-byte header length (any first byte, 0x80 too), then its JSON header
        return ""
    if head.startswith(b"PK\x03\x04") or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")):
        what = "a PyTorch checkpoint (torch.save: pickled Python objects)"
    elif head[257:262] == b"ustar":
        what = "a tar archive (a NeMo .nemo model?)"
    else:
        return ""
    return (
        f"{path} is {what}, which wavegraph does not load (no pickle); give weights written by `wavegraph train` "
        "or models.checkpoint.save: a .safetensors file with its .json config beside it"
    )
