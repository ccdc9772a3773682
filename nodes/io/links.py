"""A recording's path that is a link to nothing: one whose target is gone, or a loop of links (loop1 -> loop2 ->
loop1, which said 'a link to loop2, which does not exist' though loop2 is there). file_source and `wavegraph plot`
say which, with the fix; the recorder refuses such a link (unwritable_link) and writes through a good one."""

from __future__ import annotations

import os
from pathlib import Path

from wavegraph.pipeline.spec import SpecError

_MOST = 40  # the links the system follows before ELOOP (Linux)


def broken_link(path: Path, what: str = "file_source", thing: str = "recording") -> SpecError | None:
    """The error for `path` when it is a link that leads to no file (its target gone, or a loop); else None."""
    if not path.is_symlink():
        return None
    chain, at = [path], path
    while at.is_symlink() and len(chain) <= _MOST:
        at = at.parent / os.readlink(at)  # (a relative target is relative to the link's folder)
        if any(os.path.abspath(at) == os.path.abspath(p) for p in chain):
            shown = " -> ".join(str(p) for p in [*chain, at])
            return SpecError(
                f"{what}: {path} is a loop of links ({shown}): it leads to no file",
                f"point one of them at the {thing} (ln -sfn {thing.upper().replace(' ', '_')} {path}), "
                f"or give the {thing}'s own path",
            )
        chain.append(at)
    if at.is_symlink():  # more links in a row than the system follows
        return SpecError(
            f"{what}: {path} is a chain of over {_MOST} links: the system follows no more",
            f"give the {thing}'s own path, or a link straight to it",
        )
    if at.exists():  # (a link in a folder of the path broke meanwhile: the caller's own checks say it)
        return None
    return SpecError(
        f"{what}: {path} is a link to {os.readlink(path)}"
        + (f", which leads on to {at}" if len(chain) > 2 else "")
        + ", which does not exist",
        f"mount or restore the file it points to, or give the {thing}'s own path",
    )


def unwritable_link(path: Path) -> SpecError | None:
    """The recorder's error for a `path` that is a link it cannot write through: a loop of links, or a link into a
    folder that does not exist (the run failed at its first chunk with a traceback: 'free space on that disk').
    A link to a file, or to a new file in a folder that exists, is written through, as the shell's `>` writes."""
    if not path.is_symlink():
        return None
    try:
        os.stat(path)
        return None
    except FileNotFoundError:
        folder = Path(os.path.realpath(path)).parent
        if folder.is_dir():
            return None
        return SpecError(
            f"recorder: {path} is a link to {os.readlink(path)}, in a folder that does not exist ({folder})",
            f"create {folder}, point the link elsewhere (ln -sfn FILE {path}), or record to another path",
        )
    except OSError:  # a loop, or more links in a row than the system follows
        return broken_link(path, "recorder")
