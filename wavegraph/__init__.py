"""wavegraph: streaming signal-processing graphs.

The code lives in four folders at the repository root, installed under this package (pyproject.toml maps
them): wavegraph.kernels <- wavegraph.models <- wavegraph.nodes -> wavegraph.pipeline, plus
wavegraph.benchmarks (the `wavegraph bench` commands).
"""

__version__ = "0.2.0"
