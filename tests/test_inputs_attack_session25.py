"""Hostile inputs of session 25 (helper-169): each defect replayed with the input that showed it."""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.pipeline.api import GraphBuilder


# --- 1. a marker whose duration runs far past the recording -----------------------------------------------------
@pytest.mark.parametrize("name", ["x_raw.fif", "x.edf"])
def test_a_marker_lasting_past_the_recording_is_cut_at_its_end(tmp_path, name):
    """A marker of duration 2e12 s (nanoseconds given as seconds) on a 10 s recording: the FIF recorder failed at close
    with MNE's 'OverflowError: date value out of range' (the FIF not written; `wavegraph recover` failed the same way),
    and the EDF was written with it, a file MNE's reader fails on (OverflowError). Now it is cut at the recording's end,
    as MNE trims a FIF's shorter overruns: 9.5 s from its onset at 0.5 s."""
    import mne

    x = np.random.default_rng(0).standard_normal((2, 1000)) * 1e-5
    g = GraphBuilder()
    src = g.add("array_source", data=x, rate=100.0, ch_types="eeg", events=[[0.5, 2e12, 1]])
    g.add("recorder", id="rec", path=str(tmp_path / name), events=True)
    g.connect(f"{src}.out", "rec.in")
    g.connect(f"{src}.events", "rec.events")
    g.run()
    read = mne.io.read_raw_fif if name.endswith(".fif") else mne.io.read_raw_edf
    raw = read(tmp_path / name, verbose="error")
    notes = [
        (o, d)
        for o, d, t in zip(raw.annotations.onset, raw.annotations.duration, raw.annotations.description)
        if t == "1"
    ]
    assert len(notes) == 1
    assert notes[0][0] == pytest.approx(0.5)
    assert notes[0][1] == pytest.approx(9.5)


# --- 2. array_source events that are not numbers, or whose code is no integer ------------------------------------
@pytest.mark.parametrize(
    "events, said",
    [
        ([["go", 0, 1]], ["events must be rows of 3 numbers", "'go'", "labels={code: text}"]),
        ([[0.5, 0, 1], [0.7, 0]], ["events must be rows of 3 numbers", "(onset s, duration s, integer code)"]),
        ([[0.5, 0, 1], [0.6, 0, 1.5]], ["event row 1 [0.6, 0.0, 1.5]", "the code 1.5, which is no integer"]),
        ([[float("nan"), 0, 1]], ["event row 0", "NaN or infinite"]),
    ],
)
def test_array_source_events_that_are_no_rows_of_numbers_are_told_which_row(events, said):
    """events=[['go', 0, 1]] (a marker's text where its code goes) was 'could not convert string to float: 'go'; fix:
    check its params'; a code of 1.5 was 'events of shape (2, 3) (... expected)', the very shape it asks for."""
    from wavegraph.pipeline.config import GraphError

    g = GraphBuilder()
    g.add("array_source", data=np.zeros((1, 100)), rate=100.0, events=events)
    with pytest.raises(GraphError) as e:
        g.run()
    text = str(e.value)
    for part in said:
        assert part in text
    assert "check its params" not in text


# --- 3. `wavegraph keys FOLDER` ------------------------------------------------------------------------------------
def test_keys_named_as_an_existing_folder_writes_nothing_beside_it(tmp_path, monkeypatch, capsys):
    """`wavegraph keys keys` in a lab folder holding keys/ (made for them) wrote keys.key and keys.key_secret beside
    the folder, exit 0, where `keys keys/` was refused; both are told now to name the pair in it (keys/gpu)."""
    from wavegraph.pipeline.cli import main

    (tmp_path / "keys").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["keys", "keys"]) == 2
    assert "NAME 'keys' is a folder or blank, not a file name; fix: give one, e.g. keys/gpu" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["keys"]
    assert main(["keys", "keys/gpu"]) == 0
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["gpu.key", "gpu.key_secret"]


