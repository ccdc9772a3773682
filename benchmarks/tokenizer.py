"""Train and evaluate the EEG tokenizer (models/eeg_tokenizer.py) on the real EEG that ships in PyPI packages.

    wavegraph train tokenizer [--steps N] [--seed S] --out my_tokenizer.safetensors
    wavegraph bench tokenizer [--weights PATH] [--json PATH]

Data (pipeline/datasets.py, sha256-checked). Training: PhysioNet EEGMMIDB S001R02 (64 ch, 160 Hz, 61 s), the ssvepy
SSVEP epochs (64 ch, 256 Hz, 16 x 16 s), and four biosignalsnotebooks OpenSignals recordings (1 kHz: two artefact
segments, O1/O2, P; 1-2 ch). Held out: `eeg_sample_closed_open_eyes.h5` (another device and subject, 2 ch, 242 s),
never seen in training. Every channel: causal 0.5 Hz Butterworth high-pass (order 2, steady-state start: it removes
the ADC offset of the raw OpenSignals counts), resample_poly to 200 Hz, then the tokenizer's own front end (causal
robust scaling, 1 s frames every 0.5 s).

Training: masked time-frequency reconstruction. Crops of `--frames` consecutive frames (plus context-1 warm-up
frames for the causal context conv); per crop 25 % of the frames are masked (frequency patches and temporal path
replaced by mask vectors) and 30 % of the frequency patches of the other frames; the decoder reconstructs every
frame's log1p magnitude spectrum from the code vectors. Loss = MSE(all) + MSE(masked frames) + 0.25 commitment.
AdamW, cosine schedule, torch seeded, one thread.

Report: codebook usage on the training and held-out data (perplexity of the token histogram, share of the codes
used), reconstruction NMSE of the log spectrum on the held-out recording (error energy / energy around the training
mean spectrum; 1.0 = predicting the mean spectrum) for unmasked input, and tokens per second of the streaming path.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from wavegraph.models.cli_args import THREADS_HELP, positive
from wavegraph.models.eeg_tokenizer import EEGTokenizer, TokenizerConfig, frame_windows, log_spectrum
from wavegraph.pipeline.datasets import fetch, read_opensignals

WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "weights" / "eeg_tokenizer.safetensors"
TRAIN_H5 = ("bsn-eeg-artefacts-seg1", "bsn-eeg-artefacts-seg2", "bsn-eeg-o", "bsn-eeg-p")
HELD_OUT = "bsn-eeg-closed-open-eyes"
SNAPSHOT_EVERY = 200  # training steps between snapshots (OUT.partial.safetensors, removed once OUT is written)


def prepare(data: np.ndarray, rate: float, out_rate: float = 200.0) -> np.ndarray:
    """(channels, samples) -> causal 0.5 Hz high-pass (steady start) -> resampled to out_rate, float64."""
    from fractions import Fraction

    from scipy import signal

    sos = signal.butter(2, 0.5, "highpass", fs=rate, output="sos")
    zi = signal.sosfilt_zi(sos)[:, None, :] * data[:, :1][None]
    x = signal.sosfilt(sos, data, axis=-1, zi=zi)[0]
    frac = Fraction(out_rate / rate).limit_denominator(1000)
    return signal.resample_poly(x, frac.numerator, frac.denominator, axis=-1)


def recordings(held_out: bool = False) -> list[tuple[str, np.ndarray]]:
    """[(name, (signals, samples) at 200 Hz)]: the training recordings, or the held-out one."""
    if held_out:
        data, rate = read_opensignals(fetch(HELD_OUT))
        return [(HELD_OUT, prepare(data, rate))]
    import mne

    raw = mne.io.read_raw_edf(fetch("eegmmidb-s001r02"), preload=True, verbose="error")
    out = [("eegmmidb-s001r02", prepare(np.asarray(raw.get_data()), raw.info["sfreq"]))]
    ep = mne.read_epochs(fetch("ssvepy-epochs"), preload=True, verbose="error").pick("eeg")
    x = ep.get_data()  # (epochs, channels, samples): each epoch is its own stream
    out.append(("ssvepy-epochs", prepare(x.reshape(-1, x.shape[-1]), ep.info["sfreq"])))
    for name in TRAIN_H5:
        data, rate = read_opensignals(fetch(name))
        out.append((name, prepare(data, rate)))
    return out


def windows_of(x: np.ndarray, cfg: TokenizerConfig) -> torch.Tensor:
    """Every frame's scaled window (signals, frames, n_fft) float64, exactly as the streaming front end."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    n_frames = t.shape[1] // cfg.hop
    hist = torch.zeros(t.shape[0], cfg.history, dtype=torch.float64)
    out = [frame_windows(torch.cat([hist, t], 1)[i : i + 8], cfg, n_frames, t.shape[1]) for i in range(0, len(t), 8)]
    return torch.cat(out)


