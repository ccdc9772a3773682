"""`wavegraph train enhancer`: train the causal speech enhancer (models/enhancer.py) on seeded mixtures.

    nice -n 10 wavegraph train enhancer --core gla --d-model 128 --n-layers 1 --steps 2200 --batch 12 --seconds 2 \
        --seed 0 --threads 1 --mask-floor 0.05 --out models/weights/enhancer.safetensors \
        --log docs/speech_training.csv --plot docs/speech_training.png

(the first of the shipped chain's commands; one command of about 40 minutes on 2 cores that trains the shipped
architecture from scratch is under "One command" in docs/speech.md, with what it scores). Data: models/speech_data.py MixturePool (in memory; --pool 0
makes every example afresh) over a TrainSampler, 60 % of the examples from the real voices (--real-fraction); the
training side of the split only: no Carlo, no held-out utterance, no "clicks" noise, no held-out music piece. Validation during training: a fixed seeded set of mixtures from the SAME
training side (so model selection never sees held-out data). At the end: SI-SDR (and PESQ-WB/STOI when pesq and
pystoi are installed) on `speech_data.heldout_set`, printed and stored in the CSV's sidecar JSON.

Seeded: torch, numpy and the data stream; one thread by default (the box is shared).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import checkpoint as ckpt
from . import speech_data as sd
from .enhancer import Enhancer, EnhancerConfig, enhancer_loss, si_sdr
from .enhancer_depth import layer_lr_targets, with_extra_layer
from .enhancer_loss import min_example_samples
from .enhancer_lr import feature_lr_spans, gate_lr_targets, scaled_step
from .train_enhancer_args import check_args, parser

_LOG_COLUMNS = (
    "step seconds lr train_loss spec si_sdr vad_bce stoi_loss quality_loss val_si_sdr_in val_si_sdr_out".split()
)


def use_shipped_snr_adapt(cfg: EnhancerConfig) -> None:
    """The SNR-adaptive floor as the shipped weights use it (session 7's range, session 27's band): a model trained
    from scratch otherwise saves snr_adapt false, which the shipped chain's JSON had set by hand."""
    cfg.snr_adapt, cfg.snr_low, cfg.snr_high, cfg.snr_tau = True, -4.0, 2.0, 3.0
    cfg.low_snr_floor, cfg.low_snr_postfilter = 0.0, 0.0
    cfg.snr_from_bin = math.ceil(100 * cfg.n_fft / cfg.sample_rate)  # from 100 Hz up, above a rumble (2 at 16 kHz)


def _split_bin(hz: float, cfg: EnhancerConfig) -> int:
    """--gate-split-hz as the bin the time gate's high band starts at (0: one band)."""
    if not (math.isfinite(hz) and 0 <= hz < cfg.sample_rate / 2):
        raise ValueError(f"--gate-split-hz must be in [0, {cfg.sample_rate / 2:g}) Hz, got {hz}")
    return max(1, round(hz * cfg.n_fft / cfg.sample_rate)) if hz else 0


