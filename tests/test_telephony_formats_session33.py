"""file_source reads the headerless telephony formats Asterisk and PBXs keep prompts and recordings in (session 33,
nodes/io/telephony_reader.py): GSM 6.10 (.gsm) through PyAV as G.722 (.g722) was, G.711 mu-law and A-law (.ulaw, .ul,
.pcmu, .alaw, .al, .pcma) and signed linear (.sln, .sln16, ... .sln192) in numpy. Before, each was refused with MNE's
'Unsupported file type (.gsm)'. Real data: Asterisk's English GSM prompts (asterisk-core-sounds-en-gsm, installed by
scripts/system_deps.sh) and its music on hold (asterisk-moh-opsound-wav, 8 kHz WAV) encoded here through PyAV."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import need
from wavegraph.pipeline.spec import SpecError

ROOT = Path(__file__).resolve().parents[1]
ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
MOH = Path("/usr/share/asterisk/moh")
GSM_MISSING = "the Asterisk English GSM prompts are not installed (apt-get install asterisk-core-sounds-en-gsm)"


def _prompts(n: int = 2) -> list[Path]:
    """The `n` smallest Asterisk GSM prompts of a second or more (skips without them, or without PyAV)."""
    pytest.importorskip("av")
    found = sorted(ALLISON.glob("*.gsm"), key=lambda p: (p.stat().st_size, p.name)) if ALLISON.is_dir() else []
    need(found, GSM_MISSING)
    return [p for p in found if p.stat().st_size >= 33 * 50][:n]


def _pyav(path: Path, fmt: str, **options: str) -> np.ndarray:
    """The whole file decoded at once by FFmpeg's demuxer `fmt` (through PyAV), int16."""
    import av

    with av.open(str(path), format=fmt, options=options) as c:
        x = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(c.streams.audio[0])])
    assert x.dtype == np.int16
    return x


def _replay(path: Path, chunk: int, **params):
    """(out spec, samples of channel 0, chunk start times, duration_seconds) of a file_source replay of `path`."""
    from wavegraph.nodes.io.file_source import FileSource

    src = FileSource(path=str(path), chunk_size=chunk, **params)
    spec = src.configure({})["out"]
    got, times = [], []
    while (out := src.read()) is not None:
        got.append(out["out"].data)
        times.append(out["out"].t0)
    duration = src.duration_seconds
    src.close()
    return spec, np.concatenate(got, axis=1)[0], times, duration


def _music(seconds: float = 1.5) -> np.ndarray:
    """Real 8 kHz audio: the start of an Asterisk music-on-hold WAV, int16 (skips without it)."""
    import soundfile as sf

    files = sorted(MOH.glob("*.wav")) if MOH.is_dir() else []
    need(files, "Asterisk's music on hold is not installed (apt-get install asterisk-moh-opsound-wav)")
    x, rate = sf.read(files[0], dtype="int16", frames=int(8000 * 10))
    assert rate == 8000
    x = x[x.size - int(8000 * seconds) :]  # (its last part: past any silent start)
    assert np.abs(x).max() > 1000
    return x


def _encode(x: np.ndarray, path: Path, codec: str, fmt: str) -> None:
    """int16 samples at 8 kHz written as a headerless file through PyAV's (FFmpeg's) encoder and muxer."""
    import av

    with av.open(str(path), "w", format=fmt) as c:
        s: av.AudioStream = c.add_stream(codec, rate=8000, layout="mono")  # pyright: ignore[reportAssignmentType]
        frame = av.AudioFrame.from_ndarray(x[None, :], format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in [*s.encode(frame), *s.encode(None)]:
            c.mux(packet)


# --- GSM 6.10: real Asterisk prompts ---------------------------------------------------------------------------------
def test_gsm_prompts_replay_as_ffmpeg_decodes_them_in_chunks_of_any_size():
    """Every sample of FFmpeg's decoding of the whole file (160 a 33-byte frame, 8 kHz), float32 = int16 / 32768, in
    odd chunk sizes (GSM's decoder carries state across frames), each chunk at its sample's time; the length known
    from the size before any decoding."""
    for path in _prompts():
        whole = _pyav(path, "gsm").astype(np.float32) / 32768
        assert whole.size == path.stat().st_size // 33 * 160
        for chunk in (997, 161):
            spec, got, times, duration = _replay(path, chunk)
            assert (spec.rate, spec.shape, spec.dtype) == (8000.0, (1,), "float32")
            assert (spec.channel_names, spec.channel_types, spec.units) == (("ch0",), ("audio",), "a.u.")
            assert duration == whole.size / 8000
            np.testing.assert_array_equal(got, whole)
            assert times == [k * chunk / 8000 for k in range(len(times))]


def test_gsm_reader_pieces_skips_and_going_back_give_the_whole_decoding():
    from wavegraph.nodes.io.telephony_reader import open_telephony

    path = _prompts(1)[0]
    whole = _pyav(path, "gsm") / 32768
    r = open_telephony(path, "float64")
    pieces, at = [], 0
    for n in (1, 159, 161, 333, 7, 10**6):
        pieces.append(r.get([0], at, min(at + n, r.n_times)))
        at = min(at + n, r.n_times)
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1)[0], whole)
    np.testing.assert_array_equal(r.get([0], 100, 1000)[0], whole[100:1000])  # back: decoded again from the start
    np.testing.assert_array_equal(r.get([0], 4000, 4100)[0], whole[4000:4100])  # ahead: the skipped ones decoded
    r.close()


