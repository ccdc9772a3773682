"""enhancer: the trained causal speech enhancer (models/enhancer.py) on a 16 kHz mono signal.

in:   signal, 1 channel, 16000 Hz (anything else is refused: resample first / pick one channel); audio resampled up
      from under 4 kHz (its passband, StreamSpec.passband(): `band`, or a file's `lowpass`, below MIN_BAND: no speech
      band) is refused too, 8 kHz telephone audio taken.
out:  the enhanced signal, same spec (and dtype) as `in`, with `delay` += latency: its content lags its time stamps
      by latency_samples = n_fft - 1 = 319 samples (19.94 ms), the algorithmic latency (20 ms frames, 10 ms hop; a
      frame is processed when its newest 10 ms block is complete). Every output chunk has the t0 and length of the
      input chunk it answers; `finish()` emits the last 319 samples (zeros fed in), so a whole run gives
      len(input) + 319 samples and dropping the first 319 aligns it with the input (the `align` node does this).
      After finish() the node is as configured: the next chunk starts a new stream (one node, many files).
vad:  features (frames x 1, "speech_prob"), the speech probability of every 20 ms frame, at 100 frames/s. Frame k
      covers input samples [160 k - 160, 160 k + 160) of the segment and is stamped at the segment start
      + k * 10 ms (like the stft node); it is emitted once its newest block is in. Usable on its own; it declares
      the input's delay (a resampler's before the enhancer), which an `align` on it removes.
Gap: a chunk with `gap` set starts a new segment: the model state, the partial block and the output samples still
      held back are dropped, so nothing on either side of a gap sees the other. Before that, the runtime calls
      end_segment(), which finishes the segment as finish() finishes a stream: its last 319 enhanced samples (zeros
      fed in) stamped after its last sample, and its vad frames stamped up to its end (one stamped after it, whose
      newest block holds only zeros, came after the next segment's first when the gap was under 10 ms, so the vad's
      times went back), so enhancer -> align keeps the input's length
      and times across a gap (before, they were dropped: 319 samples fewer per gap, everything after it 319 samples
      early; configs/speech_enhance_file.yaml). By hand, call end_segment() before process() of a chunk flagged gap;
      without it they are dropped, and `samples_dropped_at_gap` counts the segment's input samples whose enhanced
      output never went out (its last 319, or fewer in a shorter segment).
NaN/Inf: `nan_policy` (nodes/nanpolicy.py); the model never sees them (zeroed). Finite samples beyond +-INPUT_LIMIT
      (1e6; audio is +-1, or +-32768 in a float file written at int16 scale) are clipped to it and counted
      (`clipped_input`): a corrupt float WAV's 1e30 made the model's float32 state inf, and every later output NaN. Under `propagate` the output sample
      that is aligned with a bad input sample (latency later) is NaN. Samples below 1e-10 (-200 dBFS) are zeroed
      (TINY): digital silence behind a filter, whose tail the level-free inputs would read as a signal.
Level: the model was trained on speech at -40 to -15 dBFS and takes quieter speech for noise. `input_gain_db` scales
      the input before the model and the output back (the output keeps the input's level: exact for a number of dB;
      `auto` follows the input's level, nodes/models/enhancer_level.py); a run whose loudest 10 ms block (as the model
      sees it) stays under QUIET_DBFS (-45 dBFS) is said at finish(), with the input_gain_db to give; so is a DC offset
      10 dB over the rest of the input (RunOffset: the model reads it as signal; a highpass before it removes it).
Weights: `checkpoint` (default: the shipped models/weights/enhancer.safetensors, trained by `wavegraph train
      enhancer`, see docs/speech.md) or `random_init: true` with `core`, `d_model`, `n_layers` (tests only).
State: state_dict() carries a fingerprint of the weights and one of the checkpoint's config; a state saved with
      other weights (another checkpoint of the same shapes), or with the same weights and another config (a mask
      floor, compression or SNR setting edited in its JSON), is refused at load, naming both
      (nodes/models/weights_fingerprint.py).
torch is imported in configure(), not at module import.
"""

from __future__ import annotations

import logging
import math
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator
from wavegraph.nodes.models.common import (
    CheckpointPath,
    Device,
    Seed,
    Threads,
    finite_state,
    native,
    resolve_device,
    to_numpy,
    torch_threads,
)
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, NodeParams
from wavegraph.pipeline.spec import SpecError, StreamSpec, same_rate

