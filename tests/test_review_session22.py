"""Review of session 22's changes: what they broke for a user while fixing a corner case."""

import logging
from typing import Any

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import Node
from wavegraph.pipeline.runner import run_graph


class PassOn(Node):
    """A user's node that does what the time-order check's fix says: its output keeps its input's t0."""

    def process(self, inputs):
        chunk = inputs["in"]
        return {"out": Chunk(chunk.data * 2, chunk.t0)}


def test_a_users_node_passing_on_times_that_jitter_back_is_not_failed(tmp_path, caplog):
    """A CSV recorded from a live stream jitters back now and then (as lsl_inlet's fitted times may, live): 29cd795
    passed the project's source's such chunks on, but a user's node downstream that passed its input's t0 on, as the
    check's fix says to, failed the run ('Pass.process() returned a chunk ... went back; fix: ... Chunk(data,
    chunk.t0)'). Its output went back because its input did: passed on, counted and said once, as the source's."""
    rng = np.random.default_rng(0)
    t = np.arange(300) / 250 + rng.normal(0, 0.0015, 300)
    x = rng.normal(size=(300, 2))
    csv = tmp_path / "jitter.csv"
    csv.write_text("t,C3,C4\n" + "".join(f"{a:.6f},{b:.6f},{c:.6f}\n" for a, (b, c) in zip(t, x)))
    assert np.sum(np.diff(t) <= 0) > 0  # the data does jitter back
    (tmp_path / "g.yaml").write_text(
        "nodes:\n"
        f"  - {{id: src, type: file_source, params: {{path: {csv}, chunk_size: 1}}}}\n"
        "  - {id: mine, type: test_review_session22:PassOn}\n"
        f"  - {{id: rec, type: recorder, params: {{path: {tmp_path / 'out.npz'}}}}}\n"
        "edges:\n  - {source: src.out, target: mine.in}\n  - {source: mine.out, target: rec.in}\n"
    )
    g = build_graph(load_config(tmp_path / "g.yaml"))
    with caplog.at_level(logging.WARNING, logger="wavegraph.executor"):
        r = run_graph(g, in_process=True)
    assert r.exit_code == 0 and r.failure is None, r.failure
    assert r.stats["mine"]["counters"]["t0_back"] == r.stats["src"]["counters"]["t0_back_out"] > 0
    assert len([m for m in caplog.messages if m.startswith("node 'mine' (PassOn): a chunk on 'out'")]) == 1
    np.testing.assert_allclose(np.load(tmp_path / "out.npz")["data"], 2 * x.T, atol=1e-5)


def _model_saved_in(kind: str, dtype: str, path):
    """A tiny model of `kind` (a model node's gla, the enhancer, the tokenizer) saved in `dtype`; its float32 copy."""
    import torch
    from wavegraph.models import checkpoint

    torch.manual_seed(0)
    if kind == "model":
        from wavegraph.models.gla import GLAConfig, GLAStack

        model = GLAStack(GLAConfig(d_model=8, n_layers=1, d_in=6, n_heads=2, gate_low_rank=4))
    elif kind == "enhancer":
        from wavegraph.models.enhancer import Enhancer, EnhancerConfig

        model = Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1))
    else:
        from wavegraph.models.eeg_tokenizer import EEGTokenizer, TokenizerConfig

        cfg: dict[str, Any] = dict(rate=20.0, n_fft=20, hop=10, n_bins=10, patch=5, d_model=8, n_heads=2, n_layers=1)
        cfg.update(d_temporal=4, context=2, codebook_size=16, code_dim=8, dec_layers=1)
        model = EEGTokenizer(TokenizerConfig(**cfg))
    model = model.to(getattr(torch, dtype)).eval()
    checkpoint.save(model, path)
    return model.float()