def test_a_cut_gsm_file_is_said_and_its_whole_frames_replayed(tmp_path, caplog):
    """A copy cut inside a frame (FFmpeg's demuxer refuses it: 'Invalid data found'): said, the whole frames replayed,
    the samples of the uncut file's decoding."""
    path = _prompts(1)[0]
    whole = _pyav(path, "gsm").astype(np.float32) / 32768
    cut = tmp_path / "cut.gsm"
    cut.write_bytes(path.read_bytes()[:-10])
    with caplog.at_level(logging.WARNING, logger="wavegraph.file_source"):
        _, got, _, duration = _replay(cut, 1000)
    frames = cut.stat().st_size // 33
    assert f"{cut} is truncated" in caplog.text and f"replaying its {frames} whole frames" in caplog.text
    assert duration == frames * 160 / 8000
    np.testing.assert_array_equal(got, whole[: frames * 160])


@pytest.mark.parametrize("suffix", [".gsm", ".g722", ".ulaw"])
def test_a_wav_under_a_telephony_name_is_read_as_the_wav_it_is(tmp_path, caplog, suffix):
    """A WAV saved as .gsm (or .g722: it was decoded as G.722 noise, unsaid): read as the WAV, said, as a WAV saved
    under another name (.edf) is."""
    import soundfile as sf

    x = (0.25 * np.sin(np.arange(4000) / 7)).astype(np.float32)
    path = tmp_path / f"prompt{suffix}"
    sf.write(path, x, 8000, subtype="FLOAT", format="WAV")
    with caplog.at_level(logging.WARNING, logger="wavegraph.file_source"):
        spec, got, _, _ = _replay(path, 999)
    assert "holds audio (by its first bytes)" in caplog.text
    assert spec.rate == 8000.0
    np.testing.assert_array_equal(got, x)


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("one.gsm", b"\xd0", "holds 1 byte, not one whole GSM 6.10 frame (33 bytes)"),
        ("one.sln", b"\x01", "holds 1 byte, not one whole signed linear (16-bit, 8 kHz) sample (2 bytes)"),
        ("text.gsm", b"not a GSM recording at all, " * 4, "does not begin with a GSM 6.10 frame"),
        ("empty.ulaw", b"", "is empty (0 bytes)"),
    ],
)
def test_bad_telephony_files_are_refused_with_what_is_wrong(tmp_path, name, data, said):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SpecError, match="file_source: ") as e:
        _replay(path, 100)
    assert said in str(e.value) and str(path) in str(e.value)
    assert path.read_bytes() == data  # (nothing written or lost)