from ..nanpolicy import NAN_POLICY_HELP, NanPolicy, as_float32, delay_mask, sanitize, signal_input, stream_start
from ..segment_tail import tail_before
from .enhancer_level import InputGain, RunOffset, loudest_dbfs, suggested_input_gain
from .weights_fingerprint import (
    CHECKPOINT_KEY,
    WEIGHTS_KEY,
    check_weights,
    config_fingerprint,
    node_fingerprint,
    output_config,
)

if TYPE_CHECKING:
    from wavegraph.models.enhancer import Enhancer

SAMPLE_RATE = 16000
INPUT_LIMIT = 1e6  # |x| beyond this (120 dB over full scale) is clipped: squared in float32 it overflowed the state
# |x| below TINY (-200 dBFS; 32-bit PCM's step is 4.7e-10) is zeroed: an IIR filter's tail decaying to silence passes
# 1e-20, which the model's level-free inputs (tone, onset, impulse) read as a signal like any other (the output after
# such a tail differed from the output after true silence by up to 0.024), and which turned its state NaN before the
# tone feature's subnormal fix (models/enhancer_features.py).
TINY = 1e-10
# The lowest content band taken (Hz): audio that came through a rate under 4 kHz (a 100 Hz or 1 kHz file resampled to
# 16 kHz) holds no speech band; 8 kHz telephone audio (band 4 kHz) is enhanced as it always was.
MIN_BAND = 2000.0
_NOT_CONFIGURED = (
    "enhancer is not configured yet; call configure() first: "
    "node.configure({'in': signal_spec(16000, ['ch0'], 'audio', 'float32', 'a.u.')})"
)
MAX_BLOCKS = 1000  # blocks (10 s) per model call: a 1 h file given as one chunk took ~9 GB at once, now ~30 MB
# The model was trained on speech at -40 to -15 dBFS (docs/speech.md) and takes quieter speech for noise: clean speech
# at -64 dBFS RMS came out 2.6 dB lower, at -69 dBFS 8 dB lower. A run whose loudest 10 ms block (after input_gain_db)
# stays under QUIET_DBFS is said at its end, with the input_gain_db that brings that block to about -20 dBFS.
QUIET_DBFS = -45.0
_log = logging.getLogger("wavegraph.enhancer")


def _inference_mode():
    """torch.inference_mode() through torch's private C++ guard, whose Python wrapper costs ~10 us per
    10 ms block; the public one where a torch release no longer has the private name."""
    import torch

    guard = getattr(torch._C, "_InferenceMode", None)
    return guard(True) if guard is not None else torch.inference_mode()


def _shape_problem(shape: tuple[int, ...]) -> str:
    """What is wrong with a chunk's shape, and the fix (the node takes (1, samples) of 16 kHz mono)."""
    fix = (
        "a mono signal as one row: x[None]"
        if len(shape) == 1
        else "mix the channels first: x.mean(axis=0, keepdims=True) (or a `mix` node in a graph)"
        if len(shape) == 2
        else "soundfile reads a file as (samples, channels): x.mean(axis=1)[None]"
        if len(shape) == 3 and shape[0] == 1
        else "one channel of samples, shape (1, samples)"
    )
    return f"enhancer chunk has shape {shape}, expected (1, samples) of 16 kHz mono audio; give {fix}"


def shipped_checkpoint() -> str:
    """Path of the weights that ship in the package (models/weights/enhancer.safetensors)."""
    return str(resources.files("wavegraph.models") / "weights" / "enhancer.safetensors")


