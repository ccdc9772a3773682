"""Session 44: leftovers of session 43's probes, fixed by the lead."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request

import pytest


def test_monitor_refused_requests_are_not_warnings_in_the_run_terminal(caplog):
    """A 4xx (a wrong path, a scanner's path traversal, a websocket path fetched as a page) was a warning line each
    in the run's terminal (tornado's access and 'general' logs); a 200 and the page itself still work."""
    from wavegraph.pipeline.monitor import MonitorHub
    from wavegraph.pipeline.monitor_server import start_server

    url, stop = start_server(MonitorHub())
    try:
        with caplog.at_level(logging.DEBUG):
            codes = []
            for path in ("nope", "static/../../etc/passwd", "traces"):
                with pytest.raises(urllib.error.HTTPError) as e:
                    urllib.request.urlopen(url + path, timeout=10).read()
                codes.append(e.value.code)
            assert b"bokeh" in urllib.request.urlopen(url, timeout=10).read().lower()
    finally:
        stop()
    assert codes == [404, 403, 400]
    tornado = [r for r in caplog.records if r.name.startswith("tornado")]
    assert not [r for r in tornado if r.levelno >= logging.WARNING], [r.getMessage() for r in tornado]
    assert any("404 GET /nope" in r.getMessage() for r in tornado if r.levelno == logging.DEBUG)  # still at debug


def _soak_started(tmp_path):
    """`wavegraph bench soak --hours 1` with its temporary folder under tmp_path, once its run's child is up."""
    import os
    import subprocess
    import sys
    import time

    psutil = pytest.importorskip("psutil")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    bench = subprocess.Popen(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "bench", "soak", "--hours", "1", "--every", "0.5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        kids = psutil.Process(bench.pid).children(recursive=True)
        if any(p.name().startswith("python") for p in kids) and list(tmp_path.glob("*/*.chunks.csv")):
            return bench, kids
        time.sleep(0.2)
    bench.kill()
    pytest.fail("the soak's run did not start in 60 s: " + bench.communicate()[0])


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_killed_bench_soak_stops_its_run(tmp_path, how):
    """`kill` (SIGTERM) or `kill -9` of `wavegraph bench soak` left its run going on for the hours asked, writing
    into a temporary folder that was never removed. Now the run is stopped with it; SIGTERM also removes the folder
    and exits 130 (as Ctrl-C)."""
    import signal

    import psutil

    bench, kids = _soak_started(tmp_path)
    bench.send_signal(getattr(signal, how))
    out = bench.communicate(timeout=60)[0]
    gone, alive = psutil.wait_procs(kids, timeout=60)
    for p in alive:
        p.kill()
    assert not alive, [p.cmdline() for p in alive]
    if how == "SIGTERM":
        assert bench.returncode == 130, out
        assert "stopped before its end" in out
        assert list(tmp_path.iterdir()) == []
    else:
        assert bench.returncode == -9


def test_plot_takes_a_packaged_recording_as_file_source_does(tmp_path):
    """`wavegraph plot dataset:eegmmidb-s001r02` was 'no such recording', though file_source (and docs/monitor.md)
    take dataset:NAME; an unknown name is said with the list."""
    from conftest import dataset
    from wavegraph.nodes.io.plot import main

    dataset("eegmmidb-s001r02")  # fetched (or cached) first, as the suite's other real-data tests
    out = tmp_path / "p.png"
    assert main(["dataset:eegmmidb-s001r02", "-o", str(out)]) == 0
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"
    assert main(["dataset:no-such-set"]) == 2


def test_ray_at_a_loopback_address_with_no_cluster_names_the_address_given():
    """`--ray 127.0.0.1:6399` said 'no Ray cluster answers at 192.0.2.2:6399': Ray puts this machine's address for a
    loopback one, and only that was shown."""
    pytest.importorskip("ray")
    from wavegraph.pipeline.config import GraphError
    from wavegraph.pipeline.placement import _check_cluster

    with pytest.raises(GraphError) as e:
        _check_cluster("127.0.0.1:6399", "g.yaml")
    said = str(e.value).split("answers at", 1)[1]
    assert "127.0.0.1:6399" in said, str(e.value)
