"""lsl_inlet's start (nodes/io/lsl_start.py) on real liblsl over loopback: a graph started before its streams (the
amplifier app or MNE-LSL's PlayerLSL started after wavegraph). Before: each stream was resolved twice a run (the
parent's build, then the worker), each time with a 0.8 s wait for a second matching stream, and the data stream opened
only at the first pull: an EEG and a marker inlet missed the first 5-6 s of their streams, every marker sent then too."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import logging  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import numpy as np  # noqa: E402
import pylsl  # noqa: E402
import pytest  # noqa: E402
from wavegraph.nodes.io import lsl, lsl_start  # noqa: E402
from wavegraph.nodes.io.lsl import LslInlet  # noqa: E402
from wavegraph.pipeline.spec import SpecError  # noqa: E402


@pytest.fixture(autouse=True)
def _no_checked_streams(monkeypatch):
    monkeypatch.setenv(lsl_start.CHECKED_ENV, "{}")  # what configure() leaves for worker processes: restored after
    # every stream is uname'd: configure()'s 0.8 s listen for a second one of the query finds none (as in
    # tests/test_live_attack3.py); the test of a twin sets its own listen
    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 0.05)


def uname(what: str) -> str:
    return f"wg-start-{what}-{uuid.uuid4().hex[:8]}"


def eeg_outlet(name: str) -> pylsl.StreamOutlet:
    return pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 1, 250.0, pylsl.cf_float32, name))


def uid_of(node: LslInlet) -> str:
    assert node._info is not None
    return node._info.uid()


def read_until(node: LslInlet, n: int, timeout: float = 2.0) -> np.ndarray:
    """What the node reads until `n` values (samples, or marker codes) arrived or `timeout` s passed."""
    got, end = [], time.monotonic() + timeout
    while sum(len(g) for g in got) < n and time.monotonic() < end:
        out = node.read()
        if out is None:
            break
        if "out" in out:
            data = out["out"].data
            got.append(data[0] if node.out_specs["out"].kind == "signal" else data[:, 2])
    return np.concatenate(got) if got else np.zeros(0)


def test_the_run_process_opens_the_stream_its_parent_checked_without_a_second_wait(monkeypatch):
    """The worker process configured the inlet again: a second resolve and a second 0.8 s wait for a twin, its
    stream not yet open meanwhile. Now it finds the very stream the parent checked by its uid, with no wait: the
    twin that appeared between the build and the worker is not taken instead, nor refused."""
    name = uname("pinned")
    first = eeg_outlet(name)  # noqa: F841
    parent = LslInlet(name=name, type="EEG", resolve_timeout=2.0)
    parent.configure({})
    uid = uid_of(parent)
    parent.close()
    twin = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 1, 250.0, pylsl.cf_float32, name + "-2"))  # noqa: F841
    waits = []
    real = pylsl.resolve_bypred
    monkeypatch.setattr(pylsl, "resolve_bypred", lambda *a, **k: waits.append(a) or real(*a, **k))
    monkeypatch.setattr(os, "getppid", os.getpid)  # this process as the worker of the one that checked it
    worker = LslInlet(name=name, type="EEG", resolve_timeout=2.0)
    worker.configure({})
    assert uid_of(worker) == uid and waits == []
    worker.close()


def test_a_stream_the_parent_checked_that_is_gone_is_looked_for_anew(monkeypatch):
    """The stream the parent checked went away before the worker configured: the worker looks for the query anew
    (and checks it for a twin), as before, and opens the stream that is there now."""
    name = uname("gone")
    out = eeg_outlet(name)  # noqa: F841
    lsl_start.remember(f"name='{name}'", "no-such-uid", pylsl.local_clock(), pylsl.local_clock())
    monkeypatch.setattr(os, "getppid", os.getpid)
    monkeypatch.setattr(lsl_start, "PINNED_WAIT_S", 0.2)
    node = LslInlet(name=name, resolve_timeout=2.0)
    assert node.configure({})["out"].shape == (1,)
    assert uid_of(node) == out.get_info().uid()
    node.close()


def started_while_waiting(monkeypatch, name: str) -> tuple[LslInlet, pylsl.StreamOutlet]:
    """An inlet configured while its stream is started (the amplifier app started once wavegraph waits for it)."""
    waiting, made = threading.Event(), []
    real = lsl_start.wait_began
    monkeypatch.setattr(lsl_start, "wait_began", lambda now: waiting.set() or real(now))

    def start_the_amplifier():
        assert waiting.wait(5.0)
        made.append(eeg_outlet(name))

    th = threading.Thread(target=start_the_amplifier, daemon=True)
    th.start()
    node = LslInlet(name=name, resolve_timeout=3.0)
    node.configure({})
    th.join(5.0)
    return node, made[0]


def test_a_stream_that_appears_while_the_graph_waits_is_listened_for_a_twin_while_it_is_received(monkeypatch):
    """configure() held every stream found 0.8 s more for a second matching one (twice a run: the parent's, the
    worker's), none of it received. A stream that appeared during the wait cannot have had a twin all along: configure
    no longer holds it; the listen goes on while the inlet opens, and a twin seen meanwhile fails the run's start, as
    it failed configure()."""
    name = uname("twin")
    monkeypatch.setattr(lsl, "AMBIGUITY_WAIT_S", 1.5)  # the listen, long enough for a loaded machine's discovery
    holds = []
    real = pylsl.resolve_bypred
    monkeypatch.setattr(pylsl, "resolve_bypred", lambda *a, **k: holds.append(a) or real(*a, **k))
    node, first = started_while_waiting(monkeypatch, name)
    assert holds == []
    twin = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 1, 250.0, pylsl.cf_float32, name + "-2"))  # noqa: F841
    with pytest.raises(SpecError) as e:
        node.open()
    node.close()
    assert f"2 LSL streams match name='{name}'" in e.value.message and "source_id: " in e.value.hint
    assert first.get_info().uid()


@pytest.mark.parametrize("kind", ["signal", "markers"])
def test_what_is_sent_once_the_graph_starts_is_received(kind):
    """open() (the graph starting) did nothing: the data stream opened at the first pull, and every sample and
    marker sent between the start and it was lost (a marker inlet polled after the EEG's first read missed its
    first markers). Now open() opens it: all that is sent from then on arrives."""
    name = uname(kind)
    if kind == "signal":
        out = eeg_outlet(name)
    else:
        out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, name))
    node = LslInlet(name=name, resolve_timeout=2.0, wait=0.2)
    node.configure({})
    node.open()
    sent = np.arange(1, 41, dtype=np.float64)
    if kind == "signal":
        out.push_chunk(sent[:, None].astype(np.float32))
    else:
        for code in sent:
            out.push_sample([str(int(code))])
    got = read_until(node, len(sent))
    node.close()
    np.testing.assert_array_equal(got, sent)
    assert "missed_start" not in node.counters  # the stream was there before the graph waited for it


def test_a_stream_that_appears_while_the_graph_waits_says_how_much_of_its_start_was_not_received(monkeypatch, caplog):
    """LSL keeps nothing for an inlet that is not open yet: a stream started while the graph was being built loses
    what it sent before the graph started, unsaid. Now open() says how long that was, and counts `missed_start`."""
    name = uname("late")
    node, made = started_while_waiting(monkeypatch, name)
    before = pylsl.local_clock() - made.get_info().created_at()
    with caplog.at_level(logging.WARNING, logger="wavegraph.lsl"):
        node.open()
    node.close()
    said = [r.getMessage() for r in caplog.records if "appeared while the graph waited" in r.getMessage()]
    assert node.counters["missed_start"] == 1 and len(said) == 1
    missed = float(said[0].split("waited for it, ")[1].split(" s before")[0])
    assert 0 < missed <= before + 0.05 and f"'{name}'" in said[0] and "not in this run" in said[0]