@torch.no_grad()
def _enhance_list(model: Enhancer, signals: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for x in signals:
        y, _ = model.enhance(torch.from_numpy(np.ascontiguousarray(x))[None])
        out.append(y[0].numpy())
    return out


def evaluate(model: Enhancer, mixtures: list, quality: bool = False) -> dict:
    """Mean SI-SDR of input and output (dB), and PESQ-WB / STOI when `quality` and the packages are installed."""
    model.eval()
    est = _enhance_list(model, [m.noisy for m in mixtures])
    res = {"si_sdr_in": 0.0, "si_sdr_out": 0.0}
    for m, e in zip(mixtures, est):
        ref = torch.from_numpy(m.clean)[None]
        res["si_sdr_in"] += float(si_sdr(torch.from_numpy(m.noisy)[None], ref)) / len(mixtures)
        res["si_sdr_out"] += float(si_sdr(torch.from_numpy(e)[None], ref)) / len(mixtures)
    if quality:
        try:
            from pesq import pesq  # pyright: ignore[reportMissingImports]
            from pystoi import stoi  # pyright: ignore[reportMissingImports]
        except ImportError:
            return res
        for key, sigs in (("in", [m.noisy for m in mixtures]), ("out", est)):
            pq, st = [], []
            for m, s in zip(mixtures, sigs):
                try:
                    pq.append(pesq(sd.SR, m.clean, s, "wb"))
                except Exception:  # pesq raises on a silent reference; skip that item
                    pass
                st.append(stoi(m.clean, s, sd.SR))
            res[f"pesq_{key}"], res[f"stoi_{key}"] = float(np.mean(pq)), float(np.mean(st))
    model.train()
    return res


def validation_set(sampler: sd.TrainSampler, n: int = 24, seconds: float = 3.0) -> list:
    rng = np.random.default_rng(987654)
    out = []
    for i in range(n):
        noisy, clean = sampler.example(rng, int(seconds * sd.SR))
        if clean.any():
            out.append(sd.Mixture(noisy, clean, float("nan"), "train-side", "mixed", f"val{i}"))
    return out


def snr_validation_set(
    sampler: sd.TrainSampler, snrs=sd.SNRS, per_snr: int = 24, seconds: float = 3.0, seed: int = 424242
) -> list:
    """Training-side validation mixtures at fixed SNRs: `per_snr` seeded mixtures (the sampler's speakers, noises,
    reverberation and levels; never speech-free) at each SNR in `snrs`, so a choice can be judged per SNR band."""
    rng = np.random.default_rng(seed)
    n, out = int(seconds * sd.SR), []
    for snr in snrs:
        while sum(m.snr_db == snr for m in out) < per_snr:
            speech, target, noise = sampler.parts(rng, n)
            if target.any():
                noisy, clean = sd.scale_mix(speech, target, noise, float(snr), rng.uniform(*sampler.level_range))
                out.append(sd.Mixture(noisy, clean, float(snr), "train-side", "mixed", f"val{snr:+g}dB-{len(out)}"))
    return out


def plot_curve(csv_path: Path, png_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(open(csv_path)))
    step = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    ax[0].plot(step, [float(r["train_loss"]) for r in rows])
    ax[0].set_xlabel("step")
    ax[0].set_ylabel("training loss (mean since last point)")
    ax[0].grid(alpha=0.3)
    val = [
        (s, float(r["val_si_sdr_out"]), float(r["val_si_sdr_in"])) for s, r in zip(step, rows) if r["val_si_sdr_out"]
    ]
    if val:
        ax[1].plot([v[0] for v in val], [v[1] for v in val], "o-", label="enhanced")
        ax[1].plot([v[0] for v in val], [v[2] for v in val], "--", label="noisy input")
        ax[1].legend()
    ax[1].set_xlabel("step")
    ax[1].set_ylabel("validation SI-SDR (dB, training side)")
    ax[1].grid(alpha=0.3)
    fig.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    from wavegraph.figure_file import save_figure

    try:  # whole or not at all: a full disk left a 0-byte picture in place of the earlier one
        save_figure(fig, png_path, dpi=110)
    finally:
        plt.close(fig)


def _diverged(step: int, rows: list, args: argparse.Namespace, log) -> int:
    """The training loss or the model's output went NaN/inf at `step`: say so and stop (exit 1) without saving,
    so that --out keeps the weights of the last evaluation. It went on: NaN weights were saved over --out at the next
    evaluation (a file the loader refuses), then a RuntimeError traceback from the VAD's cross-entropy."""
    if log:
        log.close()
    kept = f"{args.out} holds the weights of step {rows[-1][0]} (the last evaluation)" if args.out and rows else ""
    print(
        f"train enhancer: the training diverged at step {step} (the loss or the model's output is NaN or infinite); "
        f"{kept or 'nothing was saved'}; fix: a lower --lr (now {args.lr:g}) or smaller loss weights",
        file=sys.stderr,
        flush=True,
    )
    return 1


def main(argv: list[str] | None = None) -> int:
    ap = parser((__doc__ or "").split("\n\n")[0])
    args = ap.parse_args(argv)
    check_args(ap, args)
    if args.out and (why := ckpt.out_problem(args.out)):  # before the training, not at its first save
        ap.error(f"--out {args.out}: {why}")
    outputs = {  # --plot X.csv --log X.csv: the PNG went over the curve; --log e.safetensors: the weights over it
        "--out": args.out,
        "--out's config": ckpt.config_path(args.out) if args.out else None,
        "--log": args.log,
        "--log's summary": args.log.with_suffix(".json") if args.log else None,  # --log e.csv --out e.safetensors
        "--plot": args.plot,
    }
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        if path is not None and (first := seen.setdefault(path.expanduser().resolve(), option)) != option:
            ap.error(
                f"{option} {path} is the file of {first} too: one would be written over the other; name them apart"
            )
    kind = args.plot.suffix.lower().lstrip(".") if args.plot else ""
    if kind:  # `--plot c.txt`: matplotlib's ValueError after the training, its final save and summary lost
        from matplotlib.figure import Figure

        if kind not in (kinds := Figure().canvas.get_supported_filetypes()):
            ap.error(
                f"--plot {args.plot}: .{kind} is no picture format matplotlib writes; give .png (or .{', .'.join(kinds)})"
            )
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if args.init:
        try:
            model = ckpt.load(args.init, dtype=torch.float32)  # the recipe trains in float32, whatever --init was in
        except ckpt.CheckpointError as e:
            ap.error(f"--init {args.init}: {e}")
        if not isinstance(model, Enhancer):  # was 'is not an enhancer checkpoint', exit 1, no fix
            ap.error(
                f"--init {args.init} holds {type(model).__name__} weights, not an enhancer's; give weights written by "
                "`wavegraph train enhancer` (the shipped ones: models/weights/enhancer.safetensors), or no --init"
            )
        try:
            if args.df_bins and not model.cfg.df_bins:
                model = model.with_deep_filter(args.df_bins, args.df_order)
            if args.tone_frames and not model.cfg.tone_frames:
                model = model.with_tone_feature(args.tone_frames)
            if args.onset_frames and not model.cfg.onset_frames:
                model = model.with_onset_feature(args.onset_frames)
            if args.impulse_blocks and not model.cfg.impulse_blocks:
                model = model.with_impulse_feature(args.impulse_blocks)
            if args.gate_blocks and not model.cfg.gate_blocks:
                model = model.with_time_gate(args.gate_blocks)
            if args.gate_split_hz and not model.cfg.gate_split:
                model = model.with_split_gate(_split_bin(args.gate_split_hz, model.cfg))
            if args.pitch_lag and not model.cfg.pitch_lag:
                model = model.with_pitch_input(args.pitch_lag)
            if args.add_layer:
                model = with_extra_layer(model)
            elif args.layer_lr_scale != 1 and (model.cfg.core != "gla" or model.cfg.n_layers < 2):
                raise ValueError(  # would scale the whole of a one-block core, or a core with no GLA blocks
                    f"--layer-lr-scale {args.layer_lr_scale:g} scales the last of a grown GLA core's blocks; --init "
                    f"{args.init} has {model.cfg.n_layers} {model.cfg.core} block(s): give --add-layer too"
                )
        except ValueError as e:  # --df-order 0, --tone-frames 1: the model's own check, said as usage
            ap.error(str(e))
        if args.front_channels:
            raise SystemExit("--front-channels makes a new model; it cannot be added to --init weights")
        cfg = model.cfg
    elif args.add_layer:
        ap.error("--add-layer grows --init weights; without --init give --n-layers")
    else:
        try:
            cfg = EnhancerConfig(
                core=args.core,
                d_model=args.d_model,
                n_layers=args.n_layers,
                df_bins=args.df_bins,
                df_order=args.df_order,
                tone_frames=args.tone_frames,
                onset_frames=args.onset_frames,
                impulse_blocks=args.impulse_blocks,
                gate_blocks=args.gate_blocks,
                gate_split=_split_bin(args.gate_split_hz, EnhancerConfig()),
                pitch_lag=args.pitch_lag,
                front_channels=args.front_channels,
                front_blocks=args.front_blocks,
            )
            model = Enhancer(cfg)
        except ValueError as e:  # e.g. --core gla --d-model 30, --tone-frames 1: the model's own check, said as usage
            ap.error(str(e))
    need = min_example_samples(cfg, args.stoi_weight, args.quality_weight)
    if int(args.seconds * sd.SR) // cfg.hop * cfg.hop < need:  # torch's 'Padding size should be less than ...'
        ap.error(
            f"--seconds {args.seconds:g}: a training example must be at least {need / sd.SR:g} s for the loss "
            f"({need} samples, with these --stoi-weight and --quality-weight); give --seconds {need / sd.SR:g} or more"
        )
    if args.snr_adapt:
        use_shipped_snr_adapt(cfg)
    cfg.mask_floor = 0.0  # training runs without the floor (--mask-floor is for inference)
    snr_adapt, cfg.snr_adapt = cfg.snr_adapt, False  # so does the adaptive floor; kept in the saved config
    n_params = sum(p.numel() for p in model.parameters())
    try:  # missing voices or music (scripts/system_deps.sh), an unwritable cache: a traceback before
        corpus = sd.load_corpus(synthetic=args.synthetic)
    except sd.DataError as e:
        print(f"train enhancer: {e}", file=sys.stderr)
        return 1
    sampler = sd.TrainSampler(
        corpus, early_ms=args.early_ms, real_fraction=args.real_fraction, noises=tuple(args.noises.split(","))
    )
    val = validation_set(sampler)  # before the SNR options: the same validation mixtures as every earlier stage
    sampler.snr_range, sampler.low_snr_range = tuple(args.snr_range), tuple(args.low_snr_range)
    sampler.low_snr_prob = args.low_snr_prob
    sampler.speed_prob, sampler.speed_range = args.speed_prob, tuple(args.speed_range)
    print(
        f"enhancer {cfg.core} {cfg.n_layers} x {cfg.d_model}: {n_params} parameters; training speech {sampler.corpus.seconds() / 60:.1f} min "
        f"({len(sampler.corpus)} utterances, speakers {', '.join(sampler.speakers)}; "
        f"corpus {sd.corpus_digest(sampler.corpus)})",
        flush=True,
    )
    source: sd.TrainSampler | sd.MixturePool = sampler
    if args.pool:
        t_pool = time.time()
        source = sd.MixturePool(sampler, rng, args.pool, max(args.pool_seconds, args.seconds), args.refresh)
        print(f"mixture pool: {args.pool} x {args.pool_seconds:g} s parts in {time.time() - t_pool:.0f} s", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    warm = max(1, args.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min(1.0, (s + 1) / warm) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps)))),
    )
    n_samples = int(args.seconds * sd.SR) // cfg.hop * cfg.hop
    rows, acc, t0 = [], [], time.time()
    log = None
    if args.log:
        args.log.parent.mkdir(parents=True, exist_ok=True)
        log = open(args.log, "w", newline="")
        writer = csv.writer(log)
        writer.writerow(_LOG_COLUMNS)
    model.train()
    stopped_at = args.steps
    in_proj = getattr(model.core, "in_proj", None)
    spans = feature_lr_spans(cfg, args.tone_lr_scale, args.onset_lr_scale, args.impulse_lr_scale, args.pitch_lr_scale)
    in_weight = in_proj.weight if spans and in_proj is not None else None
    extra_targets = gate_lr_targets(model, args.gate_lr_scale, args.pitch_lr_scale)  # scaled_step's `extra`
    extra_targets += layer_lr_targets(model, args.layer_lr_scale)
    for step in range(1, args.steps + 1):
        noisy, clean = source.batch(rng, args.batch, n_samples / sd.SR)
        try:
            loss, parts = enhancer_loss(
                model,
                torch.from_numpy(noisy),
                torch.from_numpy(clean),
                args.sisdr_weight,
                args.vad_weight,
                args.stoi_weight,
                args.quality_weight,
            )
        except RuntimeError as e:  # the VAD's cross-entropy refuses a NaN output: weights blown up by the last step
            if "between 0 and 1" not in str(e):
                raise
            return _diverged(step, rows, args, log)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        if not (torch.isfinite(loss) and torch.isfinite(norm)):  # before the step: the weights stay as they are
            return _diverged(step, rows, args, log)
        scaled_step(opt, in_weight, spans, extra_targets)
        sched.step()
        acc.append(
            [
                float(loss.detach()),
                parts["spec"],
                parts["si_sdr"],
                parts["vad_bce"],
                parts.get("stoi_loss", 0.0),
                parts.get("quality_loss", 0.0),
            ]
        )
        if step % args.eval_every == 0 or step == args.steps:
            v = evaluate(model, val)
            if not math.isfinite(v["si_sdr_out"]):  # finite weights whose output is not: not saved over --out
                return _diverged(step, rows, args, log)
            mean = np.mean(acc, axis=0)
            acc = []
            row = [
                step,
                round(time.time() - t0, 1),
                sched.get_last_lr()[0],
                *np.round(mean, 5),
                round(v["si_sdr_in"], 3),
                round(v["si_sdr_out"], 3),
            ]
            rows.append(row)
            print(
                f"step {step:5d} {row[1]:7.0f}s loss {mean[0]:.4f} spec {mean[1]:.4f} train-SI-SDR {mean[2]:6.2f} "
                f"vad {mean[3]:.3f} stoi-loss {mean[4]:.3f} quality-loss {mean[5]:.3f} | val SI-SDR {v['si_sdr_in']:.2f} -> {v['si_sdr_out']:.2f} dB",
                flush=True,
            )
            if log:
                writer.writerow(row)
                log.flush()
            if args.out:
                model.cfg.mask_floor, model.cfg.snr_adapt = args.mask_floor, snr_adapt
                ckpt.save(model.eval(), args.out, training={"step": step, "steps": args.steps, "final": False})
                model.cfg.mask_floor, model.cfg.snr_adapt = 0.0, False
                model.train()
        if args.max_minutes and time.time() - t0 > 60 * args.max_minutes and step % args.eval_every == 0:
            stopped_at = step
            print(f"stopping at step {step} of {args.steps}: --max-minutes {args.max_minutes} reached", flush=True)
            break
        if step == args.stop_after:
            stopped_at = step
            print(f"stopping at step {step} of {args.steps}: --stop-after", flush=True)
            break
    if log:
        log.close()
        if args.plot:
            plot_curve(args.log, args.plot)
    model.eval()
    model.cfg.mask_floor, model.cfg.snr_adapt = args.mask_floor, snr_adapt
    if args.out:
        ckpt.save(model, args.out, training={"step": stopped_at, "steps": args.steps, "final": True})
    held = sd.heldout_set(per_snr=args.heldout_per_snr, corpus=corpus) if args.heldout_per_snr > 0 else []
    summary = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "parameters": n_params,
        "train_seconds": round(time.time() - t0, 1),
        "steps_done": stopped_at,
        "heldout": {},
    }
    for snr in sd.SNRS if held else ():  # --heldout-per-snr 0: no held-out check
        subset = [m for m in held if m.snr_db == snr]
        summary["heldout"][str(snr)] = evaluate(model, subset, quality=True)
        print(
            f"held-out {snr:+3d} dB: " + " ".join(f"{k} {v:.3f}" for k, v in summary["heldout"][str(snr)].items()),
            flush=True,
        )
    if args.log:
        args.log.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