def masks(n: int, f: int, n_patches: int, gen: torch.Generator, p_frame=0.25, p_patch=0.3):
    frame = torch.rand(n, f, generator=gen) < p_frame
    patch = torch.rand(n, f, n_patches, generator=gen) < p_patch
    return frame, patch


def train_step(model: EEGTokenizer, wins: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, dict]:
    """wins (N, warm + F, n_fft): masked reconstruction loss of the last F frames."""
    cfg = model.cfg
    warm = cfg.context - 1
    frame_mask, patch_mask = masks(wins.shape[0], wins.shape[1], cfg.n_bins // cfg.patch, gen)
    feats = model.frame_features(wins, frame_mask, patch_mask)
    z = model.latents(feats[:, warm:], feats[:, :warm])
    tokens, q = model.quantizer(z.reshape(-1, z.shape[-1]))
    q = q.reshape(z.shape)
    recon = model.decode(q)
    target = log_spectrum(wins[:, warm:], cfg)
    err = (recon - target).pow(2).mean(-1)
    fm = frame_mask[:, warm:]
    loss_all = err.mean()
    loss_masked = (err * fm).sum() / fm.sum().clamp_min(1)
    commit = (z - q.detach()).pow(2).sum(-1).mean()
    loss = loss_all + loss_masked + cfg.commitment * commit
    return loss, {"loss": loss.item(), "recon": loss_all.item(), "masked": loss_masked.item(), "tokens": tokens}


def usage(tokens: torch.Tensor, n_codes: int) -> dict:
    counts = torch.bincount(tokens.reshape(-1), minlength=n_codes).double()
    p = counts / counts.sum()
    nz = p[p > 0]
    return {
        "perplexity": float(torch.exp(-(nz * nz.log()).sum())),
        "codes_used": int((counts > 0).sum()),
        "share_used": float((counts > 0).double().mean()),
        "n_tokens": int(counts.sum()),
    }


@torch.no_grad()
def evaluate(
    model: EEGTokenizer, train_wins: list[torch.Tensor], held: list, stream_x: np.ndarray, crop: int = 16
) -> dict:
    """Codebook usage (training and held-out frames), held-out reconstruction NMSE, tokens per second (streaming
    `stream_x`, channels on the batch axis). `train_wins`: windows_of() of the training signals."""
    model.eval()
    cfg = model.cfg
    tokens, specs = [], []
    for w in train_wins:
        for i in range(0, len(w), 256):
            tokens.append(model.encode_windows(w[i : i + 256].double())["tokens"].reshape(-1))
            specs.append(log_spectrum(w[i : i + 256].double(), cfg).reshape(-1, cfg.n_bins))
    mean_spec = torch.cat(specs).mean(0)
    report = {"train_usage": usage(torch.cat(tokens), cfg.codebook_size)}
    name, x = held[0]
    wins = windows_of(x, cfg)
    out = model.encode_windows(wins)
    target = log_spectrum(wins, cfg)
    q = out["embeddings"]  # decoded in segments of the training crop length, as the decoder was trained
    recon = torch.cat([model.decode(q[:, i : i + crop]) for i in range(0, q.shape[1], crop)], 1)
    err = (recon - target).pow(2).mean()
    base = (target - mean_spec).pow(2).mean()  # predicting the training data's mean spectrum
    own = (target - target.mean((0, 1))).pow(2).mean()  # predicting the held-out recording's own mean spectrum
    report["held_out"] = {
        "recording": name,
        "frames": int(target.shape[0] * target.shape[1]),
        "recon_mse": float(err),
        "train_mean_spectrum_mse": float(base),
        "own_mean_spectrum_mse": float(own),
        "recon_nmse": float(err / base),
        "recon_nmse_own_mean": float(err / own),
        "usage": usage(out["tokens"], cfg.codebook_size),
    }
    report["tokens_per_s"] = throughput(model, stream_x)
    return report


@torch.no_grad()
def throughput(model: EEGTokenizer, x: np.ndarray, chunk_s: float = 0.1) -> dict:
    """Stream a multi-channel recording (channels on the batch axis) in chunks of chunk_s seconds."""
    cfg = model.cfg
    t = torch.from_numpy(np.ascontiguousarray(x[:, :, None]))
    step = int(chunk_s * cfg.rate)
    state = model.init_state(t.shape[0])
    n_tok = 0
    start = time.perf_counter()
    for i in range(0, t.shape[1], step):
        out, state = model.stream_encode(t[:, i : i + step], state)
        n_tok += out["tokens"].numel()
    wall = time.perf_counter() - start
    seconds = t.shape[1] / cfg.rate
    return {
        "channels": int(t.shape[0]),
        "signal_s": seconds,
        "wall_s": wall,
        "tokens": n_tok,
        "tokens_per_s": n_tok / wall,
        "x_real_time": seconds / wall,
        "threads": torch.get_num_threads(),
    }


def save(model: EEGTokenizer, path: Path) -> None:
    from wavegraph.models import checkpoint

    checkpoint.save(model, path)


def train_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="wavegraph train tokenizer", description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--steps", type=positive(int), default=1200)
    ap.add_argument("--batch", type=positive(int), default=48, help="crops per step")
    ap.add_argument("--frames", type=positive(int), default=16, help="frames per crop (0.5 s each)")
    ap.add_argument("--lr", type=positive(float), default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=positive(int), default=1, help=THREADS_HELP)
    ap.add_argument(
        "--out", type=Path, default=None, help=f"weights file (the shipped {WEIGHTS.name} is replaced only when named)"
    )
    ap.add_argument("--report", type=Path, default=None, help="write the evaluation JSON here")
    args = ap.parse_args(argv)
    if args.out is None:  # `train tokenizer --steps 100` replaced the shipped weights (in the package) unasked
        if WEIGHTS.exists():
            ap.error(
                f"without --out this would replace the shipped tokenizer {WEIGHTS}; give --out my_tokenizer.safetensors "
                f"(or --out {WEIGHTS} to replace the shipped one)"
            )
        args.out = WEIGHTS
    from wavegraph.models.checkpoint import out_problem
    from wavegraph.pipeline.cli import unwritable

    if args.batch * args.frames < 2:  # torch's 'Expected more than 1 value per channel when training' after the data
        ap.error("--batch 1 --frames 1: a step needs 2 frames or more (the encoder's batch norm); give --batch 2")
    if why := out_problem(args.out):  # before the training: the save at its end failed, the run lost
        ap.error(f"--out {args.out}: {why}")
    if args.report is not None and (why := unwritable(str(args.report))):
        ap.error(f"--report {args.report}: cannot write ({why})")
    from wavegraph.models.checkpoint import config_path

    if args.report is not None and args.report.resolve() in (args.out.resolve(), config_path(args.out).resolve()):
        ap.error(  # it was written over the model's config (or weights) at the end: a checkpoint that no longer loads
            f"--report {args.report} is the name of the model's {'config' if args.report.suffix == '.json' else 'weights'}"
            f" (--out {args.out}); give it another name, e.g. {args.out.with_suffix('.report.json')}"
        )
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    cfg = TokenizerConfig()
    model = EEGTokenizer(cfg)
    t0 = time.time()
    train = recordings()
    longest, warm = max(x.shape[1] // cfg.hop for _, x in train), cfg.context - 1
    if args.frames + warm > longest:  # torch's "invalid multinomial distribution" at the first step
        ap.error(
            f"--frames {args.frames}: no training recording is that long (the longest has {longest} frames, "
            f"{warm} of them context); use --frames {max(1, longest - warm)} or fewer"
        )
    held = recordings(held_out=True)
    wins = [windows_of(x, cfg).float() for _, x in train]
    pool = torch.cat([w.reshape(-1, cfg.n_fft) for w in wins])
    print(
        f"data: {sum(w.shape[0] * w.shape[1] for w in wins)} training frames from "
        f"{sum(w.shape[0] for w in wins)} signals, held out {held[0][0]} ({held[0][1].shape}); "
        f"{time.time() - t0:.0f} s",
        flush=True,
    )
    # crops: (signal index, first frame) of every full crop
    warm = cfg.context - 1
    span = args.frames + warm
    starts = [
        [(k, i, f) for i in range(w.shape[0]) for f in range(0, w.shape[1] - span + 1, 2)] for k, w in enumerate(wins)
    ]
    # recordings drawn with probability ~ sqrt(their crops), so the small 1-2 channel ones are not drowned out
    rec_p = torch.tensor([math.sqrt(len(c)) for c in starts], dtype=torch.float64)
    # initialise the codebook on latents of the untrained encoder (k-means++-free: random distinct frames)
    with torch.no_grad():
        idx = torch.randperm(len(pool), generator=gen)[: cfg.codebook_size]
        feats = model.frame_features(pool[idx][None].double())
        z0 = model.latents(feats, model._prev0(1, "cpu"))[0]
        model.quantizer.codebook.copy_(z0)
        model.quantizer.ema_sum.copy_(z0)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.steps, pct_start=0.05)
    model.train()
    partial = args.out.with_name(args.out.stem + ".partial.safetensors")
    t_train = time.time()
    for step in range(args.steps):
        recs = torch.multinomial(rec_p, args.batch, replacement=True, generator=gen).tolist()
        crops = [starts[r][int(torch.randint(len(starts[r]), (1,), generator=gen))] for r in recs]
        batch = torch.stack([wins[k][i, f : f + span] for k, i, f in crops])
        loss, info = train_step(model, batch.double(), gen)
        if not math.isfinite(info["loss"]):  # it went on, and wrote NaN weights the loader refuses, exit 0
            print(
                f"train tokenizer: the training diverged at step {step} (loss {info['loss']}); {args.out} was not "
                f"written; fix: a lower --lr (now {args.lr:g})",
                file=sys.stderr,
            )
            return 1
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % SNAPSHOT_EVERY == SNAPSHOT_EVERY - 1:  # a snapshot to inspect while the run goes on
            model.eval()
            save(model, partial)
            model.train()
        if step % 50 == 0 or step == args.steps - 1:
            u = usage(info["tokens"], cfg.codebook_size)
            print(
                f"step {step:5d}  loss {info['loss']:.4f}  recon {info['recon']:.4f}  masked {info['masked']:.4f}"
                f"  batch codes {u['codes_used']}  {time.time() - t_train:.0f} s",
                flush=True,
            )
    model.eval()
    report = evaluate(model, wins, held, train[0][1], args.frames)
    report["train"] = {
        "steps": args.steps,
        "batch": args.batch,
        "frames": args.frames,
        "lr": args.lr,
        "seed": args.seed,
        "wall_s": time.time() - t_train,
        "command": "wavegraph train tokenizer " + " ".join(argv),
    }
    save(model, args.out)
    for left in (partial, partial.with_suffix(".json")):  # was left beside the weights (in the package's weights/)
        left.unlink(missing_ok=True)
    print(json.dumps(report, indent=2))
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


def bench_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="wavegraph bench tokenizer", description="evaluate the shipped tokenizer")
    ap.add_argument("--weights", type=Path, default=WEIGHTS, help="tokenizer weights (default: the shipped ones)")
    ap.add_argument("--threads", type=positive(int), default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from wavegraph.models import checkpoint
    from wavegraph.pipeline.cli import unwritable

    if args.json is not None and (why := unwritable(args.json)):  # a traceback after the evaluation before
        ap.error(f"--json {args.json}: cannot write it ({why})")
    if args.json is not None and args.json.resolve() == checkpoint.config_path(args.weights).resolve():
        ap.error(  # the report went over the model's config: the weights no longer loaded
            f"--json {args.json} is the config of --weights {args.weights}; give another name, e.g. "
            f"{args.json.with_suffix('.report.json')}"
        )
    torch.set_num_threads(args.threads)
    try:  # a missing file or another model's weights were a CheckpointError / AssertionError traceback
        model = checkpoint.load(args.weights, dtype=torch.float32)  # as the node runs it
    except (checkpoint.CheckpointError, OSError) as e:
        ap.error(f"--weights {args.weights}: {e}")
    if not isinstance(model, EEGTokenizer):
        ap.error(
            f"--weights {args.weights} holds {type(model).__name__} weights, not an EEG tokenizer's; "
            "give weights written by `wavegraph train tokenizer`"
        )
    train = recordings()
    report = evaluate(model, [windows_of(x, model.cfg) for _, x in train], recordings(held_out=True), train[0][1])
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(train_main(sys.argv[1:]))
