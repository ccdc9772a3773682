"""Hostile input to the command line: graph files, `bench enhance`, `bench bci` and `train ssvep` on the odd
files and folders a new user brings. Each mistake is one `file:line: message; fix: ...` line (exit 2, no
traceback); unusual but valid input runs."""

import textwrap

from wavegraph.pipeline.cli import main

GRAPH = """\
name: t
nodes:
  - id: src
    type: sine
    params: {channels: 4, rate: 250.0, chunk_size: 25, duration: 1.0}
  - id: bp
    type: bandpass
    params: {l_freq: 1.0, h_freq: 40.0}
  - id: rec
    type: recorder
    params: {path: out_raw.fif, overwrite: true}
edges:
  - {source: src.out, target: bp.in}
  - {source: bp.out, target: rec.in}
"""


def validate(tmp_path, monkeypatch, capsys, text, *extra):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(textwrap.dedent(text))
    code = main(["validate", "g.yaml", *extra])
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    if code == 0:
        return []
    assert code == 2 and lines, out
    for line in lines:
        assert line.startswith(("g.yaml:", "--set:")) and "; fix: " in line, line
    return lines


def test_validate_checks_ports_and_specs_despite_a_structural_problem(tmp_path, monkeypatch, capsys):
    text = GRAPH.replace("name: t", "name: t\nfoo: 1").replace("target: rec.in", "target: rec.inn")
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert any("unknown top-level key 'foo'" in e for e in err)
    assert any("node 'rec' has no input port 'inn'" in e for e in err), err
    text = GRAPH.replace("l_freq: 1.0", "l_freq: 100.0").replace("target: rec.in}", "target: rec.in, queue: 0}")
    err = validate(tmp_path, monkeypatch, capsys, text, "--set", "nosuch.x=1")
    assert any("edge queue 0" in e for e in err) and any("no node 'nosuch'" in e for e in err)
    assert any("l_freq 100 Hz must be below h_freq 40 Hz" in e for e in err), err


def test_null_id_or_type_and_plain_text_items_name_their_line(tmp_path, monkeypatch, capsys):
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("type: bandpass", "type:"))
    assert err == ["g.yaml:6: each node needs an 'id' and a 'type' (node 'bp' has none); fix: write "
                   "'- {id: name, type: node_type, params: {...}}'"]  # fmt: skip
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("id: bp", "id:"))
    assert err[0].startswith("g.yaml:6: each node needs an 'id' and a 'type';") and "None" not in "".join(err)
    err = validate(tmp_path, monkeypatch, capsys, "nodes:\n  - src\n  - bp\n")
    assert [e.split(":")[1] for e in err] == ["2", "3"], err
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("- {source: src.out, target: bp.in}", "- src.out"))
    assert err[0].startswith("g.yaml:13: each edge needs 'source' and 'target'"), err


def test_a_timeflux_style_file_gets_the_exact_fix(tmp_path, monkeypatch, capsys):
    text = """\
    nodes:
      - {id: rnd, module: mypkg.nodes, class: Random}
      - {id: rec, type: recorder, params: {path: x_raw.fif}}
    edges:
      - {source: rnd, target: rec}
      - {source: "rnd:out", target: "rec:in"}
    """
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert "fix: write type: mypkg.nodes:Random" in err[0], err
    assert [e.split("fix: ")[1] for e in err[1:5]] == [
        "write source: rnd.out",
        "write target: rec.in",
        "write source: rnd.out",
        "write target: rec.in",
    ], err
    err = validate(tmp_path, monkeypatch, capsys, "graphs:\n  - id: g\n")
    assert "put its nodes: and edges: at the top level" in err[0], err


