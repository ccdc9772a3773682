"""The speech graphs on real speech (a held-out speaker's Asterisk prompts): configs/speech_enhance_file.yaml
(output aligned with the input: same length, same time base, correlation peak at lag 0) and
configs/speech_enhance.yaml live on the JACK dummy device at 1x (fed speech by a second JACK client; output
length, no xruns, end-to-end latency measured beside the declared one); `wavegraph bench enhance --clean`."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from test_live_audio import jack  # noqa: F401 — the private JACK dummy server fixture
from wavegraph.nodes.dsp.spectral import Align
from wavegraph.nodes.io.audio import AudioOutput
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph, describe
from wavegraph.pipeline.runner import run_graph

ROOT = Path(__file__).resolve().parent.parent
SR = 16000
PROMPTS = ("vm-goodbye", "vm-instructions", "vm-sorry")  # Carlo, the held-out speaker


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """One intra-op thread: the model is small, and two threads fighting for a busy machine's cores took 52 ms
    per 10 ms block at the median here (0.6 ms with one); docs/speech.md says OMP_NUM_THREADS=1 for the CLI."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def speech(seconds: float = 3.0) -> np.ndarray:
    """Real speech at 16 kHz: held-out Asterisk prompts joined with short pauses."""
    from wavegraph.models.speech_data import SOUNDS, _decode_g722

    folder = SOUNDS / "it_IT_m_Carlo"
    if not folder.is_dir():
        pytest.skip("the Asterisk voices are not installed (scripts/system_deps.sh)")
    parts = []
    for name in PROMPTS:
        parts += [_decode_g722(folder / f"{name}.g722"), np.zeros(SR // 5, np.float32)]
    x = np.concatenate(parts)[: int(seconds * SR)]
    return (x / np.abs(x).max() * 0.5).astype(np.float32)


def noisy_wav(path: Path, seconds: float = 3.0, snr_db: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    from wavegraph.models.speech_data import make_noise, mix

    clean = speech(seconds)
    noisy, target = mix(clean, make_noise("pink", len(clean), np.random.default_rng(0)), snr_db)
    sf.write(path, noisy, SR, subtype="FLOAT")
    return noisy, target


def si_sdr(ref, est):
    ref, est = ref - ref.mean(), est - est.mean()
    t = np.dot(est, ref) / np.dot(ref, ref) * ref
    return 10 * np.log10(np.dot(t, t) / np.dot(est - t, est - t))


# --- the file graph -----------------------------------------------------------------------------------------


def test_file_graph_output_is_aligned_with_the_input(tmp_path):
    noisy, clean = noisy_wav(tmp_path / "noisy.wav")
    out = tmp_path / "enhanced.flac"
    config = load_config(
        ROOT / "configs" / "speech_enhance_file.yaml",
        [f"src.path={tmp_path / 'noisy.wav'}", f"rec.path={out}", f"vad.path={tmp_path / 'vad.csv'}"],
    )
    graph = build_graph(config)
    align, rec = graph.nodes["align"], graph.nodes["rec"]
    assert isinstance(align, Align) and isinstance(rec, Recorder)
    assert "align" in describe(graph) and align._d == graph.nodes["enhancer"].latency_samples
    result = run_graph(
        graph, in_process=True
    )  # as fast as possible (tests/test_speech_spectral.py runs align across processes)
    assert result.exit_code == 0, result.failure
    y, rate = sf.read(out, dtype="float32")
    assert rate == SR and y.shape == noisy.shape  # same length
    assert rec._first_t0 == 0.0  # same time base: the first sample written is stamped 0
    lags = np.arange(-400, 401)
    r = [np.dot(y[max(0, k) : len(y) + min(0, k)], clean[max(0, -k) : len(clean) - max(0, k)]) for k in lags]
    assert lags[int(np.argmax(r))] == 0  # aligned: the cross-correlation peaks at lag 0
    assert si_sdr(clean, y) > si_sdr(clean, noisy) + 3.0  # and enhanced
    vad = np.loadtxt(tmp_path / "vad.csv", delimiter=",", skiprows=1)
    assert len(vad) == len(noisy) // 160 + 1 and ((vad[:, 1] >= 0) & (vad[:, 1] <= 1)).all()


def test_file_graph_vad_times_are_the_inputs_at_any_rate(tmp_path):
    """The vad CSV of the same speech given at 44.1 and 48 kHz (scipy's zero-phase resample_poly) is stamped on the
    16 kHz file's time base: matched by time, the speech probabilities agree best at lag 0 and every stamp is within
    a frame of it. Before, the vad stream kept the resampler's declared delay (10 ms from 44.1 kHz: best lag one
    frame, 1 frame late) while `align` put the audio back on the input's time base."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    clean = speech(2.0)

    def vad(rate: int) -> np.ndarray:
        f = Fraction(rate, SR)
        sf.write(tmp_path / f"{rate}.wav", resample_poly(clean, f.numerator, f.denominator), rate, subtype="FLOAT")
        sets = [f"src.path={tmp_path / f'{rate}.wav'}", f"rec.path={tmp_path / f'{rate}_out.wav'}"]
        config = load_config(ROOT / "configs" / "speech_enhance_file.yaml", [*sets, f"vad.path={tmp_path}/{rate}.csv"])
        result = run_graph(build_graph(config), in_process=True)
        assert result.exit_code == 0, result.failure
        return np.loadtxt(tmp_path / f"{rate}.csv", delimiter=",", skiprows=1)

    ref = vad(SR)
    prob = dict(zip(np.round(ref[:, 0] * 100).astype(int), ref[:, 1]))
    for rate in (44100, 48000):
        got = vad(rate)
        frame = np.round(got[:, 0] * 100).astype(int)
        assert got[0, 0] >= 0 and np.abs(got[:, 0] - frame / 100).max() < 0.005  # on the input's time base
        err = {
            lag: np.mean([abs(q - prob[k + lag]) for k, q in zip(frame, got[:, 1]) if k + lag in prob])
            for lag in (-1, 0, 1)
        }
        assert min(err, key=lambda lag: err[lag]) == 0, (rate, err)


# --- the live graph on the JACK dummy device ----------------------------------------------------------------

FEEDER = r"""
import sys, threading, numpy as np, sounddevice as sd
x = np.load(sys.argv[1]).astype(np.float32)
go, done, pos, rec, xruns = threading.Event(), threading.Event(), [0], [], [0]
def cb(indata, outdata, frames, t, status):
    rec.append(indata.copy())
    if go.is_set() and (status.input_overflow or status.output_underflow):
        xruns[0] += 1
    outdata.fill(0)
    if go.is_set() and pos[0] < len(x):
        n = min(frames, len(x) - pos[0])
        outdata[:n, 0] = x[pos[0]:pos[0] + n]
        pos[0] += n
    elif pos[0] >= len(x):
        done.set()
s = sd.Stream(samplerate=48000, blocksize=480, channels=(2, 1), dtype="float32", callback=cb)
s.start()
print("ready", flush=True)
sys.stdin.readline()
go.set()
done.wait(30)
sd.sleep(800)
s.stop(); s.close()
np.save(sys.argv[2], np.concatenate(rec))
print(xruns[0], flush=True)
"""


def _ports(server: str) -> set[str]:
    out = subprocess.run(["jack_lsp", "-s", server], capture_output=True, text=True, timeout=10).stdout
    return {p.strip() for p in out.splitlines() if p.strip()}


def _connect(server: str, a: str, b: str) -> None:
    subprocess.run(["jack_connect", "-s", server, a, b], check=True, timeout=10)


def _offline_samples(graph, n_in: int) -> int:
    """Samples the live chain (down -> enhancer -> up) produces from n_in input samples, run offline."""
    from wavegraph.nodes.dsp.resample import Resample
    from wavegraph.nodes.models.enhancer import EnhancerNode

    chain = [Resample(rate=16000), EnhancerNode(**graph.node_config("enhancer").params), Resample(rate=48000)]
    spec = graph.specs["mic.out"]
    for node in chain:
        spec = node.configure({"in": spec})["out"]
    total = 0
    for k in range(0, n_in, 480):
        chunks = [Chunk(np.zeros((1, min(480, n_in - k)), np.float32), k / 48000)]
        for node in chain:
            chunks = [o["out"] for c in chunks for o in [node.process({"in": c})] if "out" in o]
        total += sum(c.data.shape[1] for c in chunks)
    for i, node in enumerate(chain):  # end of stream: each finish() tail goes through the rest
        tail = node.finish()
        chunks = [tail["out"]] if "out" in tail else []
        for later in chain[i + 1 :]:
            chunks = [o["out"] for c in chunks for o in [later.process({"in": c})] if "out" in o]
        total += sum(c.data.shape[1] for c in chunks)
    return total


@pytest.mark.realtime  # JACK at real time (tests/conftest.py); the file graphs run in the parallel pass
def test_live_graph_on_jack_at_real_time(jack, tmp_path):  # noqa: F811
    from scipy.signal import resample_poly

    x48 = resample_poly(speech(2.5), 3, 1).astype(np.float32)
    np.save(tmp_path / "speech.npy", x48)
    before = _ports(jack)
    feeder = subprocess.Popen(
        [sys.executable, "-c", FEEDER, str(tmp_path / "speech.npy"), str(tmp_path / "rec.npy")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert feeder.stdin is not None and feeder.stdout is not None  # both are pipes
    try:
        assert feeder.stdout.readline().strip() == "ready"
        mine = sorted(_ports(jack) - before)  # the feeder's in_0, in_1, out_0
        graph = build_graph(load_config(ROOT / "configs" / "speech_enhance.yaml", ["mic.duration=4.0"]))
        declared_ms = sum(graph.nodes[n].latency_seconds for n in ("mic", "down", "enhancer", "up", "speaker")) * 1e3
        wired, settled = threading.Event(), {}
        xrun_keys = ("overflow", "input_overflow", "underflow", "output_underflow")

        def wire():
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                theirs = sorted(_ports(jack) - before - set(mine))
                ins, outs = [p for p in theirs if ":in_" in p], [p for p in theirs if ":out_" in p]
                if ins and outs:
                    feed_in = [p for p in mine if ":in_" in p]
                    feed_out = next(p for p in mine if ":out_" in p)
                    _connect(jack, feed_out, feed_in[0])  # reference: the feeder hears itself
                    _connect(jack, feed_out, ins[0])  # the graph's microphone hears the speech
                    _connect(jack, outs[0], feed_in[1])  # the feeder hears the graph's speaker
                    wired.set()
                    time.sleep(0.5)  # connecting ports reorders the JACK graph: its first cycles may xrun
                    settled.update(
                        {(n, k): graph.nodes[n].counters.get(k, 0) for n in ("mic", "speaker") for k in xrun_keys}
                    )
                    assert feeder.stdin is not None
                    feeder.stdin.write("go\n")
                    feeder.stdin.flush()
                    return
                time.sleep(0.02)

        th = threading.Thread(target=wire)
        th.start()
        t = time.monotonic()
        result = run_graph(graph, in_process=True)
        wall = time.monotonic() - t
        th.join()
        assert wired.is_set(), "the graph's ports never appeared"
        server_xruns = int(feeder.stdout.readline())  # JACK xruns the feeder saw while the speech played
        feeder.wait(timeout=10)
    finally:
        if feeder.poll() is None:
            feeder.kill()
    assert result.exit_code == 0, result.failure
    assert wall >= 3.9  # paced by the sound card's clock
    stats = result.stats
    # no xruns at 1x once running (from the speech onwards): the graph never let its input queue overflow or its
    # output buffer run dry. PortAudio's input_overflow / output_underflow are the JACK server's xruns, which
    # every client sees alike (the feeder, an idle client, counts them too): a loaded machine without real-time
    # scheduling has them whatever the graph does, so they are reported, not asserted.
    counts = {(n, k): stats[n]["counters"].get(k, 0) for n in ("mic", "speaker") for k in xrun_keys}
    xruns = {f"{n}.{k}": v - settled[(n, k)] for (n, k), v in counts.items() if v > settled[(n, k)]}
    at_start = {f"{n}.{k}": v for (n, k), v in settled.items() if v}
    lost = xruns.get("mic.input_overflow", 0)  # blocks the server dropped on the way in
    assert not xruns.get("mic.overflow"), xruns  # the graph kept up with the sound card: its queue never filled
    assert xruns.get("speaker.underflow", 0) <= lost, (
        f"the speaker ran dry more often than the server lost input: {xruns} (server: {server_xruns}, start: {at_start})"
    )
    # output length: the speaker played exactly what the chain makes of 4 s of input (nothing lost or repeated);
    # a server xrun flags a gap, which ends a segment: each node of the chain sends the segment's tail, as finish()
    # does at the end (end_segment: the enhancer's 319 samples, the resamplers' filter tails), so then within those
    # tails per gap (what the chain's finish() adds to a stream) and what the enhancer dropped (counted)
    expected = _offline_samples(graph, 4 * 48000)
    speaker = graph.nodes["speaker"]
    assert isinstance(speaker, AudioOutput)
    gaps = stats["enhancer"]["gaps"]
    if gaps == 0:
        assert speaker.played == expected
    else:
        tails = expected - 4 * 48000  # the chain's finish() tails, at 48 kHz
        slack = gaps * (tails + 100) + stats["enhancer"]["counters"].get("samples_dropped_at_gap", 0) * 3
        assert abs(speaker.played - expected) <= slack, (speaker.played, expected, gaps)
    # end-to-end latency: what the feeder recorded through the graph against what it recorded directly
    rec = np.load(tmp_path / "rec.npy")
    ref, out = rec[:, 0], rec[:, 1]
    start = int(np.argmax(np.abs(ref) > 0.01))
    seg = ref[start : start + 48000]
    r = np.correlate(out[start : start + 48000 + 9600], seg, mode="valid")
    lag = int(np.argmax(r))
    e2e_ms = lag / 48
    assert np.max(r) > 0.3 * np.dot(seg, seg)  # the speech came through (enhanced, not removed)
    enhancer_ms = graph.nodes["enhancer"].latency_seconds * 1e3
    # at least the enhancer's latency plus the 10 ms input block; at most what the nodes declare (plus what the
    # jitter buffer gains when server xruns delay the input and then deliver it in a burst)
    assert enhancer_ms + 10 <= e2e_ms <= declared_ms + (10 if not xruns else 100), (e2e_ms, declared_ms, xruns)
    report = {
        "declared_ms": declared_ms,
        "xruns_at_startup": at_start,
        "jack_server_xruns_while_running": xruns,
        "feeder_saw_xruns": server_xruns,
        "algorithmic_enhancer_ms": enhancer_ms,
        "end_to_end_ms": e2e_ms,
        "enhancer_compute_ms_p50_p99": [v / 1e6 for v in stats["enhancer"]["compute_ns"]],
    }
    print("live speech enhancement latency:", json.dumps(report))
    (ROOT / "out").mkdir(exist_ok=True)
    (ROOT / "out" / "speech_live_latency.json").write_text(json.dumps(report, indent=1))


# --- the benchmark on any folder ----------------------------------------------------------------------------


@pytest.mark.realtime  # its real-time factor is asserted
def test_bench_enhance_runs_on_a_folder_of_clean_speech(tmp_path):
    pytest.importorskip("pesq", reason="pip install 'wavegraph[enhance]' for the benchmark's metrics and peers")
    pytest.importorskip("pyrnnoise")
    (tmp_path / "clean").mkdir()
    sf.write(tmp_path / "clean" / "carlo.flac", speech(2.5), SR)
    from wavegraph.benchmarks.enhance import main

    out = tmp_path / "bench.json"
    assert (
        main(
            [
                "--clean",
                str(tmp_path / "clean"),
                "--snrs",
                "5",
                "--methods",
                "noisy",
                "rnnoise",
                "--json",
                str(out),
                "--png",
                str(tmp_path / "q.png"),
            ]
        )
        == 0
    )
    res = json.loads(out.read_text())
    assert (tmp_path / "q.png").stat().st_size > 10000
    rn = res["methods"]["rnnoise"]
    assert rn["lag_samples_16k"] == 320 and abs(rn["algorithmic_latency_ms"] - 29.98) < 0.01  # 20 ms + its 10 ms frame
    assert 0 < rn["rtf"] < 1 and rn["frame_ms_p50"] > 0
    val = {(r["method"], r["metric"]): r["value"] for r in res["records"] if r["snr"] == 5.0}
    assert val[("rnnoise", "pesq_wb")] > val[("noisy", "pesq_wb")]  # aligned output: RNNoise does help
    assert {r["metric"] for r in res["records"]} >= {"pesq_wb", "stoi", "si_sdr", "rtf", "algorithmic_latency_ms"}
