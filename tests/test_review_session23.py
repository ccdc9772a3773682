"""Defects found reviewing session 23's changes (bdbbdf6..): each test fails before its fix."""

import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ.setdefault("LSLAPICFG", lsl_loopback.config())  # LSL on loopback, before pylsl is first imported

import numpy as np  # noqa: E402
from wavegraph.nodes.dsp.channels import Mix  # noqa: E402
from wavegraph.pipeline.chunk import Chunk  # noqa: E402
from wavegraph.pipeline.spec import signal_spec  # noqa: E402


def _stereo(left: np.ndarray, right: np.ndarray) -> dict[str, Chunk]:
    return {"in": Chunk(np.stack([left, right]).astype(np.float32), 0.0)}


def test_mix_given_a_second_file_after_finish_checks_it_for_cancelling_channels(caplog):
    """finish() ends the stream for every single-input stateful node (9945454), but mix kept its cancel check decided:
    a second file through the same node (one node, many files) whose right channel is the left inverted mixed to
    silence unsaid, as the first file had been checked already."""
    rate = 16000
    mix = Mix()
    mix.configure({"in": signal_spec(rate, ["L", "R"], "audio", "float32", "a.u.")})
    x = np.sin(2 * np.pi * 440 * np.arange(3 * rate) / rate) * 0.1
    with caplog.at_level(logging.WARNING):
        mix.process(_stereo(x, x))  # a first file, its channels alike: checked over its first 2 s, nothing to say
        mix.finish()
        assert not [r for r in caplog.records if "cancel" in r.getMessage()]
        out = mix.process(_stereo(x, -x))["out"].data  # the second file: R = -L
        mix.finish()
    assert np.abs(out).max() < 1e-6  # mixed to silence
    said = [r.getMessage() for r in caplog.records if "cancel" in r.getMessage()]
    assert len(said) == 1 and "'L', 'R'" in said[0] and "weights: [0.5, -0.5]" in said[0]


def test_a_step_back_after_a_wireless_stall_names_gap_tolerance_not_a_clock_reset(caplog, monkeypatch):
    """An app stamping each 100-sample chunk as it arrives (pylsl.local_clock, back-dated at the rate), its radio
    stalled 0.5 s: the late chunk jumps forward (a gap), the next, arriving just after it, steps back 0.4 s. Since
    f773469 (BACK_JUMP_S 1 s -> 0.25 s) such a step is a clock reset, said as 'the sending app's clock was reset, or
    it restarted ... stamp with the LSL clock', which the app does: a step back under a second names gap_tolerance
    now, as a forward jump under a second does (gap_said)."""
    import pylsl
    from wavegraph.nodes.io import lsl, lsl_start
    from wavegraph.nodes.io.lsl import LslInlet

    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.05)
    monkeypatch.setenv(lsl_start.CHECKED_ENV, "{}")
    name = f"wg-review23-{uuid.uuid4().hex[:8]}"
    info = pylsl.StreamInfo(name, "EEG", 1, 250.0, pylsl.cf_float32, name)
    out = pylsl.StreamOutlet(info)
    node = LslInlet(name=name, resolve_timeout=3.0, chunk_size=50, clock_sync=False, units="uV")
    node.configure({})
    node.open()
    assert out.wait_for_consumers(5.0)
    ts = pylsl.local_clock() - 5.0 + np.arange(400) / 250.0
    ts[100:200] += 0.5  # the stalled chunk, stamped on arrival
    ts[200:] += 0.5 - 0.4 + 0.001  # the next one arrived 1 ms after it
    stamps: Any = [float(t) for t in ts]
    out.push_chunk(np.zeros((400, 1), np.float32), stamps)
    got, end = 0, time.monotonic() + 5.0
    with caplog.at_level(logging.WARNING, logger="wavegraph.lsl"):
        while got < 400 and time.monotonic() < end and (r := node.read()) is not None:
            got += r["out"].data.shape[1] if r else 0
    node.close()
    assert got == 400 and node.counters.get("clock_back") == 1, node.counters
    (said,) = [r.getMessage() for r in caplog.records if "went back" in r.getMessage()]
    assert "raise `gap_tolerance` (now 0.05 s) above" in said, said


def test_a_batch_over_brainvision_data_files_in_upper_case_takes_their_headers(tmp_path):
    """5b2c943 made a matched BrainVision .eeg/.vmrk stand for the header beside it, by its lower-case name only: of
    S01.VHDR, S01.EEG and S01.VMRK (a recording copied off a FAT drive, or an old DOS tool's: file_source finds such a
    header, readers._header_of) --inputs '**/*.EEG' took S01.EEG, which failed 'is one part of a recording; fix: give
    its header file', and '*' took all three, two of them failing so."""
    from wavegraph.pipeline.batch import plan

    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n  - {id: src, type: file_source, params: {path: x.edf}}\n"
        "  - {id: rec, type: recorder, params: {path: out.csv}}\nedges:\n  - {source: src.out, target: rec.in}\n"
    )
    for name in ("s1/S01.VHDR", "s1/S01.EEG", "s1/S01.VMRK", "s2/N.EEG"):  # N: no header beside (a Nihon Kohden)
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"0")
    for pattern, want in (("**/*.EEG", ["s1/S01.VHDR", "s2/N.EEG"]), ("s1/*", ["s1/S01.VHDR"])):
        jobs = plan(str(graph), str(tmp_path / pattern), str(tmp_path / "out"), [])
        assert [str(Path(j.input).relative_to(tmp_path)) for j in jobs] == want, pattern