def test_a_dotted_node_id_is_one_problem(tmp_path, monkeypatch, capsys):
    text = GRAPH.replace("id: bp", "id: b.p").replace("target: bp.in", "target: b.p.in")
    err = validate(tmp_path, monkeypatch, capsys, text.replace("source: bp.out", "source: b.p.out"))
    assert err[0].startswith("g.yaml:6: node id 'b.p' must be non-empty, with no '.' or '='"), err
    assert not any("add an edge with target: b.p.in" in e for e in err), err


def test_tab_indent_says_so(tmp_path, monkeypatch, capsys):
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("    type: bandpass", "\ttype: bandpass"))
    assert err[0].startswith("g.yaml:7: invalid YAML") and "fix: indent with spaces" in err[0], err


def test_a_chunk_too_big_to_allocate_is_refused_at_build(tmp_path, monkeypatch, capsys):
    text = GRAPH.replace("chunk_size: 25, duration: 1.0", "chunk_size: 1000000000, duration: null")
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert err and "exceed 1 GiB" in err[0] and "chunk_size: 25" in err[0], err
    # a chunk longer than a finite recording is one chunk of the whole recording: valid
    assert validate(tmp_path, monkeypatch, capsys, GRAPH.replace("chunk_size: 25", "chunk_size: 10000000000")) == []


def test_set_values_read_as_in_the_file_and_their_problems_say_from_set(tmp_path, monkeypatch, capsys):
    assert validate(tmp_path, monkeypatch, capsys, GRAPH, "--set", "src.rate=1e3") == []  # was text '1e3'
    err = validate(tmp_path, monkeypatch, capsys, GRAPH, "--set", "bp.l_freq=abc", "--set", "bp.nosuch=1")
    assert any("parameter 'l_freq' = 'abc' (from --set) is text" in e for e in err), err
    assert any("unknown parameter 'nosuch' (from --set)" in e for e in err), err


def test_set_passes_a_non_utf8_file_name_as_text():
    import os

    from wavegraph.pipeline.set_overrides import parse_set

    name = os.fsdecode(b"take \xe9.wav")  # what the shell hands over for a Latin-1 file name
    assert parse_set([f'src.path="{name}"', f"src.path={name}"]) == [("src", "path", name)] * 2  # was a YAML error


def test_process_group_names_with_a_slash_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    text = GRAPH + 'processes:\n  "acq/1": [src]\n  "../dsp": [bp, rec]\n'
    (tmp_path / "g.yaml").write_text(text)
    assert main(["run", "g.yaml"]) == 0, capsys.readouterr().err  # was FileNotFoundError: .../acq/1.json
    assert (tmp_path / "out_raw.fif").is_file()


# --- bench enhance on odd folders ----------------------------------------------------------------------------


def _speech(rate: int, seconds: float):
    import numpy as np

    t = np.arange(int(rate * seconds)) / rate
    phase = 2 * np.pi * np.cumsum(120 + 20 * np.sin(2 * np.pi * 0.5 * t)) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20)) * (np.sin(2 * np.pi * 3 * t) > 0)
    return (0.1 * voiced).astype(np.float32)


def test_bench_enhance_folder_leaves_out_what_cannot_be_scored_and_says_why(tmp_path, capsys):
    import numpy as np
    import soundfile as sf
    from wavegraph.benchmarks.enhance_data import SR, folder_mixtures

    clean = tmp_path / "clean"
    (clean / "sub").mkdir(parents=True)
    sf.write(clean / "sub" / "stereo44.WAV", np.stack([_speech(44100, 1.5)] * 2, 1), 44100)
    sf.write(clean / "r8k.flac", _speech(8000, 1.5), 8000)
    sf.write(clean / "silent.wav", np.zeros(SR * 2, np.float32), SR)  # its mixture's scores were NaN/garbage
    sf.write(clean / "short.wav", _speech(SR, 0.2), SR)  # PESQ nan, STOI 0
    (clean / "bad.wav").write_text("not audio")  # was a LibsndfileError traceback
    (clean / "notes.txt").write_text("ignored")
    noise = tmp_path / "noise"
    noise.mkdir()
    sf.write(noise / "quiet.wav", np.zeros(SR, np.float32), SR)  # a "5 dB" mixture at 140 dB SNR
    sf.write(noise / "n.wav", np.random.default_rng(0).standard_normal(800).astype(np.float32), SR)
    said = []
    mixtures = folder_mixtures(str(clean), str(noise), [5.0], 6.0, 0, log=said.append)
    assert sorted(m[3].split("/")[0] for m in mixtures) == ["r8k.flac", "stereo44.WAV"]
    assert all(len(m[0]) == int(1.5 * SR) and m[3].endswith("/n.wav") for m in mixtures)
    for name in ("silent.wav: it is silent", "short.wav: it is 0.20 s long", "bad.wav: cannot read it", "quiet.wav"):
        assert sum(name in s for s in said) == 1, (name, said)