def test_without_pyav_gsm_is_refused_with_the_pip_and_ffmpeg_lines_and_mu_law_still_reads(tmp_path, monkeypatch):
    path = _prompts(1)[0]
    ulaw = tmp_path / "prompt.ulaw"
    ulaw.write_bytes(bytes(range(256)))
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` raises ImportError, as where it is not installed
    with pytest.raises(SpecError) as e:
        _replay(path, 100)
    said = str(e.value)
    assert "GSM 6.10) is decoded through PyAV, which is not installed" in said and "pip install av" in said
    assert f"ffmpeg -i {path.name} {path.stem}.wav" in said
    assert _replay(ulaw, 100)[1].size == 256


# --- G.711 and signed linear: numpy ----------------------------------------------------------------------------------
def test_g711_codes_decode_to_the_itu_values_bit_for_bit_with_ffmpeg(tmp_path):
    """Each of the 256 codes of a .ulaw and an .alaw file: G.711's values (g711.c: mu-law 0x00 -32124, 0x80 +32124,
    0x7F and 0xFF 0; A-law 0xD5 +8, 0x55 -8, 0xAA +32256, 0x2A -32256), as FFmpeg's pcm_mulaw and pcm_alaw decode them."""
    try:
        import av  # noqa: F401
    except ImportError:
        ffmpeg = False  # (the values are still checked)
    else:
        ffmpeg = True
    codes = bytes(range(256))
    known = {
        ".ulaw": {0x00: -32124, 0x80: 32124, 0x7F: 0, 0xFF: 0, 0x0F: -16764, 0x70: -120, 0xEF: 132},
        ".alaw": {0xD5: 8, 0x55: -8, 0xAA: 32256, 0x2A: -32256, 0x00: -5504, 0x80: 5504},
    }
    for suffix, values in known.items():
        path = tmp_path / f"codes{suffix}"
        path.write_bytes(codes)
        spec, got, _, _ = _replay(path, 37, dtype="float64")
        assert (spec.rate, spec.dtype, got.size) == (8000.0, "float64", 256)
        ints = got * 32768
        assert np.array_equal(ints, np.round(ints)) and np.abs(got).max() <= 1.0
        assert {k: int(ints[k]) for k in values} == values
        if ffmpeg:
            np.testing.assert_array_equal(ints, _pyav(path, suffix[1:].replace("ulaw", "mulaw"), sample_rate="8000"))


@pytest.mark.parametrize(
    ("suffix", "codec", "fmt"),
    [(".ulaw", "pcm_mulaw", "mulaw"), (".pcmu", "pcm_mulaw", "mulaw"), (".al", "pcm_alaw", "alaw")],
)
def test_g711_encoded_music_round_trips(tmp_path, suffix, codec, fmt):
    """Real 8 kHz audio encoded to G.711 by FFmpeg: file_source gives FFmpeg's decoding bit for bit, within G.711's
    quantisation of the original (SNR > 30 dB), the same in chunks of 1, 997 and all at once."""
    pytest.importorskip("av")
    x = _music()
    path = tmp_path / f"music{suffix}"
    _encode(x, path, codec, fmt)
    assert path.stat().st_size == x.size
    want = _pyav(path, fmt, sample_rate="8000").astype(np.float32) / 32768
    for chunk in (997, x.size):
        np.testing.assert_array_equal(_replay(path, chunk)[1], want)
    np.testing.assert_array_equal(_replay(path, 1)[1][:2000], want[:2000])
    ref = x / 32768
    assert 10 * np.log10(np.sum(ref**2) / np.sum((want - ref) ** 2)) > 30


@pytest.mark.parametrize(
    ("suffix", "rate"), [(".sln", 8000), (".sln16", 16000), (".SLN44", 44100), (".sln192", 192000)]
)
def test_signed_linear_gives_its_int16_samples_at_its_suffixs_rate(tmp_path, suffix, rate):
    x = _music()
    path = tmp_path / f"music{suffix}"
    path.write_bytes(x.astype("<i2").tobytes() + b"\x7f")  # and a byte of a cut sample: said, left out
    spec, got, times, duration = _replay(path, 1001)
    assert (spec.rate, duration) == (float(rate), x.size / rate)
    np.testing.assert_array_equal(got, x.astype(np.float32) / 32768)
    assert times[1] == 1001 / rate


# --- end to end ------------------------------------------------------------------------------------------------------
def test_enhance_file_graph_takes_a_gsm_prompt_to_16_khz_of_its_duration(tmp_path, monkeypatch, capsys):
    """`wavegraph run configs/speech_enhance_file.yaml --set src.path=X.gsm`: 16 kHz output of the prompt's duration
    (plus the resampler's filter tail, about 1 ms, as for any 8 kHz input), speech at its level."""
    import soundfile as sf
    from wavegraph.pipeline.cli import main

    path = _prompts(1)[0]
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "enhanced.wav"
    code = main(
        ["run", str(ROOT / "configs" / "speech_enhance_file.yaml"), "--set", f"src.path={path}"]
        + ["--set", f"rec.path={out}", "--set", f"vad.path={tmp_path / 'vad.csv'}"]
    )
    assert code == 0, capsys.readouterr().err
    y, rate = sf.read(out)
    seconds = path.stat().st_size // 33 * 160 / 8000
    assert rate == 16000 and 0 <= y.size - seconds * 16000 <= 32, (y.size, seconds)
    assert np.abs(y).max() > 0.01