class EnhancerParams(NodeParams):
    checkpoint: CheckpointPath = Field(None, description="weights (models.checkpoint); default: the shipped enhancer")
    random_init: bool = Field(False, description="random weights from core/d_model/n_layers (tests only)")
    seed: Seed = 0
    core: Literal["mamba", "gla"] = Field("mamba", description="random_init only: the temporal core")
    d_model: int = Field(32, ge=1, description="random_init only")
    n_layers: int = Field(1, ge=1, description="random_init only")
    device: Device = Field("cpu", description="cpu (default: the model is small), cuda or auto")
    threads: Threads = 1
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)
    input_gain_db: Annotated[float, Field(ge=-20.0, le=40.0)] | Literal["auto"] = Field(
        0.0,
        description="dB added to the input before the model and taken off its output again (the output keeps the "
        "input's level): for speech quieter than the -40 to -15 dBFS it was trained at, which it takes for noise; "
        "auto: a gain that follows the input's level (nodes/models/enhancer_level.py)",
    )

    @field_validator("input_gain_db", mode="before")
    @classmethod
    def _gain_db(cls, value):
        """A number of dB or auto, said so: the type's own error showed its annotation ('give a Annotated[float,
        FieldInfo(...)] | 'auto''), and YAML's `true` (auto gain meant) was taken as 1 dB."""
        fix = "; fix: give input_gain_db a number of dB from -20 to 40 (without quotes), or auto"
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"input_gain_db {value!r} is not a number of dB, nor auto{fix}")
        if not -20.0 <= value <= 40.0:  # (NaN too)
            raise ValueError(f"input_gain_db {value!r} dB is not within -20 to 40{fix}")
        return value

    @model_validator(mode="after")
    def _one_source(self):
        if self.random_init and self.checkpoint is not None:
            raise ValueError(
                "has both checkpoint and random_init: true: to load the checkpoint, drop random_init (or "
                "random_init: false) and any core/d_model/n_layers; for random weights (tests only), drop checkpoint"
            )
        if not self.random_init:
            clash = sorted(set(self.model_fields_set) & {"core", "d_model", "n_layers"})
            if clash:
                raise ValueError(f"{clash} come from the checkpoint's config; drop them or use random_init: true")
        return self


