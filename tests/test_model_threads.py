"""Every node that runs a torch model computes with `threads` torch CPU threads (default 1), whatever the
process's own count, and puts that count back after. torch's default (every core, per process) made the SSVEP
DNN's decision 50-100x slower in a live graph whose other core was busy (docs/bci.md)."""

from typing import Any, cast

import numpy as np
import pytest
import torch
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec


def _ssvep_checkpoint(tmp_path):
    from wavegraph.models import ssvep_dnn as dnn

    torch.manual_seed(0)
    cfg = dnn.SSVEPDNNConfig(160.0, ["O1", "Oz", "O2"], [8.0, 10.0], 80)
    dnn.save(dnn.SSVEPDNN(cfg), tmp_path / "dnn.safetensors")
    return str(tmp_path / "dnn.safetensors")


def _cases(tmp_path):
    """(node type, params, input spec, a chunk that makes it compute)."""
    rng = np.random.default_rng(0)
    eeg = signal_spec(160.0, ["O1", "Oz", "O2"])
    gla = dict(random_init=True, d_model=8, n_layers=1, n_heads=2, gate_low_rank=2, chunk_size=4, device="cpu")
    return [
        ("gla", gla, StreamSpec("features", 100.0, (4,), "float32"), rng.standard_normal((8, 4)).astype(np.float32)),
        (
            "enhancer",
            dict(random_init=True, d_model=8),
            signal_spec(16000.0, ["mic"], "audio"),
            rng.standard_normal((1, 640)),
        ),
        ("eeg_tokenizer", {}, eeg, rng.standard_normal((3, 640)) * 1e-5),
        (
            "ssvep_decoder",
            dict(method="dnn", checkpoint=_ssvep_checkpoint(tmp_path), step=0.25),
            eeg,
            rng.standard_normal((3, 320)) * 1e-5,
        ),
    ]


@pytest.mark.parametrize("threads", [None, 3])
def test_a_model_node_computes_with_its_threads_and_puts_the_count_back(tmp_path, threads):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for kind, params, spec, data in _cases(tmp_path):
            node = lookup(kind)(**params, **({} if threads is None else {"threads": threads}))
            node.configure({"in": spec})
            module = getattr(node, "model", None) or cast(Any, node).net  # the nn.Module it runs
            seen: list[int] = []
            hooks = [
                m.register_forward_pre_hook(lambda *_, seen=seen: seen.append(torch.get_num_threads()))
                for m in module.modules()
            ]
            try:
                node.process({"in": Chunk(data, t0=0.0)})
            finally:
                for h in hooks:
                    h.remove()
            assert seen, f"{kind}: no module ran"
            assert set(seen) == {threads or 1}, (kind, set(seen))
            assert torch.get_num_threads() == 2, kind  # the process's count, put back
    finally:
        torch.set_num_threads(before)


def test_threads_below_one_is_a_clear_error():
    with pytest.raises((ValueError, SpecError)) as e:
        lookup("gla")(random_init=True, threads=0)
    assert "threads" in str(e.value)


def test_threads_is_refused_where_no_torch_model_runs():
    with pytest.raises(ValueError, match="only for method dnn"):
        lookup("ssvep_decoder")(freqs=[8.0, 10.0], threads=2)  # FBCCA: numpy only
