"""wavegraph: streaming signal-processing graphs.

The code lives in four folders at the repository root, installed under this package (pyproject.toml maps
them): wavegraph.kernels <- wavegraph.models <- wavegraph.nodes -> wavegraph.pipeline, plus
wavegraph.benchmarks (the `wavegraph bench` commands).
"""

from __future__ import annotations

import os
from pathlib import Path

__version__ = "0.2.0"


def cache_dir() -> Path:
    """Where wavegraph caches data sets and decoded corpora: $WAVEGRAPH_DATA if set, else the user's cache
    folder (platformdirs: ~/.cache/wavegraph on Linux), never the current folder or the installed package."""
    env = os.environ.get("WAVEGRAPH_DATA")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return platformdirs.user_cache_path("wavegraph")


def unwritable(path: str | os.PathLike[str]) -> str:
    """Why `path` cannot be written ("" when it can), its folder made. Commands check their output paths with it
    before they run, so that a run's results are not lost to a traceback at the end. Here, outside the layers, so
    that models (checkpoint.out_problem) and pipeline (the CLI) share it."""
    if os.fspath(path).endswith(("/", os.sep)):  # 'results/': pathlib drops the slash, and the file 'results' passed
        return "it is a folder"
    target = Path(os.path.expanduser(path))  # ('~b.json', no user 'b.json': that file; pathlib's raised RuntimeError)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            return "it is a folder"
        existed = target.exists()
        # non-blocking: a named pipe with no reader was waited on for ever (`train enhancer --out fifo` hung)
        os.close(os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o666))
        if not existed:
            target.unlink()  # no empty file left behind if the run never gets to write it
    except OSError as e:
        import errno

        if e.errno == errno.ENXIO:
            return "it is a named pipe that nothing reads: writing it would wait for ever; give a file"
        return str(e.strerror or e)
    return ""