class EnhancerNode(Node[EnhancerParams]):
    """Causal speech enhancer, 16 kHz mono in, enhanced audio and per-frame speech probability out."""

    Params = EnhancerParams
    outputs = ("out", "vad")

    model: Enhancer | None
    hop: int

    def __init__(self, **params):
        super().__init__(**params)
        self.model = None

    def _load(self) -> Enhancer:
        import torch
        from wavegraph.models import checkpoint as ckpt
        from wavegraph.models.enhancer import Enhancer, EnhancerConfig

        p = self.params
        if p.random_init:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(p.seed)
                try:
                    return Enhancer(EnhancerConfig(core=p.core, d_model=p.d_model, n_layers=p.n_layers)).eval()
                except ValueError as e:  # core gla with d_model 30: its heads (key width d_model / 2) do not divide it
                    fix = f"use a d_model that is a multiple of {2 * EnhancerConfig.n_heads} (e.g. 32)"
                    raise SpecError(f"enhancer: random_init core {p.core}: {e}", fix) from e
        path = p.checkpoint or shipped_checkpoint()
        try:
            kind, _ = ckpt.load_config(path)
            if kind != "enhancer":
                raise ckpt.CheckpointError(f"{path} holds a {kind!r} model, the enhancer node needs 'enhancer'")
            model = ckpt.load(path, dtype=torch.float32)  # the node's samples are float32, whatever it was saved in
            if not isinstance(model, Enhancer):
                raise ckpt.CheckpointError(f"{path} does not hold an enhancer")
            return model
        except ckpt.CheckpointError as e:
            hint = (
                "the shipped weights are missing: reinstall wavegraph or train them (wavegraph train enhancer)"
                if p.checkpoint is None
                else "point `checkpoint` at weights written by `wavegraph train enhancer`"
            )
            raise SpecError(str(e), hint) from e

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        spec = signal_input(self, in_specs)
        if not same_rate(spec.rate, SAMPLE_RATE):  # (16000.000000001763: 16 kHz from time stamps)
            raise SpecError(
                f"enhancer runs at {SAMPLE_RATE} Hz, the input is {spec.rate:.12g} Hz",
                f"resample first: put a `resample` node (to {SAMPLE_RATE}) before the enhancer",
            )
        top = spec.passband()[1]  # the band the content holds: `band` (a rate it came through) or `lowpass` (a file's)
        if top < MIN_BAND:  # (a 100 Hz file resampled up, a FIF upsampled from 1 kHz: enhanced without a word)
            raise SpecError(
                (
                    f"enhancer input was sampled at {2 * top:.12g} Hz before it was resampled to {SAMPLE_RATE} Hz"
                    if spec.band is not None and spec.band <= top
                    else f"enhancer input was low-pass filtered at {top:.12g} Hz (its lowpass, as the file or a filter "
                    f"says: a recording sampled at {2 * top:.12g} Hz and resampled to {SAMPLE_RATE} Hz says so)"
                )
                + f": it holds nothing above {top:.12g} Hz, no speech (the model is a 16 kHz speech enhancer)",
                f"give it speech audio sampled at {2 * MIN_BAND:g} Hz or more (8 kHz telephone audio and up); "
                "check the source's rate and filters: a sensor or EEG recording is not speech",
            )
        if spec.shape != (1,):
            raise SpecError(
                f"enhancer takes one channel, the input has shape {spec.shape}",
                "mix down to one channel before the enhancer (a `mix` node), or pick one (`pick_channels`)",
            )
        if np.dtype(spec.dtype).kind != "f":
            raise SpecError(f"enhancer needs float samples, got {spec.dtype}", "convert to float32 or float64 first")
        self.device = resolve_device(self.params.device)
        model = self._load().to(self.device)
        self.model = model
        cfg = model.cfg
        if cfg.sample_rate != SAMPLE_RATE:
            raise SpecError(
                f"the checkpoint was trained at {cfg.sample_rate} Hz, the node runs at {SAMPLE_RATE}",
                "use a 16 kHz enhancer checkpoint",
            )
        self.hop = cfg.hop
        self.latency_samples = cfg.latency_samples
        self._keep = cfg.n_fft - cfg.hop
        self._dtype = np.dtype(spec.dtype)
        self.in_specs = dict(in_specs)
        self.out_specs = {
            "out": spec.evolve(delay=spec.delay + self.latency_samples / spec.rate),
            "vad": StreamSpec(
                "features",
                spec.rate / cfg.hop,
                (1,),
                "float32",
                ("speech_prob",),
                ("misc",),
                "probability",
                delay=spec.delay,
            ),
        }
        # the model's output answers the input n_fft - hop samples earlier (held's first hop - 1 zeros come on top)
        self.gain = InputGain(self.params.input_gain_db, self.hop, self._keep)
        self.reset()
        self._warm_up()
        return self.out_specs

    def _warm_up(self) -> None:
        """Build the model's one-frame inference step now (fused and checked at its first frame), before any
        device starts: a stall at the first 10 ms block of a live graph stays in the speaker's jitter buffer as
        extra latency for the whole run (measured: 61 -> 181 ms end to end on the JACK test)."""
        import torch

        model = self.model
        assert model is not None
        with torch.inference_mode(), torch_threads(self.params.threads):
            model.step(torch.zeros(1, self.hop, device=self.device), model.init_state(1, self.device))

    # --- state -------------------------------------------------------------------------------
    def reset(self, keep_level: bool = False) -> None:
        """A new stream; `keep_level` (a gap: the same microphone goes on): the auto gain keeps its level."""
        if self.model is None:
            return
        self.state = self.model.init_state(1, self.device)
        self.pending = np.zeros(0, np.float32)  # input samples of the incomplete block
        self.held = np.zeros(self.hop - 1, np.float32)  # enhanced samples not yet output (starts with hop-1 zeros)
        self.nan_pending = np.zeros((1, 0), bool)
        self.t_first: float | None = None
        self.n_frames = 0  # frames (vad) emitted in this segment
        self.n_in = 0  # samples received in this segment
        self.gain.reset(keep_level)
        if not keep_level:
            self.loudest_db = -math.inf  # the run's loudest 10 ms block (dBFS), the input as the model sees it
            self.offset = RunOffset()  # the run's DC offset

    def state_dict(self) -> dict:
        if self.model is None:
            raise RuntimeError(_NOT_CONFIGURED)
        return {
            "model": {k: to_numpy(v).copy() for k, v in self.state.items()},
            "pending": self.pending.copy(),
            "held": self.held.copy(),
            "nan_pending": self.nan_pending.copy(),
            "t_first": self.t_first,
            "n_frames": self.n_frames,
            "n_in": self.n_in,
            "gain": self.gain.state_dict(),
            WEIGHTS_KEY: node_fingerprint(self, self.model),  # a state of other weights is refused at load
            # and a state of the same weights with another mask floor, compression... in the checkpoint's config
            CHECKPOINT_KEY: config_fingerprint(output_config(self.model.cfg)),
        }

    def load_state_dict(self, state: dict) -> None:
        import torch

        if self.model is None:
            raise RuntimeError(_NOT_CONFIGURED)
        fresh = self.model.init_state(1, self.device)
        if set(state["model"]) != set(fresh):
            raise KeyError(f"model state keys {sorted(state['model'])} do not match this model's {sorted(fresh)}")
        for k, like in fresh.items():  # a state of another model size failed at the next block, inside the core
            if np.shape(state["model"][k]) != tuple(like.shape):
                raise ValueError(
                    f"enhancer state 'model.{k}' has shape {np.shape(state['model'][k])}, this model's is "
                    f"{tuple(like.shape)}: saved from an enhancer of another config; load a state saved by this one"
                )
            finite_state(np.asarray(state["model"][k]), f"enhancer state 'model.{k}'")  # NaN: every output NaN
        p = self.params  # (after the shapes: a state of another config is said as such)
        where = f"random_init seed {p.seed}" if p.random_init else p.checkpoint or shipped_checkpoint()
        check_weights(state, self, self.model, "enhancer", where, config=output_config(self.model.cfg))
        pending, held, nan_pending = self._saved_buffers(state)
        self.gain.load_state_dict(state.get("gain"))  # (checked whole before it takes anything, as the rest here)
        self.state = {
            k: torch.as_tensor(native(v), device=self.device).to(fresh[k].dtype) for k, v in state["model"].items()
        }
        self.pending, self.held, self.nan_pending = pending, held, nan_pending
        self.t_first = None if state["t_first"] is None else float(state["t_first"])
        self.n_frames, self.n_in = int(state["n_frames"]), int(state["n_in"])

    def _saved_buffers(self, state: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pending, held, nan_pending) of a saved state, or a ValueError: they are finite and hold hop - 1 samples
        between them (pending under a hop), nan_pending none or latency flags, as state_dict() saves them. A NaN in
        'pending' went into the model (every later output NaN), a 'held' of another length shifted every later output
        sample and cut the tail finish() gives, unsaid."""
        pending = np.array(state["pending"], np.float32).reshape(-1)
        held = np.array(state["held"], np.float32).reshape(-1)
        nan_pending = np.array(state["nan_pending"], bool).reshape(1, -1)
        fix = "load a state as the enhancer's state_dict() saved it"
        if pending.size >= self.hop or pending.size + held.size != self.hop - 1:
            raise ValueError(
                f"enhancer state holds {pending.size} 'pending' and {held.size} 'held' samples; a stream holds "
                f"{self.hop - 1} between them, under {self.hop} pending (its output would be shifted); {fix}"
            )
        if not (np.isfinite(pending).all() and np.isfinite(held).all()):
            raise ValueError(f"enhancer state holds NaN/inf in 'pending' or 'held' (a stream's are finite); {fix}")
        if nan_pending.shape[1] not in (0, self.latency_samples):
            raise ValueError(
                f"enhancer state 'nan_pending' holds {nan_pending.shape[1]} flags, not 0 or {self.latency_samples}; {fix}"
            )
        t_first = state["t_first"]
        counts = int(state["n_frames"]), int(state["n_in"])
        if (t_first is not None and not math.isfinite(float(t_first))) or min(counts) < 0:
            raise ValueError(f"enhancer state has t_first {t_first}, n_frames and n_in {counts}; {fix}")
        return pending, held, nan_pending

    # --- data --------------------------------------------------------------------------------
    def _run(self, x: np.ndarray) -> np.ndarray | None:
        """Feed samples x (n,) float32; returns the speech probabilities of the frames completed (or None)."""
        import torch
        from wavegraph.models.streaming import trusted_inputs

        buf = np.concatenate([self.pending, x]) if self.pending.size else x
        n_blocks = buf.size // self.hop
        self.pending = buf[n_blocks * self.hop :].copy()
        if not n_blocks:
            return None
        model = self.model
        assert model is not None, "configure() first"
        blocks = np.ascontiguousarray(buf[: n_blocks * self.hop], np.float32)
        divisors = None
        if not self.gain.identity:  # (taken off the output below)
            gains = self.gain.gains(blocks.reshape(n_blocks, self.hop)).reshape(-1)
            blocks, divisors = blocks * gains, self.gain.divisors(gains)
        self.loudest_db = max(self.loudest_db, loudest_dbfs(blocks, self.hop))
        if not blocks.flags.writeable:  # the input itself (float32, nothing held): read-only, torch.from_numpy warns
            blocks = blocks.copy()
        on_cpu = self.device.type == "cpu"
        held, vad = [self.held], []
        # torch.inference_mode() without its Python wrapper (~10 us per 10 ms block). The blocks are sliced in numpy
        # and the output read back whole: a torch index costs a few us, and a live graph pays it every 10 ms.
        # trusted_inputs: the samples are zeroed and clipped here and the state is this node's own, so the model's
        # checks of them (~30 us of a ~160 us block) are skipped (models/streaming.py)
        with _inference_mode(), torch_threads(self.params.threads), trusted_inputs():
            for k in range(0, n_blocks, MAX_BLOCKS):  # a whole file in one chunk: 2.6 MB per second at once
                part = blocks[k * self.hop : (k + MAX_BLOCKS) * self.hop]
                one = len(part) == self.hop
                # a live graph's 10 ms block: the numpy frame, no torch call around it (None: not for this model)
                y = model.numpy_step(part.reshape(1, -1), self.state) if one and on_cpu else None
                if y is None:
                    xt = torch.from_numpy(part.reshape(1, -1) if one else part.reshape(1, -1, self.hop))
                    if not on_cpu:
                        xt = xt.to(self.device)
                    if one:
                        y, self.state = model.step(xt, self.state)
                    else:
                        y, self.state = model.stream(xt, self.state)
                    y = y.numpy() if on_cpu else to_numpy(y)
                y = y[0]
                out = y[:, :-1].reshape(-1)
                held.append(out if divisors is None else out / divisors[k * self.hop : k * self.hop + out.size])
                vad.append(y[:, -1:])
        self.held = np.concatenate(held)
        return np.concatenate(vad) if len(vad) > 1 else vad[0].copy()

    def _emit(self, n: int, vad: np.ndarray | None, like: Chunk, t0: float, mask) -> dict[str, Chunk]:
        out = self.held[:n].astype(self._dtype)[None]
        self.held = self.held[n:]
        bad, self.nan_pending = delay_mask(self.nan_pending, mask, n, self.latency_samples)
        if bad is not None:
            out[bad] = np.nan
        outputs = {"out": Chunk(out, t0, like.seq, like.gap, like.eos, like.origin_ns)}
        if vad is not None:
            t_vad = (self.t_first or 0.0) + self.n_frames * self.hop / SAMPLE_RATE
            self.n_frames += len(vad)
            outputs["vad"] = Chunk(vad, t_vad, like.seq, like.gap, like.eos, like.origin_ns)
        return outputs

    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        if self.model is None:  # was AttributeError: no attribute 't_first'
            raise RuntimeError(_NOT_CONFIGURED)
        chunk = inputs["in"]
        if chunk.gap and self.t_first is not None:
            # the input samples whose enhanced output has not gone out (the last latency_samples of the segment:
            # held back here, in the partial block and in the model's overlap-add), what finish() would have given
            dropped = min(self.n_in, self.latency_samples)
            if dropped:
                self.count("samples_dropped_at_gap", dropped)
            self.reset(keep_level=True)
        n = chunk.n_times(-1)
        if n == 0:
            return {}
        if chunk.data.shape != (1, n):
            raise ValueError(_shape_problem(chunk.data.shape))
        if chunk.data.dtype.kind != "f":  # int16 PCM went in at 32768 times audio's scale: enhanced, but wrongly
            raise ValueError(
                f"enhancer chunk holds {chunk.data.dtype} samples, the stream is {self._dtype}: give float audio in "
                "+-1 (int16 PCM: x.astype(np.float32) / 32768; or read the file with soundfile's dtype='float32')"
            )
        # follows the chunk times when they drift off the nominal grid (a live clock), as its audio output does
        self.t_first = stream_start(self.t_first, chunk, self.n_in / SAMPLE_RATE)
        data, bad = sanitize(self, as_float32(chunk.data), self.params.nan_policy)  # the model computes in float32
        # every |x| <= limit when the sum of squares is (one vdot, ~0.6 us; the elementwise test cost ~15 us per block)
        energy = float(np.vdot(data, data))
        if not energy <= INPUT_LIMIT * INPUT_LIMIT:
            over = np.abs(data) > INPUT_LIMIT
            if over.any():
                self.count("clipped_input", int(np.count_nonzero(over)))
                data = np.clip(data, -INPUT_LIMIT, INPUT_LIMIT)
                energy = float(np.vdot(data, data))
        self.offset.add(data, energy)  # (a DC offset is said at finish())
        # zero every |x| < TINY, whatever the chunking (the same samples for any chunk sizes; the held-back partial
        # block was zeroed with its chunk); one reduction when there is none (~1.5 us a 10 ms block)
        magnitude = np.abs(data)
        if magnitude.min() < TINY:
            data = np.where(magnitude < TINY, np.float32(0), data)
        self.n_in += n
        vad = self._run(np.asarray(data[0], np.float32))
        return self._emit(n, vad, chunk, chunk.t0, bad)

    def end_segment(self, t_next: float | None = None) -> dict[str, Chunk]:
        """Before a gap: the segment's tail, as finish() gives it at the end of a stream; the next chunk starts anew.
        Its vad frames are those stamped up to the segment's last sample (k * hop <= n_in): the one more finish() gives
        after a segment of no whole number of hops (its newest block all zeros, its samples all in the frame before) was
        stamped after the next segment's start when the gap was under 10 ms (a segment of 4050 samples, 3 lost: the vad
        went back 6.7 ms). Its samples are those stamped before `t_next` (segment_tail: after a gap under 20 ms, a lost
        10 ms block of a live card, the rest would overlap the next segment's start; counted tail_dropped_at_gap)."""
        return tail_before(self, self._end(at_gap=True), t_next, SAMPLE_RATE)

    def finish(self) -> dict[str, Chunk]:
        if self.model is not None and self.t_first is not None:
            self._say_if_quiet()
            if said := self.offset.excess():
                over = f"{said[1]:.1f} dB over the rest of the signal" if said[1] < math.inf else "and nothing else"
                _log.warning(
                    "enhancer: its input holds a DC offset of %.3g (%s): the model was trained on audio without one "
                    "and reads it as signal (speech at -40 dBFS with an offset of 0.1 came out 3 dB less clean; "
                    "nodes/models/enhancer_level.py); remove it before the enhancer: a `highpass` node with {freq: 5, "
                    "order: 2}",
                    said[0],
                    over,
                )
        return self._end(at_gap=False)

    def _say_if_quiet(self) -> None:
        """At the end of a run whose loudest 10 ms block stayed under QUIET_DBFS (digital silence is not said)."""
        level, self.loudest_db = self.loudest_db, -math.inf  # (a node reused for the next file starts it afresh)
        if not -math.inf < level < QUIET_DBFS:
            return
        now = self.params.input_gain_db
        advice = ""
        if now != "auto" and (raise_to := suggested_input_gain(level, now)) > now:
            advice = (
                f"; if it holds speech, raise it: input_gain_db: {raise_to:g} (or auto) on the enhancer (its output "
                "keeps the input's level)"
            )
        _log.warning(
            "enhancer: its input's loudest 10 ms was %.1f dBFS%s, quieter than the speech it was trained on (-40 to -15 "
            "dBFS): speech this quiet is taken for noise and attenuated%s",
            level,
            " with input_gain_db: auto" if now == "auto" else "",
            advice,
        )

    def _end(self, at_gap: bool) -> dict[str, Chunk]:
        if self.model is None or self.t_first is None:
            return {}
        n = self.latency_samples
        # frames that hold at least one input sample: k * hop - (n_fft - hop) < n_in
        want = -(-(self.n_in + self._keep) // self.hop)
        if at_gap:  # and stamped no later than the segment's end, t_first + n_in / rate (the next one starts after it)
            want = min(want, self.n_in // self.hop + 1)
        vad = self._run(np.zeros(n, np.float32))
        if vad is not None:
            vad = vad[: max(0, want - self.n_frames)]
            vad = vad if len(vad) else None
        t0 = self.t_first + self.n_in / SAMPLE_RATE
        out = self._emit(n, vad, Chunk(np.zeros((1, 0), self._dtype), t0=t0), t0, None)
        self.reset(keep_level=at_gap)  # the stream is over: a node reused for the next file starts it fresh
        return out
