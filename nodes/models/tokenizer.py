"""eeg_tokenizer: one discrete token per EEG channel every 0.5 s (models/eeg_tokenizer.py, TFM-Tokenizer style).

in:  signal (channels x samples) at any rate; each channel is tokenized on its own, so any montage works.
out: `tokens`     features (frames x channels) int64 token ids, at 200 / hop = 2 Hz; column names = channel names;
     `embeddings` features (frames x channels*code_dim) float32, the tokens' code vectors (or the pre-quantisation
                  latents with `embeddings: latents`), row layout channel-major, columns `channel:k`.
     Channels typed stim (a trigger) are left out of both, said once at INFO: its codes are no EEG.
Inside: a `resample` node to the tokenizer's 200 Hz (skipped at 200 Hz), then the model's streaming path (causal
     robust scaling, 1 s Hann STFT every 0.5 s, frequency and temporal paths, causal frame context, VQ).
Times: token k of a segment is stamped at the start of its newest hop block, t_first + k * hop / 200 (t_first: the
     resampled stream's first sample time, re-anchored as the resampler re-anchors it at an input chunk off the
     nominal grid: a live amplifier's drifting clock), as the `stft` node stamps its frames.
Latency: the resampler's delay plus hop - 1 samples at 200 Hz (a token waits for the end of its hop block),
     in input samples (rounded up).
Gap: a chunk flagged `gap` resets the resampler and the tokenizer (a new segment: no token mixes samples from
     both sides) and re-anchors the time base at the chunk's t0. Before it the runtime calls end_segment(), which
     gives the tokens the segment completes with the resampler's tail, as finish() does at the end of a stream.
Weights: `checkpoint` (default: the shipped models/weights/eeg_tokenizer.safetensors, trained by
     `wavegraph train tokenizer`). torch is imported in configure(), not at module import.
State: state_dict() carries a fingerprint of the weights; a state saved with other weights is refused at load
     (nodes/models/weights_fingerprint.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field
from wavegraph.nodes.channel_kinds import without_triggers
from wavegraph.nodes.dsp.resample import Resample
from wavegraph.nodes.models.common import (
    CheckpointPath,
    Device,
    Threads,
    finite_state,
    native,
    resolve_device,
    to_numpy,
    torch_threads,
)
from wavegraph.nodes.models.weights_fingerprint import WEIGHTS_KEY, check_weights, node_fingerprint
from wavegraph.nodes.nanpolicy import refuse_complex
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, NodeParams
from wavegraph.pipeline.spec import SpecError, StreamSpec

if TYPE_CHECKING:
    from wavegraph.models.eeg_tokenizer import EEGTokenizer

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "weights" / "eeg_tokenizer.safetensors"


class TokenizerParams(NodeParams):
    checkpoint: CheckpointPath = Field(
        None, description="tokenizer weights (models.checkpoint); default: the shipped ones"
    )
    embeddings: Literal["codes", "latents"] = Field(
        "codes", description="codes: the tokens' code vectors; latents: the encoder output before quantisation"
    )
    device: Device = Field("cpu", description="auto: cuda when torch sees one, else cpu")
    threads: Threads = 1


class EEGTokenizerNode(Node[TokenizerParams]):
    """Per-channel EEG tokens and their embeddings every hop (see the module docstring)."""

    Params = TokenizerParams
    outputs = ("tokens", "embeddings")

    def __init__(self, **params):
        super().__init__(**params)
        self.model: EEGTokenizer | None = None

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        import torch
        from wavegraph.models import checkpoint as ckpt
        from wavegraph.models.eeg_tokenizer import EEGTokenizer

        spec = self.require_input(in_specs, "in", "signal")
        # NaN, inf: said here (was its resampler's words); an irregular stream (rate 0, an LSL stream without a
        # nominal rate) was told to pick the bands of a filter bank
        if not 0 < spec.rate < math.inf:
            raise SpecError(
                f"eeg_tokenizer needs a regular signal, got rate {spec.rate} ({spec.describe()})",
                "connect a signal stream with a sampling rate (an LSL stream: one with a nominal rate)",
            )
        if len(spec.shape) != 1:
            raise SpecError(
                f"eeg_tokenizer needs a regular (channels x samples) signal, got {spec.describe()}",
                "feed it EEG channels (pick the bands of a filter bank first)",
            )
        if spec.shape[0] == 0:  # torch's "quantile() input tensor must be non-empty" at the first samples
            raise SpecError("eeg_tokenizer needs one or more channels, the stream has none", "connect the EEG")
        if np.dtype(spec.dtype).kind == "c":  # the float64 cast would drop the imaginary part without a word
            raise SpecError(f"eeg_tokenizer needs a real-valued EEG signal, got {spec.dtype}", "connect the EEG itself")
        # a trigger's codes are no EEG to tokenize (its tokens said nothing and cost a channel of the model's work)
        self._keep, spec = without_triggers(self, spec, "EEG token")
        path = self.params.checkpoint or str(SHIPPED)
        try:
            kind, _ = ckpt.load_config(path)
            if kind != "eeg_tokenizer":
                raise ckpt.CheckpointError(  # ('a 'enhancer'')
                    f"{path} holds {'an' if kind[0] in 'aeiou' else 'a'} {kind!r} model, this node needs 'eeg_tokenizer'"
                )
            self.device = resolve_device(self.params.device)
            # float32, as before a78435b (load keeps a file's dtype): a float64 or bfloat16 file would run the stream in
            # that dtype, slower or rounded
            model = ckpt.load(path, dtype=torch.float32).to(self.device)
        except ckpt.CheckpointError as e:
            raise SpecError(str(e), "point `checkpoint` at weights written by `wavegraph train tokenizer`") from e
        assert isinstance(model, EEGTokenizer)  # the kind was checked above
        self.model = model
        cfg = model.cfg
        self.resampler = Resample(rate=cfg.rate)
        try:
            self.resampler.configure({"in": spec.evolve(dtype="float64")})
        except SpecError as e:  # its fix was "set max_factor: 1024" (8192 Hz), a parameter this node does not have
            raise SpecError(
                f"eeg_tokenizer resamples its input to {cfg.rate:g} Hz: {e.message}",
                f"put a `resample` node (rate: {cfg.rate:g}) before it, and there {e.hint}",
            ) from e
        self.n_channels = spec.shape[0]
        names = spec.channel_names or tuple(f"ch{i}" for i in range(self.n_channels))
        self.frame_rate = cfg.rate / cfg.hop
        wait = (cfg.hop - 1) * spec.rate / cfg.rate
        self.latency_samples = self.resampler.latency_samples + math.ceil(wait - 1e-9)
        d = cfg.code_dim
        delay = self.resampler.out_specs["out"].delay  # tokens are stamped on the resampled stream's clock (_tokenize)
        self.out_specs = {
            "tokens": StreamSpec(
                "features", self.frame_rate, (self.n_channels,), "int64", names, units="token", delay=delay
            ),
            "embeddings": StreamSpec(
                "features",
                self.frame_rate,
                (self.n_channels * d,),
                "float32",
                tuple(f"{n}:{k}" for n in names for k in range(d)),
                units="a.u.",
                delay=delay,
            ),
        }
        self.reset()
        return self.out_specs

    # --- state -------------------------------------------------------------------------------
    def reset(self) -> None:
        if self.model is None:
            return
        self.resampler.reset()
        self.stream = self.model.init_state(self.n_channels, self.device)
        self.n_out = 0  # tokens frames emitted in the current segment
        self.t_first: float | None = None  # time of the first resampled sample of the segment

    def state_dict(self) -> dict:
        return {
            "resample": self.resampler.state_dict(),
            "n_out": self.n_out,
            "t_first": self.t_first,
            WEIGHTS_KEY: node_fingerprint(self, self.model),  # a state of other weights is refused at load
            # copies: a CPU tensor's numpy() is its memory, so editing the saved arrays changed the running node
            **{f"model.{k}": to_numpy(v).copy() if hasattr(v, "detach") else v for k, v in self.stream.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        import torch

        assert self.model is not None, "configure() first"
        fresh = self.model.init_state(self.n_channels, self.device)
        keys = {f"model.{k}" for k in fresh} | {"resample", "n_out", "t_first"}
        if set(state) - {WEIGHTS_KEY} != keys:  # (the fingerprint: not in a state saved before it was kept)
            raise KeyError(f"eeg_tokenizer state keys {sorted(set(state) - {WEIGHTS_KEY})} != expected {sorted(keys)}")
        stream = {}
        for k, ref in fresh.items():
            if not isinstance(ref, torch.Tensor):
                stream[k] = int(state[f"model.{k}"])
                continue
            v = torch.as_tensor(native(state[f"model.{k}"]), dtype=ref.dtype, device=self.device)
            grows = self.model.state_growth_axis(k)  # the samples of the hop block: every other axis is the model's
            if v.dim() != ref.dim() or any(a != b for i, (a, b) in enumerate(zip(v.shape, ref.shape)) if i != grows):
                raise ValueError(
                    f"eeg_tokenizer state 'model.{k}' has shape {tuple(v.shape)}, this node's is like "
                    f"{tuple(ref.shape)}: saved for other channels or by another tokenizer; load one saved by this one"
                )
            lo, hop = (ref.shape[grows], int(self.model.stride)) if grows is not None else (0, 0)
            if grows is not None and not lo <= v.shape[grows] < lo + hop:  # was torch's "maximum size for tensor"
                raise ValueError(  # at the next chunk: the history before the hop block, then at most hop - 1 samples
                    f"eeg_tokenizer state 'model.{k}' holds {v.shape[grows]} samples along axis {grows}, this tokenizer "
                    f"keeps {lo} to {lo + hop - 1} (its history and the incomplete hop block); load the state as "
                    "state_dict() saved it"
                )
            stream[k] = v
        try:  # (a 'valid' the stream never has: its zeros before the stream scaled as samples, tokens changed unsaid)
            self.model.check_state(stream)
            for k, v in stream.items():
                if isinstance(v, torch.Tensor):
                    finite_state(to_numpy(v), f"'model.{k}'")
        except ValueError as e:
            raise ValueError(f"eeg_tokenizer state does not fit this tokenizer: {e}") from None
        if int(state["n_out"]) < 0:  # (-1 stamped every later token 0.5 s early)
            raise ValueError(f"eeg_tokenizer state 'n_out' is {state['n_out']}, tokens emitted: a count >= 0")
        # (after the shapes: a state of other channels or another tokenizer's config is said as such)
        check_weights(state, self, self.model, "eeg_tokenizer", self.params.checkpoint or str(SHIPPED))
        self.resampler.load_state_dict(state["resample"])
        self.stream, self.n_out, self.t_first = stream, int(state["n_out"]), state["t_first"]

    # --- data --------------------------------------------------------------------------------
    def _tokenize(self, out: dict[str, Chunk], like: Chunk | None) -> dict[str, Chunk]:
        import torch

        res = out.get("out")
        if res is None or res.data.shape[-1] == 0:
            return {}
        assert self.model is not None, "configure() first"
        # the resampled stream's first sample (its j = 0), as the resampler re-anchors it where the input's chunk times
        # leave the nominal grid (a live amplifier's drifting clock): tokens keep the input's times, as its samples
        start = self.resampler.state.t_first
        if start is not None and (math.isfinite(start) or self.t_first is None):  # (NaN until a chunk has a time)
            self.t_first = start
        assert self.t_first is not None  # the resampler has emitted: it has a start
        x = torch.from_numpy(np.ascontiguousarray(res.data, dtype=np.float64)).to(self.device)[..., None]
        with torch.inference_mode(), torch_threads(self.params.threads):
            enc, self.stream = self.model.stream_encode(x, self.stream)
        m = enc["tokens"].shape[1]
        if m == 0:
            return {}
        t0 = self.t_first + self.n_out / self.frame_rate
        self.n_out += m
        tokens = to_numpy(enc["tokens"]).T.astype(np.int64)  # (frames, channels)
        emb = to_numpy(enc["embeddings" if self.params.embeddings == "codes" else "latents"])  # (ch, frames, d)
        emb = np.ascontiguousarray(emb.transpose(1, 0, 2).reshape(m, -1), dtype=np.float32)
        mk = (lambda d: like.with_data(d, t0=t0)) if like is not None else (lambda d: Chunk(d, t0=t0))
        return {"tokens": mk(tokens), "embeddings": mk(emb)}

    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        chunk = inputs["in"]
        if chunk.gap and self.t_first is not None:
            self.reset()
        if chunk.n_times(-1) == 0:
            return {}
        refuse_complex(np.asarray(chunk.data), np.dtype(np.float64))  # (as the resampler would, after this cast)
        data = np.asarray(chunk.data, dtype=np.float64)
        if self._keep is not None:  # (its trigger channels left out)
            data = data[self._keep]
        if not np.isfinite(data).all():
            self.count("nan_zeroed", int((~np.isfinite(data)).sum()))
            data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
        res = self.resampler.process({"in": Chunk(data, t0=chunk.t0)})
        return self._tokenize(res, chunk)

    def end_segment(self, t_next: float | None = None) -> dict[str, Chunk]:
        """Before a gap (the runtime calls it before the chunk flagged gap): the tokens the segment still completes with
        the resampler's tail, as finish() gives them at the end of a stream (stamped before the segment's end: a hop block
        completes only within the tail's ~0.1 s); the next chunk starts a new segment. They were dropped: a 250 Hz
        segment of 9.92 s gave 19 tokens in a run where it gives 20 alone."""
        return self.finish() if self.t_first is not None else {}

    def finish(self) -> dict[str, Chunk]:
        out = self._tokenize(self.resampler.finish(), None)
        self.reset()  # the stream is over: a node given the next file starts it fresh (it went on from this one)
        return out
