"""A user enhancing their own recordings with configs/speech_enhance_file.yaml and scoring a folder with
`wavegraph bench enhance --clean DIR` (docs/speech.md, "Enhancing a recording, and a folder"): helper-151's
session 23 findings."""

import logging

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


def _sphere(tmp_path, name: str, coding: bytes = b"pcm", n: int = 800):
    import numpy as np
    import soundfile as sf

    x = (0.25 * np.sin(np.arange(n) / 4.0)).astype(np.float32)
    if coding == b"pcm":
        sf.write(tmp_path / name, x, 16000, format="NIST", subtype="PCM_16")
    else:  # LDC's corpora: samples shorten-compressed behind the same header
        head = (
            b"NIST_1A\n   1024\nsample_count -i %d\nsample_rate -i 16000\nchannel_count -i 1\nsample_n_bytes -i 2\n"
            b"sample_coding -s%d %s\nend_head\n" % (n, len(coding), coding)
        )
        (tmp_path / name).write_bytes(head.ljust(1024, b" ") + bytes(600))
    return x


@pytest.mark.parametrize(
    "name, fmt",
    [("sx3.sph", "NIST"), ("SI1.SPH", "NIST"), ("utt.htk", "HTK"), ("old.snd", "AU"), ("mac take.aifc", "AIFF")],
)
def test_speech_corpus_formats_libsndfile_reads_are_replayed(tmp_path, name, fmt):
    """NIST SPHERE under its own suffix (.sph: WSJ, Switchboard, TIMIT as LDC names it), HTK (.htk) and AU's .snd:
    libsndfile reads them, but file_source went by the suffix to MNE ('Unsupported file type (.sph)') and bench
    enhance --clean skipped them unsaid (and an AIFF-C under .aifc, which file_source read by its first bytes, with a
    warning). They are replayed now, sample for sample."""
    import numpy as np
    import soundfile as sf
    from wavegraph.benchmarks.enhance_data import _audio_files
    from wavegraph.pipeline.api import GraphBuilder

    x = (0.25 * np.sin(np.arange(800) / 4.0)).astype(np.float32)
    sf.write(tmp_path / name, x, 16000, format=fmt, subtype="PCM_16")
    g = GraphBuilder()
    src = g.add("file_source", path=str(tmp_path / name), chunk_size=300)
    got = g.run(capture=[src])[f"{src}.out"].data[0]
    np.testing.assert_allclose(got, x, atol=1 / 32768)
    assert [p.name for p in _audio_files(str(tmp_path), "--clean", print)] == [name]


@pytest.mark.parametrize("name", ["sw02001.sph", "SA1.WAV"])
def test_a_shorten_compressed_sphere_file_is_told_sph2pipe(tmp_path, name):
    """A SPHERE file whose samples are shorten-compressed (as LDC ships WSJ and Switchboard, and TIMIT's .WAV in
    some copies): libsndfile's 'File contains data in an unimplemented format' was called damaged, cut short or not
    audio, with an ffmpeg line, though ffmpeg does not decode shorten SPHERE either; the fix is LDC's sph2pipe."""
    from wavegraph.benchmarks.enhance_data import load_folder
    from wavegraph.nodes.io.file_source import FileSource

    _sphere(tmp_path, name, b"pcm,embedded-shorten-v2.00")
    with pytest.raises(SpecError) as e:
        FileSource(path=str(tmp_path / name)).configure({})
    assert "shorten" in str(e.value) and "damaged" not in str(e.value), str(e.value)
    assert "sph2pipe -f wav" in e.value.hint, e.value.hint
    said: list[str] = []
    _sphere(tmp_path, "ok.sph", n=20000)
    load_folder(str(tmp_path), 2.0, "--clean", said.append)
    assert any(name in s and "sph2pipe" in s for s in said), said


@pytest.mark.parametrize("name", ["cut.sph", "SA2.WAV"])  # SPHERE under TIMIT's name: read before, cut unsaid
def test_a_sphere_file_cut_short_is_said(tmp_path, caplog, name):
    """A SPHERE copy cut short (its header's sample_count past the end of the file) was replayed as far as it goes
    without a word, where a WAV, AIFF or AU cut so is said truncated."""
    from wavegraph.nodes.io.file_source import FileSource

    _sphere(tmp_path, name, n=4000)
    data = (tmp_path / name).read_bytes()
    (tmp_path / name).write_bytes(data[: 1024 + 2 * 2500])
    with caplog.at_level(logging.WARNING):
        FileSource(path=str(tmp_path / name)).configure({})
    assert f"{name} is truncated" in caplog.text and "2500 frames" in caplog.text, caplog.text


