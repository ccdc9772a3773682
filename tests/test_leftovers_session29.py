"""Leftovers of session 28's closing note (helper 210).

- brainflow_source opened again after close() (by hand, or a second run of the same node) kept the old session's
  count: a playback file run to its end and opened again replayed nothing (its samples already counted to the file's
  end), one closed part-way replayed the file's start only, stopping short by the samples the first session read, and
  configure() again counted the file's losses twice (gaps 2, lost_samples 14 for a file losing 7). The real library,
  its PLAYBACK_FILE_BOARD replaying a file DataFilter.write_file wrote (offline).
- The live monitor's title said "N page updates skipped (this page was behind)" (and "trace frames merged (the page
  was behind)") from the first tick skipped: a page that now and then took longer than a tick (250 ms) to draw an
  update was told it was behind. It says so once an update waited 2 s (BEHIND_S) or longer to be drawn, with the
  longest wait (pipeline/monitor_status.py). The page's side is played here by setting PageAck.applied as its script
  does; a throttled chromium says it (tests/test_monitor_document_backlog_session28.py).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

LOSING_7 = np.r_[np.arange(0, 30), np.arange(37, 67)]  # 60 samples, 7 lost after the 30th


def _samples(chunks) -> int:
    return sum(c.data.shape[1] for c in chunks)


def _playback(tmp_path, package):
    pytest.importorskip("brainflow")
    from test_brainflow_source import _playback  # pyright: ignore[reportMissingImports]

    return _playback(tmp_path, package)


def _read_all(node):
    from test_brainflow_source import _read_all  # pyright: ignore[reportMissingImports]

    return _read_all(node)


def test_a_playback_board_opened_again_after_its_end_replays_the_file_with_its_own_counts(tmp_path):
    first, written, node = _playback(tmp_path, LOSING_7)
    assert _samples(first) == 60 and node.counters == {"gaps": 1, "lost_samples": 7}
    node.open()  # a second run of the same node, without configure()
    try:
        again = _read_all(node)
    finally:
        node.close()
    assert _samples(again) == 60  # before: 0 (the first session's 60 samples counted to the file's end)
    assert np.array_equal(np.concatenate([c.data for c in again], axis=1), written[1:17] * 1e-6)
    assert again[0].gap  # a new session: the samples between the two were never read
    assert [c.gap for c in again].count(True) == 2  # and the file's own jump
    assert node.counters == {"gaps": 1, "lost_samples": 7}  # this session's


def test_configure_again_counts_the_losses_of_the_new_run_only(tmp_path):
    _, _, node = _playback(tmp_path, LOSING_7)
    node.configure({})
    node.open()
    try:
        again = _read_all(node)
    finally:
        node.close()
    assert _samples(again) == 60
    assert node.counters == {"gaps": 1, "lost_samples": 7}  # before: gaps 2, lost_samples 14


def test_a_playback_closed_part_way_replays_the_whole_file_when_read_again(tmp_path):
    _, written, node = _playback(tmp_path, np.arange(60))
    node.configure({})
    node.open()
    try:
        part = []
        while _samples(part) < 32:  # two chunks of chunk_size 16 (a read finding none yet gives {})
            if out := node.read():
                part.append(out["out"])
        assert _samples(part) == 32
        node.close()
        rest = _read_all(node)  # opens it again: the playback board starts the file over
    finally:
        node.close()
    assert _samples(rest) == 60  # before: 28 (the file's first 28 samples, then the end the old count set)
    assert np.array_equal(np.concatenate([c.data for c in rest], axis=1), written[1:17] * 1e-6)
    assert rest[0].gap and "lost_samples" not in node.counters


def _page():
    """A monitor page's server side (Session) on a hub holding one stream; its update() is the 250 ms page tick."""
    pytest.importorskip("bokeh")
    from bokeh.document import Document
    from wavegraph.pipeline.monitor import MonitorHub
    from wavegraph.pipeline.monitor_app import Session

    hub = MonitorHub()
    header = {"stream": "s.out", "what": "trace", "t": [0.0, 0.01], "kind": "signal", "rate": 100.0}
    hub.add({**header, "channels": ["a"], "n_channels": 1}, np.zeros((1, 2), "f4"))
    return Session(hub, Document(), {})


def _drawn(page) -> None:
    """What the page's script does once it has drawn an update (PAGE_ACK_JS): acknowledge it through the document."""
    page.ack.applied = page.ack.sent


def test_a_page_that_skips_a_tick_now_and_then_is_not_told_it_was_behind():
    page = _page()
    for tick in range(40):
        page.update()
        if tick % 10 != 3:
            _drawn(page)
        else:  # every tenth update drawn 0.4 s late: the next tick is skipped
            time.sleep(0.4)
    assert page.page_skipped == 4
    assert page.title.text.startswith("<b>wavegraph monitor</b>: 1 streams")
    assert "skipped" not in page.title.text and "behind" not in page.title.text  # before: '4 page updates skipped ...'


def test_a_page_that_had_not_drawn_an_update_for_two_seconds_is_told_it_was_behind():
    page = _page()
    for _ in range(4):
        page.update()
        _drawn(page)
    page.update()
    time.sleep(2.2)  # the page draws nothing for 2.2 s
    page.update()  # skipped
    for _ in range(2):  # (the title is made every other tick)
        _drawn(page)
        page.update()
    assert page.page_skipped == 1
    assert "1 page updates skipped (this page was behind by up to 2." in page.title.text


def test_the_wait_for_the_page_to_load_is_not_being_behind():
    page = _page()
    page.update()
    time.sleep(2.2)  # the page loading the document: no update drawn yet
    page.update()
    _drawn(page)  # its first acknowledgement (document_ready)
    for _ in range(3):
        page.update()
        _drawn(page)
    assert page.page_skipped == 1 and "behind" not in page.title.text


def test_trace_frames_merged_are_said_only_with_a_wait_of_two_seconds_or_more():
    from wavegraph.pipeline.monitor import MonitorHub
    from wavegraph.pipeline.monitor_status import status_text

    hub = MonitorHub()
    hub.traces_merged = 12
    assert "merged" not in status_text(1, hub, 0, 0.0, 0.0)  # before: '12 trace frames merged (the page was behind)'
    assert "12 trace frames merged (the page was behind by up to 2.4 s)" in status_text(1, hub, 0, 0.0, 2.4)