# --- 4. `wavegraph recover FOLDER` with a folder that goes away, or cannot be listed, while it is walked -------------
def test_recover_of_a_folder_walks_past_one_gone_and_names_one_it_cannot_list(tmp_path, capsys, monkeypatch):
    """`wavegraph recover out/` while a batch removes a job's folder: rglob's FileNotFoundError traceback, nothing
    recovered; a subfolder it may not list (another user's) was skipped without a word, its recordings left as
    spills. Now a folder that went away holds nothing to recover, one that cannot be listed is named (exit 1), and
    the spills elsewhere are recovered."""
    import os

    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.nodes.io.recover import recover_main
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    for sub in ("a", "gone", "locked"):
        (tmp_path / sub).mkdir()
    rec = Recorder(path=str(tmp_path / "a" / "x.npz"))
    rec.configure({"in": StreamSpec("signal", 50.0, (1,), "float64", channel_names=("x",))})
    rec.process({"in": Chunk(np.arange(20.0)[None], t0=0.0)})
    rec._file.close()  # the process died: the spill stays
    real = os.scandir

    def scandir(path="."):
        name = os.path.basename(os.fspath(path))
        if name == "gone":
            raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        if name == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert recover_main([str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'locked'}: cannot look in it (Permission denied)" in err
    assert "gone" not in err and "Traceback" not in err
    np.testing.assert_array_equal(np.load(tmp_path / "a" / "x.npz")["data"], np.arange(20.0)[None])


# --- 5. `<<: *a` where the anchor is a list: the line of the merge, not the anchor's ---------------------------------
def test_a_merge_of_a_list_anchor_names_the_merge_line(tmp_path):
    """`<<: *a` on line 8 with `x-a: &a [1, 2]` on line 1 was said at line 1 ('expected a mapping for merging, but found
    scalar'), the anchor's line, which is valid YAML; the line to change is the merge's."""
    from wavegraph.pipeline.config import GraphError, load_config

    text = (
        "x-a: &a [1, 2]\n"
        "x-b: &b {rate: 250}\n"
        "nodes:\n"
        "  - id: src\n"
        "    type: sine\n"
        "    params:\n"
        "      duration: 1\n"
        "      <<: *a\n"
    )
    (tmp_path / "g.yaml").write_text(text)
    with pytest.raises(GraphError) as e:
        load_config(tmp_path / "g.yaml")
    (line,) = e.value.lines()
    assert line.startswith(f"{tmp_path / 'g.yaml'}:8: invalid YAML: '<<:' merges *a, the value at line 1, which is no")
    assert "fix: <<: takes an anchored mapping" in line


# --- 7. a device or an endless stream where a graph file or a checkpoint goes -------------------------------------
def test_a_device_given_as_the_graph_file_is_refused_not_read(capsys):
    """`wavegraph validate /dev/zero` (or /dev/urandom, /dev/tty) read the device until memory ran out: a hang.
    /dev/null was 'holds no YAML'. A device is refused at once now."""
    from wavegraph.pipeline.cli import main

    assert main(["validate", "/dev/null"]) == 2
    assert "/dev/null: is a device, not a graph file; fix: give the graph file (YAML)" in capsys.readouterr().err


def test_a_graph_file_past_the_size_cap_is_refused(tmp_path, monkeypatch, capsys):
    """`yes | wavegraph validate -`, or a file that never ends, was read whole, without bound. Past MAX_BYTES (64 MiB;
    1 KiB here) it is refused, naming the limit."""
    from wavegraph.pipeline import graph_file
    from wavegraph.pipeline.cli import main

    monkeypatch.setattr(graph_file, "MAX_BYTES", 1 << 10)
    (tmp_path / "g.yaml").write_text("nodes: [{id: src, type: sine}]\n" + "# a note\n" * 200)
    assert main(["validate", str(tmp_path / "g.yaml")]) == 2
    err = capsys.readouterr().err
    assert "g.yaml: holds more than 1024 bytes: no graph file is that large" in err
    (tmp_path / "g.yaml").write_text("nodes: [{id: src, type: sine}]\n")
    assert main(["validate", str(tmp_path / "g.yaml")]) == 0


def test_a_device_given_as_a_checkpoint_is_said_to_be_one(tmp_path):
    """checkpoint: /dev/zero was 'does not exist', of a path that does."""
    from wavegraph.pipeline.config import GraphError

    g = GraphBuilder()
    src = g.add("sine", rate=16000.0, duration=0.1)
    g.add("enhancer", src, checkpoint="/dev/null")
    with pytest.raises(GraphError) as e:
        g.run()
    assert "'/dev/null': is a pipe or a device, not a file; fix: give the weights file (.safetensors)" in str(e.value)


# --- 6. a recorder's .npz whose data member is damaged or holds no real numbers ---------------------------------
def _npz_with_data(path, data, claimed_shape=None):
    """An .npz as the recorder writes it (stored, keys data and spec), its data member `data` (its header claiming
    `claimed_shape` if given: a member cut short)."""
    import io
    import json
    import zipfile

    from wavegraph.pipeline.spec import signal_spec

    member = io.BytesIO()
    np.lib.format.write_array(member, data)
    raw = member.getvalue()
    if claimed_shape is not None:
        head = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            head, {"descr": np.lib.format.dtype_to_descr(data.dtype), "fortran_order": False, "shape": claimed_shape}
        )
        raw = head.getvalue() + data.tobytes()
    spec = io.BytesIO()
    np.lib.format.write_array(spec, np.array(json.dumps(signal_spec(100.0, ["a", "b"]).to_dict())))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("data.npy", raw)
        z.writestr("spec.npy", spec.getvalue())


