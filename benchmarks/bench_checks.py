"""Checks a benchmark makes before it runs, so that minutes of measuring are not lost to a traceback at the end:
its output paths can be written, and the peer packages it compares against are installed (else: what to run)."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from types import ModuleType

from wavegraph import unwritable

PEERS_SETUP = "bash benchmarks/peers_setup.sh"  # makes .venv-peers and .venv-mnelsl (docs/benchmarks.md)


PICTURES = ("png", "pdf", "svg", "jpg", "jpeg", "tif", "tiff", "webp", "eps", "ps", "svgz")  # matplotlib writes them


def picture(ap: argparse.ArgumentParser, option: str, path: str | None) -> str | None:
    """A picture's path as written (.png added to a name without a suffix, as matplotlib adds it: the name said is
    the file's); `ap.error` for a suffix matplotlib does not write (`--png table.txt` was its ValueError traceback
    after the whole benchmark had run)."""
    if not path or str(path).endswith(("/", "\\")) or Path(path).is_dir():
        return path  # (a folder: said by the writable check; `--png figs` of a folder figs/ wrote figs.png beside it)
    suffix = Path(path).suffix.lower().lstrip(".")
    if not suffix:
        return f"{path}.png"
    if suffix not in PICTURES:
        ap.error(f"{option} {path}: .{suffix} is not a picture format (.{', .'.join(PICTURES)}); give NAME.png")
    return path


def check_outputs(ap: argparse.ArgumentParser, *options: tuple[str, object]) -> None:
    """`ap.error` (exit 2) for the first (option, path) whose path cannot be written, or whose picture (--png)
    matplotlib does not write; None paths are not given, '' ones are refused (`--json "$OUT"` with OUT unset was
    dropped without a word: minutes of measuring, and no file)."""
    for option, path in options:
        if path is not None and not str(path).strip():
            ap.error(f"{option}: is empty (a shell variable that was unset or empty expands to nothing); give a path")
        if option == "--png" and path:
            picture(ap, option, str(path))
        if path is not None and path != "" and (why := unwritable(str(path))):
            ap.error(f"{option} {path}: cannot write ({why}); give a file path in a writable folder")


def peer_module(name: str, script: str, package: str, venv: str = ".venv-peers") -> ModuleType:
    """Import a peer's module, or exit with what to install and which interpreter runs `script` with it."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise SystemExit(
            f"{script}: cannot import {name} ({e}); it needs {package}, which is installed in {venv}, not in the "
            f"project's .venv: run `{PEERS_SETUP}` once, then `{venv}/bin/python benchmarks/{script} ...`"
        ) from None


def prog(name: str, argv: list[str] | None) -> str | None:
    """argparse's prog for a benchmark that is both `wavegraph bench NAME` (the CLI passes its argument list) and a
    script (`python benchmarks/NAME.py`: argv None, argparse's default, the file's name). Without it the usage and
    errors of the former said `wavegraph [-h] --seconds ...`, a command that does not exist."""
    return f"wavegraph bench {name}" if argv is not None else None


def check_modules(ap: argparse.ArgumentParser, command: str, *needs: tuple[str, str]) -> None:
    """`ap.error` naming every (module, how to install it) that does not import: before the run, not a traceback
    from the middle of it."""
    missing = []
    for name, install in needs:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(f"{name} ({install})")
    if missing:
        ap.error(f"{command} needs {', '.join(missing)}")
