"""Faults at the process boundary (issue 11): frames a live receiver must refuse, end-of-stream frames
its sender did not send, the start and the end of a stream, and graphs refused at build time."""

import glob
import os
import struct
import threading
import time

import numpy as np
import pytest
import zmq
from wavegraph.pipeline import wire
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.transport import EdgeReceiver, ipc_endpoint, max_frame_bytes

RAMP_SPEC = signal_spec(1000.0, ["ch0", "ch1"], "misc", units="a.u.")  # fixture_nodes.Ramp's output

GRAPH = """\
nodes:
  - id: src
    type: fixture_nodes:Ramp
    params: {rate: 1000.0, chunk_size: 10, n_samples: N}
  - id: acc
    type: fixture_nodes:CumSum
    params: {crash_at: CRASH}
  - id: rec
    type: recorder
    params: {path: OUT}
edges:
  - {source: src.out, target: acc.in, policy: POLICY}
  - {source: acc.out, target: rec.in}
processes:
  a: [src]
  b: [acc]
  c: [rec]
"""


def graph(tmp_path, name="g", n=600, crash=-1, policy="block", processes=True):
    text = (
        GRAPH.replace("N", str(n))
        .replace("CRASH", str(crash))
        .replace("POLICY", policy)
        .replace("OUT", str(tmp_path / f"{name}.npz"))
    )
    if not processes:
        text = text[: text.index("processes:")]
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    return build_graph(load_config(p))


def _fuzz_frames(rng: np.random.Generator, n: int):
    """n frames, random or mutated from good ones, every one of which a receiver must refuse."""
    sid = wire.spec_id(RAMP_SPEC)
    head, body = wire.encode(Chunk(np.zeros((2, 10))), 0, sid)
    head, body = bytes(head), bytes(body)

    def patch(offset, fmt, value):
        h = bytearray(head)
        struct.pack_into(fmt, h, offset, value)
        return [bytes(h), body]

    makers = [
        lambda: [rng.bytes(int(rng.integers(0, 80))), rng.bytes(int(rng.integers(0, 200)))],  # noise
        lambda: [head],  # one frame
        lambda: [head, body, body],  # three frames
        lambda: [head[: int(rng.integers(0, len(head)))], body],  # truncated header
        lambda: patch(0, "<4s", rng.bytes(4)),  # magic
        lambda: patch(4, "<B", int(rng.integers(2, 256))),  # version
        lambda: patch(5, "<B", int(rng.integers(4, 256))),  # unknown flags
        lambda: patch(6, "<B", int(rng.choice([0, *range(15, 256)]))),  # dtype code
        lambda: patch(8, "<I", (sid + int(rng.integers(1, 2**32 - 1))) % 2**32),  # another edge
        lambda: [head, body[: int(rng.integers(0, len(body)))]],  # short payload
        lambda: list(wire.encode(Chunk(rng.standard_normal((3, 7))), int(rng.integers(0, 2**40)), sid)),  # shape
        lambda: list(wire.encode(Chunk(rng.standard_normal((2, 9)).astype(np.float32)), 5, sid)),  # dtype
        lambda: list(wire.encode(Chunk(np.arange(4.0)), 6, sid)),  # one axis on a 2-channel edge
        lambda: list(wire.encode(Chunk(np.zeros((2, 3)), eos=True), int(rng.integers(0, 1000)), sid)),  # eos
        lambda: list(wire.encode(Chunk.end(), int(rng.integers(0, 1000)), sid)),  # empty eos
    ]
    for i in range(n):
        yield makers[i % len(makers)]()


def _fuzz_when_bound(scratch, n, done: list, run_ended: threading.Event):
    """Find the run's receiver socket and push n bad frames into it (a second, foreign peer). The
    peer stays connected until the run has ended (libzmq may drop what a closed peer left queued)."""
    deadline = time.monotonic() + 60
    while not (found := glob.glob(os.path.join(scratch, "wg-*", "0.ipc"))) and time.monotonic() < deadline:
        time.sleep(0.01)
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 5000)
    push.connect(f"ipc://{found[0]}")
    for frames in _fuzz_frames(np.random.default_rng(11), n):
        push.send_multipart(frames)
    done.append(True)
    run_ended.wait(60)
    push.close()
    ctx.term()


