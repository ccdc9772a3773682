"""The live monitor's traces channel has back-pressure: a page too slow to draw every update (here headless
chromium with its CPU throttled 6x through DevTools) gets the newest data, never a growing backlog. Before, the
server sent the next trace message as soon as the previous one was written to the socket, so the messages queued
in the slow page and what it showed fell further and further behind the run."""

import threading
import time

import numpy as np
import pytest
from test_monitor_browser import DOC, _wait  # the chromium: conftest.py's `browser`

CHANNELS, RATE, POINTS = 64, 200.0, 7  # like the tap: about 200 points per channel and second, ~30 frames/s


def _feed(hub, stop: threading.Event) -> None:
    """Trace frames at the tap's pace, stream time following wall time (the producer's pacing, not a wait)."""
    rng = np.random.default_rng(0)
    names = [f"c{i}" for i in range(CHANNELS)]
    start, i = time.monotonic(), 0
    while not stop.is_set():
        t = (i * POINTS + np.arange(POINTS)) / RATE
        header = {"stream": "s.out", "what": "trace", "t": t.tolist(), "kind": "signal", "rate": 1000.0}
        hub.add({**header, "channels": names, "n_channels": CHANNELS}, rng.standard_normal((CHANNELS, POINTS), "f4"))
        i += 1
        stop.wait(max(0.0, start + i * POINTS / RATE - time.monotonic()))


def test_a_slow_page_gets_the_newest_traces_with_one_message_in_flight(browser, monkeypatch):
    pytest.importorskip("bokeh")
    from selenium.common.exceptions import TimeoutException
    from wavegraph.pipeline import monitor_app, monitor_status
    from wavegraph.pipeline.monitor import MonitorHub
    from wavegraph.pipeline.monitor_server import start_server

    sent: list[float] = []  # the newest sample time of each trace message the server made, in order
    make = monitor_app.trace_message

    def recorded(x, y, rollover, reset, times):
        sent.append(times[1])
        return make(x, y, rollover, reset, times)

    monkeypatch.setattr(monitor_app, "trace_message", recorded)
    # the title says the page was behind from monitor_status.BEHIND_S of waiting (tests/test_leftovers_session29.py
    # checks that threshold); a fast box's throttled page may never wait that long, so here any wait is said
    monkeypatch.setattr(monitor_status, "BEHIND_S", 0.0)
    hub, stop = MonitorHub(), threading.Event()
    feeder = threading.Thread(target=_feed, args=(hub, stop), daemon=True)
    feeder.start()
    url, stop_server = start_server(hub, port=0)
    newest = DOC + "return Math.max(...Array.from(d.get_model_by_name('traces').data.x0).filter(v => !isNaN(v)))"
    try:
        browser.get(url)
        _wait(browser, DOC + "const m = d && d.get_model_by_name('traces'); return m && m.data.x0.length > 50")
        browser.execute_cdp_cmd("Emulation.setCPUThrottlingRate", {"rate": 6})
        try:
            n0 = len(sent)
            deadline = time.monotonic() + 30
            while len(sent) < n0 + 5 and time.monotonic() < deadline:  # a few updates into the slow page
                time.sleep(0.05)
            before = list(sent)
            browser.set_script_timeout(10)
            try:
                shown = browser.execute_script(newest)
            except TimeoutException:  # before: dozens of trace messages queued ahead of the script in the page
                pytest.fail(f"the page, {len(before) - n0} messages into the run, was too far behind to answer")
        finally:
            browser.set_script_timeout(30)
            browser.execute_cdp_cmd("Emulation.setCPUThrottlingRate", {"rate": 1})
        behind = sum(t > shown for t in before)
        print(
            f"{len(before) - n0} messages sent while throttled; the page shows t={shown:.2f} s, newest sent "
            f"{before[-1]:.2f} s ({behind} messages it has not drawn); merged {hub.traces_merged} frames"
        )
        # The server sent its last message only once the page had drawn the one before: the page shows at least
        # that one's newest sample (before: dozens of messages queued in the page, seconds behind).
        assert shown >= before[-2], f"the page shows t={shown:.2f} s, {behind} messages behind the server"
        assert hub.traces_ack_timeouts == 0  # the page acknowledged each message; none was sent on a timeout
        assert hub.traces_merged > 0  # frames that came while it drew went with a later message, counted ...
        _wait(browser, DOC + "return d.get_model_by_name('status').text.includes('trace frames merged')")  # shown
    finally:
        stop.set()
        stop_server()
        feeder.join(timeout=5)