def test_a_wav_write_that_fails_says_the_cause_and_its_fix(tmp_path):
    """The enhanced WAV's write failing (a full disk, a file-size limit: FAT32's 4 GB, ulimit -f) was said as
    'LibsndfileError: System error.' with 'fix: check that disk', whatever the cause: soundfile's error keeps
    libsndfile's own account ('System error : File too large.') to itself. The cause and its fix are said now, as for
    the other formats (here a real EFBIG: a file-size limit of 20 kB)."""
    import errno
    import resource
    import signal

    import numpy as np
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    rec = Recorder(path=str(tmp_path / "enhanced.wav"))
    rec.configure({"in": signal_spec(16000, ["ch0"], "audio", "float32", "a.u.")})
    old, handler = resource.getrlimit(resource.RLIMIT_FSIZE), signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, old[1]))
        with pytest.raises(OSError) as e:
            for k in range(10):
                rec.process({"in": Chunk(np.full((1, 1600), 0.1, np.float32), k * 0.1)})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, handler)
    rec.close()
    text = str(e.value)
    assert e.value.errno == errno.EFBIG and "File too large" in text and "ulimit -f" in text, text
    assert ".spill" not in text, text  # (it told of 'a recording left as enhanced.wav.spill': a WAV has none)


def test_a_flac_that_cannot_be_written_at_close_says_why_and_keeps_the_spill(tmp_path):
    """rec.path=enhanced.flac on a disk that fills while the recorder converts its spill at close: the run ended with
    'rec: System error. (LibsndfileError at soundfile.py:1511 in _error_check)', no cause, no word of the spill that
    holds the recording or of `wavegraph recover`. The cause is said now, with the spill and the recover line (a real
    EFBIG here: a file-size limit set once the spill is written)."""
    import errno
    import resource
    import signal

    import numpy as np
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    rec = Recorder(path=str(tmp_path / "enhanced.flac"))
    rec.configure({"in": signal_spec(16000, ["ch0"], "audio", "float32", "a.u.")})
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, (1, 16000)).astype(np.float32)
    rec.process({"in": Chunk(noise, 0.0)})
    old, handler = resource.getrlimit(resource.RLIMIT_FSIZE), signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, old[1]))
        with pytest.raises(OSError) as e:
            rec.close()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, handler)
    text = str(e.value)
    assert e.value.errno == errno.EFBIG and "File too large" in text, text
    assert "wavegraph recover" in text and (tmp_path / "enhanced.flac.spill").is_file(), text
    assert not (tmp_path / "enhanced.flac").exists() and not (tmp_path / "enhanced.flac.tmp").exists()


def test_a_flac_damaged_inside_replays_up_to_the_damage_and_says_so(tmp_path, caplog):
    """A FLAC whose middle is damaged (a bad sector, a copy with a hole: 'flac decoder lost sync') failed the run at
    its first read with a traceback and no output at all, the good first half lost too. It is replayed up to the
    damage now, said with where and the fix (as an Ogg or MP3 damaged so already was)."""
    import numpy as np
    import soundfile as sf
    from wavegraph.pipeline.api import GraphBuilder

    x = (0.3 * np.sin(np.arange(48000) / 7.0) * np.sin(np.arange(48000) / 3000.0)).astype(np.float32)
    sf.write(tmp_path / "take.flac", x, 16000, subtype="PCM_16")
    data = bytearray((tmp_path / "take.flac").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 3000] = bytes(3000)
    (tmp_path / "take.flac").write_bytes(bytes(data))
    g = GraphBuilder()
    src = g.add("file_source", path=str(tmp_path / "take.flac"), chunk_size=1600)
    with caplog.at_level(logging.WARNING):
        got = g.run(capture=[src])[f"{src}.out"].data[0]
    assert 0.25 * len(x) < len(got) < 0.75 * len(x), len(got)
    np.testing.assert_allclose(got, x[: len(got)], atol=1 / 32768)
    said = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert said and f"sample {len(got)}" in said[0] and "ffmpeg -i" in said[0], caplog.text


@pytest.mark.parametrize("on_disk, typed", [("NFD", "NFC"), ("NFC", "NFD")])
def test_a_name_with_accents_in_the_other_unicode_form_is_found(tmp_path, on_disk, typed):
    """A recording copied from a Mac keeps its name in NFD ('é' as 'e' and a combining accent); the name typed or
    pasted on Linux is NFC. file_source said 'no such file: .../café take.wav; fix: did you mean .../café take.wav?',
    the same name to the eye. The other form is tried when the name as given does not exist."""
    import unicodedata

    import numpy as np
    import soundfile as sf
    from wavegraph.pipeline.api import GraphBuilder

    x = (0.1 * np.sin(np.arange(400) / 3.0)).astype(np.float32)
    sf.write(tmp_path / unicodedata.normalize(on_disk, "café take.wav"), x, 16000, subtype="FLOAT")
    g = GraphBuilder()
    src = g.add("file_source", path=str(tmp_path / unicodedata.normalize(typed, "café take.wav")), chunk_size=160)
    np.testing.assert_array_equal(g.run(capture=[src])[f"{src}.out"].data[0], x)


