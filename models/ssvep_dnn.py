"""The Deep-SSVEP DNN (Guney, Oblokulov, Ozkan, "A Deep Neural Network for SSVEP-based Brain-Computer
Interfaces", IEEE TBME 2022), with its two-stage training.

Input: one window split into sub-bands, (batch, bands=3, channels, samples). Layers, as in the paper:

1. a 1x1 conv that combines the 3 sub-bands into one signal (no bias, initialised to ones);
2. a [C x 1] spatial conv, 120 filters; dropout p1;
3. a [1 x 2] conv with stride 2, 120 filters; dropout p1; ReLU;
4. a [1 x 10] conv ('same' padding), 120 filters; dropout p2;
5. a fully connected layer to M classes (softmax in the loss / in ``predict_proba``).

Training (``fit``): Adam, L2 1e-3 (weight decay), cross-entropy; stage 1 (global) on every training
subject, stage 2 (``fine_tune``) starts from the global weights and trains on one subject's calibration
trials with the first two dropouts raised to 0.6, as the paper does (and the last one to the paper's 0.95 for windows of 0.3-1.5 s, FINE_TUNE_P2); for a subject stage 1 never saw
(``new_head=True``: the benchmark's test subjects, a new user) it keeps only the global conv layers and
starts a new FC head (deviation, stated; the paper's stage 1 includes the test subject). Deviation, stated: the paper trains
stage 1 for 800-1000 epochs at lr 1e-4 with dropouts (0.1, 0.1, 0.95); on this shared 2-core CPU the
global models use lr 3e-3, 25 epochs and a last dropout of 0.5 (benchmarks/train_ssvep.py), which
reaches a low training loss in that budget. Deviation, stated: each window is divided by its RMS (over sub-bands, channels
and samples) before layer 1, so that weights trained on one amplifier's volts apply to another's.

Calibration windows (deviation, stated; ``stimulus_locked_windows``): the paper cuts one window per trial;
here stage 2 also uses the windows that start whole stimulus periods later in the same trial (the same
stimulus phase at every harmonic, over new background), as long as the stimulation lasts. With 3
calibration trials per class this is what lets the new FC head learn a subject's phase templates
(docs/benchmarks.md, BCI section: 2 subjects, 3 blocks, 1 s, -15 dB: 0.44 -> 0.90; the bench with 5
blocks: 0.45 -> 0.96, FBCCA 0.91).

Sub-bands: ``design_dnn_bank`` gives the same causal Chebyshev type I band-passes as FBCCA
(models/ssvep.py: order 4 per edge, 0.5 dB ripple) for the first 3 sub-bands [8n-2, 90] Hz (clipped to
0.45 x rate). The paper filters each trial with zero-phase filtfilt; a streaming decoder cannot, so the
node runs these filters causally over the stream and training data is filtered the same way
(benchmarks/ssvep_sim.py and the recording trainer filter whole trials causally from 1 s before the window).

Checkpoints: ``save``/``load`` write safetensors weights with a JSON config beside them in the
models.checkpoint format (kind ``ssvep_dnn``), holding rate, channel names, freqs, window length and bands.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import DictConfig
from .ssvep import design_bank
from .ssvep_fit_checks import check_training_data
from .ssvep_windows import (  # noqa: F401 (the windows are ssvep_dnn API)
    _augmenter,
    background_residuals,
    stimulus_locked_windows,
)
from .streaming import check_dtype

KIND = "ssvep_dnn"
# Stage-2 optimiser steps (of 100 windows) for a new subject: 600, chosen on development subjects that the
# benchmark never tests (benchmarks/ssvep_dev.py: 3 subjects, -10 dB, EEGMMIDB; 300 -> 600 steps took the
# DNN from 0.964 to 0.981 at 0.6 s and from 0.983 to 0.989 at 1 s; FBCCA 0.967 / 1.000 on the same trials).
FINE_TUNE_STEPS = 600
# Stage 2's last dropout (after layer 4): 0.95, the paper's, instead of the global models' 0.5, for windows of
# FINE_TUNE_P2_WINDOWS (s); chosen on the development subjects (ssvep_dev, 3 subjects x 400 trials per SNR,
# EEGMMIDB; docs/benchmarks.md, BCI section). -10 / -15 / -20 dB, 0.5 -> 0.95: 1 s 0.985 / 0.976 / 0.924 ->
# 0.993 / 0.993 / 0.959; 0.6 s 0.958 / 0.947 / 0.803 -> 0.973 / 0.963 / 0.857; 0.4 s 0.949 / 0.911 / 0.675 ->
# 0.944 / 0.937 / 0.720; but 0.2 s 0.733 / 0.550 / 0.310 -> 0.676 / 0.513 / 0.271 (the FC sees 1,920 features,
# 96 kept) and 2 s 0.805 / 0.587 / 0.294 -> 0.519 / 0.376 / 0.265 (one window per trial, 60 steps), which keep
# the global model's. The bounds lie midway between the measured windows; in between is untested.
FINE_TUNE_P2 = 0.95
FINE_TUNE_P2_WINDOWS = (0.3, 1.5)
# Stage 2's latency jitter (session 9; `fine_tune(latency_jitter=...)`): each calibration window cut up to
# `seconds` earlier or later (whole samples) at every step, for windows of `windows` (s). OFF by default
# (FINE_TUNE_LATENCY_JITTER_S = 0). On the development subjects (ssvep_dev, 3 subjects x 400 trials per SNR, 5 s
# calibration trials) +-6.25 ms (one sample at 160 Hz) took 1 s from 0.995 / 0.997 / 0.964 to 1.000 / 1.000 / 0.933 at
# -10 / -15 / -20 dB (their last errors were the trials whose latency was 7-10 ms off) and cost 0.1-0.3 at 0.4 and
# 0.6 s; but in the bench run with it on at 1 s (docs/benchmarks.md, BCI section), stage 2 of every ssvepy test
# subject and of some EEGMMIDB ones stayed on the ln(40) plateau (constant decisions: 0.025-0.68 at 1 s): the
# jitter slows the escape from it (a probe: loss 3.6 after 2 epochs instead of 0.9), so it is not used.
FINE_TUNE_LATENCY_JITTER_S = 0.0
FINE_TUNE_LATENCY_JITTER_WINDOWS = (0.8, 1.5)
# Session 10: the jitter only from this fraction of stage 2's optimiser steps on (`fine_tune(latency_jitter_from=)`;
# before it, every window is cut at its stimulus-locked start, as without the jitter), so that stage 2 leaves the
# ln(M) plateau first (docs/benchmarks.md, BCI section, "The last cell, session 10").
FINE_TUNE_LATENCY_JITTER_FROM = 0.5


def stage2_latency_jitter(
    cfg: SSVEPDNNConfig, seconds: float | None = None, windows: tuple[float, float] | None = None
) -> int:
    """Stage 2's latency jitter for a model's window, in samples (0: none): `seconds` (default
    FINE_TUNE_LATENCY_JITTER_S, 0: off) rounded to whole samples, at least one, within `windows` (default
    FINE_TUNE_LATENCY_JITTER_WINDOWS) s."""
    seconds = FINE_TUNE_LATENCY_JITTER_S if seconds is None else seconds
    lo, hi = FINE_TUNE_LATENCY_JITTER_WINDOWS if windows is None else windows
    if seconds <= 0 or not lo <= cfg.n_samples / cfg.rate <= hi:
        return 0
    return max(1, int(round(seconds * cfg.rate)))


# Decision crops (session 10): the decision is the mean softmax over the window and the windows DECISION_CROPS_S
# (whole samples, at least one) earlier and later, for windows of DECISION_CROPS_WINDOWS (s): a trial whose response
# came a few ms off the user's usual latency also meets its class's phase template at a crop. Chosen on the
# development subjects (ssvep_dev --crops 1, 1 s; docs/benchmarks.md, BCI section): EEGMMIDB subjects 200-205,
# -10 / -15 / -20 dB, 2,400 trials per SNR: 22 / 31 / 180 errors -> 14 / 17 / 103; ssvepy subjects 200-202: 0.992 /
# 0.914 / 0.611 -> 0.992 / 0.953 / 0.633. Training is unchanged; the decision waits one sample more (6.25 ms at 160 Hz).
DECISION_CROPS_S = 0.00625
DECISION_CROPS_WINDOWS = (0.8, 1.5)


def decision_crops(cfg: SSVEPDNNConfig, seconds: float | None = None) -> int:
    """The crop shift for a model's window, in samples (0: decide on the window alone): `seconds` (default
    DECISION_CROPS_S, 0: off) in whole samples, at least one, within DECISION_CROPS_WINDOWS s."""
    seconds = DECISION_CROPS_S if seconds is None else seconds
    lo, hi = DECISION_CROPS_WINDOWS
    if seconds <= 0 or not lo <= cfg.n_samples / cfg.rate <= hi:
        return 0
    return max(1, int(round(seconds * cfg.rate)))


# Stage-2 seed ensemble (session 11): FINE_TUNE_ENSEMBLE stage-2 runs on the same calibration windows, seeds
# seed + ENSEMBLE_SEED_STEP * k (k = 0 is the single run), for windows of FINE_TUNE_ENSEMBLE_WINDOWS (s); the model
# decides on the mean of the members' softmax (``SSVEPEnsemble``; with the decision crops, over members and crops).
# Chosen on development subjects by a rule written first (ssvep_dev '{"ensemble": 3}' --crops 1, stage 2 on a GPU,
# 1 s, against its own first member with crops on the same trials; docs/benchmarks.md, BCI section, session 11):
# EEGMMIDB subjects 200-247, 19,200 trials per SNR, errors at -10 / -15 / -20 dB 101 / 135 / 817 -> 74 / 100 / 655;
# ssvepy subjects 200-211: 0.906 / 0.823 / 0.512 -> 0.908 / 0.830 / 0.520. Costs 3x stage 2 and 3x the decision.
# The bench's 1 s cells then: EEGMMIDB 0.942 / 0.981 / 0.997 -> 0.958 / 0.986 / 1.000, ssvepy 0.472 / 0.878 / 0.983 ->
# 0.503 / 0.892 / 0.989 at -20 / -15 / -10 dB.
FINE_TUNE_ENSEMBLE = 3
FINE_TUNE_ENSEMBLE_WINDOWS = (0.8, 1.5)
ENSEMBLE_SEED_STEP = 1000


def stage2_ensemble(cfg: SSVEPDNNConfig, n: int | None = None) -> int:
    """How many stage-2 runs a model's window gets: `n` (default FINE_TUNE_ENSEMBLE) within
    FINE_TUNE_ENSEMBLE_WINDOWS s, else 1."""
    n = FINE_TUNE_ENSEMBLE if n is None else n
    lo, hi = FINE_TUNE_ENSEMBLE_WINDOWS
    return max(1, n) if lo <= cfg.n_samples / cfg.rate <= hi else 1


def stage2_p2(cfg: SSVEPDNNConfig) -> float:
    """Stage 2's last dropout for a model's window: FINE_TUNE_P2 within FINE_TUNE_P2_WINDOWS, else cfg.p2."""
    lo, hi = FINE_TUNE_P2_WINDOWS
    return FINE_TUNE_P2 if lo <= cfg.n_samples / cfg.rate <= hi else cfg.p2


@dataclass
class SSVEPDNNConfig(DictConfig):
    rate: float
    channels: list[str]
    freqs: list[float]
    n_samples: int  # window length in samples
    bands: list[list[float]] = field(default_factory=list)  # 3 sub-bands [lo, hi] Hz
    n_filters: int = 120
    p1: float = 0.1  # dropout after layers 2 and 3
    p2: float = 0.95  # dropout after layer 4
    delay: float = 0.14  # s from the stimulus onset to the window start used in training

    def __post_init__(self):
        # a hand-edited or foreign checkpoint JSON: say which value is wrong (it failed in torch or scipy, or a NaN
        # frequency decoded as one)
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"rate must be a sampling rate > 0 Hz, got {self.rate}")
        if self.n_samples < 2:
            raise ValueError(f"n_samples (the window length in samples) must be >= 2, got {self.n_samples}")
        if self.n_filters < 1:
            raise ValueError(f"n_filters must be >= 1, got {self.n_filters}")
        if not (0 <= self.p1 < 1 and 0 <= self.p2 < 1):
            raise ValueError(f"the dropouts p1 and p2 must be in [0, 1), got {self.p1} and {self.p2}")
        if not math.isfinite(self.delay):
            raise ValueError(f"delay must be a finite number of seconds, got {self.delay}")
        if not self.channels or not self.freqs:
            raise ValueError(f"needs one or more channels and freqs, got {len(self.channels)} and {len(self.freqs)}")
        nyquist = self.rate / 2
        if not self.bands:
            from .ssvep import fbcca_bands

            self.bands = [list(b) for b in fbcca_bands(self.rate, 3)]
        self.freqs = [float(f) for f in self.freqs]
        self.channels = [str(c) for c in self.channels]
        for name, values in (("channels", self.channels), ("freqs", self.freqs)):  # Oz nine times was taken: unsaid
            if twice := sorted({v for v in values if values.count(v) > 1}, key=str):
                raise ValueError(f"{name} lists {', '.join(map(str, twice))} more than once; each is listed once")
        for f in self.freqs:
            if not 0 < f < nyquist:  # NaN too
                raise ValueError(f"stimulus frequency {f} Hz must be > 0 and below Nyquist ({nyquist:g} Hz)")
        for band in self.bands:
            if len(band) != 2 or not 0 < band[0] < band[1] < nyquist:
                raise ValueError(f"band {band} must be [low, high] Hz with 0 < low < high < Nyquist ({nyquist:g} Hz)")


class SSVEPDNN(nn.Module):
    def __init__(self, cfg: SSVEPDNNConfig):
        super().__init__()
        self.cfg = cfg
        c, t, f = len(cfg.channels), cfg.n_samples, cfg.n_filters
        self.combine = nn.Conv2d(len(cfg.bands), 1, 1, bias=False)
        self.spatial = nn.Conv2d(1, f, (c, 1))
        self.down = nn.Conv2d(f, f, (1, 2), stride=(1, 2))
        # 'same' padding, made explicit (4 zeros before, 5 after, as torch pads an even kernel): padding="same" printed
        # torch's UserWarning about a zero-padded copy in training and on every process's first decision
        self.temporal = nn.Conv2d(f, f, (1, 10))
        self.fc = nn.Linear(f * (t // 2), len(cfg.freqs))
        self.drop1 = nn.Dropout(cfg.p1)
        self.drop2 = nn.Dropout(cfg.p1)
        self.drop3 = nn.Dropout(cfg.p2)
        nn.init.ones_(self.combine.weight)
        for m in (self.spatial, self.down, self.temporal, self.fc):  # MATLAB's 'narrow-normal'
            nn.init.normal_(m.weight, 0.0, 0.01)
            assert m.bias is not None  # all four are built with a bias
            nn.init.zeros_(m.bias)

    def set_dropout(self, p1: float, p2: float) -> None:
        self.drop1.p = self.drop2.p = p1
        self.drop3.p = p2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, bands, channels, samples) -> logits (batch, M)."""
        want = (len(self.cfg.bands), len(self.cfg.channels), self.cfg.n_samples)
        if x.dim() != 4 or tuple(x.shape[1:]) != want:  # was torch's 'mat1 and mat2 shapes cannot be multiplied'
            raise ValueError(
                f"windows must be (batch, bands, channels, samples) = (n, {', '.join(map(str, want))}) "
                f"for this model, got shape {tuple(x.shape)}"
            )
        check_dtype(self, x)  # was 'expected scalar type Double but found Float'
        x = x / (x.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt() + 1e-20)
        x = self.combine(x)
        x = self.drop1(self.spatial(x))
        x = torch.relu(self.drop2(self.down(x)))
        x = self.drop3(self.temporal(nn.functional.pad(x, (4, 5))))
        return self.fc(x.flatten(1))


