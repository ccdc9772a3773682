"""A user's session with the speech enhancement path (session 20): files, folders and the bench on odd inputs."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

SR = 16000


def _speechy(n: int, rng: np.random.Generator) -> np.ndarray:
    """A voiced-like signal: a 220 Hz tone with harmonics, on for 150 ms and off for 100 ms."""
    t = np.arange(n) / SR
    tone = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 6))
    on = (t % 0.25) < 0.15
    return (0.2 * tone * on + 0.001 * rng.standard_normal(n)).astype(np.float32)


def _snr_heard(noisy: np.ndarray, target: np.ndarray) -> float:
    """The SNR a listener (and PESQ, STOI, SI-SDR) gets: the speech's active power against the noise's, both
    without their DC offset, which is not sound."""
    from wavegraph.models.speech_data import active_power

    speech = target - target.mean()
    noise = noisy - target
    noise = noise - noise.mean()
    return 10 * np.log10(active_power(speech) / np.mean(noise**2))


@pytest.mark.parametrize("where", ["noise", "clean"])
def test_bench_folder_mixtures_are_at_the_snr_they_are_labelled_with_a_dc_offset_in_a_file(tmp_path, where):
    """A noise (or clean) file with a DC offset (a cheap sound card's, or a float WAV whose writer left one) was
    mixed counting the offset as power: noise at std 0.1 with a 0.5 offset made the '0 dB' row a 14 dB mixture.
    The bench now removes a file's DC offset as it reads it."""
    from wavegraph.benchmarks.enhance_data import folder_mixtures

    rng = np.random.default_rng(0)
    (tmp_path / "clean").mkdir()
    (tmp_path / "noise").mkdir()
    clean = _speechy(int(1.2 * SR), rng)
    noise = (0.1 * rng.standard_normal(SR)).astype(np.float32)
    if where == "noise":
        noise += 0.5
    else:
        clean += 0.3
    sf.write(tmp_path / "clean" / "a.wav", clean, SR, subtype="FLOAT")
    sf.write(tmp_path / "noise" / "n.wav", noise, SR, subtype="FLOAT")
    mixtures = folder_mixtures(str(tmp_path / "clean"), str(tmp_path / "noise"), [0.0], 6.0, 0, log=print)
    noisy, target, snr, _name, _noise = mixtures[0]
    assert snr == 0.0
    assert abs(_snr_heard(noisy, target)) < 0.5


def _mix_run(x: np.ndarray, caplog, chunk: int = 1600):
    """x (2, samples) at 16 kHz through a `mix` node chunk by chunk, then its finish(), as a file run does."""
    import logging

    from wavegraph.nodes.dsp.channels import Mix
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    node = Mix()
    node.configure({"in": signal_spec(SR, ["L", "R"], "audio", "float32", "a.u.")})
    with caplog.at_level(logging.WARNING, "wavegraph.mix"):
        for i in range(0, x.shape[1], chunk):
            node.process({"in": Chunk(x[:, i : i + chunk], t0=i / SR)})
        node.finish()
    return [r.getMessage() for r in caplog.records if "cancel" in r.getMessage()]


def test_a_short_stereo_file_whose_channels_cancel_is_said_at_its_end(caplog):
    """speech_enhance_file.yaml's `mix` on a 1 s stereo prompt with one channel inverted (R = -L) gave a silent
    enhanced file with no word: the cancel check decided only after 2 s of stream. A stream that ends sooner is now
    decided at its end; two unrelated channels of 1 s are still not said."""
    rng = np.random.default_rng(3)
    left = _speechy(SR, rng)
    said = _mix_run(np.stack([left, -left]), caplog)
    assert len(said) == 1, said
    assert "its channels 'L', 'R' cancel: over the first 1 s the mono output is silent" in said[0]
    assert said[0].endswith("weights: [0.5, -0.5]")
    caplog.clear()
    assert _mix_run(np.stack([left, rng.standard_normal(SR).astype(np.float32) * 0.2]), caplog) == []


def test_bench_plot_of_a_folder_with_a_cjk_name_prints_no_glyph_warning(tmp_path):
    """`bench enhance --clean '録音/'` printed matplotlib's 'UserWarning: Glyph 37682 (...) missing from font(s)
    DejaVu Sans' with a line of benchmarks/enhance.py, one per character, after the tables: the plot's title names the
    folder. The title is drawn (boxes for what the font lacks) and the warning is not printed, as nodes/io/plot.py does."""
    import warnings

    from wavegraph.benchmarks.enhance import plot

    records = [
        {"method": "noisy", "snr": 0.0, "metric": m, "value": v}
        for m, v in (("pesq_wb", 1.5), ("stoi", 0.8), ("si_sdr", 0.0))
    ]
    result = {
        "records": records,
        "methods": {"noisy": {"label": "noisy input", "offline": False, "algorithmic_latency_ms": 0}},
        "mixtures": [{}],
        "data": "--clean 録音 (1 files)",
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plot(result, tmp_path / "q.png")
    assert (tmp_path / "q.png").stat().st_size > 0
    assert [str(w.message) for w in caught if "Glyph" in str(w.message)] == []


def _docs_folder_loop() -> str:
    """The sh block of docs/speech.md that enhances a folder (its `for f in recordings/...` loop)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "speech.md").read_text(encoding="utf-8")
    blocks = text.split("```sh\n")[1:]
    loop = [b.split("```")[0] for b in blocks if "for f in recordings/" in b]
    assert len(loop) == 1, "docs/speech.md has one folder loop"
    return loop[0]


def test_the_docs_folder_loop_enhances_every_recording_the_graph_reads(tmp_path):
    """docs/speech.md's loop globbed recordings/*.wav and recordings/*.flac: a recorder's ZOOM0001.WAV and an MP3 voice
    memo (both read by the graph, as the docs say) were skipped without a word, and an MP3 given its own name as
    rec.path is refused (lossy audio is not written). The loop now runs every audio file, any case, and writes the
    formats the recorder does not write as name.wav; outputs stay distinct. (`wavegraph` is stubbed: the loop is
    checked, not the graph.)"""
    import subprocess

    rec = tmp_path / "recordings"
    rec.mkdir()
    names = ["take1.wav", "take1.flac", "ZOOM0001.WAV", "memo.mp3", "b 2.ogg"]
    for name in [*names, "notes.txt"]:
        (rec / name).write_bytes(b"")
    (rec / "sub.wav").mkdir()  # a folder named like audio is not a recording
    stub = 'wavegraph() { for a in "$@"; do printf "%s\\t" "$a"; done >> calls.tsv; echo >> calls.tsv; }\n'
    subprocess.run(["bash", "-c", stub + _docs_folder_loop()], cwd=tmp_path, check=True, timeout=10)
    runs = []
    for line in (tmp_path / "calls.tsv").read_text(encoding="utf-8").splitlines():
        args = line.rstrip("\t").split("\t")
        sets = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "--set")
        runs.append(sets)
    assert sorted(r["src.path"] for r in runs) == sorted(f"recordings/{n}" for n in names)
    outs = [r["rec.path"] for r in runs]
    assert len(set(outs)) == len(outs)
    assert all(o.lower().endswith((".wav", ".flac")) for o in outs), outs
    assert all(r["vad.path"] == r["rec.path"] + ".vad.csv" for r in runs)


def test_bench_says_a_one_sample_clean_file_is_too_short_not_silent(tmp_path):
    """A clean file of one sample (0.3: a writer that died after its first frame) was left out as 'silent (peak 0.0e+00
    apart from a DC offset)': one sample less its mean is 0. A DC offset needs two samples to be told from a signal;
    the file is now left out for its length."""
    from wavegraph.benchmarks.enhance_data import BenchError, load_folder

    sf.write(tmp_path / "one.wav", np.array([0.3], np.float32), SR)
    said: list[str] = []
    with pytest.raises(BenchError):
        load_folder(str(tmp_path), 6.0, "--clean", said.append)
    assert len(said) == 1 and "silent" not in said[0] and "under 1 s" in said[0], said


def test_mix_says_when_a_channel_s_nan_starts_not_the_chunk_s_start(caplog):
    """A 48 kHz stereo float WAV with NaN in its right channel from 20.8 ms: `mix` said 'holds NaN or Inf (from t = 0
    s on)', the start of file_source's chunk, not of the NaN (off by up to a chunk: 100 ms in the file graph). It
    says the first bad sample's time now."""
    import logging

    from wavegraph.nodes.dsp.channels import Mix
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    x = np.full((2, 4800), 0.1, np.float32)
    x[1, 1000:1010] = np.nan
    node = Mix()
    node.configure({"in": signal_spec(48000, ["L", "R"], "audio", "float32", "a.u.")})
    with caplog.at_level(logging.WARNING, "wavegraph.mix"):
        node.process({"in": Chunk(x[:, :1600], t0=0.0)})
        node.process({"in": Chunk(x[:, 1600:], t0=1600 / 48000)})
    said = [r.getMessage() for r in caplog.records if "NaN" in r.getMessage()]
    assert len(said) == 1 and "channel 'R' holds NaN or Inf (from t = 0.0208333 s on)" in said[0], said
