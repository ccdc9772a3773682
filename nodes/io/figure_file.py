"""A picture written whole or not at all: now wavegraph/figure_file.py (outside the layers, so that pipeline's
`describe --png` and models' `train enhancer --plot` use it too); offered here as before."""

from wavegraph.figure_file import save_figure

__all__ = ["save_figure"]