def test_bench_enhance_big_folders_and_long_files(tmp_path):
    import numpy as np
    import soundfile as sf
    from wavegraph.benchmarks.enhance_data import load_folder

    for i in range(5):
        sf.write(tmp_path / f"{i}.wav", _speech(16000, 1.5), 16000)
    sf.write(tmp_path / "long.flac", np.tile(_speech(48000, 1.0), 60), 48000)  # a minute: only 2 s are read
    said = []
    got = load_folder(str(tmp_path), 2.0, "--clean", said.append, max_files=3)
    assert [p.name for p, _ in got] == ["0.wav", "2.wav", "4.wav"] and "3 of its 6 files" in said[0], said
    (long,) = load_folder(str(tmp_path / "long.flac"), 2.0, "--clean", said.append)
    assert long[1].shape == (32000,)
    import os
    import shutil

    odd = tmp_path / "odd"
    odd.mkdir()
    shutil.copy(tmp_path / "0.wav", odd / os.fsdecode(b"take \xe9.wav"))  # a Latin-1 name: was 'cannot read it'
    assert len(load_folder(str(odd), 2.0, "--clean", said.append)) == 1, said


def test_bench_enhance_unusable_input_is_exit_2_naming_the_fix(tmp_path, capsys):
    import numpy as np
    import pytest
    import soundfile as sf
    from wavegraph.benchmarks.enhance import main as bench

    (tmp_path / "empty").mkdir()
    assert bench(["--clean", str(tmp_path / "empty"), "--methods", "noisy"]) == 2
    assert "no audio files in it (.wav, .flac" in capsys.readouterr().err
    assert bench(["--clean", str(tmp_path / "nope"), "--methods", "noisy"]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    sf.write(tmp_path / "empty" / "silent.wav", np.zeros(16000, np.float32), 16000)
    assert bench(["--clean", str(tmp_path / "empty"), "--methods", "noisy"]) == 2
    assert "none of its 1 audio file(s) can be used" in capsys.readouterr().err
    for bad in (
        ["--per-snr", "0"],
        ["--seconds", "-1"],
        ["--snrs", "nan"],
        ["--noise", str(tmp_path)],
        ["--seed", "-1"],
        ["--epochs", "0"],  # read as the default 25
        ["--lr", "-1"],
        ["--lr", "nan"],
    ):
        with pytest.raises(SystemExit) as exit_:  # argparse: usage and the reason, exit 2 (--per-snr 0 crashed)
            bench([*bad, "--methods", "noisy"])
        assert exit_.value.code == 2, bad


# --- bench bci --data and train ssvep on odd recordings ------------------------------------------------------


def _ssvep_fif(path, rate=250.0, names=("O1", "Oz", "O2", "Cz"), kind="eeg", labels=None, duration=3.0, freqs=None):
    """A recording with 2 simulated SSVEP trials per frequency (3 s on, 1 s rest), one annotation per trial."""
    import mne
    import numpy as np

    freqs = freqs or (8.0, 10.0, 12.0, 15.0)
    rng = np.random.default_rng(0)
    n = len(freqs) * 2
    x = 5e-6 * rng.standard_normal((len(names), int((n * 4 + 2) * rate)))
    onsets = 1.0 + 4.0 * np.arange(n)
    for k, t in enumerate(onsets):
        i0, m = int(t * rate), int(3.0 * rate)
        x[:, i0 : i0 + m] += 3e-6 * np.sin(2 * np.pi * freqs[k % len(freqs)] * np.arange(m) / rate)
    raw = mne.io.RawArray(x, mne.create_info(list(names), rate, kind), verbose="error")
    descs = [labels[f] if labels else f"{f:g}" for f in (freqs[k % len(freqs)] for k in range(n))]
    raw.set_annotations(mne.Annotations(onsets, [duration] * n, descs))
    raw.save(path, overwrite=True, verbose="error")
    return str(path)


def _bci(capsys, data, *extra):
    from wavegraph.benchmarks.bci import main as bench_bci

    rc = bench_bci(["--data", data, "--windows", "1.0", "--png", data + ".png", *extra])
    return rc, capsys.readouterr()


def test_bench_bci_lsl_markers_without_duration_and_untyped_channels_just_work(tmp_path, capsys):
    # LSL / Timeflux markers carry no duration (each lasts to the next); misc-typed unnamed channels: every one
    data = _ssvep_fif(tmp_path / "lsl_raw.fif", names=("0", "1", "2"), kind="misc", duration=0.0)
    rc, out = _bci(capsys, data)
    assert rc == 0, out.err
    assert "8 segments, 3 ch at 250 Hz" in out.out, out.out  # was: no markers whose label is a frequency / no picks


def test_bench_bci_event_codes_words_and_a_single_class_are_refused_with_the_fix(tmp_path, capsys):
    import pytest

    codes = _ssvep_fif(tmp_path / "codes_raw.fif", labels={8.0: "1", 10.0: "2", 12.0: "3", 15.0: "4"})
    rc, out = _bci(capsys, codes)  # decoded as 1-4 Hz before: accuracy near chance, exit 0
    assert rc == 2 and "event codes" in out.err and "--marker 1=8" in out.err, out.err
    rc, out = _bci(capsys, codes, "--marker", "1=8", "--marker", "2=10", "--marker", "3=12", "--marker", "4=15")
    assert rc == 0 and "candidates [8.0, 10.0, 12.0, 15.0] Hz" in out.out, out.err
    words = _ssvep_fif(tmp_path / "words_raw.fif", labels={8.0: "left", 10.0: "right", 12.0: "up", 15.0: "down"})
    rc, out = _bci(capsys, words)
    assert rc == 2 and "'left' (2)" in out.err and "--marker LABEL=FREQ" in out.err, out.err
    one = _ssvep_fif(tmp_path / "one_raw.fif", freqs=(10.0,))
    rc, out = _bci(capsys, one)  # was "error: ITR needs at least 2 classes"
    assert rc == 2 and "one frequency (10 Hz)" in out.err and "--freqs" in out.err, out.err
    rc, out = _bci(capsys, one, "--freqs", "8", "10", "12")
    assert rc == 0, out.err
    for bad in (
        ["--freqs", "0", "10"],
        ["--threads", "0"],
        ["--line", "-50"],
        ["--only", "semi"],
    ):  # tracebacks, or ignored
        with pytest.raises(SystemExit) as exit_:
            _bci(capsys, one, *bad)
        assert exit_.value.code == 2, bad
    rc, out = _bci(capsys, one, "--freqs", "8", "10", "--line", "0")  # 0: no notch
    assert rc == 0, out.err


def test_bench_bci_trials_shorter_than_every_window(tmp_path, capsys):
    short = _ssvep_fif(tmp_path / "short_raw.fif", duration=0.3)
    rc, out = _bci(capsys, short)  # was exit 0 with a table of nan
    assert rc == 2 and "longest trial lasts 0.30 s" in out.err and "--windows 0.3" in out.err, out.err
    rc, out = _bci(capsys, short, "--windows", "0.25")  # --windows now reaches the --data part
    assert rc == 0 and "0.25" in out.out, out.err


def test_train_ssvep_refuses_what_it_cannot_learn_from(tmp_path, capsys):
    import pytest
    from wavegraph.benchmarks.train_ssvep import main as train
    from wavegraph.benchmarks.train_ssvep import recording_trials

    ok = _ssvep_fif(tmp_path / "ok_raw.fif", names=("0", "1", "2"), kind="misc", duration=0.0)
    x, y, _, fs, channels = recording_trials(ok, [8.0, 10.0, 12.0, 15.0], None, 1.0, 0.14, None, None, {}, shifts=5)
    assert channels == ["0", "1", "2"] and fs == 250.0  # misc channels: "No appropriate channels found" before
    assert len(x) > 8 and sorted(set(y.tolist())) == [0, 1, 2, 3]  # a marker without duration: to the next one
    out = str(tmp_path / "m.safetensors")
    for argv, says in (
        ([_ssvep_fif(tmp_path / "one_raw.fif", freqs=(10.0,)), "--freqs", "8", "10"], "name only 10 Hz"),
        ([_ssvep_fif(tmp_path / "short_raw.fif", duration=0.3), "--freqs", "8", "10"], "lasts less than"),
        ([ok, "--freqs", "8", "200"], "above Nyquist"),
    ):
        assert train([*argv, "--out", out]) == 2, argv  # trained a 1-class model / windows past the stimulus before
        assert says in capsys.readouterr().err, argv
    for bad in (
        ["--marker", "7.5"],
        ["--freqs", "8", "8", "10"],
        ["--freqs", "10"],
        ["--window", "0"],
        ["--threads", "0"],
        ["--seed", "-1"],
        ["--epochs", "0"],  # read as the default 25
        ["--lr", "-1"],
        ["--lr", "nan"],
    ):
        with pytest.raises(SystemExit) as exit_:  # tracebacks (--marker, --window 0) or silent nonsense before
            train([ok, "--freqs", "8", "10", *bad, "--out", out])
        assert exit_.value.code == 2, bad


# --- configs/speech_enhance_file.yaml on stereo / 48 kHz / short input ------------------------------------------


def test_mix_node_means_the_channels_streaming_equals_offline():
    import numpy as np
    import pytest
    from wavegraph.pipeline.registry import lookup
    from wavegraph.pipeline.spec import SpecError, signal_spec
    from wavegraph.pipeline.testing import assert_streaming_equivalent

    spec = signal_spec(48000, ["L", "R"], "audio", "float32", "a.u.")
    x = np.random.default_rng(0).standard_normal((2, 500)).astype(np.float32)
    y = assert_streaming_equivalent(lambda: lookup("mix")(), x, spec, rtol=1e-6, atol=1e-7)["out"]
    np.testing.assert_allclose(y, x.mean(axis=0, keepdims=True), rtol=1e-6)
    node = lookup("mix")(weights=[1.0, 0.0], name="left")
    out = node.configure({"in": spec})["out"]
    assert out.shape == (1,) and out.channel_names == ("left",) and out.dtype == "float32"
    mono = signal_spec(16000, ["ch0"], "audio", "float32", "a.u.")
    one = lookup("mix")()
    one.configure({"in": mono})
    from wavegraph.pipeline.chunk import Chunk

    np.testing.assert_array_equal(one.process({"in": Chunk(x[:1], 0.0)})["out"].data, x[:1])  # unchanged
    with pytest.raises(SpecError, match="3 weights for 2 channels"):
        lookup("mix")(weights=[1.0, 1.0, 1.0]).configure({"in": spec})


def test_file_enhance_graph_takes_stereo_48k_and_short_files(tmp_path):
    import numpy as np
    import soundfile as sf
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    graph_file = __import__("pathlib").Path(__file__).resolve().parents[1] / "configs" / "speech_enhance_file.yaml"
    speech = _speech(48000, 1.0)
    sf.write(tmp_path / "st48.wav", np.stack([speech, 0.5 * speech], 1), 48000)  # was: enhancer rejects 48 kHz
    sf.write(tmp_path / "short.wav", _speech(16000, 0.2), 16000)
    for name, seconds in (("st48", 1.0), ("short", 0.2)):
        sets = [f"src.path={tmp_path / name}.wav", f"rec.path={tmp_path / name}_out.wav", f"vad.path={tmp_path}/v.csv"]
        result = run_graph(build_graph(load_config(graph_file, sets)), in_process=True)
        assert result.exit_code == 0, result.failure
        y, rate = sf.read(tmp_path / f"{name}_out.wav", dtype="float32", always_2d=True)
        assert rate == 16000 and y.shape[1] == 1 and np.isfinite(y).all()
        assert abs(len(y) / rate - seconds) < 0.005, len(y)  # the input's duration (+ the resampler's filter tail)


def test_output_paths_of_run_and_describe_are_checked_before_anything_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GRAPH)
    (tmp_path / "file").write_text("")
    assert main(["run", "g.yaml", "--json", "file/r.json"]) == 2  # was a traceback after the run: summary lost
    assert "--json: cannot write file/r.json" in capsys.readouterr().err and not (tmp_path / "out_raw.fif").exists()
    assert main(["describe", "g.yaml", "--png", "file/g.png"]) == 2  # was a traceback
    assert main(["describe", "g.yaml", "--png", "new/g.png"]) == 0 and (tmp_path / "new" / "g.png").stat().st_size
    assert main(["run", "g.yaml", "--json", "runs/r.json"]) == 0 and (tmp_path / "runs" / "r.json").is_file()


