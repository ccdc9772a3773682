"""A hostile user's sweep (YAML and CLI, odd signals, runtime faults, LSL) as a new user of Timeflux, ezmsg or
MNE-LSL would try them. Each test is a defect that sweep found; it failed before its fix. What was already fine
is listed in the commit messages of this file, not re-tested here (tests/test_*hostile*.py cover most of it)."""

import textwrap
import time
import warnings
from datetime import UTC, datetime

import numpy as np
import pytest
from wavegraph.nodes.dsp.filterbank import Filterbank
from wavegraph.nodes.dsp.filters import Bandpass, Highpass, Notch
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.nodes.models.ssvep import SSVEPDecoder
from wavegraph.nodes.nanpolicy import all_finite
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.cli import main
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import Node
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import signal_spec

RATE = 250.0
SPEC = signal_spec(RATE, ["O1", "Oz", "O2"], "eeg")


def validate(tmp_path, monkeypatch, capsys, text: str) -> list[str]:
    """`wavegraph validate` on `text`: its error lines (each must be `g.yaml:LINE: ...; fix: ...`)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(textwrap.dedent(text))
    code = main(["validate", "g.yaml"])
    out = capsys.readouterr()
    if code == 0:
        return []
    lines = out.err.strip().splitlines()
    assert code == 2 and lines, out
    for line in lines:
        assert line.startswith("g.yaml:") and "; fix: " in line, line
    return lines


# --- signals -----------------------------------------------------------------------------------------------


def _noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((3, n)) * 1e-5


@pytest.mark.parametrize(
    "make",
    [
        lambda: Bandpass(l_freq=1.0, h_freq=40.0),
        lambda: Highpass(freq=1.0),
        lambda: Notch(freq=50.0),
        lambda: Filterbank(bands=[[6.0, 40.0], [14.0, 40.0]]),
    ],
    ids=["bandpass", "highpass", "notch", "filterbank"],
)
def test_one_chunk_near_the_float_max_does_not_make_a_filter_output_nan_for_ever(make):
    """A burst of finite values near float64's limit (a corrupt file's 1e308, raw bytes read as doubles) passed the
    NaN policy (they are finite), overflowed the IIR state to inf, and every later output was NaN: 80 s of clean
    EEG after it came out NaN (a recorder wrote zeros). Now the state is reset, the overflowed samples are zeroed
    and counted (`overflow`), and the chunk is flagged gap."""
    node = make()
    node.configure({"in": SPEC})
    node.process({"in": Chunk(_noise(50, 0), 0.0)})
    burst = np.clip(_noise(50, 1) / 1e-5, -1.7, 1.7) * 1e308
    out = node.process({"in": Chunk(burst, 0.2)})["out"]
    assert out.gap and np.isfinite(out.data).all()
    assert node.counters["overflow"] > 0
    after = node.process({"in": Chunk(_noise(2500, 2), 0.4)})["out"].data
    assert np.isfinite(after).all() and np.abs(after).max() < 1e-3


def test_the_ssvep_decoder_decides_again_after_a_chunk_near_the_float_max():
    """The same burst left inf in the decoder's filter state: no decision (NaN scores) for the rest of the session."""
    dec = SSVEPDecoder(freqs=[8.0, 10.0], window=1.0)
    dec.configure({"in": SPEC})
    t = np.arange(int(RATE) * 20) / RATE
    x = np.sin(2 * np.pi * 10.0 * t)[None].repeat(3, 0) * 1e-5 + _noise(t.size, 3)
    x[:, 500:520] = 1.5e308
    decisions = []
    for i in range(0, t.size, 50):
        out = dec.process({"in": Chunk(x[:, i : i + 50], t[i])})
        if "out" in out:
            decisions += [(row[0], row[2]) for row in out["out"].data]
    late = [code for onset, code in decisions if onset > 10.0]
    assert dec.counters["overflow"] > 0
    assert late and all(code == 2 for code in late), decisions  # 10 Hz is the second frequency


@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128"])
def test_the_finite_check_is_exact_and_silent_on_huge_values(dtype):
    """nanpolicy.all_finite, the fast path of the NaN policy and of the overflow check (once or twice per chunk per
    node): the answer of np.isfinite(x).all() for huge finite values whose squares overflow, +-inf and NaN, on
    contiguous, strided and empty arrays, and no floating-point warning."""
    big = np.finfo(dtype).max / 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for bad in (None, big, -big, np.inf, -np.inf, np.nan):
            x = np.ones((8, 12), dtype)
            if bad is not None:
                x[3, 4] = bad
                x[5, 6] = big
            for view in (x, x[:, ::3], x[:, :0]):
                assert all_finite(view) == bool(np.isfinite(view).all()), (bad, view.shape)


# --- YAML --------------------------------------------------------------------------------------------------


