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