@pytest.mark.parametrize(
    "data, claimed, said",
    [
        (np.ones((2, 50)) * 1j, None, "holds complex128 samples in its data, where its spec says float64"),
        (np.zeros((2, 5), "datetime64[s]"), None, "holds datetime64[s] samples in its data"),
        (np.ones((2, 50)), (2, 100000), "cannot read x.npz: ValueError: mmap length is greater than file size"),
    ],
)
def test_an_npz_whose_data_is_damaged_or_not_real_numbers_is_told_so(tmp_path, monkeypatch, data, claimed, said):
    """A complex data member replayed as float64 without a word, its imaginary part dropped (all zeros here); a
    datetime one as numbers; one cut short was 'mmap length is greater than file size; fix: supported formats:
    MNE raw formats ...', a list of formats for a file of one of them."""
    from wavegraph.pipeline.config import GraphError

    monkeypatch.chdir(tmp_path)
    _npz_with_data(tmp_path / "x.npz", data, claimed)
    g = GraphBuilder()
    g.add("file_source", path="x.npz")
    with pytest.raises(GraphError) as e:
        g.run()
    text = str(e.value)
    assert said in text
    assert "supported formats" not in text
    assert "record it again" in text or "not written by the recorder" in text


# --- 8. a CSV recording with one time that is NaN ------------------------------------------------------------------
def test_a_csv_with_one_nan_time_names_its_line(tmp_path, monkeypatch):
    """One `t` of nan among 20 rows (a blank line above it) was 'holds 20 rows with a time that is not finite', as if
    every one were; it names how many and the first one's line now."""
    from wavegraph.pipeline.config import GraphError

    rows = [f"{i / 10!r},{i},{-i}" for i in range(20)]
    rows[5] = "nan,5,-5"
    (tmp_path / "x.csv").write_text("t,a,b\n" + "\n".join(rows[:3]) + "\n\n" + "\n".join(rows[3:]) + "\n")
    monkeypatch.chdir(tmp_path)
    g = GraphBuilder()
    g.add("file_source", path="x.csv")
    with pytest.raises(GraphError) as e:
        g.run()
    assert "x.csv holds 20 rows, 1 of them with a time that is not finite (the first on line 8: nan)" in str(e.value)


# --- 9. eeg_sim: SSVEP harmonics at or above Nyquist -------------------------------------------------------------
def _sim(**params):
    g = GraphBuilder()
    quiet = dict(background_uv=0.0, alpha_uv=0.0, blink_uv=0.0, emg_uv=0.0, channels=["Oz"], rate=250.0)
    src = g.add("eeg_sim", **{**quiet, **params})
    return g.run(capture=[src])[f"{src}.out"].data[0]


def test_eeg_sim_leaves_out_ssvep_harmonics_above_nyquist():
    """A 40 Hz SSVEP with 4 harmonics at 250 Hz: the 4th (160 Hz) was computed and aliased to a 90 Hz line that no EEG
    amplifier (anti-alias filter) records and FBCCA's references leave out. Harmonics 1e29 was 'Maximum allowed
    dimension exceeded; fix: check its params' (1e6 took 33 s for 1 s of signal). Those above Nyquist are left out
    now; the ones below are as before (harmonics 3 gives the same samples as 4)."""
    x = _sim(ssvep_freqs=[40.0], ssvep_harmonics=4, duration=4.0)
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / 250.0)
    at = {f: power[np.argmin(np.abs(freqs - f))] for f in (40, 80, 90, 120)}
    assert at[40] > 0 and at[80] > 0 and at[120] > 0
    assert at[90] < 1e-12 * at[40]
    np.testing.assert_array_equal(x, _sim(ssvep_freqs=[40.0], ssvep_harmonics=3, duration=4.0))
    y = _sim(ssvep_freqs=[10.0], ssvep_harmonics=10**29, duration=0.5)
    assert len(y) == 125 and np.isfinite(y).all()


