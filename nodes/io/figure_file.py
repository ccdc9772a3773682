"""A picture written whole or not at all (`wavegraph plot`, the benchmarks' --png): matplotlib's savefig opens the
target and writes it as it draws, so a full disk (or a quota, a file-size limit, a Ctrl-C) left a 0-byte or cut PNG
under the name, which a user opened later as a broken image, and an earlier good picture of that name was lost. Here
it is drawn to a temporary name beside the target and renamed over it once complete; on failure the temporary file
is removed, the error raised, and the earlier picture, if any, stays."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def save_figure(fig: Any, path: str | os.PathLike[str], **savefig: Any) -> Path:
    """`fig.savefig(path, **savefig)`, atomically: the format from the path's suffix (or `format=`), as matplotlib takes
    it; returns the path written."""
    path = Path(path)
    fmt = savefig.pop("format", None) or path.suffix[1:].lower()
    if not fmt:  # a name without a suffix: matplotlib's default format, added to the name as matplotlib adds it
        import matplotlib

        fmt = matplotlib.rcParams["savefig.format"]
        path = path.with_name(f"{path.name}.{fmt}")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format=fmt, **savefig)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