def test_bandpower_without_bands_is_a_parameter_error(tmp_path, monkeypatch, capsys):
    """`bands: {}` gave numpy's 'need at least one array to stack; fix: check its params'."""
    err = validate(
        tmp_path,
        monkeypatch,
        capsys,
        """\
        nodes:
          - {id: src, type: sine, params: {rate: 250.0, channels: 2, duration: 1.0}}
          - {id: bpw, type: bandpower, params: {bands: {}}}
        edges:
          - {source: src.out, target: bpw.in}
        """,
    )
    assert len(err) == 1 and err[0].startswith("g.yaml:3:") and "'bands'" in err[0] and "at least 1" in err[0], err


def test_a_long_list_of_the_wrong_type_is_one_line(tmp_path, monkeypatch, capsys):
    """`ref_channels: [0, 1, ..., 63]` (numbers for names) gave 64 lines, each 'parameter ... = 5: Input should be a
    valid string' without saying which item. One line per parameter now, naming the first item and the count.
    (Written first with pick_channels, which now takes positions as MNE's picks do: tests/test_channel_picks.py.)"""
    picks = ", ".join(str(i) for i in range(64))
    err = validate(
        tmp_path,
        monkeypatch,
        capsys,
        f"""\
        nodes:
          - {{id: src, type: sine, params: {{rate: 250.0, channels: 2, duration: 1.0}}}}
          - {{id: p, type: car, params: {{ref_channels: [{picks}]}}}}
        edges:
          - {{source: src.out, target: p.in}}
        """,
    )
    assert len(err) == 1 and "parameter 'ref_channels'[0] = 0" in err[0], err
    assert "(and 63 more in 'ref_channels')" in err[0], err


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    """Nine levels of aliases of aliases (a 'billion laughs', 12 lines) as a parameter: `wavegraph validate` never
    ended (the error message's repr walked 9**9 strings); as `name` or `on_error`, the checks did."""
    levels = ["x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"x-{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join([*levels, "nodes:", "  - {id: src, type: sine, params: {channels: *i}}", ""]))
    with pytest.raises(GraphError) as e:
        load_config(path)
    assert len(e.value.problems) == 1 and "aliases" in e.value.problems[0][2]


def test_a_yaml_alias_bomb_given_by_set_is_refused_too(tmp_path):
    """The same bomb in one --set value, to a parameter no type checks (array_source.data): it was not counted
    (only the file was), so the graph loaded and the first walk of the value (np.asarray, a repr) never ended."""
    levels = ["&a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"&{cur} [{', '.join(['*' + prev] * 9)}]")
    path = tmp_path / "g.yaml"
    path.write_text("nodes:\n  - {id: src, type: array_source, params: {rate: 100.0}}\n")
    assert load_config(path, ["src.data=[[1.0, 2.0]]"]).nodes[0].params["data"] == [[1.0, 2.0]]
    with pytest.raises(GraphError) as e:
        load_config(path, [f"src.data=[{', '.join(levels)}]"])
    (problem,) = e.value.problems
    assert problem[0] == "--set" and "aliases" in problem[2] and "src.data=" in problem[2]


def test_a_window_given_in_samples_where_seconds_are_asked_is_refused_at_validate(tmp_path, monkeypatch, capsys):
    """`window: 10000` (samples, read as seconds) on 64 channels: running_zscore's 2.4 GiB of sums passed validate
    (numpy allocates lazily) and the run went for the machine's memory, or configure failed with 'MemoryError ...
    this is a bug in the node'; bandpower grew its buffer to 1.2 GiB. Over 1 GiB of window state is a SpecError
    naming the window and the longest that fits."""
    err = validate(
        tmp_path,
        monkeypatch,
        capsys,
        """\
        nodes:
          - {id: src, type: sine, params: {rate: 250.0, channels: 64, duration: 1.0}}
          - {id: rz, type: running_zscore, params: {window: 10000}}
          - {id: bp, type: bandpower, params: {window: 10000, hop: 1.0}}
        edges:
          - {source: src.out, target: rz.in}
          - {source: src.out, target: bp.in}
        """,
    )
    assert len(err) == 2 and all("GiB of state; at most 1 GiB; fix: a window of at most" in e for e in err), err
    assert "'rz' (running_zscore)" in err[0] and "'bp' (bandpower)" in err[1]


# --- runtime -----------------------------------------------------------------------------------------------


def test_duration_stops_an_in_process_replay_paced_slower_than_real_time():
    """`run --in-process --speed 0.01 --duration 0.5` ran ~10 s: the duration was checked only between source
    reads, and pacing waited for the next chunk's time (0.1 s of signal, 10 s at that speed) first. The
    multi-process runner stopped on time."""
    g = GraphBuilder()
    src = g.add("sine", rate=250.0, channels=2, chunk_size=25, duration=10.0)
    started = time.monotonic()
    out = g.run(capture=[src], speed=0.001, duration=0.5)  # 0.1 s of signal = 100 s of pacing
    assert time.monotonic() - started < 30.0  # 100 s and more before; 0.5 s and the build now (a wide margin: load)
    assert out[f"{src}.out"].data.shape[1] == 50  # the chunk read while waiting still reaches the sinks


@pytest.mark.parametrize("in_process", [True, False], ids=["in_process", "processes"])
@pytest.mark.parametrize("bad", ["channels", "complex128"])
def test_a_chunk_that_breaks_its_spec_is_dropped_and_counted_in_one_process_too(tmp_path, monkeypatch, bad, in_process):
    """A source whose chunk 5 has 3 channels instead of 4 (or is complex on a float64 stream; fixture_nodes.Shifty, which
    a worker imports without this module's scipy and ssvep imports): across processes the
    receiver dropped it, counted it and flagged a gap; in one process the bandpass raised and the run failed naming
    the bandpass (not the source), and a complex chunk was cast to real without a word. Both runners now drop it,
    count it and flag the next chunk gap: the same recording."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(
        textwrap.dedent(
            f"""\
            nodes:
              - {{id: src, type: "fixture_nodes:Shifty", params: {{bad: {bad}}}}}
              - {{id: bp, type: bandpass, params: {{l_freq: 1.0, h_freq: 40.0}}}}
              - {{id: rec, type: recorder, params: {{path: out.csv}}}}
            edges:
              - {{source: src.out, target: bp.in}}
              - {{source: bp.out, target: rec.in}}
            processes: {{a: [src], b: [bp, rec]}}
            """
        )
    )
    result = run_graph(build_graph(load_config(tmp_path / "g.yaml")), in_process=in_process)
    assert not result.failure, result.failure
    counters = result.stats["bp"]["counters"]
    reason = "spec_shape" if bad == "channels" else "spec_dtype"
    assert counters.get(f"rejected_{reason}", 0) + counters.get(f"rx_rejected_{reason}", 0) == 1, counters
    assert result.stats["rec"]["gaps"] == 1
    assert (tmp_path / "out.csv").read_text().count("\n") == 1 + 19 * 25


class FailsEverySecond(Node):
    """Passes its input on; raises in process() on every second chunk."""

    def process(self, inputs):
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls % 2 == 0:
            raise RuntimeError(f"process failed on call {self.calls}")
        return {"out": inputs["in"]}


class ResetFails(FailsEverySecond):
    """... and in reset()."""

    def reset(self):
        raise RuntimeError("reset failed")


def _run_restarting(tmp_path, monkeypatch, node_type: str) -> int:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(
        textwrap.dedent(
            f"""\
            nodes:
              - {{id: src, type: sine, params: {{rate: 250.0, channels: 2, duration: 1.0}}}}
              - {{id: bad, type: "test_hostile_sweep:{node_type}", on_error: restart}}
              - {{id: rec, type: recorder, params: {{path: out.csv}}}}
            edges:
              - {{source: src.out, target: bad.in}}
              - {{source: bad.out, target: rec.in}}
            """
        )
    )
    return main(["run", "g.yaml", "--in-process", "--no-status"])


def test_a_restarting_node_says_why_once(tmp_path, monkeypatch, capsys, caplog):
    """`on_error: restart` swallowed the exception: the run ended with exit 0 and restarts=5 in the summary, and no
    word of what failed. The first failure of each node is logged with its traceback; later ones are counted."""
    assert _run_restarting(tmp_path, monkeypatch, "FailsEverySecond") == 0
    said = [r.getMessage() for r in caplog.records if "failed and restarts" in r.getMessage()]
    assert len(said) == 1 and "node 'bad'" in said[0] and "process failed on call 2" in said[0], said
    row = next(line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("bad "))
    assert row[1:7] == ["main", "10", "5", "5", "0", "5"], row  # in (10 chunks), out, drops, gaps, restarts


def test_a_node_that_cannot_restart_fails_the_run_naming_it(tmp_path, monkeypatch, capsys):
    """`on_error: restart` on a node whose reset() raises: the CLI died with a bare Python traceback (no summary,
    no node named) in one process, and 'process 'b' failed: reset failed' across processes."""
    assert _run_restarting(tmp_path, monkeypatch, "ResetFails") == 1
    out = capsys.readouterr()
    assert "wall time" in out.out and "(failed)" in out.out  # the summary is printed
    assert "node 'bad' (test_hostile_sweep:ResetFails) in process 'main' failed" in out.err, out.err
    assert "process failed" in out.err and "reset() failed" in out.err and "reset failed" in out.err
    assert (tmp_path / "out.csv").read_text().count("\n") == 1 + 25  # header and the chunk before the failure


@pytest.mark.parametrize(("name", "t_first"), [("r_raw.fif", 1.7e9), ("r.edf", 1.7e12), ("r_raw.fif", 1.7e12)])
def test_a_stream_stamped_in_unix_time_is_recorded(tmp_path, name, t_first):
    """A source stamping chunks with Unix time (time.time(), as Timeflux indexes its data; 1.7e12 in ms): close()
    failed on MNE's 'Value 425000000000 exceeds maximum allowed (2147483647) for tag 208 (FIFF_FIRST_SAMPLE)' or
    'date value out of range', and the recording stayed a .spill. Now it is written from sample 0, dated when
    the first chunk was recorded (said in the log)."""
    import mne

    rec = Recorder(path=str(tmp_path / name))
    rec.configure({"in": SPEC})
    x = _noise(500, 4)
    for k in range(0, 500, 50):
        rec.process({"in": Chunk(x[:, k : k + 50], t_first + k / RATE)})
    rec.close()
    raw = mne.io.read_raw(tmp_path / name, verbose="error")
    assert raw.first_samp == 0
    assert abs((raw.info["meas_date"] - datetime.now(UTC)).total_seconds()) < 3600  # when it was recorded
    assert np.allclose(raw.get_data(), x, rtol=1e-3, atol=1e-3 * np.abs(x).max())  # EDF: 16-bit


def test_a_long_recording_from_sample_0_is_not_said_to_start_far_from_0(caplog):
    """The Unix-time fix logged 'the stream's first sample is at 0 s: too far from 0' for any recording of more than
    2**31 samples (12.4 h of 48 kHz audio), whose first sample number is already 0 and stays so."""
    from wavegraph.nodes.io.record_formats import FIF_MAX_SAMPLE, Origin

    spec = signal_spec(48000.0, ["mic"], "audio")
    assert Origin.of(spec, 0.0, None, FIF_MAX_SAMPLE + 1).first_samp == 0
    assert "too far from 0" not in caplog.text
    assert Origin.of(spec, 1.7e9, None, 10).first_samp == 0 and "too far from 0" in caplog.text  # Unix time: said


# --- train -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("arg", [["--batch", "0"], ["--steps", "-1"], ["--seconds", "nan"], ["--threads", "0"]])
def test_train_enhancer_refuses_sizes_that_are_not_above_zero(arg, capsys):
    """`wavegraph train enhancer --batch 0` prepared its data for 20 s and died on numpy's 'need at least one array to
    stack' traceback; `--threads 0` on torch's. They are usage errors now (exit 2), as `train tokenizer`'s."""
    from wavegraph.benchmarks.tokenizer import train_main
    from wavegraph.models.train_enhancer_args import parser

    with pytest.raises(SystemExit) as e:
        parser("").parse_args(arg)
    assert e.value.code == 2 and "must be above 0" in capsys.readouterr().err
    if arg[0] != "--seconds":  # the tokenizer has no --seconds
        with pytest.raises(SystemExit) as e:
            train_main([arg[0] if arg[0] != "--steps" else "--frames", arg[1], "--out", "unused.safetensors"])
        assert e.value.code == 2 and "must be above 0" in capsys.readouterr().err


def test_the_in_process_spec_check_runs_once_per_input_whatever_the_chunk_lengths(monkeypatch):
    """The check is cached on the shape without the time axis: its cache held the whole shape, so a resampler's
    chunks of varying length (441 Hz from 10-sample chunks at 1 kHz) ran the full check on most deliveries."""
    from wavegraph.pipeline import executor
    from wavegraph.pipeline.api import GraphBuilder

    calls = []
    real = executor.Executor._fits
    monkeypatch.setattr(executor.Executor, "_fits", lambda self, *a: calls.append(a[:2]) or real(self, *a))
    g = GraphBuilder()
    rs = g.add("resample", g.add("sine", rate=1000.0, channels=4, duration=2.0, chunk_size=10), rate=441.0)
    bp = g.add("bandpass", rs, l_freq=1.0, h_freq=40.0)
    out = g.run(capture=[bp])[f"{bp}.out"]
    assert out.data.shape[1] > 800
    assert len(calls) <= 4, calls  # once per input that has a spec (331 times before)


def test_running_zscore_counts_all_of_its_window_state():
    """Its state is the block (W) and the suffix sums and squares (2 W) in float64, 24 bytes per sample and channel;
    the limit counted 16, so an 800 s window at 1 kHz on 64 channels (1.15 GiB) passed as under 1 GiB."""
    from wavegraph.nodes.dsp.scaling import RunningZScore
    from wavegraph.pipeline.spec import SpecError, signal_spec

    spec = signal_spec(1000.0, [f"c{i}" for i in range(64)])
    with pytest.raises(SpecError, match="1 GiB"):
        RunningZScore(window=800.0).configure({"in": spec})
    RunningZScore(window=600.0).configure({"in": spec})  # 0.86 GiB: allowed