def test_eeg_sim_refuses_an_ssvep_frequency_of_0_hz():
    from wavegraph.pipeline.config import GraphError

    with pytest.raises(GraphError, match="eeg_sim ssvep_freqs holds 0 Hz; fix: give stimulus frequencies above 0 Hz"):
        _sim(ssvep_freqs=[0.0], duration=0.5)


# --- 10. ssvep_decoder: harmonics far past Nyquist ----------------------------------------------------------------
def test_fbcca_harmonics_far_past_nyquist_do_not_hang_the_build():
    """ssvep_decoder harmonics: 1e29 hung `wavegraph validate` (references() looked at every harmonic one by one to
    keep those below Nyquist). Only those below are looked at now: the same references as harmonics 15 at 250 Hz."""
    import threading

    from wavegraph.models.ssvep import references

    done: list = []
    worker = threading.Thread(target=lambda: done.append(references([8.0, 10.0], 250.0, 50, 10**29)), daemon=True)
    worker.start()
    worker.join(5.0)
    assert done, "references() with 1e29 harmonics did not return"
    for big, small in zip(done[0], references([8.0, 10.0], 250.0, 50, 15), strict=True):
        np.testing.assert_array_equal(big, small)


# --- 11. lsl_outlet chunk_size beyond liblsl's int32 --------------------------------------------------------------
def test_lsl_outlet_chunk_size_beyond_int32_is_refused_at_build(tmp_path, capsys):
    """chunk_size: 1e29 (as a whole number) passed `wavegraph validate`, then the run failed opening the outlet with
    ctypes' traceback ('ArgumentError: argument 2: OverflowError: int too long to convert')."""
    from wavegraph.pipeline.cli import main

    (tmp_path / "g.yaml").write_text(
        "nodes:\n"
        "  - {id: src, type: sine, params: {duration: 0.1}}\n"
        "  - {id: out, type: lsl_outlet, params: {name: x, chunk_size: 100000000000000000000000000000}}\n"
        "edges:\n"
        "  - {source: src.out, target: out.in}\n"
    )
    assert main(["validate", str(tmp_path / "g.yaml")]) == 2
    err = capsys.readouterr().err
    assert "g.yaml:3: node 'out' (lsl_outlet): parameter 'chunk_size'" in err
    assert "less than or equal to 2147483647" in err


# --- 12. audio nodes: a block of minutes, a device index or channel count past C's int -------------------------------
@pytest.mark.parametrize(
    "node, said",
    [
        (
            "  - {id: src, type: audio_input, params: {rate: 48000, blocksize: 99999999}}\n",
            "audio_input: blocksize 99999999 is 2083 s at 48000 Hz: the first block would come after that long",
        ),
        (
            "  - {id: src, type: sine, params: {rate: 48000, duration: 0.1}}\n"
            "  - {id: out, type: audio_output, params: {blocksize: 99999999}}\n",
            "audio_output: blocksize 99999999 is 2083 s at 48000 Hz: each block would wait that long",
        ),
    ],
    ids=["audio_input", "audio_output"],
)
def test_an_audio_block_of_minutes_is_refused_at_build(tmp_path, capsys, node, said):
    """blocksize 1e8 at 48 kHz passed validate; audio_input then waited 35 min for its first block, audio_output for
    its first block to fill, and neither stopped on SIGTERM (its drain waited on the block): a hang. 1e29 failed the
    run with 'OverflowError: int too big to convert'."""
    from wavegraph.pipeline.cli import main

    edge = "edges:\n  - {source: src.out, target: out.in}\n" if "audio_output" in node else ""
    (tmp_path / "g.yaml").write_text("nodes:\n" + node + edge)
    assert main(["validate", str(tmp_path / "g.yaml")]) == 2
    err = capsys.readouterr().err
    assert said in err and "fix: give a block of milliseconds, e.g. blocksize: 480 (10 ms; at most 10 s)" in err