@pytest.mark.parametrize("dtype", ["float64", "bfloat16"])
@pytest.mark.parametrize("kind", ["model", "enhancer", "eeg_tokenizer"])
def test_a_model_node_runs_a_checkpoint_saved_in_another_dtype_in_float32(tmp_path, kind, dtype, one_torch_thread):
    """a78435b made checkpoint.load keep the dtype a model was saved in; the model nodes feed it float32, so a
    checkpoint saved in float64 or bfloat16 (which they loaded as float32 and ran) failed the run at its first chunk:
    'x has dtype torch.float32 but the GLAStack weights are torch.float64'. The nodes load it as float32."""
    import torch
    from wavegraph.pipeline.registry import lookup
    from wavegraph.pipeline.spec import StreamSpec, signal_spec
    from wavegraph.pipeline.testing import run_chunked

    path = tmp_path / f"{kind}.safetensors"
    _model_saved_in(kind, dtype, path)
    rng = np.random.default_rng(0)
    if kind == "model":
        spec, x = StreamSpec("features", 100.0, (6,), "float32"), rng.standard_normal((40, 6)).astype(np.float32)
    elif kind == "enhancer":
        spec = signal_spec(16000.0, ["mic"], "audio", "float32")
        x = (rng.standard_normal((1, 1600)) * 0.1).astype(np.float32)
    else:
        spec = signal_spec(20.0, ["C3", "C4"])
        x = rng.standard_normal((2, 200)) * 1e-5
    node = lookup(kind)(checkpoint=str(path), device="cpu")
    n = x.shape[0] if kind == "model" else x.shape[1]
    out = run_chunked(node, x, spec, [n // 2, n - n // 2])
    # float32, or the dtype the model streams in where that is another (GLA: float64, models/gla.py stream_dtype)
    assert next(node.model.parameters()).dtype == node.model.stream_dtype
    assert node.model.stream_dtype == (torch.float64 if kind == "model" else torch.float32)
    got = next(iter(out.values()))
    assert got.size and np.isfinite(got).all()


def test_a_subclass_of_a_model_config_keeps_its_parents_checks():
    """5ac2f7f gave each config class a __post_init__ that checks its numbers, then calls the class's own: a subclass
    that defines none (a dataclass adding a field to GLAConfig) got one that called nothing of GLAConfig's, so
    n_heads=5 with d_model=64 built a config that GLAConfig refuses, the model failing later. Both are checked now."""
    from dataclasses import dataclass

    from wavegraph.models.gla import GLAConfig

    @dataclass
    class Mine(GLAConfig):
        extra: int = 3

    with pytest.raises(ValueError, match="must be a whole multiple of n_heads = 5"):
        Mine(d_model=64, n_heads=5)
    with pytest.raises(ValueError, match=r"Mine\.extra must be a whole number"):
        Mine(extra=2.5)  # type: ignore[arg-type]
    assert Mine(d_model=64.0, extra=4.0).d_model == 64 and isinstance(Mine(extra=4.0).extra, int)  # type: ignore[arg-type]


def test_the_note_of_trigger_steps_no_annotation_marks_reads_only_a_long_recordings_start(
    tmp_path, monkeypatch, caplog
):
    """7e87e44 says a trigger channel's steps no annotation marks, by mne.find_events over the whole recording at
    configure: it reads every channel of the file (a FIF's buffers, an EDF's records) to get the trigger's, all of
    a multi-GB recording before the replay starts (and at every `wavegraph validate`). It reads the start now
    (SCAN_VALUES values), and says so."""
    import mne
    from wavegraph.nodes.io import triggers
    from wavegraph.nodes.io.file_source import FileSource

    x = np.random.default_rng(0).standard_normal((3, 2000)) * 1e-5
    x[2] = 0
    for at, code in ((100, 5), (700, 3), (1500, 5)):
        x[2, at : at + 3] = code
    info = mne.create_info(["Fz", "Cz", "STI 014"], 250.0, ["eeg", "eeg", "stim"])  # pyright: ignore[reportArgumentType]
    raw = mne.io.RawArray(x, info, verbose="error")
    raw.set_annotations(mne.Annotations([0.0], [0.0], ["Recording starts"]))
    path = tmp_path / "trig_raw.fif"
    raw.save(path, verbose="error")
    read: list[int] = []
    find_events = mne.find_events
    monkeypatch.setattr(mne, "find_events", lambda r, **k: read.append(r.n_times) or find_events(r, **k))
    monkeypatch.setattr(triggers, "SCAN_VALUES", 3 * 800)  # (as 2**26 values are to a long recording)
    with caplog.at_level(logging.WARNING, logger="wavegraph.file_source"):
        FileSource(path=str(path)).configure({})
    assert read and max(read) <= 800
    said = [r.getMessage() for r in caplog.records if "STI 014" in r.getMessage()]
    assert said and "has 2 steps in its first 3.2 s" in said[0] and "stim_channel: 'STI 014'" in said[0], said


def test_a_token_decoder_on_a_float64_tokenizer_checkpoint_runs_it_in_float32(tmp_path):
    """checkpoint.load keeps a saved dtype since this session (a78435b); the callers that feed a model float32 (the
    token decoder, `train enhancer --init`, the enhancer and tokenizer benchmarks) got it in float64 (or bfloat16)
    without a word. They load it as float32, as the nodes run it."""
    import torch
    from wavegraph.models import checkpoint
    from wavegraph.models.eeg_tokenizer import EEGTokenizer, TokenizerConfig
    from wavegraph.models.token_decoder import TokenDecoder

    torch.manual_seed(0)
    cfg = dict(rate=20.0, n_fft=20, hop=10, n_bins=10, patch=5, d_model=8, n_heads=2, n_layers=1, d_temporal=4)
    cfg.update(context=2, codebook_size=16, code_dim=8, dec_layers=1, scale_window=2.0)
    path = tmp_path / "tok64.safetensors"
    checkpoint.save(EEGTokenizer(TokenizerConfig(**cfg)).double(), path)
    assert {p.dtype for p in checkpoint.load(path).parameters()} == {torch.float64}  # the file is float64
    dec = TokenDecoder(40.0, ["O1", "Oz", "O2"], [8.0, 10.0], tokenizer=path, steps=1, batch=4)
    assert {p.dtype for p in dec.tokenizer.parameters()} == {torch.float32}
