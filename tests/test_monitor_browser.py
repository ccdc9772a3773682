"""The live monitor in a real browser: Debian's chromium, headless, driven by selenium (never a downloaded
browser; the `browser` fixture of conftest.py), on the real EEG replay at --speed 1, in one process and in several.

Screenshots are kept as test artefacts in out/test-artifacts/ (docs/monitor.md shows one).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "out" / "test-artifacts"


def _start(tmp_path: Path, in_process: bool, edf_path: Path) -> tuple[subprocess.Popen, str]:
    cmd = [
        sys.executable,
        "-m",
        "wavegraph.pipeline.cli",
        "run",
        str(ROOT / "configs" / "default.yaml"),
        "--speed",
        "1",
        "--monitor",
        "--monitor-port",
        "0",
        "--set",
        f"rec.path={tmp_path / 'mon_raw.fif'}",
    ]
    proc = subprocess.Popen(
        cmd + (["--in-process"] if in_process else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line.startswith("monitor: http://127.0.0.1:"), line + proc.stderr.read()
    return proc, line.split(" ", 1)[1].strip()


def _wait(driver, script: str, timeout: float = 45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for: {script}")


DOC = "const d = (window.Bokeh && Bokeh.documents.length) ? Bokeh.documents[0] : null; "


@pytest.mark.parametrize("in_process", [True, False], ids=["one-process", "three-processes"])
def test_traces_move_and_the_node_table_fills(browser, tmp_path, edf_path, in_process):
    from PIL import Image

    proc, url = _start(tmp_path, in_process, edf_path)
    try:
        t0 = time.monotonic()
        browser.get(url)
        print(f"page loaded after {time.monotonic() - t0:.1f} s")
        # The document can exist before its models do (a session still being built): wait, never throw.
        _wait(browser, DOC + "const m = d && d.get_model_by_name('traces'); return m && m.data.x0.length > 100")
        rows = _wait(
            browser,
            DOC
            + """
            const m = d && d.get_model_by_name('node_table');
            if (!m) return null;
            const t = m.data;
            const ok = ['src', 'car', 'notch', 'bp'].every(n => { const i = t.node.indexOf(n);
                return i >= 0 && (t.rate_out[i] > 0); }) && t.rate_in[t.node.indexOf('rec')] > 0;  // what is asserted below
            return ok ? {node: Array.from(t.node), process: Array.from(t.process),
                         rate_in: Array.from(t.rate_in), rate_out: Array.from(t.rate_out)} : null;""",
        )
        print(f"table filled after {time.monotonic() - t0:.1f} s")
        assert {"src", "car", "notch", "bp", "rec"} <= set(rows["node"])
        expected_process = {"src": "acquisition", "bp": "dsp", "rec": "storage"}
        for node, group in expected_process.items():
            assert rows["process"][rows["node"].index(node)] == ("main" if in_process else group)
        assert rows["rate_in"][rows["node"].index("rec")] > 0
        # What the table draws, not only its data source: Bokeh's DataTable redraws its cells only when its
        # row count changes, so without the page's redraw hook the cells keep showing their first values.
        drawn_js = (
            DOC
            + """
            const w = d && d.get_model_by_name('node_table_widget'); const v = w && Bokeh.index.find_one(w);
            const t = d && d.get_model_by_name('node_table').data;
            if (!v || !t) return null;
            const drawn = Array.from(v.shadow_el.querySelectorAll('.slick-row')).map(
                r => Array.from(r.querySelectorAll('.slick-cell')).map(c => c.textContent.trim()));
            """
        )
        cells = _wait(
            browser,
            drawn_js
            + "return ['src', 'car', 'notch', 'bp'].every(n => drawn.some(r => r[0] === n && Number(r[3]) > 0))"
            + " ? drawn : null;",
        )
        # ... and the cells follow the source: later they show the source's newer values (compute times change)
        _wait(
            browser,
            drawn_js
            + f"""
            const same = drawn.length > 3 && drawn.every(r => {{ const i = t.node.indexOf(r[0]);
                return i >= 0 && r[3] === String(t.rate_out[i]) && r[8] === String(t.compute[i]); }});
            return same && JSON.stringify(drawn) !== {json.dumps(json.dumps(cells, separators=(",", ":")))};""",
        )
        print(f"table cells drawn after {time.monotonic() - t0:.1f} s: {cells[:2]}")
        streams = browser.execute_script(DOC + "return d.get_model_by_name('stream_select').options")
        assert {"src.out", "car.out", "notch.out", "bp.out"} <= set(streams)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = "one" if in_process else "multi"
        shots = [ARTIFACTS / f"monitor-{name}-1.png", ARTIFACTS / f"monitor-{name}-2.png"]
        # the newest sample time on screen (the trace columns hold NaN breaks between channels)
        last_t = "return Math.max(...Array.from(d.get_model_by_name('traces').data.x0).filter(v => !isNaN(v)))"
        t_first = browser.execute_script(DOC + last_t)
        browser.save_screenshot(str(shots[0]))
        region = (slice(110, 640), slice(10, 1390))  # the trace plot
        a = np.asarray(Image.open(shots[0]).convert("L"), dtype=np.int16)
        changed = 0.0
        for _ in range(10):  # half a second apart, 5 s in all; a loaded machine may stall the page for a moment
            time.sleep(0.5)
            browser.save_screenshot(str(shots[1]))
            b = np.asarray(Image.open(shots[1]).convert("L"), dtype=np.int16)
            changed = np.mean(np.abs(a[region] - b[region]) > 16)
            if changed > 0.01:
                break
        assert changed > 0.01, f"the traces did not move ({changed:.4f} of the pixels changed)"
        assert np.std(a[region]) > 10, "the trace area is blank"
        assert browser.execute_script(DOC + last_t) > t_first  # the newest sample time moved on too
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130), err
    assert "bp" in out and "wall time" in out


def test_a_non_loopback_bind_needs_the_token(browser, tmp_path):
    pytest.importorskip("bokeh")
    from wavegraph.pipeline.monitor import MonitorHub
    from wavegraph.pipeline.monitor_server import start_server

    url, stop = start_server(MonitorHub(), host="0.0.0.0", port=0)
    try:
        assert "?token=" in url and len(url.split("token=")[1]) >= 16
        bare = url.split("?")[0]
        browser.get(bare)
        text = _wait(browser, DOC + "return d && d.roots().length && d.roots()[0].text")
        assert "wrong or missing token" in text
        t0 = time.monotonic()
        browser.get(url)
        print(f"page loaded after {time.monotonic() - t0:.1f} s")
        _wait(browser, DOC + "return d && d.get_model_by_name('stream_select') !== null")
        assert browser.execute_script(DOC + "return d.get_model_by_name('node_table') !== null")
    finally:
        stop()
    os.environ.pop("WAVEGRAPH_MONITOR", None)