def test_an_audio_device_index_or_channel_count_past_c_int_is_said_as_any_other():
    """device: 1e29 and channels: 1e29 were 'configure() failed: OverflowError: int too big to convert; fix: check its
    params and inputs; if they are right, this is a bug in the node'. They are said as any device or channel count
    the sound card does not have (its devices listed)."""
    from types import SimpleNamespace

    from wavegraph.nodes.io import audio
    from wavegraph.pipeline.spec import SpecError

    def overflow(*args, **kwargs):
        if args or kwargs.get("channels", 0) > 2**31:
            raise OverflowError("int too big to convert")
        return [{"index": 0, "name": "card", "max_input_channels": 2, "default_samplerate": 48000.0}]

    sd = SimpleNamespace(query_devices=overflow, check_input_settings=overflow, PortAudioError=RuntimeError)
    with pytest.raises(SpecError, match=r"no input device 10+ \(int too big to convert\); input devices: 0: card"):
        audio.find_device(sd, 10**29, "input")
    dev = {"index": 0, "name": "card", "max_input_channels": 2, "default_samplerate": 48000.0}
    with pytest.raises(SpecError, match=r"device 0 'card' rejects 10+ ch at 48000 Hz"):
        audio._check_settings(sd, "input", dev, 10**29, 48000.0)


# --- 13. a model config of a million layers -----------------------------------------------------------------------
def test_a_model_of_a_million_layers_is_refused_before_it_is_built(tmp_path, capsys):
    """`type: model, params: {random_init: true, kind: mamba, config: {n_layers: 1000000}}` hung `wavegraph validate`
    (7 GB and over a minute building the layers one by one, none large enough for an allocation to fail and be said
    as 'does not fit in memory'); a checkpoint's JSON edited so did the same. The config refuses it at once."""
    import threading

    from wavegraph.models.mamba import MambaConfig
    from wavegraph.pipeline.cli import main

    with pytest.raises(ValueError, match=r"MambaConfig.n_layers is 1000000, more layers than a model here is built"):
        MambaConfig.from_dict({"n_layers": 1_000_000})
    (tmp_path / "g.yaml").write_text(
        "nodes:\n"
        "  - {id: src, type: sine, params: {rate: 100, channels: 4, duration: 0.5}}\n"
        "  - {id: w, type: sliding_window, params: {size: 1, hop: 1}}\n"
        "  - {id: n, type: model, params: {random_init: true, device: cpu, kind: gla, config: {n_layers: 1000000}}}\n"
        "edges:\n  - {source: src.out, target: w.in}\n  - {source: w.out, target: n.in}\n"
    )
    code: list = []
    worker = threading.Thread(target=lambda: code.append(main(["validate", str(tmp_path / "g.yaml")])), daemon=True)
    worker.start()
    worker.join(30.0)
    assert code == [2]
    assert "GLAConfig.n_layers is 1000000" in capsys.readouterr().err


# --- 14. a channel count of 1e8 on a live source with its rate given ------------------------------------------------
def test_a_live_source_of_a_hundred_million_channels_is_refused_at_once(tmp_path, capsys):
    """lsl_inlet and audio_input with `rate` declare their stream at validate: channels 1e8 built 7 GB of channel names
    (30 s) before 'configure() failed: MemoryError: ; fix: ... this is a bug in the node' (beyond the machine's memory,
    worse). Refused at once now, as sine's and noise's."""
    import threading

    from wavegraph.pipeline.cli import main

    (tmp_path / "g.yaml").write_text(
        "nodes:\n"
        "  - {id: eeg, type: lsl_inlet, params: {name: x, rate: 100, channels: 100000000}}\n"
        "  - {id: mic, type: audio_input, params: {rate: 48000, channels: 100000000}}\n"
    )
    code: list = []
    worker = threading.Thread(target=lambda: code.append(main(["validate", str(tmp_path / "g.yaml")])), daemon=True)
    worker.start()
    worker.join(20.0)
    assert code == [2]
    err = capsys.readouterr().err
    assert "g.yaml:2: node 'eeg' (lsl_inlet): lsl_inlet `channels: 100000000`: at most 65536" in err
    assert "g.yaml:3: node 'mic' (audio_input): parameter 'channels' = 100000000" in err and "65536" in err


