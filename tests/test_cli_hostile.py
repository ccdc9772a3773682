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


def test_tab_indent_says_so(tmp_path, monkeypatch, capsys):
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("    type: bandpass", "\ttype: bandpass"))
    assert err[0].startswith("g.yaml:7: invalid YAML") and "fix: indent with spaces" in err[0], err


def test_a_chunk_too_big_to_allocate_is_refused_at_build(tmp_path, monkeypatch, capsys):
    text = GRAPH.replace("chunk_size: 25, duration: 1.0", "chunk_size: 1000000000, duration: null")
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert err and "exceed 1 GiB" in err[0] and "chunk_size: 25" in err[0], err
    # a chunk longer than a finite recording is one chunk of the whole recording: valid
    assert validate(tmp_path, monkeypatch, capsys, GRAPH.replace("chunk_size: 25", "chunk_size: 10000000000")) == []


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
    from wavegraph.benchmarks.enhance import SR, folder_mixtures

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


def test_bench_enhance_unusable_input_is_exit_2_naming_the_fix(tmp_path, capsys):
    import numpy as np
    import pytest
    import soundfile as sf
    from wavegraph.benchmarks.enhance import main as bench

    (tmp_path / "empty").mkdir()
    assert bench(["--clean", str(tmp_path / "empty"), "--methods", "noisy"]) == 2
    assert "no .wav or .flac files in it" in capsys.readouterr().err
    assert bench(["--clean", str(tmp_path / "nope"), "--methods", "noisy"]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    sf.write(tmp_path / "empty" / "silent.wav", np.zeros(16000, np.float32), 16000)
    assert bench(["--clean", str(tmp_path / "empty"), "--methods", "noisy"]) == 2
    assert "none of its 1 audio file(s) can be used" in capsys.readouterr().err
    for bad in (["--per-snr", "0"], ["--seconds", "-1"], ["--snrs", "nan"], ["--noise", str(tmp_path)]):
        with pytest.raises(SystemExit) as exit_:  # argparse: usage and the reason, exit 2 (--per-snr 0 crashed)
            bench([*bad, "--methods", "noisy"])
        assert exit_.value.code == 2, bad