def test_a_live_receiver_counts_ten_thousand_bad_frames_and_the_recording_stays_intact(tmp_path, socket_tmpdir):
    scratch = socket_tmpdir  # the run folder (and its ipc:// sockets) go here
    g = graph(tmp_path, n=3000)
    g.config.processes = {"a": ["src", "acc"], "c": ["rec"]}  # edge 0 crosses: acc -> rec
    g.config.edges.reverse()
    done: list = []
    run_ended = threading.Event()
    fuzzer = threading.Thread(target=_fuzz_when_bound, args=(str(scratch), 10_000, done, run_ended), daemon=True)
    fuzzer.start()
    r = run_graph(g, speed=1.0)
    run_ended.set()
    fuzzer.join(timeout=10)
    assert done and r.exit_code == 0, r.failure
    counters = r.stats["rec"]["counters"]
    assert counters["rx_rejected"] == 10_000, counters  # every bad frame counted, none obeyed
    assert counters["rx_rejected_eos"] == sum(i % 15 in (13, 14) for i in range(10_000))  # injected EOS
    assert r.stats["rec"]["gaps"] == 0
    data = np.load(tmp_path / "g.npz")["data"]
    np.testing.assert_array_equal(data[0], np.cumsum(np.arange(3000.0)))  # whole, in order


def test_an_injected_end_of_stream_neither_ends_the_stream_nor_hangs(tmp_path, socket_tmpdir):
    scratch = socket_tmpdir  # the run folder (and its ipc:// sockets) go here
    g = graph(tmp_path, n=1500)
    g.config.processes = {"a": ["src", "acc"], "c": ["rec"]}
    g.config.edges.reverse()

    def inject():  # an EOS with the edge's spec id and a plausible seq, mid-stream
        deadline = time.monotonic() + 60
        while not (found := glob.glob(os.path.join(str(scratch), "wg-*", "0.ipc"))) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)
        with zmq.Context() as ctx, ctx.socket(zmq.PUSH) as push:
            push.setsockopt(zmq.LINGER, 5000)
            push.connect(f"ipc://{found[0]}")
            push.send_multipart(wire.encode(Chunk.end(), 40, wire.spec_id(RAMP_SPEC)))

    t = threading.Thread(target=inject, daemon=True)
    t.start()
    r = run_graph(g, speed=1.0)
    t.join(timeout=10)
    assert r.exit_code == 0, r.failure
    assert r.stats["rec"]["counters"]["rx_rejected_eos"] == 1
    np.testing.assert_array_equal(np.load(tmp_path / "g.npz")["data"][0], np.cumsum(np.arange(1500.0)))


def test_drop_oldest_drops_nothing_at_the_start_of_a_stream(tmp_path):
    # Sources start only once every edge is connected: a consumer that keeps up loses nothing.
    r = run_graph(graph(tmp_path, n=600, policy="drop_oldest"), speed=1.0)
    assert r.exit_code == 0, r.failure
    assert r.stats["acc"]["drops"] == 0 and not r.stats["src"]["counters"].get("tx_dropped_full")
    np.testing.assert_array_equal(np.load(tmp_path / "g.npz")["data"][0], np.cumsum(np.arange(600.0)))


def test_a_node_failure_still_records_what_it_had_sent_as_in_process_does(tmp_path):
    inproc = run_graph(graph(tmp_path, "one", n=2000, crash=30, processes=False), in_process=True)
    multi = run_graph(graph(tmp_path, "multi", n=2000, crash=30))
    assert inproc.exit_code == multi.exit_code == 1
    assert multi.failure is not None and "node 'acc'" in multi.failure
    a, b = np.load(tmp_path / "one.npz")["data"], np.load(tmp_path / "multi.npz")["data"]
    assert a.shape == (2, 300) and a.tobytes() == b.tobytes()