def test_bench_bci_and_train_ssvep_read_a_labrecorder_xdf(tmp_path, capsys):
    """An XDF from LabRecorder (MNE-LSL, Timeflux): an EEG stream in microvolts starting at LSL time 1000 s and a
    string marker stream (no durations). Was 'Unsupported file type (.xdf)'."""
    import numpy as np
    from wavegraph.benchmarks.train_ssvep import recording_trials
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    rate, freqs = 250.0, (8.0, 10.0, 12.0, 15.0)
    n = len(freqs) * 2
    rng = np.random.default_rng(0)
    x = 5.0 * rng.standard_normal((int((n * 4 + 2) * rate), 3))  # microvolts
    onsets = 1.0 + 4.0 * np.arange(n)
    for k, t in enumerate(onsets):
        i0, m = int(t * rate), int(3.0 * rate)
        x[i0 : i0 + m] += 3.0 * np.sin(2 * np.pi * freqs[k % 4] * np.arange(m) / rate)[:, None]
    stamps = 1000.0 + np.arange(len(x)) / rate
    markers = [f"{freqs[k % 4]:g}Hz" for k in range(n)] + ["end"]
    path = write_xdf(
        tmp_path / "sub-01_ses-S001_task-ssvep_run-001_eeg.xdf",
        [
            XdfStream("amp", "EEG", rate, x, stamps, "float32", ["O1", "Oz", "O2"], "EEG", "microvolts"),
            XdfStream("stim", "Markers", 0.0, markers, [*(1000.0 + onsets), 1000.0 + n * 4], "string"),
        ],
    )
    rc, out = _bci(capsys, str(path))
    assert rc == 0 and "8 segments, 3 ch at 250 Hz" in out.out, out.err
    xs, y, _, fs, channels = recording_trials(str(path), list(freqs), None, 1.0, 0.14, None, None, {}, shifts=2)
    assert fs == rate and channels == ["O1", "Oz", "O2"] and sorted(set(y.tolist())) == [0, 1, 2, 3]
    assert 1e-6 < float(np.std(xs)) < 1e-4  # in volts, as MNE's formats


