"""One way to draw a benchmark's table as a picture: grouped bars (matplotlib, Agg backend, no screen)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def bars(
    path: str | Path, categories: list[str], series: dict[str, list[float]], ylabel: str, title: str, log: bool = False
) -> Path:
    """Grouped bars: one group per category, one bar per series; writes a PNG and returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from wavegraph.nodes.io.figure_file import save_figure

    x = np.arange(len(categories))
    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(categories) + 2), 4))
    for i, (name, values) in enumerate(series.items()):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(
        x, categories, rotation=30 if len(categories) > 6 else 0, ha="right" if len(categories) > 6 else "center"
    )
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    save_figure(fig, path, dpi=100)  # (whole or not at all: a full disk left a 0-byte PNG)
    plt.close(fig)
    return path
