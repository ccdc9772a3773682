"""Leftovers of session 28's closing note (helper 210).

- brainflow_source opened again after close() (by hand, or a second run of the same node) kept the old session's
  count: a playback file run to its end and opened again replayed nothing (its samples already counted to the file's
  end), one closed part-way replayed the file's start only, stopping short by the samples the first session read, and
  configure() again counted the file's losses twice (gaps 2, lost_samples 14 for a file losing 7). The real library,
  its PLAYBACK_FILE_BOARD replaying a file DataFilter.write_file wrote (offline).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("brainflow")

from test_brainflow_source import _playback, _read_all  # noqa: E402  # pyright: ignore[reportMissingImports]

LOSING_7 = np.r_[np.arange(0, 30), np.arange(37, 67)]  # 60 samples, 7 lost after the 30th


def _samples(chunks) -> int:
    return sum(c.data.shape[1] for c in chunks)


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
