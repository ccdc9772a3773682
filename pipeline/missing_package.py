"""What to install when a node needs a Python package that is not there (torch is an extra of wavegraph: a plain
`pip install wavegraph`, or `wavegraph[ray]` on a machine of a Ray cluster, has no model nodes' torch)."""

from __future__ import annotations

EXTRAS = {  # the module a node imports -> the pip line that brings it (pyproject.toml's extras)
    "torch": "pip install 'wavegraph[torch]' (or the torch build for your CUDA, pytorch.org)",
    "triton": "pip install 'wavegraph[triton]'",
    "bokeh": "pip install 'wavegraph[monitor]'",
    "ray": "pip install 'wavegraph[ray]'",
    "mne_bids": "pip install 'wavegraph[bids]'",
    "psutil": "pip install 'wavegraph[soak]'",
}


def missing_package(e: ModuleNotFoundError) -> tuple[str, str] | None:
    """(what, fix) for an import that failed because a package is not installed; None when the error names none."""
    name = (e.name or "").partition(".")[0]
    if not name or name == "wavegraph":  # a module of wavegraph's own: a broken install, not a package to add
        return None
    return f"needs the Python package '{name}', which is not installed here", EXTRAS.get(name, f"pip install {name}")
