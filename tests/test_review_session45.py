"""Review of session 45's changes: regressions found in the new worker wait and in recover's removal of the chunk log."""

from __future__ import annotations

import json

import numpy as np
from wavegraph.pipeline import worker
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.stop_flag import StopFlag
from wavegraph.pipeline.transport import EdgeReceiver, ipc_endpoint


class _Stopped:
    """An Executor after a stop, with no local source left: its process waits on its inputs' ends (the drain)."""

    def __init__(self, turns: int):
        self.stop = StopFlag()
        self.stop.request("test")
        self.active_sources: set[str] = set()
        self.source_time: dict[str, float] = {}
        self.turns = turns

    def step_sources(self) -> bool:
        self.turns -= 1
        if self.turns <= 0:
            self.stop.abort("test")  # (ends the loop: the test counts what it did meanwhile)
        return False

    def deliver(self, node_id, port, chunk):  # pragma: no cover - no input sends here
        raise AssertionError("nothing was sent")

    def drain(self) -> None:
        pass


class _Link:
    ended: dict = {}
    orphaned = False

    def shift(self, edge) -> int:  # pragma: no cover - no chunk comes
        return 0


def test_a_stopped_process_waits_on_its_idle_inputs_rather_than_spinning(socket_tmpdir, monkeypatch):
    """After a stop (its sources ended), a process with several inputs still open waits for what its upstream drains.
    The all-inputs wait (pipeline/wait_inputs.py) was skipped whenever the stop flag was set, so the loop spun at a
    full core on recv(timeout=0) until every input ended (the upstream's drain, on a 2-core host slowed by it), where
    it waited 2 ms on each input before. Now it waits on them all at once, stopped or not."""
    spec = signal_spec(100.0, ["a"])
    rxs = [EdgeReceiver(ipc_endpoint(f"stop{i}"), spec) for i in range(3)]
    waits = []
    monkeypatch.setattr(worker, "wait_any", lambda receivers, timeout: waits.append(len(receivers)))
    try:
        ex = _Stopped(turns=5)
        worker._loop(ex, [(rx, f"n{i}", "in", f"e{i}") for i, rx in enumerate(rxs)], _Link())  # type: ignore[arg-type]
    finally:
        for rx in rxs:
            rx.close()
    assert waits == [3] * 5, waits  # one wait per idle turn, on every open input


KILLED = """
import os, signal, sys
from pathlib import Path
import numpy as np
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec
rec = Recorder(path=str(Path(sys.argv[1]) / "r.npz"), chunk_log=True)
rec.configure({"in": signal_spec(250.0, ["Fp1", "Fp2"])})
for i in range(4):
    rec.process({"in": Chunk(np.full((2, 25), float(i)), 1000.0 + i * 0.1, seq=i)})
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_recover_keeps_the_chunk_log_of_a_spill_that_does_not_say_whether_it_was_kept(tmp_path):
    """recover() now deletes `<path>.chunks.csv` where close() would have, unless the spill's header says chunk_log:
    true. A spill written before the header said it (a recording killed before an upgrade) lost the log its recorder
    was told to keep (chunk_log: true): whether it was is not known, so it stays, as after a killed WAV's recover."""
    import subprocess
    import sys

    from wavegraph.nodes.io.recover import recover

    subprocess.run([sys.executable, "-c", KILLED, str(tmp_path)], timeout=120, check=False)
    meta_path = tmp_path / "r.npz.spill.json"
    meta = json.loads(meta_path.read_text())
    assert meta.pop("chunk_log") is True  # (this version's header says it)
    meta_path.write_text(json.dumps(meta))  # an older version's header
    out = recover(tmp_path / "r.npz")
    assert out.exists()
    assert (tmp_path / "r.npz.chunks.csv").exists()


def test_a_start_that_cannot_open_a_file_leaves_the_file_that_was_there(tmp_path, monkeypatch):
    """A recorder whose start fails removes the files it made (record_failures.py), but it listed each before opening
    it: an open that failed without touching the file (EACCES on a read-only `<path>.chunks.csv` an earlier run kept
    with chunk_log: true, or on the CSV an overwrite: true run was to replace) deleted that earlier file, where the run
    only said it could not start. Now a file is listed once its open succeeded (it is then this run's)."""
    import errno

    import pytest
    from wavegraph.nodes.io import recorder as recorder_module
    from wavegraph.nodes.io.recorder import Recorder

    real = recorder_module.open_whole
    refused = set()

    def open_whole(path, mode):
        if str(path) in refused:  # (as EACCES for a user without root: the file untouched)
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, mode)

    monkeypatch.setattr(recorder_module, "open_whole", open_whole)
    spec = signal_spec(100.0, ["a"])
    for name, overwrite, earlier in (("r.npz", False, "r.npz.chunks.csv"), ("r.csv", True, "r.csv")):
        kept = tmp_path / earlier
        kept.write_text("an earlier run's\n")
        refused.add(str(kept))
        rec = Recorder(path=str(tmp_path / name), overwrite=overwrite)
        rec.configure({"in": spec})
        with pytest.raises(OSError, match="cannot start writing"):
            rec.process({"in": Chunk(np.ones((1, 5)), 0.0)})
        rec.close()
        assert kept.exists() and kept.read_text() == "an earlier run's\n", name