class SSVEPEnsemble(nn.Module):
    """Stage-2 runs of one subject (same config) deciding together: forward returns the log of the mean of the
    members' softmax, so ``softmax(forward(x))`` is that mean and every caller of an SSVEPDNN (``predict_proba``,
    its crops, the decoder nodes) takes an ensemble as it is."""

    def __init__(self, members: list[SSVEPDNN]):
        super().__init__()
        if not members or any(m.cfg.to_dict() != members[0].cfg.to_dict() for m in members):
            raise ValueError("SSVEPEnsemble: give one or more models of the same config")
        self.members = nn.ModuleList(members)
        self.cfg = members[0].cfg

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = torch.stack([torch.softmax(m(x), dim=-1) for m in self.members]).mean(dim=0)
        return torch.log(probs.clamp_min(1e-30))


def design_dnn_bank(cfg: SSVEPDNNConfig) -> list[np.ndarray]:
    """The causal sub-band filters (SOS) the model was trained with."""
    return design_bank([tuple(b) for b in cfg.bands], cfg.rate)


def fit(
    model: SSVEPDNN,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    lr: float = 1e-3,
    batch: int = 100,
    weight_decay: float = 1e-3,
    seed: int = 0,
    log=None,
    augment=None,
    penalty=None,
    params=None,
    average: float = 0.0,
) -> list[float]:
    """Train in place on x (n, bands, C, T), y (n,) ints; returns the loss per epoch. Seeded.

    augment(batch_x, batch_idx, generator) -> batch_x: applied to each training batch; penalty() -> a scalar
    tensor added to the loss; params: what the optimiser updates (default every parameter; a list of
    parameter groups also works, e.g. with their own weight_decay). average: the model ends with the mean of
    its weights after each of the last `average` (a fraction) of the optimiser steps (stochastic weight
    averaging, Izmailov et al. 2018; 0: the last step's weights)."""
    check_training_data(len(model.cfg.freqs), x, y, batch, epochs)
    gen = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64))
    device = next(model.parameters()).device  # each batch goes where the model is (a GPU for development runs)
    opt = torch.optim.Adam(model.parameters() if params is None else params, lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    losses = []
    total_steps = epochs * -(-len(xt) // batch)
    first_avg = total_steps - max(1, int(round(average * total_steps))) if average > 0 else None
    step, n_avg, avg = 0, 0, [p.detach().clone() for p in model.parameters()]
    for ep in range(epochs):
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), batch):
            idx = perm[i : i + batch]
            opt.zero_grad()
            xb = xt[idx] if augment is None else augment(xt[idx], idx, gen)
            loss = loss_fn(model(xb.to(device)), yt[idx].to(device))
            if penalty is not None:
                loss = loss + penalty()
            loss.backward()
            opt.step()
            if first_avg is not None and step >= first_avg:
                n_avg += 1
                with torch.no_grad():
                    for a, p in zip(avg, model.parameters()):
                        a.add_(p.detach() - a, alpha=1.0 / n_avg)  # running mean of the visited weights
            step += 1
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(xt))
        if log is not None:
            log(ep, losses[-1])
    if n_avg:
        with torch.no_grad():
            for a, p in zip(avg, model.parameters()):
                p.copy_(a)
    model.eval()
    return losses