def test_two_recorders_with_one_path_are_refused_at_build_time(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text(f"""\
nodes:
  - {{id: src, type: fixture_nodes:Ramp, params: {{rate: 100.0}}}}
  - {{id: rec, type: recorder, params: {{path: {tmp_path}/x.npz}}}}
  - id: rec2
    type: recorder
    params: {{path: {tmp_path}/sub/../x.npz}}
edges:
  - {{source: src.out, target: rec.in}}
  - {{source: src.out, target: rec2.in}}
""")
    with pytest.raises(GraphError) as e:
        build_graph(load_config(p))
    assert e.value.lines() == [
        f"{p}:6: node 'rec2' writes {tmp_path}/sub/../x.npz, as node 'rec' does; fix: give each recorder its own path"
    ]


def test_wrong_shape_and_dtype_on_the_right_edge_are_dropped_and_counted():
    with EdgeReceiver(ipc_endpoint(), RAMP_SPEC) as rx, zmq.Context() as ctx, ctx.socket(zmq.PUSH) as push:
        push.setsockopt(zmq.LINGER, 2000)
        push.connect(rx.endpoint)
        sid = wire.spec_id(RAMP_SPEC)
        push.send_multipart(wire.encode(Chunk(np.zeros((3, 7))), 0, sid))
        push.send_multipart(wire.encode(Chunk(np.zeros((2, 7), np.float32)), 0, sid))
        push.send_multipart(wire.encode(Chunk(np.ones((2, 7))), 0, sid))
        got = rx.recv(timeout=10)
    assert got is not None and np.array_equal(got.data, np.ones((2, 7)))
    assert rx.counters["rejected_spec_shape"] == rx.counters["rejected_spec_dtype"] == 1


def test_receivers_refuse_frames_larger_than_the_spec_allows_before_reading_them():
    limit = max_frame_bytes(RAMP_SPEC)
    assert limit == 16 * 2**20  # 2 channels x 8 bytes x 2**20 samples
    with EdgeReceiver(ipc_endpoint(), RAMP_SPEC) as rx, zmq.Context() as ctx:
        assert rx._sock.getsockopt(zmq.MAXMSGSIZE) == limit
        with ctx.socket(zmq.PUSH) as big:
            big.setsockopt(zmq.LINGER, 2000)
            big.connect(rx.endpoint)
            big.send_multipart([b"x" * 64, bytes(limit + 1)])  # libzmq drops this peer
            assert rx.recv(timeout=0.5) is None
        with ctx.socket(zmq.PUSH) as good:
            good.setsockopt(zmq.LINGER, 2000)
            good.connect(rx.endpoint)
            good.send_multipart(wire.encode(Chunk(np.ones((2, 3))), 0, wire.spec_id(RAMP_SPEC)))
            assert rx.recv(timeout=10) is not None
    assert rx.counters["rejected"] == 0  # never read, so never counted


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "multi-process"])
def test_a_stream_without_samples_still_writes_valid_files_or_says_why(tmp_path, in_process):
    import soundfile as sf

    p = tmp_path / "empty.yaml"
    p.write_text(f"""\
nodes:
  - {{id: src, type: fixture_nodes:Ramp, params: {{rate: 1000.0, n_samples: 0}}}}
  - {{id: npz, type: recorder, params: {{path: {tmp_path}/e.npz}}}}
  - {{id: wav, type: recorder, params: {{path: {tmp_path}/e.wav}}}}
  - {{id: fif, type: recorder, params: {{path: {tmp_path}/e_raw.fif}}}}
edges:
  - {{source: src.out, target: npz.in}}
  - {{source: src.out, target: wav.in}}
  - {{source: src.out, target: fif.in}}
processes:
  a: [src]
  b: [npz, wav, fif]
""")
    r = run_graph(build_graph(load_config(p)), in_process=in_process)
    assert r.exit_code == 0, r.failure
    assert np.load(tmp_path / "e.npz")["data"].shape == (2, 0)
    assert sf.info(str(tmp_path / "e.wav")).frames == 0
    assert not (tmp_path / "e_raw.fif").exists() and r.stats["fif"]["counters"]["no_samples"] == 1


FULL_DISK_CHILD = """
import resource, signal, sys
import numpy as np
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))  # every write past 50 kB fails, as on a full disk
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec
spec = signal_spec(1000.0, ["a", "b"], "misc", units="a.u.")
recs = [Recorder(path=f"{sys.argv[1]}/{name}", chunk_log=True) for name in ("x_raw.fif", "x.npz", "x.wav")]
for r in recs:
    r.configure({"in": spec})
all_recs = list(recs)
for pos in range(0, 10_000, 333):
    chunk = Chunk(np.arange(pos, pos + 333, dtype=np.float64)[None, :].repeat(2, 0) / 1e6, t0=pos / 1e3)
    for r in list(recs):
        try:
            r.process({"in": chunk})
        except Exception:
            recs.remove(r)
"""


def test_after_a_full_disk_the_recovered_files_agree_with_their_chunk_logs(tmp_path):
    import subprocess
    import sys

    import mne
    import soundfile as sf
    from wavegraph.nodes.io.recover import recover

    code = FULL_DISK_CHILD + (
        "for r in all_recs:\n"
        "    try:\n        r.close()\n    except OSError:\n        pass  # FIF/NPZ: finalising needs room too\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert not list(tmp_path.glob("*.tmp*")), "a stale temporary file was left behind"

    def logged(name):
        lines = (tmp_path / f"{name}.chunks.csv").read_text().split("\n")[1:-1]
        return sum(int(line.split(",")[2]) for line in lines)

    n = logged("x.wav")
    assert 0 < n < 10_000 and logged("x_raw.fif") == logged("x.npz") == n
    want = np.arange(n) / 1e6
    got, _ = sf.read(tmp_path / "x.wav")
    np.testing.assert_array_equal(got[:, 0], want)  # no frame of a chunk missing from the log
    raw = mne.io.read_raw_fif(recover(tmp_path / "x_raw.fif"), verbose="error").get_data()
    np.testing.assert_array_equal(raw[0], want)
    np.testing.assert_array_equal(np.load(recover(tmp_path / "x.npz"))["data"][0], want)
