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
