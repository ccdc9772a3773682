"""A picture written whole or not at all (`wavegraph plot`, `wavegraph describe --png`, `train enhancer --plot`, the
benchmarks' --png): matplotlib's savefig opens the target and writes it as it draws, so a full disk (or a quota, a
file-size limit, a Ctrl-C) left a 0-byte or cut PNG under the name, which a user opened later as a broken image, and
an earlier good picture of that name was lost. Here it is drawn to a temporary name beside the target and renamed
over it once complete; on failure the temporary file is removed, the error raised, and the earlier picture, if any,
stays. Here, outside the layers (as wavegraph.unwritable), so that pipeline, models and nodes share one copy."""

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
    real = Path(os.path.realpath(path))  # a link is written through, as savefig (and the shell's >) writes: the
    # rename replaced the link itself with the picture, its target left as it was
    # (60 characters of the name: the whole of a 250-byte one did not fit in the system's 255, and failed where
    # savefig would not, naming the temporary file)
    if real.exists() and not real.is_file():  # /dev/null, a pipe: written to, as savefig writes (the rename put a
        fig.savefig(real, format=fmt, **savefig)  # file in place of the device: as root, /dev/null)
        return path
    tmp = real.with_name(f".{real.name[:60]}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format=fmt, **savefig)
        os.replace(tmp, real)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
