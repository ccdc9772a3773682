"""The `wavegraph` console script (pyproject.toml [project.scripts]): the command line of pipeline/cli.py, imported
here inside a guard. Importing it (yaml, pydantic, numpy: 0.1-0.4 s on a busy machine) comes before any run has
installed its stop handler, so a Ctrl-C then printed a KeyboardInterrupt traceback; it now ends with one line
and exit code 130, as a Ctrl-C before a run starts does once the command line is loaded. Standard library only:
nothing heavy is imported before the guard."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    try:
        from .cli import main as cli_main

        return cli_main(argv)
    except KeyboardInterrupt:
        print("wavegraph: stopped (Ctrl-C)", file=sys.stderr)
        return 130