def test_bench_and_train_outputs_are_checked_before_they_run(tmp_path):
    import pytest
    from wavegraph.benchmarks.bci import main as bench_bci
    from wavegraph.benchmarks.enhance import main as bench_enhance
    from wavegraph.benchmarks.train_ssvep import main as train

    (tmp_path / "file").write_text("")
    bad = str(tmp_path / "file" / "x")  # a file as the folder: tracebacks after minutes of work before
    data = _ssvep_fif(tmp_path / "ok_raw.fif")
    for run, argv in (
        (train, [data, "--freqs", "8", "10", "--out", bad]),
        (bench_bci, ["--data", data, "--png", bad]),
        (bench_bci, ["--data", data, "--json", bad, "--png", str(tmp_path / "p.png")]),
        (bench_enhance, ["--clean", str(tmp_path), "--json", bad]),
    ):
        with pytest.raises(SystemExit) as exit_:
            run(argv)
        assert exit_.value.code == 2, argv


def test_a_recorder_may_not_overwrite_the_file_its_graph_reads(tmp_path, monkeypatch, capsys):
    import numpy as np
    import soundfile as sf

    monkeypatch.chdir(tmp_path)
    sf.write(tmp_path / "take.wav", _speech(16000, 0.5), 16000)
    before = (tmp_path / "take.wav").read_bytes()
    graph_file = __import__("pathlib").Path(__file__).resolve().parents[1] / "configs" / "speech_enhance_file.yaml"
    sets = ["--set", "src.path=take.wav", "--set", f"rec.path={tmp_path}/./take.wav", "--set", "vad.path=v.csv"]
    assert main(["run", str(graph_file), "--in-process", *sets]) == 2  # overwrite: true replaced the input before
    assert "the file node 'src' reads" in capsys.readouterr().err
    assert (tmp_path / "take.wav").read_bytes() == before and np.isfinite(sf.read(tmp_path / "take.wav")[0]).all()


