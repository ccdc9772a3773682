"""Per-frame cost of enhancer checkpoints against RNNoise, measured in one run, with no quality scored.

    python -m wavegraph.benchmarks.enhance_cost [CHECKPOINT ...] --clean DIR [--max-files 12] [--rounds 3]

Each checkpoint runs through the `enhancer` node in 10 ms blocks, as `wavegraph bench enhance` runs ours (its `Ours`
and `RNNoise` classes, the same timing), on the same noisy audio: the files of --clean (any folder bench enhance
reads) joined, white noise added at a fixed level. The methods take turns, round after round, pinned to one core,
so that load that comes and goes falls on all of them. Prints each round's median per-frame real-time factor and
its ratio to RNNoise's in that round: what the issue's RTF clause compares, without running the held-out set (a
candidate's cost can be known before it is judged)."""

from __future__ import annotations

import argparse

import numpy as np

from .enhance import pin_one_core
from .enhance_data import load_folder
from .enhance_methods import Ours, RNNoise


def frame_rtf(method, audio: np.ndarray) -> float:
    """The median per-frame real-time factor of one run of `method` on `audio` (16 kHz)."""
    _, _, frames = method.run(audio)
    return float(np.percentile(frames, 50) / (method.frame / method.rate))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m wavegraph.benchmarks.enhance_cost", description=(__doc__ or "").split("\n")[0]
    )
    ap.add_argument("checkpoints", nargs="*", help="enhancer weights (none: the shipped ones)")
    ap.add_argument("--clean", required=True, help="a folder of speech files (as bench enhance --clean)")
    ap.add_argument("--max-files", type=int, default=12, help="at most this many files, spread over the folder")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (each method once a round)")
    ap.add_argument("--seed", type=int, default=0, help="the added noise's seed")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.max_files < 1:
        ap.error(f"--rounds {args.rounds} and --max-files {args.max_files}: each at least 1")
    names = [path or "shipped" for path in args.checkpoints or [None]]
    if len(set(names)) < len(names) or "rnnoise" in names:  # one row each, and RNNoise's row is the reference
        ap.error(f"checkpoints {' '.join(names)}: give each once (and none named 'rnnoise')")
    try:
        import pyrnnoise  # noqa: F401  # pyright: ignore[reportMissingImports]
    except ImportError:
        ap.error("RNNoise, the reference, needs pyrnnoise: pip install 'wavegraph[enhance]'")
    pinned = pin_one_core()
    audio = np.concatenate([x for _, x in load_folder(args.clean, None, "--clean", max_files=args.max_files)])
    audio = (audio + 0.05 * np.random.default_rng(args.seed).standard_normal(len(audio))).astype(np.float32)
    methods: dict[str, RNNoise | Ours] = {"rnnoise": RNNoise()}
    for path, name in zip(args.checkpoints or [None], names):
        methods[name] = Ours(path)
    print(f"{len(audio) / 16000:.1f} s of audio, {args.rounds} rounds, core {pinned if pinned is not None else 'any'}")
    for r in range(args.rounds):
        rtf = {name: frame_rtf(m, audio) for name, m in methods.items()}
        cells = [f"{name} {v:.4f} ({v / rtf['rnnoise']:.2f}x)" for name, v in rtf.items()]
        print(f"round {r + 1}: per-frame RTF p50: " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
