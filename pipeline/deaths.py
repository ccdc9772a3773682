"""What the parent says of a worker process that ended without reporting, or that it had to kill: how it ended,
its nodes (their rows of the summary are empty), and the recordings it left unfinished (a recorder's spill, which
`wavegraph recover` finalises); and of those it waits for while they close their nodes."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

from .plan import WorkerPlan

if TYPE_CHECKING:
    from .config import GraphConfig

_WHY: dict[int, str] = {
    signal.SIGKILL: " (kill -9, or the kernel's out-of-memory killer: see `dmesg | grep -i oom`)",
    signal.SIGSEGV: " (a crash in native code: a C extension, a driver)",
}


def died(code: int, plan: WorkerPlan, error: str = "") -> str:
    """'exited with code -9 without reporting: killed by SIGKILL (...); its node: bad' (and what it left unfinished).
    `error`: what a Ray actor raised before or after its worker could report (another version, no control link)."""
    nodes = [n.id for n in plan.nodes]
    said = f"exited with code {code} without reporting{killed_by(code)}" + (f": {error}" if error else "")
    return f"{said}; its node{'s' if len(nodes) > 1 else ''}: {', '.join(nodes)}{unfinished(plan)}"


def killed_by(code: int | None) -> str:
    """': killed by SIGKILL (kill -9, or the kernel's out-of-memory killer: ...)' for an exit code of -9; '' for a
    process that was not killed by a signal (or whose exit code is unknown, None)."""
    if code is None or code >= 0:
        return ""
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    return f": killed by {name}{_WHY.get(-code, '')}"


def stuck(plan: WorkerPlan, closing: bool = False, started: bool = True) -> str:
    """Of a process killed because it did not stop: which node did not return (and what it left unfinished); or,
    `closing`, that it was still finalising its recordings (a second stop came, or the wait for it ended); or, not
    `started` (stopped before it was ready and the graph had begun), that it was still configuring its nodes: a
    model's configure() takes seconds (torch, the weights), deaf to the stop, and no node had opened a file yet."""
    if closing:
        return f"it was still closing its nodes{unfinished(plan)}"
    nodes = [n.id for n in plan.nodes]
    if not started:
        return (
            f"it was still starting, configuring its node{'s' if len(nodes) > 1 else ''} ({', '.join(nodes)}; "
            "loading a model takes seconds on a busy machine): nothing had run and no file was written"
        )
    which = f"its node '{nodes[0]}'" if len(nodes) == 1 else f"one of its nodes ({', '.join(nodes)})"
    closed = "and was not closed" if len(nodes) == 1 else "and none of them was closed"
    return f"{which} did not return (a read or wait without a timeout, a deadlock?), {closed}{unfinished(plan)}"


def recordings(plan: WorkerPlan) -> list[str]:
    """The paths the group's recorders write."""
    return [str(n.params["path"]) for n in plan.nodes if n.type == "recorder" and n.params.get("path")]


NOT_RESTARTED = (
    "; not restarted (on_error: restart): a recorder cannot go on with the recording its killed process left "
    "(fix: keep recorders out of groups with on_error: restart)"
)


def restart_notes(config: GraphConfig) -> list[str]:
    """`validate`'s note for each group with on_error: restart that holds a recorder (NOT_RESTARTED, said before)."""
    notes = []
    for group in config.restart:
        recs = [n.id for n in config.nodes if n.type == "recorder" and n.id in config.processes.get(group, ())]
        if recs:
            held = f"the recorder '{recs[0]}'" if len(recs) == 1 else f"the recorders {', '.join(map(repr, recs))}"
            notes.append(
                f"process '{group}': on_error: restart, but it holds {held}: if it dies the run stops, its recording "
                "left to `wavegraph recover` (a recorder cannot go on with what its killed process left); fix: keep "
                "recorders out of groups with on_error: restart"
            )
    return notes


def unfinished(plan: WorkerPlan) -> str:
    """'; the recording x.npz is left unfinished (fix: wavegraph recover x.npz)' for the group's recorders."""
    paths = recordings(plan)
    if not paths:
        return ""
    if len(paths) == 1:
        return f"; the recording {paths[0]} is left unfinished (fix: wavegraph recover {paths[0]})"
    return f"; the recordings {', '.join(paths)} are left unfinished (fix: wavegraph recover each)"


def closing(waiting: dict[str, WorkerPlan], wait_s: float, again: bool) -> str:
    """What a stopped run waits for: processes that drained and are finalising their recordings. A recorder finalising
    a long recording (a FIF of some GB: seconds to minutes) is not stuck, and killing it would leave the recording to
    `wavegraph recover`; a second stop signal (`again`: one came already) kills them all the same, as does wait_s."""
    paths = [path for plan in waiting.values() for path in recordings(plan)]
    return (
        f"waiting for process{'es' if len(waiting) > 1 else ''} {', '.join(f'{g!r}' for g in waiting)} to close "
        f"{'their' if len(waiting) > 1 else 'its'} nodes: finalising {', '.join(paths)} (at most {wait_s:.0f} s); "
        f"{'Ctrl-C again' if again else 'Ctrl-C twice'} to stop now (then: wavegraph recover PATH)"
    )


def not_drained(busy: list[str], drain_s: float) -> str:
    """Of a stop whose graph did not drain in time: what the sources had read and the graph had not processed is lost."""
    return (
        f"the graph did not drain within {drain_s:.1f} s of the stop (process{'es' if len(busy) > 1 else ''} "
        f"{', '.join(f'{g!r}' for g in busy)} not done): aborted; the chunks still on their way are lost (a node's "
        "'in' below what feeds it shows how many)"
    )
