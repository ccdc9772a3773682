"""Leftovers of a docs walk (session 24): a sliding_window's `size: 1.0` (seconds where samples go) answered with an
example at 250 Hz beside a 160 Hz input; the recorder's EDF/BDF channel a user named 'EDF Annotations'; --duration on
a live stream. Each test failed before its fix."""

from __future__ import annotations

import os

import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import logging  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from peer_hints import validate  # pyright: ignore[reportMissingImports]  # noqa: E402
from wavegraph.pipeline.cli import main  # noqa: E402

GRAPH_160 = """\
nodes:
  - {{id: src, type: sine, params: {{rate: 160, duration: 0.2}}}}
  - {{id: win, type: sliding_window, params: {params}}}
  - {{id: sink, type: null_sink}}
edges:
  - {{source: src.out, target: win.in}}
  - {{source: win.out, target: sink.in}}
"""


def test_a_window_in_seconds_is_worked_out_at_the_inputs_own_rate(tmp_path, monkeypatch, capsys):
    """`size: 1.0` (ezmsg's, Timeflux's seconds) on a 160 Hz stream: the fix said 'e.g. size: 250 at 250 Hz', though the
    input's rate was known when the graph was checked. It gives the count at 160 Hz now; a peer's name in seconds
    (ezmsg's window_dur) too."""
    code, _, err = validate(tmp_path, monkeypatch, capsys, GRAPH_160.format(params="{size: 1.0, hop: 16}"))
    assert code == 2 and len(err) == 1, err
    assert err[0].endswith("fix: for 1 s write size: 160 (1 s x the input's 160 Hz); for 1 sample, size: 1"), err
    code, _, err = validate(tmp_path, monkeypatch, capsys, GRAPH_160.format(params="{window_dur: 0.5, hop: 16}"))
    assert code == 2 and len(err) == 1, err
    assert err[0].endswith("write size: 80 (0.5 s x the input's 160 Hz)"), err
    # given by --set: the --set to type, with the count (its words apart from it: was 'size=80(0.5 s')
    code = main(["validate", "g.yaml", "--set", "win.window_dur=0.5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[0].endswith("give --set win.size=80 (0.5 s x the input's 160 Hz)"), err


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
@pytest.mark.parametrize("name", ["EDF Annotations", "BDF Annotations"])
def test_a_channel_named_as_the_annotations_channel_is_renamed_so_the_file_reads_back(tmp_path, caplog, suffix, name):
    """A user's channel labelled 'EDF Annotations' was written as a data channel of that name; MNE took it for the
    annotations channel ('invalid byte in at least one annotations channel') and the file could not be read. It is
    stored as 'EDF Annotation' now, with the recorder's renaming warning, and reads back with its samples."""
    import mne
    from wavegraph.pipeline.api import GraphBuilder

    x = np.random.default_rng(0).normal(size=(2, 250)) * 1e-5
    g = GraphBuilder()
    src = g.add("array_source", data=x, rate=250.0, ch_names=["Cz", name], ch_types="eeg")
    g.add("recorder", src, path=str(tmp_path / f"r{suffix}"))
    with caplog.at_level(logging.WARNING, logger="wavegraph.recorder"):
        g.run()
    said = [r.getMessage() for r in caplog.records if "cannot hold every channel name" in r.getMessage()]
    assert len(said) == 1 and f"'{name}' -> '{name[:-1]}'" in said[0] and "annotations" in said[0], said
    read = mne.io.read_raw_edf if suffix == ".edf" else mne.io.read_raw_bdf
    raw = read(tmp_path / f"r{suffix}", preload=True, verbose="error")
    assert raw.ch_names == ["Cz", name[:-1]]
    np.testing.assert_allclose(np.asarray(raw.get_data())[:, :250], x, atol=1e-8)


def test_what_a_worker_received_before_the_run_started_is_not_recorded(monkeypatch):
    """`wavegraph run --duration 5` on a live 160 Hz stream recorded 6.05 s: the worker process opened the stream its
    parent found at configure, and what it received until the run started (Go: the other processes starting, a model
    loading) came out first, on top of the duration (--duration 2 with a node 1.5 s to start: 3.6 s). A stream there
    before the graph waited opens at open() now, as in one process (one that appeared while it waited still opens at
    configure, its start the sooner received: test_lsl_start_session22)."""
    import pylsl
    from wavegraph.nodes.io import lsl, lsl_start
    from wavegraph.nodes.io.lsl import LslInlet

    monkeypatch.setenv(lsl_start.CHECKED_ENV, "{}")
    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.1)
    name = f"wg-backlog-{uuid.uuid4().hex[:8]}"
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 1, 160.0, pylsl.cf_float32, name))
    parent = LslInlet(name=name, resolve_timeout=2.0)  # `wavegraph run`'s build
    parent.configure({})
    parent.close()
    monkeypatch.setattr(os, "getppid", os.getpid)  # this process as the worker of the one that found it
    worker = LslInlet(name=name, resolve_timeout=2.0, chunk_size=64, wait=0.2)
    worker.configure({})
    assert worker._inlet is not None
    out.push_chunk(np.full((40, 1), -1.0, dtype=np.float32))  # sent while the other processes start
    end = time.monotonic() + 2.0  # (received, when the data stream is open: waited for, so that it would be read)
    while out.have_consumers() and worker._inlet.samples_available() < 40 and time.monotonic() < end:
        time.sleep(0.005)
    worker.open()  # Go: the run starts
    assert out.wait_for_consumers(2.0)
    sent = np.arange(1, 17, dtype=np.float32)
    out.push_chunk(sent[:, None])
    got, end = [], time.monotonic() + 2.0
    while sum(map(len, got)) < len(sent) and time.monotonic() < end:
        chunk = worker.read() or {}
        if "out" in chunk:
            got.append(chunk["out"].data[0])
    worker.close()
    np.testing.assert_array_equal(np.concatenate(got), sent)
