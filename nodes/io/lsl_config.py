"""$LSLAPICFG, the liblsl config file: what the LSL nodes' fix texts say discovery follows, and a warning, once per
path, when it names a file that does not exist (liblsl's own 'LSLAPICFG file ... not found' is its only word, and it
goes on with its defaults: discovery over the local network, not the loopback that configs/lsl_api.cfg keeps to)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("wavegraph.lsl")

DEFAULT_CFG = Path(__file__).with_name("lsl_default.cfg")  # import_pylsl's, when LSLAPICFG is unset
_checked: set[str] = set()  # the values of $LSLAPICFG already checked in this process (import_pylsl asks often)


def missing_config() -> str | None:
    """What is wrong with $LSLAPICFG, or None: it is unset, wavegraph's default, or an existing file."""
    value = os.environ.get("LSLAPICFG")
    if not value or Path(value).is_file():
        return None
    where = Path(value)
    shown = value if where.is_absolute() else f"{value} ({where.absolute()})"  # liblsl opens it from the cwd
    what = "a folder, not a file" if where.is_dir() else "a file that does not exist"
    return (
        f"$LSLAPICFG names {shown}, {what}: liblsl ignores it and uses its defaults (discovery over the local "
        "network, not loopback only); fix: point LSLAPICFG at an existing file (configs/lsl_api.cfg keeps LSL on "
        "this machine) or unset it"
    )


def warn_missing_config() -> None:
    """Log missing_config() once per path (import_pylsl asks: each LSL node's configure, `wavegraph devices`)."""
    if (value := os.environ.get("LSLAPICFG", "")) not in _checked:
        _checked.add(value)
        if problem := missing_config():
            log.warning("%s", problem)


def discovery_note() -> str:
    """The end of a fix text: the config discovery follows, as it is set now."""
    value = os.environ.get("LSLAPICFG")
    if not value or Path(value) == DEFAULT_CFG:
        return "discovery follows $LSLAPICFG, unset: liblsl's defaults (configs/lsl_api.cfg keeps it on loopback)"
    if missing_config():
        return f"discovery follows $LSLAPICFG, which names {value}, not a file (liblsl's defaults: the local network)"
    return f"discovery follows $LSLAPICFG ({value})"
