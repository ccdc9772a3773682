"""Broken and unusual inputs a new user brings to the speech graphs, the CLI and replays (a third sweep: audio file
variants, --set values and parameter hints, non-integer rates, batch folders). Each test failed before its fix."""

from __future__ import annotations

import logging
import os
import struct

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly
from test_cli_hostile import validate  # pyright: ignore[reportMissingImports]
from test_io_hostile import replay  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.dsp.resample import Resample
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline import batch
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.graph import build_graph, make_node
from wavegraph.pipeline.spec import SpecError, signal_spec


def _speech_like(n: int, rate: float) -> np.ndarray:
    t = np.arange(n) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * np.random.default_rng(3).standard_normal(n)).astype("float32")


@pytest.mark.parametrize(("fmt", "subtype", "name"), [("WAV", "GSM610", "call.wav"), ("AU", "G721_32", "call.au")])
def test_a_telephone_codec_file_that_cannot_seek_replays_whole(tmp_path, fmt, subtype, name):
    """Before: 'OSError: file_source: reading samples 0..4480 of call.wav failed: LibsndfileError: Seek attempted on
    unseekable file type.' with a traceback, for a GSM 6.10 WAV (or G.721 AU), at the first read."""
    sf.write(tmp_path / name, _speech_like(4000, 8000.0), 8000, format=fmt, subtype=subtype)
    whole = sf.read(tmp_path / name, dtype="float32", always_2d=True)[0].T
    _, y, _ = replay(tmp_path / name, chunk_size=300)
    np.testing.assert_array_equal(y, whole)
    src = FileSource(path=str(tmp_path / name), chunk_size=300)
    src.configure({})
    first = [src.read()["out"].data for _ in range(3)]  # pyright: ignore[reportOptionalSubscript]
    src.load_state_dict({"position": 0})  # rewound (a runner restarting the replay): read from the start again
    again = [src.read()["out"].data for _ in range(3)]  # pyright: ignore[reportOptionalSubscript]
    src.close()
    np.testing.assert_array_equal(np.concatenate(again, 1), np.concatenate(first, 1))