# --- 15. wavegraph bench pacing --chunk-ms inf / --seconds inf ------------------------------------------------------
@pytest.mark.parametrize(
    "argv, said",
    [
        (["--chunk-ms", "inf"], "--chunk-ms must be a whole number of ms >= 1 (the source is 1 kHz), got inf"),
        (["--seconds", "inf"], "--seconds must span at least two chunks (0.02 s), got inf"),
    ],
)
def test_bench_pacing_refuses_an_infinite_chunk_or_length(argv, said, capsys):
    """--chunk-ms inf was int()'s 'OverflowError: cannot convert float infinity to integer' traceback; --seconds inf
    passed the check and ran a pacing benchmark without end."""
    from wavegraph.benchmarks import pacing

    with pytest.raises(SystemExit) as e:
        pacing.main(argv)
    assert e.value.code == 2
    assert said in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, said",
    [
        (["--repeat", "0"], "--repeat 0 runs no pair of live runs to compare; give 1 or more"),
        (["--seconds", "nan"], "--seconds nan is no length of a run; give 10 or more"),
        (["--seconds", "inf"], "--seconds inf is no length of a run; give 10 or more"),
    ],
)
def test_bench_monitor_refuses_no_runs_or_an_endless_one(argv, said, capsys):
    """bench monitor --repeat 0 measured nothing and exited 0 (the tap's cost alone printed, as if it were the result);
    --seconds nan passed its check (nan < 10 is false) and --seconds inf ran without end."""
    from wavegraph.benchmarks import monitor

    with pytest.raises(SystemExit) as e:
        monitor.main(argv)
    assert e.value.code == 2
    assert said in capsys.readouterr().err


# --- 16. a sliding window of a hundred million samples ------------------------------------------------------------
def test_a_sliding_window_too_wide_to_name_its_columns_is_left_unnamed(tmp_path):
    """sliding_window size 1e8 on one channel (800 MB of state, under the 1 GiB bound) made 7.7 GB of column names
    ('ch0:0' ... 'ch0:99999999') over 40 s at validate, then 'MemoryError: ; fix: ... this is a bug in the node'.
    Past 2**20 columns the row is left unnamed, as one of an input without channel names; narrower ones are named."""
    import threading

    from wavegraph.nodes.dsp.windows import SlidingWindow
    from wavegraph.pipeline.spec import signal_spec

    out: list = []

    def configure(size):
        node = SlidingWindow(size=size, hop=1)
        out.append(node.configure({"in": signal_spec(250.0, ["C3"])})["out"])

    worker = threading.Thread(target=configure, args=(100_000_000,), daemon=True)
    worker.start()
    worker.join(10.0)
    assert out and out[0].shape == (100_000_000,) and out[0].channel_names == ()
    configure(3)
    assert out[1].channel_names == ("C3:0", "C3:1", "C3:2")


# --- 17. a device given as the picture to write ---------------------------------------------------------------------
def test_a_device_given_as_the_picture_is_refused_not_written_beside(tmp_path, monkeypatch, capsys):
    """`wavegraph describe g.yaml --png /dev/null` and `wavegraph plot REC -o /dev/null` (to throw the picture away)
    wrote /dev/null.png (as root, a file in /dev); `--png figs` with figs/ a folder wrote figs.png beside it. Each is
    refused now, naming what the path is."""
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.cli import main
    from wavegraph.pipeline.spec import signal_spec

    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text("nodes:\n  - {id: src, type: sine, params: {duration: 0.1}}\n")
    (tmp_path / "figs").mkdir()
    assert main(["describe", "g.yaml", "--png", "/dev/null"]) == 2
    assert "--png: /dev/null is a device or a pipe, not a picture file" in capsys.readouterr().err
    assert main(["describe", "g.yaml", "--png", "figs"]) == 2
    assert "--png: figs is a folder; fix: name the picture in it: --png figs/graph.png" in capsys.readouterr().err
    assert not (tmp_path / "figs.png").exists()
    rec = Recorder(path=str(tmp_path / "r.npz"))
    rec.configure({"in": signal_spec(100.0, ["a"])})
    rec.process({"in": Chunk(np.zeros((1, 50)), t0=0.0)})
    rec.finish()
    rec.close()
    assert main(["plot", "r.npz", "-o", "/dev/null"]) == 2
    assert "error: -o /dev/null: is a device or a pipe, not a picture file" in capsys.readouterr().err