def _riff(*chunks: tuple[bytes, bytes, bool]) -> bytes:
    import struct

    body = b"WAVE" + b"".join(
        cid + struct.pack("<I", len(data)) + data + (b"\0" if pad and len(data) % 2 else b"")
        for cid, data, pad in chunks
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("layout", ["unpadded LIST", "unpadded LIST, extensible float", "data before fmt"])
def test_a_wav_whose_chunks_libsndfile_cannot_follow_is_replayed(tmp_path, caplog, layout):
    """A WAV with an odd-sized chunk before its samples written without the pad byte RIFF asks for (a tagging tool's
    LIST of 21 bytes), or with its data chunk before fmt: libsndfile said "Error in WAV file. No 'data' chunk
    marker", told 'damaged ... ffmpeg decodes what it can', though ffmpeg fails on the first too. The chunks are
    followed here as written, the samples read from the data chunk (said), the chunk after it not taken for samples."""
    import struct

    import numpy as np
    from wavegraph.pipeline.api import GraphBuilder

    x = (0.25 * np.sin(np.arange(1000) / 5.0)).astype(np.float32)
    if "float" in layout:
        guid = struct.pack("<H", 3) + bytes.fromhex("000000001000800000aa00389b71")
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 16000, 64000, 4, 32, 22, 32, 4) + guid
        data, want = x.tobytes(), x
    else:
        fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
        pcm = np.round(x * 32767).astype("<i2")
        data, want = pcm.tobytes(), pcm / 32768.0
    tags = (b"LIST", b"INFOISFT\x09\x00\x00\x00tagger 1\x00", False)  # 21 bytes, no pad byte
    after = (b"LIST", b"INFOICMT\x04\x00\x00\x00note", True)
    if layout.startswith("unpadded"):
        wav = _riff((b"fmt ", fmt, True), tags, (b"data", data, True), after)
    else:
        wav = _riff((b"data", data, True), (b"fmt ", fmt, True), after)
    (tmp_path / "take.wav").write_bytes(wav)
    g = GraphBuilder()
    src = g.add("file_source", path=str(tmp_path / "take.wav"), chunk_size=300)
    with caplog.at_level(logging.WARNING):
        got = g.run(capture=[src])[f"{src}.out"].data[0]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert "take.wav" in caplog.text and "RIFF" in caplog.text, caplog.text


def test_a_big_endian_rifx_wav_cut_short_is_said(tmp_path, caplog):
    """A big-endian WAV (RIFX: an old Mac's or a Java tool's) cut short was replayed up to its end without a word,
    where a RIFF one cut so is said truncated: the check read only RIFF headers."""
    import numpy as np
    import soundfile as sf
    from wavegraph.nodes.io.file_source import FileSource

    sf.write(tmp_path / "old.wav", np.zeros(3000), 16000, subtype="PCM_24", endian="BIG")
    data = (tmp_path / "old.wav").read_bytes()
    (tmp_path / "old.wav").write_bytes(data[: len(data) - 3 * 1000])
    with caplog.at_level(logging.WARNING):
        FileSource(path=str(tmp_path / "old.wav")).configure({})
    assert "old.wav is truncated" in caplog.text and "2000 frames" in caplog.text, caplog.text


def test_a_path_that_is_a_pattern_is_told_how_to_run_each_file(tmp_path):
    """`--set 'src.path=recordings/*.wav'` (quoted, so no shell expanded it: a user enhancing a folder) was 'no such
    file: recordings/*.wav; fix: did you mean recordings/b.wav, ...', a random pick of names. It is said as the pattern
    it is, with how many files it matches and how to run the graph once per file."""
    import numpy as np
    import soundfile as sf
    from wavegraph.nodes.io.file_source import FileSource

    for name in ("a.wav", "b.wav", "notes.txt"):
        sf.write(tmp_path / name, np.zeros(10), 16000) if name.endswith(".wav") else (tmp_path / name).write_text("")
    with pytest.raises(SpecError) as e:
        FileSource(path=str(tmp_path / "*.wav")).configure({})
    assert "pattern" in str(e.value) and "2 files" in str(e.value) and "did you mean" not in e.value.hint, str(e.value)
    assert f"wavegraph batch GRAPH --inputs '{tmp_path / '*.wav'}'" in e.value.hint, e.value.hint
