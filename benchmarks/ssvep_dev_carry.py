"""Run benchmarks/ssvep_dev on a machine without mne (a lent GPU machine): its inputs read here, carried as one file.

    # here (mne reads the two backgrounds and the 10-05 template positions):
    python -m wavegraph.benchmarks.ssvep_dev_carry export .devrun/ssvep_inputs.npz
    # there, with the same arguments as ssvep_dev (e.g. --device cuda), one subject per process:
    python -m wavegraph.benchmarks.ssvep_dev_carry run .devrun/ssvep_inputs.npz '{"ensemble": 3}' --window 1.0 \\
        --snr -10 -15 -20 --errors --crops 1 --device cuda --first-subject K --subjects 1 --eval-blocks 10

The file holds derived data of the public recordings (never commit it). `run` puts them in place of
ssvep_sim.load_background and its electrode positions, then calls ssvep_dev.main: the same trials and models as
a run here on the same device.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from . import ssvep_sim as sim


def export(path: str) -> None:
    arrays, meta = {}, {"backgrounds": {}, "positions": []}
    for name in sim.BACKGROUNDS:
        bg = sim.load_background(name)
        arrays[f"bg_{name}"] = bg.data
        meta["backgrounds"][name] = {
            "rate": bg.rate,
            "channels": bg.channels,
            "band_power": bg.band_power,
            "segments": {k: list(v) for k, v in bg.segments.items()},
        }
    pos = sim._positions()
    meta["positions"] = list(pos)
    arrays["positions"] = np.array([pos[c] for c in pos])
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)


def install(path: str) -> None:
    """ssvep_sim reads its backgrounds and positions from the exported file instead of through mne."""
    with np.load(path) as f:
        meta = json.loads(str(f["meta"]))
        data = {name: f[f"bg_{name}"] for name in meta["backgrounds"]}
        positions = dict(zip(meta["positions"], f["positions"]))
    bgs = {
        name: sim.Background(name, data[name], m["rate"], m["channels"], m["band_power"], m["segments"])
        for name, m in meta["backgrounds"].items()
    }
    sim.load_background = lambda name="eegmmidb-s001r02", channels=sim.CHANNELS: bgs[name]
    sim._positions = lambda: positions


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or argv[0] not in ("export", "run"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "export":
        from wavegraph import unwritable

        if why := unwritable(argv[1]):  # makes its folder: `.devrun/` on a fresh clone was a FileNotFoundError
            print(f"ssvep_dev_carry export {argv[1]}: cannot write it ({why})", file=sys.stderr)
            return 2
        export(argv[1])
        return 0
    if not os.path.isfile(argv[1]):
        print(f"ssvep_dev_carry run {argv[1]}: no such file; make it with `export {argv[1]}` first", file=sys.stderr)
        return 2
    install(argv[1])
    from .ssvep_dev import main as dev

    return dev(argv[2:])


if __name__ == "__main__":
    sys.exit(main())
