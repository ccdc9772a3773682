"""`wavegraph describe GRAPH --png graph.png`: the graph as a picture (matplotlib, Agg backend).

Nodes are placed in columns by their depth from the sources; each process has its colour and a shaded
band behind its nodes; edges are arrows labelled with their stream spec; the declared latency of each
node and of each source-to-sink path is written beside it.
"""

from __future__ import annotations

from pathlib import Path

DPI, MAX_PIXELS = 110, 20_000  # the picture's resolution, and its largest side (about 120 nodes in a chain)
COLORS = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#ff7f0e"]


def layout(graph) -> dict[str, tuple[float, float]]:
    depth = {n: 0 for n in graph.order}
    for n in graph.order:  # topological order: one pass gives the longest path from a source
        for e in graph.edges_from(n):
            depth[e.target_node] = max(depth[e.target_node], depth[n] + 1)
    rows: dict[int, int] = {}
    pos = {}
    for n in graph.order:
        d = depth[n]
        pos[n] = (3.0 * d, -1.2 * rows.get(d, 0))
        rows[d] = rows.get(d, 0) + 1
    return pos


def _spec_label(spec) -> str:
    shape = "x".join(map(str, spec.shape)) or "1"
    rate = f"{spec.rate:g} Hz" if spec.rate else "irregular"
    return f"{spec.kind} {shape} @ {rate}"


def draw_graph(graph, out: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    pos = layout(graph)
    groups = list(graph.config.processes)
    color = {g: COLORS[i % len(COLORS)] for i, g in enumerate(groups)}
    width = max(x for x, _ in pos.values()) + 3.0
    height = -min(y for _, y in pos.values()) + 1.5
    paths = graph.paths()
    size = (max(6.0, 2.2 * width / 3.0 + 2), max(3.0, 1.1 * height + 0.4 * len(paths) + 1))
    if max(size) * DPI > MAX_PIXELS:  # a 3000-node chain drew for 86 s a picture 726,220 px wide
        from .config import GraphError

        said = f"--png: the picture of {len(pos)} nodes would be {size[0] * DPI:,.0f} x {size[1] * DPI:,.0f} px"
        fix = f"leave out --png (describe prints every node); it draws graphs up to {MAX_PIXELS:,} px a side"
        raise GraphError([(graph.config.file, 0, said, fix)])
    fig, ax = plt.subplots(figsize=size)
    for n, (x, y) in pos.items():
        g = graph.group_of(n)
        ax.add_patch(
            FancyBboxPatch(
                (x - 1.1, y - 0.35),
                2.2,
                0.7,
                boxstyle="round,pad=0.05",
                facecolor=color[g],
                alpha=0.25,
                edgecolor=color[g],
            )
        )
        latency = 1e3 * graph.nodes[n].latency_seconds
        ax.text(x, y + 0.08, f"{n}", ha="center", va="center", fontsize=9, weight="bold")
        ax.text(
            x, y - 0.18, f"{graph.node_config(n).type} · {latency:.1f} ms · {g}", ha="center", va="center", fontsize=7
        )
    # Edges between the same two nodes (eeg.out -> rec.in and eeg.events -> rec.events) share one arrow: their
    # labels were drawn on one another, unreadable, and nothing said there were two. Each now has its own line,
    # named by its ports.
    between: dict[tuple[str, str], list] = {}
    for e in graph.config.edges:
        between.setdefault((e.source_node, e.target_node), []).append(e)
    for (a, b), edges in between.items():
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.annotate(
            "", xy=(x1 - 1.1, y1), xytext=(x0 + 1.1, y0), arrowprops={"arrowstyle": "->", "color": "#555555", "lw": 1.2}
        )
        for k, e in enumerate(edges):
            spec = graph.specs.get(e.source)
            label = _spec_label(spec) if spec is not None else ""
            if len(edges) > 1:
                label = f"{e.source_port} → {e.target_port}" + (f": {label}" if label else "")
            if label:
                y = (y0 + y1) / 2 + 0.12 + 0.16 * (len(edges) - 1 - k)
                ax.text((x0 + x1) / 2, y, label, ha="center", fontsize=6, color="#333333")
    lines = [f"{' → '.join(p)}: {1e3 * graph.path_latency(p):.1f} ms" for p in paths]
    ax.text(-1.2, -height + 0.3, "declared latency per path\n" + "\n".join(lines), fontsize=7, va="top")
    for g in groups:
        ax.plot([], [], "s", color=color[g], alpha=0.5, label=f"process {g}")
    # in the empty band above the nodes, in one row: at the upper right it lay over the last node (rec, in the
    # picture of configs/default.yaml)
    ax.legend(loc="upper center", ncol=min(len(groups), 4), fontsize=7, frameon=False, borderaxespad=0.1)
    ax.set_xlim(-1.5, width - 1.5)
    ax.set_ylim(-height - 0.4 * len(paths) - 0.5, 0.8)
    ax.axis("off")
    ax.set_title(graph.config.name or Path(graph.config.file).name)
    fig.tight_layout()
    from wavegraph.figure_file import save_figure

    try:  # whole or not at all: a full disk left a 0-byte picture in place of the earlier one
        return save_figure(fig, out, dpi=DPI)
    finally:
        plt.close(fig)
