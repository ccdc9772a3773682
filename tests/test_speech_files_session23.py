"""A user enhancing their own recordings with configs/speech_enhance_file.yaml and scoring a folder with
`wavegraph bench enhance --clean DIR` (docs/speech.md, "Enhancing a recording, and a folder"): helper-151's
session 23 findings."""

import pytest
from wavegraph.pipeline.spec import SpecError

_AMR = b"#!AMR\n" + bytes(200)
_3GP = b"\x00\x00\x00\x18ftyp3gp4" + bytes(200)
_WEBM = bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d") + bytes(200)


@pytest.mark.parametrize(
    "name, data, said",
    [
        ("voice memo.amr", _AMR, ".amr audio"),
        ("call.3gp", _3GP, ".3gp audio"),
        ("browser take.webm", _WEBM, ".webm audio"),
        ("meeting.mka", _WEBM, ".mka audio"),
        ("browser take.wav", _WEBM, "WebM"),  # renamed: libsndfile's 'Format not recognised', 'damaged' before
        ("voice memo", _AMR, "holds AMR"),  # no suffix (a phone's export): by its first bytes
        ("call.dat", _3GP, "holds MP4"),
    ],
)
def test_a_phone_or_browser_recording_libsndfile_cannot_read_is_told_how_to_convert(tmp_path, name, data, said):
    """docs/speech.md: audio libsndfile does not read is refused 'by what it holds, whatever its name (... AMR ...)
    with the ffmpeg line that converts it'. An .amr, .3gp, .webm or .mka file under its own name was given to MNE's
    reader, whose 'Unsupported file type (.amr). Consider using a dedicated reader function' named no conversion;
    a WebM (a browser's MediaRecorder take) renamed .wav was 'damaged, cut short or not audio'."""
    from wavegraph.nodes.io.file_source import FileSource

    (tmp_path / name).write_bytes(data)
    with pytest.raises(SpecError) as e:
        FileSource(path=str(tmp_path / name)).configure({})
    text = str(e.value)
    assert "dedicated reader" not in text and "damaged" not in text, text
    assert said in text and "ffmpeg -i" in e.value.hint, text


@pytest.mark.parametrize("name", ["take 1.pcm", "utt.raw"])
def test_headerless_pcm_is_told_to_get_a_header_with_its_rate(tmp_path, name):
    """A headerless PCM file (an Android AudioRecord dump, a speech corpus's .raw/.pcm) got MNE's 'Unsupported file
    type (.pcm)' and the list of formats: nothing said that the file lacks its rate and sample format, or how to
    give it them (ffmpeg -i alone cannot guess them either)."""
    from wavegraph.nodes.io.file_source import FileSource

    (tmp_path / name).write_bytes(bytes(3200))
    with pytest.raises(SpecError) as e:
        FileSource(path=str(tmp_path / name)).configure({})
    assert "dedicated reader" not in str(e.value) and "headerless" in str(e.value), str(e.value)
    assert "-f s16le -ar " in e.value.hint and "-ac " in e.value.hint, e.value.hint


def test_bench_names_the_phone_browser_and_headerless_files_it_leaves_out(tmp_path):
    """`bench enhance --clean DIR`: .webm, .amr, .3gp and .pcm files were left out without a word (only .m4a and
    the like were named), so a folder of a browser's takes beside a few WAVs was scored on the WAVs alone."""
    import numpy as np
    import soundfile as sf
    from wavegraph.benchmarks.enhance_data import _audio_files

    sf.write(tmp_path / "a.wav", np.zeros(100), 16000)
    for name, data in [("b.webm", _WEBM), ("c.amr", _AMR), ("d.3gp", _3GP), ("e.pcm", bytes(3200))]:
        (tmp_path / name).write_bytes(data)
    said: list[str] = []
    files = _audio_files(str(tmp_path), "--clean", said.append)
    assert [p.name for p in files] == ["a.wav"]
    for name in ["b.webm", "c.amr", "d.3gp", "e.pcm"]:
        line = next((s for s in said if name in s), None)
        assert line is not None and "leaving out" in line, (name, said)
    assert "ffmpeg -f s16le" in next(s for s in said if "e.pcm" in s)


def test_a_file_name_that_starts_with_a_tilde_is_read_and_written_as_named(tmp_path, monkeypatch):
    """`--set src.path='~take 2.wav'` (a file in the working folder whose name starts with '~', as a backup or an
    editor's copy is named; no user 'take 2.wav' exists): pathlib's expanduser raised 'RuntimeError: Could not
    determine home directory', said as 'configure() failed ... this is a bug in the node' (file_source) and 'failed
    to start' (recorder); bench enhance --clean '~takes' died with the traceback. They take the name as the shell
    does: '~name' is a user's home only when that user exists."""
    import numpy as np
    import soundfile as sf
    from wavegraph.benchmarks.enhance_data import _audio_files
    from wavegraph.pipeline.api import GraphBuilder

    monkeypatch.chdir(tmp_path)
    x = (0.1 * np.sin(np.arange(480) / 3.0)).astype(np.float32)
    sf.write(tmp_path / "~take 2.wav", x, 16000, subtype="FLOAT")
    g = GraphBuilder()
    src = g.add("file_source", path="~take 2.wav", chunk_size=160)
    g.add("recorder", src, path="~take 2 out.wav")
    g.run()
    y, rate = sf.read(tmp_path / "~take 2 out.wav", dtype="float32")
    assert rate == 16000 and np.array_equal(y, x)
    (tmp_path / "~takes").mkdir()
    sf.write(tmp_path / "~takes" / "a.wav", x, 16000)
    assert [p.name for p in _audio_files("~takes", "--clean", print)] == ["a.wav"]
    from wavegraph import unwritable  # bench enhance --json '~b.json' (its check before the run)

    assert unwritable("~b.json") == "" and not (tmp_path / "~b.json").exists()


def test_an_enhancer_checkpoint_whose_name_starts_with_a_tilde_loads(tmp_path, monkeypatch):
    """`--set enhancer.checkpoint='~w.safetensors'` (a copy of the weights in the working folder): the enhancer
    'failed to start: RuntimeError: Could not determine home directory ... a bug in the node' (pathlib's
    expanduser in the node's check and in checkpoint.load)."""
    import shutil
    from importlib import resources

    from wavegraph.models.checkpoint import load_config
    from wavegraph.nodes.models.enhancer import EnhancerNode

    weights = resources.files("wavegraph.models") / "weights"
    for suffix in (".safetensors", ".json"):
        with resources.as_file(weights / f"enhancer{suffix}") as src:
            shutil.copy(src, tmp_path / f"~w{suffix}")
    monkeypatch.chdir(tmp_path)
    EnhancerNode(checkpoint="~w.safetensors")  # the node's check of the path (failed to start)
    assert load_config("~w.safetensors")[0] == "enhancer"  # what configure() reads first (checkpoint.load)