def test_bench_bci_epochs_with_a_pre_roll_are_decoded_from_their_event(tmp_path, capsys):
    import mne

    raw_path = _ssvep_fif(tmp_path / "w_raw.fif", labels={8.0: "s/a", 10.0: "s/b", 12.0: "s/c", 15.0: "s/d"})
    raw = mne.io.read_raw(raw_path, preload=True, verbose="error")
    events, ids = mne.events_from_annotations(raw, verbose="error")
    epochs = mne.Epochs(raw, events, ids, tmin=-0.5, tmax=3.0, baseline=None, preload=True, verbose="error")
    epochs.save(tmp_path / "w-epo.fif", verbose="error")
    marks = ["--marker", "s/a=8", "--marker", "s/b=10", "--marker", "s/c=12", "--marker", "s/d=15"]
    tables = []
    for data in (raw_path, str(tmp_path / "w-epo.fif")):
        rc, out = _bci(capsys, data, *marks)
        assert rc == 0, out.err
        tables.append(out.out[out.out.index("window s") :].split("\n")[1])
    assert tables[0].split()[:3] == tables[1].split()[:3], tables  # the epochs decoded 0.5 s of pre-roll before


def test_a_misspelled_bench_command_suggests_the_close_one(capsys):
    assert main(["bench", "enhanc"]) == 2
    assert "did you mean 'enhance'?" in capsys.readouterr().err