def test_a_wav_cut_short_says_how_much_it_holds(tmp_path, caplog):
    """Before: libsndfile read the 3993 of 8000 frames that a cut copy holds without a word (as the EDF and FLAC
    checks say theirs); a streaming writer's 'unknown size' (0xFFFFFFFF) is not a cut."""
    sf.write(tmp_path / "whole.wav", _speech_like(8000, 16000.0), 16000, subtype="PCM_24")
    data = (tmp_path / "whole.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: 44 + 3993 * 3])
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, y, _ = replay(tmp_path / "cut.wav")
    assert y.shape == (1, 3993)
    np.testing.assert_array_equal(y, replay(tmp_path / "whole.wav")[1][:, :3993])
    assert "cut.wav is truncated: its header gives 24000 bytes of samples, the file holds 11979" in caplog.text
    assert "replaying the 3993 frames (0.249562 s)" in caplog.text
    caplog.clear()
    at = data.index(b"data") + 4
    for unknown in (0xFFFFFFFF, 0x7FFFFFFF):  # ffmpeg's and arecord's placeholder for a stream of unknown length
        (tmp_path / "live.wav").write_bytes(data[:at] + struct.pack("<I", unknown) + data[at + 4 :])
        with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
            assert replay(tmp_path / "live.wav")[1].shape == (1, 8000)
    assert "truncated" not in caplog.text


def test_a_recording_saved_under_a_wav_name_says_what_it_holds(edf_path, tmp_path):
    """Before: an EDF (or FIF) named .wav got libsndfile's 'Format not recognised' and 'the file is damaged, cut short
    or not audio: ffmpeg decodes what it can' (an EDF named .fif, or a WAV named .edf, was already told apart)."""
    (tmp_path / "S001R02.wav").write_bytes(edf_path.read_bytes())
    with pytest.raises(SpecError) as e:
        FileSource(path=str(tmp_path / "S001R02.wav")).configure({})
    assert "its first bytes say EDF, its name does not" in e.value.message
    assert (
        e.value.hint
        == f"give it the EDF suffix its readers go by, e.g. cp {tmp_path}/S001R02.wav {tmp_path}/S001R02.edf"
    )


GRAPH = """\
nodes:
  - {id: src, type: file_source, params: {path: in.wav}}
  - {id: rec, type: recorder, params: {path: out.wav}}
edges:
  - {source: src.out, target: rec.in}
"""


def test_a_hash_in_a_set_value_is_part_of_it_not_a_comment(tmp_path):
    """docs/speech.md's folder loop (--set src.path="$f" --set rec.path="enhanced/...") on 'take #2.wav': YAML read
    ' #2.wav' as a comment, so the graph read 'take' and, for 'take.wav #2.wav', wrote take.wav without a word."""
    (tmp_path / "g.yaml").write_text(GRAPH)
    config = load_config(tmp_path / "g.yaml", ["src.path=in/take #2.wav", "rec.path=#1 out.wav"])
    assert [n.params["path"] for n in config.nodes] == ["in/take #2.wav", "#1 out.wav"]
    assert load_config(tmp_path / "g.yaml", ['rec.path="a #b.wav"']).nodes[1].params["path"] == "a #b.wav"
    assert load_config(tmp_path / "g.yaml", ["rec.path=a#b.wav"]).nodes[1].params["path"] == "a#b.wav"
    with pytest.raises(GraphError) as e:  # a number or a list with a comment: said, not read without it
        load_config(tmp_path / "g.yaml", ["src.chunk_size=32 #ms"])
    assert "holds '#' after a space, which YAML reads as the start of a comment" in e.value.lines()[0]


def test_set_with_spaces_around_the_names_or_params_spelled_out(tmp_path):
    """`--set "src.chunk_size = 64"` said "unknown parameter 'chunk_size '; fix: did you mean 'chunk_size'?" (an
    invisible space); `--set src.params.chunk_size=64` (the file's nesting) "unknown parameter 'params.chunk_size'"."""
    (tmp_path / "g.yaml").write_text(GRAPH)
    config = load_config(
        tmp_path / "g.yaml", ["src.chunk_size = 64", " rec . overwrite=true", "src.params.dtype=float64"]
    )
    assert config.nodes[0].params == {"path": "in.wav", "chunk_size": 64, "dtype": "float64"}
    assert config.nodes[1].params == {"path": "out.wav", "overwrite": True}


def test_a_text_parameter_takes_a_set_value_as_typed(tmp_path):
    """The folder loop on 'Interview: part 1.wav' or '- take.wav': YAML read a mapping or a list ('parameter 'path' =
    {'Interview': 'part 1.wav'}: Input should be a valid string; fix: give a str'); `--set rec.subject=01` read the
    number 1 (README quotes it: '"01"'). A text parameter now takes the text as typed; null is still None."""
    (tmp_path / "g.yaml").write_text(GRAPH)
    sf.write(tmp_path / "Interview: part 1.wav", _speech_like(800, 8000.0), 8000)
    sets = [f"src.path={tmp_path}/Interview: part 1.wav", "rec.path=- out.wav", "rec.subject=01", "rec.task=null"]
    config = load_config(tmp_path / "g.yaml", sets)
    src, rec = (make_node(nc, config.file).params for nc in config.nodes)
    assert (src.path, rec.path, rec.subject, rec.task) == (f"{tmp_path}/Interview: part 1.wav", "- out.wav", "01", None)
    with pytest.raises(GraphError) as e:  # not YAML at all: the fix is the quoted option, ready to paste (was generic)
        load_config(tmp_path / "g.yaml", ["rec.path=[2024-01-01] it's.wav"])
    assert e.value.lines()[0].endswith("""fix: quote it: --set 'rec.path="[2024-01-01] it'"'"'s.wav"'""")


def test_parameter_hints_say_the_bound_or_the_finite_number(tmp_path, monkeypatch, capsys):
    """Before: 'order' = 100 got 'fix: give an int' (it is one: the bound was the problem); `l_freq: nan` (no quotes)
    got 'write a number without quotes'."""
    lines = validate(
        tmp_path,
        monkeypatch,
        capsys,
        """\
        nodes:
          - {id: src, type: sine, params: {rate: -250, duration: 1}}
          - {id: bp, type: bandpass, params: {l_freq: nan, h_freq: 40, order: 100}}
          - {id: rec, type: recorder, params: {path: out.csv}}
        edges:
          - {source: src.out, target: bp.in}
          - {source: bp.out, target: rec.in}
        """,
    )
    assert lines[0].endswith("Input should be greater than 0; fix: give rate > 0"), lines
    assert "'l_freq' = 'nan' is text, not a number; fix: give a finite number (NaN and infinity" in lines[1]
    assert lines[2].endswith("fix: give order >= 1 and <= 20"), lines


def test_a_speaker_prefill_that_would_never_start_is_refused():
    """Before: audio_output took prefill: 1e9 (seconds buffered before playback starts): a live stream never played."""
    from wavegraph.nodes.io.audio import AudioOutput

    with pytest.raises(ValueError, match="less than or equal to 10"):
        AudioOutput(prefill=1e9)
    assert AudioOutput(prefill=2.0).params.prefill == 2.0


def test_yaml_file_mistakes_get_their_own_fix(tmp_path):
    """Before: a duplicate key and a second document ('---') both got 'fix: fix the YAML syntax'; a UTF-16 file
    (Windows Notepad's 'Unicode', PowerShell's `>`) got 'not UTF-8 text (byte 0: 0xff)'."""

    def first(text: str | bytes) -> str:
        (tmp_path / "g.yaml").write_bytes(text if isinstance(text, bytes) else text.encode())
        with pytest.raises(GraphError) as e:
            load_config(tmp_path / "g.yaml")
        return e.value.lines()[0]

    line = first("nodes:\n  - {id: src, type: sine, params: {rate: 250, rate: 500}}\nedges: []\n")
    assert line.endswith("duplicate key 'rate' (first at line 2); fix: write each key once: remove one of the two")
    assert first(GRAPH + "---\n" + GRAPH).endswith(
        "fix: a graph file is one YAML document: remove the '---' line and what follows, or give it a file of its own"
    )
    assert first(GRAPH.encode("utf-16")).endswith("g.yaml:1: the file is UTF-16 text, not UTF-8; fix: save it as UTF-8")


def test_a_recorder_may_not_overwrite_a_hard_link_to_the_file_its_graph_reads(tmp_path):
    """Before: rec.path a hard link to src.path (same file, another name; `cp -al` backups, some sync tools) passed the
    same-path check, and the enhanced output replaced the input (overwrite: true, as speech_enhance_file.yaml has)."""
    sf.write(tmp_path / "in.wav", _speech_like(800, 8000.0), 8000)
    os.link(tmp_path / "in.wav", tmp_path / "out.wav")
    (tmp_path / "g.yaml").write_text(GRAPH)
    sets = [f"src.path={tmp_path / 'in.wav'}", f"rec.path={tmp_path / 'out.wav'}", "rec.overwrite=true"]
    with pytest.raises(GraphError) as e:
        build_graph(load_config(tmp_path / "g.yaml", sets))
    assert f"node 'rec' would write {tmp_path / 'out.wav'}, the file node 'src' reads" in e.value.lines()[0]


@pytest.mark.parametrize("rate", [1 / np.median(np.diff(np.arange(2500) / 250)), 1000 / 3])
def test_a_rate_off_by_float_rounding_resamples_at_its_simple_ratio(rate):
    """A rate computed from time stamps (1 / median(diff(t)) = 249.99999999999977) or 1000/3 Hz. Before: 'resampling
    250 -> 100 Hz needs up/down = 10000000000000000/24999999999999977, above max_factor 1000' (the fix, raising
    max_factor, cannot work)."""
    node = Resample(rate=100.0)
    spec = node.configure({"in": signal_spec(rate, ["C3"])})["out"]
    up, down = (2, 5) if round(rate) == 250 else (3, 10)
    assert (node.up, node.down, spec.rate) == (up, down, 100.0)
    x = np.random.default_rng(0).standard_normal((1, 3000))
    y = np.concatenate([node.process({"in": Chunk(x, 0.0)})["out"].data, node.finish()["out"].data], axis=1)
    np.testing.assert_allclose(
        y[:, node.out_delay : node.out_delay + 3000 * up // down], resample_poly(x, up, down, axis=1)
    )
    with pytest.raises(SpecError, match="up/down = 16000000/16000001"):  # a true rate mismatch is still one
        Resample(rate=16000.0).configure({"in": signal_spec(16000.001, ["ch0"])})


def test_the_enhancer_and_an_identity_resample_take_16_khz_from_time_stamps():
    """1 / median(diff(t)) of a 10 min, 16 kHz time vector is 15999.999996740371 (of 1 s: 16000.000000001763).
    Before: 'enhancer runs at 16000 Hz, the input is 16000 Hz', and resample refused its 1/1 ratio."""
    from wavegraph.nodes.models.enhancer import EnhancerNode

    for rate in (
        1 / np.median(np.diff(np.arange(16000 * 600) / 16000)),
        1 / np.median(np.diff(np.arange(16000) / 16000)),
    ):
        node = Resample(rate=16000.0)
        spec = node.configure({"in": signal_spec(rate, ["ch0"], "audio", "float32", "a.u.")})["out"]
        assert (node.up, node.down, spec.rate) == (1, 1, 16000.0)
        EnhancerNode().configure({"in": signal_spec(rate, ["ch0"], "audio", "float32", "a.u.")})
    with pytest.raises(SpecError, match="the input is 16000.0001 Hz"):
        EnhancerNode().configure({"in": signal_spec(16000.0001, ["ch0"], "audio", "float32", "a.u.")})


def test_batch_with_out_as_the_input_folder_says_so(tmp_path, capsys):
    """Before: `wavegraph batch g.yaml --inputs 'recs/*.wav' --out recs` said 'no file matches --inputs' for files
    that are there (they were all left out as outputs of the batch, in --out)."""
    (tmp_path / "g.yaml").write_text(GRAPH)
    (tmp_path / "recs").mkdir()
    sf.write(tmp_path / "recs" / "a.wav", _speech_like(800, 8000.0), 8000)
    pattern, out = str(tmp_path / "recs" / "*.wav"), str(tmp_path / "recs")
    assert batch.main([str(tmp_path / "g.yaml"), "--inputs", pattern, "--out", out]) == 2
    err = capsys.readouterr().err
    assert f"every file --inputs {pattern!r} matches lies in --out {out}, where the batch writes" in err
    assert f"fix: give --out a folder outside the inputs, e.g. --out {tmp_path / 'recs_out'}" in err
    assert batch.main([str(tmp_path / "g.yaml"), "--inputs", str(tmp_path / "none" / "*.wav"), "--out", out]) == 2
    assert "no file matches" in capsys.readouterr().err


def test_batch_folder_inputs_and_unwritable_outputs_are_said_before_it_runs(tmp_path, capsys):
    """Before: `--inputs recs` (a folder) said 'no file matches'; `--out` naming a file failed every input with
    'NotADirectoryError'; `--json` naming a folder ran the whole batch, then ended in an IsADirectoryError traceback."""
    (tmp_path / "g.yaml").write_text(GRAPH)
    (tmp_path / "recs" / "day1").mkdir(parents=True)
    sf.write(tmp_path / "recs" / "day1" / "a.wav", _speech_like(800, 8000.0), 8000)
    graph, recs, out = str(tmp_path / "g.yaml"), str(tmp_path / "recs"), str(tmp_path / "out")
    assert batch.main([graph, "--inputs", recs, "--out", out]) == 2
    err = capsys.readouterr().err
    assert f"--inputs {recs} is a folder; fix: give a pattern of the files in it" in err
    assert err.strip().endswith(f"e.g. --inputs '{recs}/**/*.wav'")
    assert batch.main([graph, "--inputs", f"{recs}/**/*.wav", "--out", f"{recs}/day1/a.wav"]) == 2
    err = capsys.readouterr().err
    assert f"--out {recs}/day1/a.wav: cannot make the output folder (it is a file); fix: give a folder" in err
    assert batch.main([graph, "--inputs", f"{recs}/**/*.wav", "--out", out, "--json", recs]) == 2
    assert f"--json {recs}: cannot write it (it is a folder)" in capsys.readouterr().err
    assert not (tmp_path / "out" / "a").exists()  # nothing ran


def test_plot_names_the_file_it_writes_and_says_nothing_else_for_silence_nan_or_one_sample(tmp_path, capsys):
    """Before: `plot rec.wav -o pics/rec` printed 'pics/rec' (matplotlib wrote pics/rec.png), `-o pics/` (a folder)
    wrote pics.png, `-o rec.txt` drew the picture and then failed as 'cannot plot rec.wav'; a silent, a one-sample
    or a NaN recording printed 2 to 8 lines of numpy/matplotlib warnings (divide by zero in log10, ...)."""
    import warnings

    from wavegraph.nodes.io.plot import main as plot_main

    x = _speech_like(4000, 8000.0)
    x[100:200] = np.nan
    sf.write(tmp_path / "nan.wav", x, 8000, subtype="FLOAT")
    sf.write(tmp_path / "silent.wav", np.zeros((4000, 2)), 8000)
    sf.write(tmp_path / "one.wav", np.full(1, 0.1), 8000)
    (tmp_path / "pics").mkdir()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        for name in ("nan.wav", "silent.wav", "one.wav"):
            assert plot_main([str(tmp_path / name), "-o", str(tmp_path / "pics")]) == 0
    assert not [str(w.message) for w in said]
    assert capsys.readouterr().out.split() == [
        str(tmp_path / "pics" / f"{n}.wav.png") for n in ("nan", "silent", "one")
    ]
    assert plot_main([str(tmp_path / "one.wav"), "-o", str(tmp_path / "pics" / "first")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "pics" / "first.png")
    assert (tmp_path / "pics" / "first.png").is_file()
    assert plot_main([str(tmp_path / "one.wav"), "-o", str(tmp_path / "one.txt")]) == 2
    assert ".txt is not a picture format" in capsys.readouterr().err


def test_a_yaml_merge_key_may_be_overridden_as_yaml_says(tmp_path):
    """`params: {<<: *filter_defaults, order: 2}` (shared defaults, one changed). Before: 'invalid YAML: duplicate key
    'order' (first at line 1)': the merged keys were counted as written twice; two written keys still are."""
    (tmp_path / "g.yaml").write_text(
        "x-defaults: &d {order: 4, design: butter}\n"
        "nodes:\n"
        "  - {id: src, type: sine, params: {rate: 250, duration: 1}}\n"
        "  - {id: bp, type: bandpass, params: {<<: *d, l_freq: 2, h_freq: 30, order: 2}}\n"
        "  - {id: rec, type: recorder, params: {path: out.csv}}\n"
        "edges: [{source: src.out, target: bp.in}, {source: bp.out, target: rec.in}]\n"
    )
    params = load_config(tmp_path / "g.yaml").nodes[1].params
    assert params == {"order": 2, "design": "butter", "l_freq": 2, "h_freq": 30}
    (tmp_path / "g.yaml").write_text((tmp_path / "g.yaml").read_text().replace("order: 2", "order: 2, order: 3"))
    with pytest.raises(GraphError) as e:
        load_config(tmp_path / "g.yaml")
    assert "g.yaml:4: invalid YAML: duplicate key 'order' (first at line 4)" in e.value.lines()[0]


def test_a_float_wav_of_integer_sample_values_is_said_once(tmp_path, caplog):
    """scipy.io.wavfile.write of a float copy of int16 samples (peaks of ~10,000): the enhancer took it for a signal
    90 dB too loud and wrote 99.99 % of its output at full scale, unsaid. A float WAV within +-1 says nothing."""
    x = _speech_like(16000, 16000.0)
    sf.write(tmp_path / "scaled.wav", x * 32767, 16000, subtype="FLOAT")
    sf.write(tmp_path / "plain.wav", x, 16000, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        _, y, _ = replay(tmp_path / "scaled.wav", chunk_size=1600)
        np.testing.assert_array_equal(y[0], x * np.float32(32767))  # as they are: only said
        replay(tmp_path / "plain.wav")
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "scaled.wav holds float samples up to 1" in said[0]
    assert said[0].endswith("scale them, e.g. a gain node with db: -90.31 (1/32768) after the source")


@pytest.mark.parametrize("name", ["rec.wav", "rec.flac", "rec.edf", "rec.bdf"])
def test_a_whole_rate_off_by_float_rounding_is_recorded_at_that_rate(tmp_path, name):
    """A stream at 1 / median(diff(t)) = 249.99999999999977 Hz (array_source from a time vector). Before: 'WAV needs a
    whole-number sample rate, the stream has 250 Hz' (and EDF's samples per record would have been int() = 249)."""
    from test_io_hostile import eeg_spec, record  # pyright: ignore[reportMissingImports]

    rate = 1 / np.median(np.diff(np.arange(2500) / 250))
    x = np.random.default_rng(4).uniform(-0.5, 0.5, (2, 500)) * (1e-4 if name.endswith("df") else 1)
    record(tmp_path / name, x, eeg_spec(2, rate, kind="eeg" if name.endswith("df") else "audio"))
    specs, y, _ = replay(tmp_path / name)
    assert specs["out"].rate == 250.0 and y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=2e-4 * np.abs(x).max())
    with pytest.raises(SpecError, match="250.0000003 Hz"):  # a rate no file of the format holds is still refused
        Recorder(path=str(tmp_path / ("again_" + name))).configure({"in": eeg_spec(2, 250.0000003)})


def test_a_folder_given_as_the_graph_names_its_graph_files(tmp_path):
    """`wavegraph run configs/` (tab completion stopped at the folder). Before: 'cannot read graph file: Is a
    directory; fix: check the path'."""
    (tmp_path / "b.yaml").write_text(GRAPH)
    (tmp_path / "a.yml").write_text(GRAPH)
    with pytest.raises(GraphError) as e:
        load_config(tmp_path)
    assert e.value.lines() == [
        f"{tmp_path}: is a folder, not a graph file; fix: give one of its graph files: "
        f"{tmp_path / 'a.yml'}, {tmp_path / 'b.yaml'}"
    ]


def test_a_file_no_reader_takes_is_one_line(tmp_path, monkeypatch, capsys):
    """A .bin file (an amplifier's raw dump): MNE's error lists its candidate readers on three lines, which `wavegraph
    validate` printed as three, the middle ones without file, line or fix."""
    (tmp_path / "rec.bin").write_bytes(np.random.default_rng(1).bytes(1000))
    graph = GRAPH.replace("in.wav", "rec.bin").replace("out.wav", "out.npz")
    lines = validate(tmp_path, monkeypatch, capsys, graph)
    assert len(lines) == 1 and "mne.io.read_raw_artemis123" in lines[0] and "; fix: supported formats: " in lines[0]


def test_a_node_type_in_capitals_or_as_its_class_name_gets_the_name_to_write():
    """`type: BANDPASS`, `type: FileSource` (the class name, as in the Python docs). Before: no suggestion ('run
    `wavegraph nodes` to list the types'); 'Bandpass' already got one."""
    from wavegraph.pipeline.registry import UnknownNodeType, lookup

    for typed, meant in (("BANDPASS", "bandpass"), ("FileSource", "file_source"), ("LSL_INLET", "lsl_inlet")):
        with pytest.raises(UnknownNodeType) as e:
            lookup(typed)
        assert e.value.suggestion == meant


def test_a_finished_empty_wav_with_tags_after_its_data_is_empty(tmp_path, caplog):
    """ffmpeg's WAV of nothing: a data chunk of 0 bytes, then its LIST of tags. Before: read as a killed writer's file
    ('its writer never finished it; reading the 17 frames that follow its header'): the tags replayed as samples."""
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    tags = b"LIST" + struct.pack("<I", 26) + b"INFOISFT" + struct.pack("<I", 14) + b"Lavf58.76.100\x00"
    body = b"WAVE" + fmt + b"data" + struct.pack("<I", 0) + tags
    (tmp_path / "nothing.wav").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with caplog.at_level(logging.WARNING, "wavegraph.file_source"):
        src = FileSource(path=str(tmp_path / "nothing.wav"))
        src.configure({})
    assert src.n_times == 0 and src.read() is None
    src.close()
    assert "nothing.wav holds no samples" in caplog.text and "never finished" not in caplog.text


@pytest.mark.parametrize("name", ["stream", "stream.wav"])
def test_a_named_pipe_is_refused_at_once(tmp_path, name):
    """`mkfifo stream; wavegraph run ... --set src.path=stream` (or /dev/stdin with a WAV piped in). Before: validate
    waited for ever (the format check opened the pipe, which waits for a writer); /dev/stdin was read as
    'Unsupported file type ()' (its first bytes eaten by that check)."""
    import threading

    os.mkfifo(tmp_path / name)
    said: list[BaseException] = []

    def configure():
        try:
            FileSource(path=str(tmp_path / name)).configure({})
        except BaseException as e:  # noqa: BLE001 — kept for the assertions below
            said.append(e)

    worker = threading.Thread(target=configure, daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():  # release the blocked open() before failing
        os.close(os.open(tmp_path / name, os.O_WRONLY | os.O_NONBLOCK))
    assert not worker.is_alive() and isinstance(said[0], SpecError)
    assert said[0].message == f"file_source: {tmp_path / name} is a pipe or a device, not a file"
