"""audio_input / audio_output on a real PortAudio device that runs at wall-clock pace: the JACK dummy
driver (a private jackd server started for this module), a sample-exact loopback through JACK,
overflow/underflow accounting, clear errors, `wavegraph devices`, and configs/audio_passthrough.yaml."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import ctypes.util  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import need  # noqa: E402
from wavegraph.nodes.io.audio import AudioInput, AudioOutput  # noqa: E402
from wavegraph.pipeline.chunk import Chunk  # noqa: E402
from wavegraph.pipeline.config import load_config  # noqa: E402
from wavegraph.pipeline.graph import build_graph  # noqa: E402
from wavegraph.pipeline.runner import run_graph  # noqa: E402
from wavegraph.pipeline.spec import SpecError, signal_spec  # noqa: E402

RATE = 48000
SERVER = f"wavegraph-test-{os.getpid()}"


def _missing() -> list[str]:
    missing = []
    if not ctypes.util.find_library("portaudio"):
        missing.append("libportaudio2")
    if shutil.which("jackd") is None or shutil.which("jack_lsp") is None:
        missing.append("jackd2")
    return missing


@pytest.fixture(scope="module")
def jack():
    """A private JACK server with the dummy driver (2 in, 2 out, 48 kHz, 10 ms periods); stopped by PID."""
    missing = _missing()
    need(
        not missing,
        f"{', '.join(missing)} missing (install with scripts/system_deps.sh, as root): audio nodes "
        "need PortAudio and a JACK dummy server on a machine without a sound card",
    )
    old = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ["JACK_DEFAULT_SERVER"] = SERVER  # PortAudio's JACK client (here and in workers) finds it
    os.environ["JACK_NO_START_SERVER"] = "1"
    proc = subprocess.Popen(
        ["jackd", "-n", SERVER, "--no-realtime", "-d", "dummy", "-r", str(RATE), "-p", "480", "-C", "2", "-P", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while subprocess.run(["jack_lsp", "-s", SERVER], capture_output=True).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                assert proc.stderr is not None
                pytest.fail(f"jackd did not start: {proc.stderr.read().decode(errors='replace')[-500:]}")
            time.sleep(0.1)
        time.sleep(0.3)  # let the server settle: its first cycles may xrun
        yield SERVER
    finally:
        # PortAudio's JACK host API aborts the process at exit if its server vanished first: shut
        # PortAudio down while jackd runs, stop jackd, then bring PortAudio back up without it.
        sd = sys.modules.get("sounddevice")
        if sd is not None:
            sd._terminate()
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if sd is not None:
            sd._initialize()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def read_until_end(node, limit_s=10.0):
    chunks, deadline = [], time.monotonic() + limit_s
    while time.monotonic() < deadline:
        r = node.read()
        if r is None:
            return chunks
        if r:
            chunks.append(r["out"])
    raise AssertionError("audio_input did not end")


def test_input_runs_on_the_device_clock(jack):
    node = AudioInput(channels=2, duration=0.5)
    spec = node.configure({})["out"]
    assert (spec.rate, spec.shape, spec.dtype, spec.channel_types) == (RATE, (2,), "float32", ("audio", "audio"))
    assert node.latency_samples == 480
    t = time.monotonic()
    chunks = read_until_end(node)
    wall = time.monotonic() - t
    assert wall >= 0.4  # real-time pace (lower bound only)
    assert sum(c.data.shape[1] for c in chunks) == RATE // 2  # trimmed exactly at `duration`
    starts = np.cumsum([0] + [c.data.shape[1] for c in chunks[:-1]])
    assert [c.t0 for c in chunks] == list(starts / RATE)  # t0 counts samples: the audio clock
    # A gap is flagged only where PortAudio reported an input overflow (an xrun of a loaded machine).
    assert sum(c.gap for c in chunks) <= node.counters.get("input_overflow", 0), node.counters
    assert not node.counters.get("overflow")
    node.close()


def test_reset_while_running_keeps_the_audio_clock(jack):
    """on_error: restart calls reset() on a running source: t0 must go on from the device clock."""
    node = AudioInput(channels=1)
    node.configure({})
    before = [c for c in (node.read() for _ in range(20)) if c]
    node.reset()
    after = [c for c in (node.read() for _ in range(10)) if c]
    node.close()
    assert before and after
    assert after[0]["out"].t0 >= before[-1]["out"].t0 + before[-1]["out"].data.shape[1] / RATE


def test_loopback_through_jack_is_sample_exact(jack):
    """audio_output -> JACK -> audio_input: what is played comes back unchanged, one fixed delay later.

    The whole signal is buffered before it plays (prefill longer than the signal; finish() starts it), so no
    scheduling delay of this thread can starve the speaker mid-signal. Before, the speaker started on a block of
    zeros and the signal's first 333-sample chunk could be played alone, followed by silence, when this thread was
    descheduled between two process() calls (CI, 2 loaded cores: 333 samples came back out of place)."""
    mic = AudioInput(channels=1, duration=1.5)
    mic.configure({})
    spk = AudioOutput(prefill=1.0)
    spk.configure({"in": signal_spec(RATE, ["ch0"], "audio", "float32", "a.u.")})
    x = (np.random.default_rng(1).uniform(-0.5, 0.5, (1, RATE // 2))).astype(np.float32)
    first = mic.read()  # opens the input stream
    connected = threading.Event()
    played_before_finish = []

    def play():
        spk.open()  # silence until the signal is buffered
        subprocess.run(["jack_connect", "-s", SERVER, "PortAudio:out_0", "PortAudio:in_0"], check=True)
        connected.set()
        for k in range(0, x.shape[1], 333):  # chunks that straddle the 480-sample blocks
            spk.process({"in": Chunk(x[:, k : k + 333])})
        played_before_finish.append(spk.played)  # 0: still buffering, prefill is longer than the signal
        spk.finish()

    th = threading.Thread(target=play)
    th.start()
    chunks = ([first["out"]] if first else []) + read_until_end(mic)
    th.join()
    assert connected.is_set() and played_before_finish == [0]
    rec = np.concatenate([c.data for c in chunks], axis=1)[0]
    lag = int(np.argmax(np.abs(np.correlate(rec, x[0, :2048], mode="valid"))))
    assert lag + x.shape[1] <= rec.size, "the played signal did not come back whole"
    np.testing.assert_allclose(rec[lag : lag + x.shape[1]], x[0], atol=1e-7)
    assert not spk.counters.get("not_played")
    assert not spk.counters.get("underflow"), spk.counters
    assert spk.played == x.shape[1]
    mic.close()
    spk.close()


def test_the_speaker_opens_with_the_run_and_plays_silence_until_prefill_and_a_block(jack):
    """Before: the output stream opened at the first prefill, and the time JACK takes to open one (tens of ms)
    was added to the latency for the whole session: the live speech graph's end-to-end latency came out 0-20 ms
    over the declared one from run to run (test_speech_graphs' bound failed 1 run in 6)."""
    spk = AudioOutput(prefill=0.05)
    spk.configure({"in": signal_spec(RATE, ["ch0"], "audio", "float32", "a.u.")})
    spk.open()  # what the runtime calls at the start of the run
    assert spk._stream is not None and spk._stream.active
    time.sleep(0.2)
    assert not spk.counters.get("underflow") and spk.played == 0  # silence while nothing is buffered
    prefill, block = int(0.05 * RATE), spk._block
    spk.process({"in": Chunk(np.ones((1, prefill), np.float32))})
    time.sleep(0.1)
    assert spk.played == 0  # the declared latency is prefill + a block: it waits for the block too
    spk.process({"in": Chunk(np.ones((1, block), np.float32))})
    spk.finish()
    assert spk.played == prefill + block and not spk.counters.get("not_played")
    spk.close()


def test_slow_reader_overflows_are_counted_and_flagged(jack):
    node = AudioInput(channels=1, queue_blocks=2, duration=1.0)
    node.configure({})
    first = None
    while not first:
        first = node.read()
    time.sleep(0.3)  # the graph stalls: ~30 blocks arrive, 2 fit in the queue
    chunks = [first["out"]] + read_until_end(node)
    assert node.counters["overflow"] >= 15
    flagged = [i for i, c in enumerate(chunks) if c.gap]
    assert flagged, "no chunk was flagged as a gap after the drops"
    i = flagged[0]
    prev_end = chunks[i - 1].t0 + chunks[i - 1].data.shape[1] / RATE
    assert chunks[i].t0 - prev_end >= 0.1  # time kept counting through the dropped blocks


def test_starved_output_counts_underflows_and_plays_everything(jack):
    node = AudioOutput(prefill=0.0)
    node.configure({"in": signal_spec(RATE, ["l", "r"], "audio", "float32", "a.u.")})
    assert node.latency_samples == 480
    x = np.full((2, 4800), 0.1, np.float32)
    node.process({"in": Chunk(x)})
    time.sleep(0.3)  # 100 ms buffered, then 200 ms of starving
    node.process({"in": Chunk(x)})
    node.finish()
    assert node.counters["underflow"] >= 10
    assert node.played == 2 * 4800 and not node.counters.get("not_played")
    node.close()


def test_device_errors_name_what_exists(jack):
    with pytest.raises(SpecError) as e:
        AudioInput(device="no-such-card").configure({})
    assert "no input device 'no-such-card'" in str(e.value) and "0: system" in str(e.value)
    with pytest.raises(SpecError, match="rejects 1 ch at 16000 Hz.*48000 Hz"):
        AudioOutput().configure({"in": signal_spec(16000, ["a"], "audio", "float32")})
    with pytest.raises(SpecError, match="at most 2 channels"):
        AudioInput(channels=3).configure({})


def test_no_device_error_says_how_to_get_one(jack):
    """Without a JACK server and sound card, the error names the JACK dummy driver fix."""
    env = {**os.environ, "JACK_DEFAULT_SERVER": "wavegraph-no-such-server", "JACK_NO_START_SERVER": "1"}
    code = "from wavegraph.nodes.io.audio import AudioInput\nAudioInput().configure({})"
    p = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "PortAudio sees no input device" in p.stderr and "jackd --no-realtime -d dummy" in p.stderr


def test_missing_portaudio_error_says_what_to_install():
    """sounddevice finds PortAudio with ctypes.util.find_library; without the library the error says
    which package to install (simulated in a fresh process by hiding the library from the lookup)."""
    code = (
        "import ctypes.util\nctypes.util.find_library = lambda name: None\n"
        "from wavegraph.nodes.io.audio import AudioOutput\nfrom wavegraph.pipeline.spec import signal_spec\n"
        "AudioOutput().configure({'in': signal_spec(48000, ['a'], 'audio')})"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "sounddevice cannot load PortAudio" in p.stderr and "apt-get install libportaudio2" in p.stderr


def test_devices_lists_audio_and_lsl(jack):
    """`wavegraph devices` (a fresh process, so PortAudio and liblsl start from scratch)."""
    import pylsl

    outlet = pylsl.StreamOutlet(pylsl.StreamInfo("wavegraph-devices-test", "EEG", 4, 250.0))  # noqa: F841
    p = subprocess.run(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "devices"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert "system [JACK Audio Connection Kit] 2 in, 2 out, 48000 Hz <in out>" in p.stdout
    assert "'wavegraph-devices-test' (type EEG, 4 ch, 250 Hz, float32" in p.stdout


def test_audio_passthrough_config_in_process(jack):
    graph = build_graph(load_config(ROOT / "configs" / "audio_passthrough.yaml", ["mic.duration=1.0"]))
    t = time.monotonic()
    result = run_graph(graph, in_process=True)
    wall = time.monotonic() - t
    assert result.exit_code == 0, result.failure
    assert wall >= 0.9  # paced by the device
    assert result.stats["mic"]["chunks_out"] == 100  # 1 s of 10 ms blocks
    speaker = graph.nodes["speaker"]
    assert isinstance(speaker, AudioOutput)
    assert speaker.played >= RATE  # everything the iSTFT produced was played
    assert not result.stats["speaker"]["counters"].get("not_played")


def test_audio_passthrough_config_from_the_cli_multiprocess(jack):
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "wavegraph.pipeline.cli",
            "run",
            str(ROOT / "configs" / "audio_passthrough.yaml"),
            "--set",
            "mic.duration=0.5",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    mic_row = next(line for line in p.stdout.splitlines() if line.startswith("mic "))
    assert mic_row.split()[3] == "50"  # chunks out: 0.5 s of 10 ms blocks, in a worker process


def test_the_speaker_clips_past_full_scale_and_silences_nan_and_counts_both(jack):
    """audio_output handed samples past +-1 and NaN to PortAudio as they came (the driver wraps or clips unsaid,
    and a NaN reaches the speaker as full-scale noise); now clipped / silenced, and counted."""
    spk = AudioOutput(prefill=5.0)  # nothing plays: what is buffered for the device is looked at
    spk.configure({"in": signal_spec(RATE, ["ch0"], "audio", "float32", "a.u.")})
    x = np.array([[0.5, 2.0, -3.0, np.nan, np.inf, -1.0]], np.float32)
    spk.process({"in": Chunk(x)})
    np.testing.assert_array_equal(spk._buf[0][:, 0], [0.5, 1.0, -1.0, 0.0, 0.0, -1.0])
    assert spk.counters == {"clipped": 2, "nonfinite": 2}
    assert np.isnan(x[0, 3]) and x[0, 1] == 2.0  # the input chunk is not changed (other consumers may read it)
    spk.close()