def test_yaml_anchors_in_x_keys_and_a_closed_pipe(tmp_path, monkeypatch, capsys):
    import subprocess
    import sys

    text = "x-band: &band {l_freq: 1.0, h_freq: 40.0}\n" + GRAPH.replace("{l_freq: 1.0, h_freq: 40.0}", "*band")
    assert validate(tmp_path, monkeypatch, capsys, text) == []  # was: unknown top-level key 'x-band'
    proc = subprocess.Popen(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "nodes"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    proc.stdout.close()  # `wavegraph nodes | head -0`: the reader is gone before the first line
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141 and b"Traceback" not in err, err.decode()


def test_bench_enhance_without_its_metrics_says_which_extra(tmp_path, capsys, monkeypatch):
    import sys

    import soundfile as sf
    from wavegraph.benchmarks.enhance import main as bench

    sf.write(tmp_path / "a.wav", _speech(16000, 1.5), 16000)
    monkeypatch.setitem(sys.modules, "pesq", None)  # as in a venv without the enhance extra
    assert bench(["--clean", str(tmp_path), "--methods", "noisy", "--png", str(tmp_path / "p.png")]) == 2
    assert "the metrics need pesq" in capsys.readouterr().err  # was an ImportError traceback after every method ran


def test_bench_bci_reads_a_trigger_channel_when_there_are_no_annotations(tmp_path, capsys):
    import mne
    import numpy as np

    raw = mne.io.read_raw(_ssvep_fif(tmp_path / "a_raw.fif"), preload=True, verbose="error")
    stim = np.zeros((1, raw.n_times))
    anns = raw.annotations  # a 1-sample pulse per trial, code 1-4 (an amplifier's trigger input)
    for onset, desc in zip(anns.onset, anns.description):
        stim[0, int(round(onset * raw.info["sfreq"]))] = 1 + [8, 10, 12, 15].index(int(desc))
    raw.add_channels([mne.io.RawArray(stim, mne.create_info(["STI"], raw.info["sfreq"], "stim"), verbose="error")])
    raw.set_annotations(None)
    raw.save(tmp_path / "trig_raw.fif", verbose="error")
    marks = ["--marker", "1=8", "--marker", "2=10", "--marker", "3=12", "--marker", "4=15"]
    rc, out = _bci(capsys, str(tmp_path / "trig_raw.fif"), *marks)  # was: no markers ('its markers: none')
    assert rc == 0 and "8 segments, 3 ch" in out.out, out.err  # O1 Oz O2; not the trigger


def test_run_lists_every_problem_too(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(
        GRAPH.replace("name: t", "name: t\nfoo: 1").replace("l_freq: 1.0", "l_freq: 100.0")
    )
    assert main(["run", "g.yaml"]) == 2
    err = capsys.readouterr().err
    assert "unknown top-level key 'foo'" in err and "l_freq 100 Hz must be below h_freq" in err, err


def test_a_trigger_channel_gives_training_the_markers_file_source_replays(tmp_path):
    """bench bci / train ssvep read a trigger channel as file_source does (each rise, a value already there at the
    first sample included): they missed a trigger at sample 0 and took a step down to a non-zero code as one."""
    import mne
    import numpy as np
    from wavegraph.benchmarks.ssvep_recording import read_recording
    from wavegraph.nodes.io.file_source import FileSource

    stim = np.zeros(2500)
    stim[0:20], stim[500:520], stim[520:540], stim[1000:1020] = 3, 5, 2, 7
    data = np.vstack([np.random.default_rng(0).normal(size=(2, 2500)) * 1e-6, stim])
    path = tmp_path / "t_raw.fif"
    info = mne.create_info(["a", "b", "STI"], 250.0, ["eeg", "eeg", "stim"])  # pyright: ignore[reportArgumentType]
    mne.io.RawArray(data, info, verbose="error").save(path, verbose="error")
    raw, _ = read_recording(str(path))
    src = FileSource(path=str(path), stim_channel="STI")
    src.configure({})
    replayed = [(int(r[0]), str(int(r[3]))) for r in src._events]
    notes = raw.annotations
    assert notes is not None
    assert [(round(float(t) * 250.0), str(d)) for t, d in zip(notes.onset, notes.description, strict=True)] == replayed
    assert replayed == [(0, "3"), (500, "5"), (1000, "7")]