def fine_tune(
    model: SSVEPDNN,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    p1: float = 0.6,
    new_head: bool = False,
    seed: int = 0,
    noise: float = 0.0,
    chan_drop: float = 0.0,
    freeze: bool = False,
    l2sp: float = 0.0,
    p2: float | None = None,
    mixup: float = 0.0,
    latency_jitter: int = 0,
    latency_jitter_from: float = 0.0,
    device: str | torch.device = "cpu",
    **kw,
) -> SSVEPDNN:
    """Stage 2: a copy of the global model trained on one subject's calibration trials (dropouts raised: p1,
    and the last one p2; None: ``stage2_p2``, the paper's 0.95 for windows of 0.3-1.5 s, else the global model's).

    new_head: re-initialise the FC layer (seeded, as at construction) and keep only the conv layers of the
    global model. Use it for a subject stage 1 never saw (the paper's stage 1 includes the test subject's
    other blocks; ours and a new user's do not): the global FC holds the training subjects' phase templates,
    confidently wrong for a new visual latency, and a few dozen steps on 120 trials do not undo them -- the
    longer the window (the larger the FC), the worse (docs/benchmarks.md, BCI section).

    Regularisers against the background the calibration windows share (all off by default):
    noise: each training window gets the calibration background of another window added, scaled by
    U(0, noise) (``background_residuals``: a window minus its class mean, i.e. without its own stimulus);
    chan_drop: each channel of each window is zeroed with this probability; mixup: each window is mixed with
    another window of its own class, (1 - a) x + a x', a ~ U(0, mixup) (the same stimulus phase, two
    backgrounds); latency_jitter (samples, k): x holds windows k samples longer on each side
    (``stimulus_locked_windows(..., margin=k)``) and each training window is cut from it d samples later,
    d uniform in -k..k, drawn anew at every step: the response arrives that much earlier or later against the
    window, as a trial's visual latency varies (the background moves with it, which changes nothing; the bench
    uses ``stage2_latency_jitter``); latency_jitter_from: the jitter starts only after this fraction of the
    optimiser steps (before, each window is cut at its stimulus-locked start, so stage 2 runs as without the
    jitter until then; the bench uses FINE_TUNE_LATENCY_JITTER_FROM); freeze: train the FC head only (the global conv layers stay as they are); l2sp: the conv layers are pulled towards the global weights
    (l2sp * squared distance, "L2-SP") instead of towards 0 by the weight decay. Measured on the development
    subjects (docs/benchmarks.md, BCI section): noise 1.0 did not help, freeze and l2sp only in a 60-step
    probe (worse / no change), chan_drop not alone; the raised last dropout (p2) did; at 1 s, neither weight
    averaging (``average``, passed on to ``fit``) nor mixup changed the -10 dB errors (mixup: worse).

    device: where stage 2 trains (and the returned copy stays); "cpu", the default, is what the bench and
    `wavegraph train ssvep` use (a GPU gives other floating-point results, so other models to the trial)."""
    import copy

    m = copy.deepcopy(model)
    if new_head:
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            m.fc.weight.copy_(torch.randn(m.fc.weight.shape, generator=gen) * 0.01)
            m.fc.bias.zero_()
    m.set_dropout(p1, stage2_p2(m.cfg) if p2 is None else p2)
    m.to(device)
    convs = [p for name, p in m.named_parameters() if not name.startswith("fc.")]
    if freeze:
        kw["params"] = list(m.fc.parameters())
    elif l2sp > 0:
        start = [p.detach().clone() for p in convs]
        wd = kw.get("weight_decay", 1e-3)
        kw["params"] = [{"params": list(m.fc.parameters())}, {"params": convs, "weight_decay": 0.0}]
        kw["weight_decay"] = wd
        kw["penalty"] = lambda: l2sp * sum(((p - p0) ** 2).sum() for p, p0 in zip(convs, start))
    width = m.cfg.n_samples + 2 * latency_jitter
    if latency_jitter < 0 or np.shape(x)[-1] != width:
        raise ValueError(
            f"fine_tune: windows of {np.shape(x)[-1]} samples with latency_jitter={latency_jitter}; the model takes "
            f"{m.cfg.n_samples}, so x needs {m.cfg.n_samples} + 2 x latency_jitter (stimulus_locked_windows margin)"
        )
    if not 0.0 <= latency_jitter_from <= 1.0:
        raise ValueError(f"fine_tune: latency_jitter_from={latency_jitter_from} is a fraction of the steps, 0 to 1")
    if noise > 0 or chan_drop > 0 or mixup > 0 or latency_jitter > 0:
        steps = epochs * -(-len(y) // kw.get("batch", 100))
        from_step = int(round(latency_jitter_from * steps))
        kw["augment"] = _augmenter(x, y, noise, chan_drop, mixup, latency_jitter, from_step)
    with torch.random.fork_rng(devices=[]):  # dropout draws from torch's global generator: seeded here, and the
        torch.manual_seed(seed)  # caller's generator left as it was (it used to depend on what ran before)
        fit(m, x, y, epochs, seed=seed, **kw)
    m.set_dropout(model.cfg.p1, model.cfg.p2)
    return m


def epochs_for_steps(n: int, steps: int, batch: int = 100) -> int:
    """Epochs that make about `steps` optimiser steps over n examples (at least 1)."""
    return max(1, -(-steps // max(1, -(-n // batch))))


@torch.inference_mode()
def predict_proba(
    model: SSVEPDNN | SSVEPEnsemble, x: np.ndarray, device: str | torch.device = "cpu", batch: int = 500, crops: int = 0
) -> np.ndarray:
    """Softmax probabilities (n, M) for windows x (n, bands, C, T). crops = k > 0: x holds windows k samples
    wider on each side (T = the model's n_samples + 2k) and the result is the mean softmax over the 2k + 1
    windows of the model's length cut from them, shifted -k..k samples (``decision_crops``)."""
    model.eval()
    if batch < 1:  # was 'range() arg 3 must not be zero'
        raise ValueError(f"predict_proba: batch must be >= 1 windows per forward pass, got {batch}")
    if crops:
        n = model.cfg.n_samples
        if crops < 0 or np.shape(x)[-1] != n + 2 * crops:
            raise ValueError(
                f"predict_proba: windows of {np.shape(x)[-1]} samples for crops={crops}; need {n} + 2 x crops"
            )
        x = np.asarray(x)
        both = np.concatenate([x[..., d : d + n] for d in range(2 * crops + 1)])  # one forward pass for all crops
        return predict_proba(model, both, device, batch).reshape(2 * crops + 1, len(x), -1).mean(axis=0)
    x = _in_float32_range(x)
    out = []
    for i in range(0, len(x), batch):
        xt = torch.as_tensor(np.asarray(x[i : i + batch], dtype=np.float32), device=device)
        out.append(torch.softmax(model(xt), dim=-1).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(model.cfg.freqs)))


def _in_float32_range(x) -> np.ndarray:
    """x, each window with a peak beyond +-1e15 (or under 1e-15) divided by it in float64: the model divides a window
    by its RMS, so its scores hold at any scale, but in float32 1e20's square is inf (scored as a zero window, unsaid)
    and 1e300 inf itself (NaN scores). Windows at EEG levels (V or uV) are passed as they are, bit for bit."""
    x = np.asarray(x)
    if x.ndim < 2 or not x.size:
        return x
    with np.errstate(invalid="ignore"):
        peak = np.abs(x).max(axis=tuple(range(1, x.ndim)))
        far = (peak > 1e15) | ((peak > 0) & (peak < 1e-15))  # (NaN: neither; inf: its window is no window)
    if not far.any():
        return x
    x = np.array(x, dtype=np.float64)
    x[far] /= peak[far].reshape(-1, *([1] * (x.ndim - 1)))
    return x


def save(model: SSVEPDNN | SSVEPEnsemble, path, extra: dict | None = None, half: bool = False) -> Path:
    """Weights (safetensors) at `path`, config JSON beside it (models.checkpoint format, kind ssvep_dnn).
    half: store float16 (the shipped global models, to stay small); loading casts back to float32. An
    SSVEPEnsemble is saved whole (its members' tensors `members.K.*`, the JSON's `members` says how many)."""
    from .checkpoint import FORMAT, VERSION, CheckpointError, nonfinite, write_pair

    p = Path(path)
    dtype = torch.float16 if half else torch.float32
    if why := nonfinite({k: v.detach().to(dtype) for k, v in model.state_dict().items()}):  # also what half overflows
        raise CheckpointError(f"not saving {p}: {why} (a training run that diverged?)")
    meta = {"format": FORMAT, "version": VERSION, "kind": KIND, "config": model.cfg.to_dict()}
    if isinstance(model, SSVEPEnsemble):
        meta["members"] = len(model.members)
    if extra:
        meta["training"] = extra
    tensors = {k: v.detach().cpu().to(dtype).contiguous() for k, v in model.state_dict().items()}
    return write_pair(p, tensors, meta)  # beside, then moved: a failed save keeps the files there


def load(path, map_location="cpu") -> tuple[SSVEPDNN | SSVEPEnsemble, dict]:
    """(model in eval mode, the JSON metadata) from a checkpoint written by `save`: an SSVEPEnsemble when it
    holds several stage-2 runs (`members` in the JSON), which decides like one model (``first_member`` gives
    its first run, e.g. to fine-tune from)."""
    from .checkpoint import CheckpointError, config_path, load_config, load_weights

    kind, config = load_config(path)
    if kind != KIND:
        raise CheckpointError(f"{path} holds a {kind!r} model, not an {KIND!r}")
    try:
        cfg = SSVEPDNNConfig.from_dict(config)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"bad {KIND} config in {config_path(path)}: {e}") from e
    meta = json.loads(config_path(path).read_text())
    n = meta.get("members")
    if n is not None and (not isinstance(n, int) or n < 1):
        raise CheckpointError(f"bad {KIND} 'members' in {config_path(path)}: {n!r} (a count of stage-2 runs, >= 1)")
    model = SSVEPEnsemble([SSVEPDNN(cfg) for _ in range(n)]) if n else SSVEPDNN(cfg)
    return load_weights(model, path, map_location).eval(), meta


def first_member(model: SSVEPDNN | SSVEPEnsemble) -> SSVEPDNN:
    """The model itself, or an ensemble's first stage-2 run."""
    first = model.members[0] if isinstance(model, SSVEPEnsemble) else model
    assert isinstance(first, SSVEPDNN)
    return first
