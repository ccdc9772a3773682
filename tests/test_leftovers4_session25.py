"""Leftovers of session 25 (fourth batch), each reproduced as a user meets it; each test failed before its fix."""

from pathlib import Path

import numpy as np
import pytest
from test_leftovers_session24 import _validate  # (wavegraph validate in tmp_path: code, stderr lines)
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import NodeParams, Source
from wavegraph.pipeline.spec import StreamSpec, signal_spec


def _fif(path: Path, rate: float, upsample_to: float | None = None) -> Path:
    """A one-channel FIF at `rate` (MNE's lowpass: its Nyquist), upsampled by MNE to `upsample_to` (lowpass kept)."""
    import mne

    raw = mne.io.RawArray(
        np.random.default_rng(0).standard_normal((1, int(rate * 0.2))) * 0.1,
        mne.create_info(["mic"], rate, "misc"),
        verbose="error",
    )
    if upsample_to:
        raw.resample(upsample_to, verbose="error")
    raw.save(path, verbose="error")
    return path


def _enhance_graph(path: Path) -> str:
    return f"""\
nodes:
  - {{id: src, type: file_source, params: {{path: "{path}"}}}}
  - {{id: enhancer, type: enhancer}}
  - {{id: sink, type: null_sink}}
edges:
  - {{source: src.out, target: enhancer.in}}
  - {{source: enhancer.out, target: sink.in}}
"""


def test_a_fif_upsampled_from_1_khz_is_refused_by_the_enhancer_by_its_lowpass(tmp_path, monkeypatch, capsys):
    """Before: a 16 kHz FIF that MNE upsampled from 1 kHz (info['lowpass'] 500 Hz: the file says it holds nothing
    above 500 Hz; StreamSpec.band unset, as a file replays a low band as its lowpass) was enhanced without a word: the
    enhancer checked `band` only. Now it checks the spec's passband and refuses it as it refuses a 1 kHz file resampled
    in the graph, naming the lowpass and what to give."""
    fif = _fif(tmp_path / "up_raw.fif", 1000.0, upsample_to=16000.0)
    (tmp_path / "g.yaml").write_text(_enhance_graph(fif))
    code, lines = _validate(tmp_path, monkeypatch, capsys, "g.yaml")
    assert code == 2 and len(lines) == 1, lines
    assert "enhancer input was low-pass filtered at 500 Hz" in lines[0], lines
    assert "it holds nothing above 500 Hz, no speech" in lines[0], lines
    assert "; fix: give it speech audio sampled at 4000 Hz or more" in lines[0], lines


@pytest.mark.parametrize("case", ["fif 16 kHz", "wav 16 kHz", "wav 8 kHz -> 16 kHz"])
def test_ordinary_audio_still_reaches_the_enhancers_model(tmp_path, monkeypatch, capsys, case):
    """A 16 kHz FIF (lowpass 8000), a 16 kHz WAV (no band) and 8 kHz telephone audio resampled to 16 kHz pass the
    enhancer's band check to its model (its loading stood in for, so the test needs no torch)."""
    import soundfile as sf
    from wavegraph.nodes.models.enhancer import EnhancerNode
    from wavegraph.pipeline.spec import SpecError

    def loaded(self):
        raise SpecError("the model was loaded", "nothing")

    monkeypatch.setattr(EnhancerNode, "_load", loaded)
    if case.startswith("fif"):
        path = _fif(tmp_path / "a_raw.fif", 16000.0)
        graph = _enhance_graph(path)
    else:
        rate = 16000 if "16 kHz" == case[4:] else 8000
        path = tmp_path / "a.wav"
        sf.write(path, np.zeros(rate // 10, np.float32), rate, subtype="FLOAT")
        graph = _enhance_graph(path)
        if rate != 16000:
            graph = graph.replace(
                "  - {id: enhancer, type: enhancer}",
                "  - {id: up, type: resample, params: {rate: 16000}}\n  - {id: enhancer, type: enhancer}",
            ).replace("target: enhancer.in}", "target: up.in}\n  - {source: up.out, target: enhancer.in}")
    (tmp_path / "g.yaml").write_text(graph)
    code, lines = _validate(tmp_path, monkeypatch, capsys, "g.yaml")
    assert code == 2 and len(lines) == 1 and "the model was loaded" in lines[0], lines


def test_mix_says_a_bad_channel_mixed_in_and_keeps_no_stale_bads(caplog):
    """Before: mix of C3, Cz, C4 (a FIF's info['bads'] = ['Cz']) into one channel kept 'Cz' in its output's bads, a name
    no longer in the stream (a mix named 'Cz', a virtual electrode, came out marked bad; any later node named so would
    be), and nothing said a bad channel was mixed in. Now, as mne.channels.combine_channels by default (drop_bad=False:
    mixed in, the output not bad), the output has no bads, and configure says once which bad channel is mixed in with
    the weights that leave it out; a bad channel of weight 0 is not said."""
    import mne
    from wavegraph.nodes.dsp.channels import Mix
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    spec = signal_spec(250.0, ["C3", "Cz", "C4"]).evolve(bads=("Cz",))
    x = np.random.default_rng(1).standard_normal((3, 50))
    with caplog.at_level("WARNING", logger="wavegraph.mix"):
        mix = Mix(name="Cz")
        out = mix.configure({"in": spec})["out"]
    assert out.bads == () and out.channel_names == ("Cz",)
    said = [r.getMessage() for r in caplog.records if r.name == "wavegraph.mix"]
    assert len(said) == 1 and "channel 'Cz' marked bad by the source" in said[0], said
    assert "mixed in" in said[0] and "weights: [0.5, 0, 0.5]" in said[0], said
    # the same samples as mne.channels.combine_channels' default (bads mixed in), whose output is not bad either
    raw = mne.io.RawArray(x, mne.create_info(["C3", "Cz", "C4"], 250.0, "eeg"), verbose="error")
    raw.info["bads"] = ["Cz"]
    ref = mne.channels.combine_channels(raw, {"Cz": [0, 1, 2]}, verbose="error")
    assert ref.info["bads"] == []
    np.testing.assert_allclose(mix.process({"in": Chunk(x, 0.0)})["out"].data, ref.get_data(), rtol=1e-12)
    caplog.clear()
    with caplog.at_level("WARNING", logger="wavegraph.mix"):
        out = Mix(weights=[1.0, 0.0, 1.0]).configure({"in": spec})["out"]
    assert out.bads == () and not [r for r in caplog.records if r.name == "wavegraph.mix"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_dated_stream_recorded_to_wav_replays_dated(tmp_path, dtype):
    """Before: the WAV recorder wrote no bext chunk, so a dated stream (a FIF's meas_date, first_time 12.5 s, its first
    chunk at 2 s) recorded to WAV replayed undated (meas_date ""), though file_source reads a bext. Now the recorder
    writes one before the data (OriginationDate/Time in UTC, TimeReference): the replay is dated at the first sample's
    time, to the sample; the samples are unchanged, and the file stays whole after every chunk and after a cut-back."""
    from datetime import datetime, timedelta

    import soundfile as sf
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    rate, date = 16000.0, "2024-05-06T23:59:50.123456+00:00"  # (its first sample: the next day)
    spec = signal_spec(rate, ["mic"], "audio", dtype, "a.u.").evolve(meas_date=date, first_time=12.5)
    x = np.random.default_rng(2).uniform(-0.5, 0.5, (1, 1600)).astype(dtype)
    path = tmp_path / "take.wav"
    rec = Recorder(path=str(path))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(x[:, :800], t0=2.0)})
    assert FileSource(path=str(path)).configure({})["out"].meas_date != ""  # dated while it is written
    rec.process({"in": Chunk(x[:, 800:], t0=2.05)})
    rec.finish()
    rec.close()
    out = FileSource(path=str(path)).configure({})["out"]
    want = datetime.fromisoformat(date) + timedelta(seconds=14.5)
    assert out.meas_date, "undated"
    assert abs((datetime.fromisoformat(out.meas_date) - want).total_seconds()) <= 0.5 / rate, out.meas_date
    np.testing.assert_array_equal(sf.read(path, dtype=dtype, always_2d=True)[0].T, x)


def test_an_undated_stream_recorded_to_wav_stays_undated_and_a_live_one_is_dated_now(tmp_path):
    """A stream from an undated file (meas_date "") is recorded without a date, as the FIF recorder keeps it undated;
    a stream without one (live, synthetic: None) is dated by the wall clock when its first chunk left, as a FIF's."""
    from datetime import UTC, datetime

    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    for meas_date in ("", None):
        path = tmp_path / f"take{meas_date is None}.wav"
        rec = Recorder(path=str(path))
        rec.configure({"in": signal_spec(8000.0, ["mic"], "audio", "float32", "a.u.").evolve(meas_date=meas_date)})
        rec.process({"in": Chunk(np.zeros((1, 80), np.float32), t0=5.0)})
        rec.close()
        got = FileSource(path=str(path)).configure({})["out"].meas_date
        if meas_date == "":
            assert got == ""
        else:
            assert got and abs((datetime.fromisoformat(got) - datetime.now(UTC)).total_seconds()) < 60, got


def test_align_delay_auto_written_out_is_taken(tmp_path, monkeypatch, capsys):
    """Before: `delay: auto`, as docs/nodes.md and configs/speech_enhance_file.yaml write it (and
    GraphBuilder.add('align', ..., delay='auto')), was refused: "parameter 'delay' = 'auto' is text, not a number" (the
    check of quoted numbers took float | Literal['auto'] for a number). Now the word is taken; a quoted number there is
    still refused with its fix."""
    graph = """\
nodes:
  - {id: src, type: sine, params: {rate: 100, duration: 0.2}}
  - {id: al, type: align, params: {delay: DELAY}}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: al.in}
  - {source: al.out, target: sink.in}
"""
    (tmp_path / "g.yaml").write_text(graph.replace("DELAY", "auto"))
    code, lines = _validate(tmp_path, monkeypatch, capsys, "g.yaml")
    assert code == 0, lines
    (tmp_path / "g.yaml").write_text(graph.replace("DELAY", '"0.1"'))
    code, lines = _validate(tmp_path, monkeypatch, capsys, "g.yaml")
    assert code == 2 and "'0.1' is text, not a number; fix: write it without quotes: delay: 0.1" in lines[0], lines
    from wavegraph.pipeline.api import GraphBuilder

    g = GraphBuilder()
    down = g.add("resample", g.add("sine", rate=100.0, duration=0.5), rate=50.0)
    node = g.add("align", down, delay="auto")
    got = g.run(capture=[f"{down}.out", f"{node}.out"])
    delay = round(got[f"{down}.out"].spec.delay * 50.0)  # (the resampler's, in output samples)
    assert delay > 0
    np.testing.assert_array_equal(got[f"{node}.out"].data, got[f"{down}.out"].data[:, delay:])


# --- a gap: a model node emits what it holds back of the segment before (end_segment), as at the end of a stream ----
class GapFeaturesParams(NodeParams):
    lost: int = 3  # frames lost at the gap
    n: int = 164
    gap_at: int = 78  # the first frame after the gap
    chunk: int = 10


class GapFeatures(Source):
    """Features (frames x 6) at 100 frames/s in chunks of `chunk` frames; `lost` frames are lost before frame
    `gap_at`: its chunk is flagged gap and stamped that much later, as a source that dropped data sends it."""

    Params = GapFeaturesParams

    def configure(self, in_specs):
        self.i = 0
        self.out_specs = {"out": StreamSpec("features", 100.0, (6,), "float32")}
        return self.out_specs

    def read(self):
        p = self.params
        if self.i >= p.n:
            return None
        end = min(p.n, self.i + p.chunk, p.gap_at if self.i < p.gap_at else p.n)
        t0 = (self.i + (p.lost if self.i >= p.gap_at else 0)) / 100.0
        chunk = Chunk(_feats(p.n)[self.i : end], t0, gap=self.i == p.gap_at)
        self.i = end
        return {"out": chunk}


def _feats(n):
    return np.random.default_rng(4).standard_normal((n, 6)).astype(np.float32)


ENCODER: dict = dict(
    random_init=True, seed=3, d_model=16, n_layers=1, n_heads=2, conv_kernel=5, subsampling=4, device="cpu"
)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("lost", [3, 100])
def test_a_model_node_keeps_the_frames_it_held_back_at_a_gap(lost):
    """A Conformer (lookahead: it holds frames back) on a features stream that lost 3 frames (or 1 s) before frame 78.
    Before: at the gap the node dropped the frames it still held of the segment before (frames_dropped_at_gap), so the
    output had fewer frames than the two segments encoded alone. Now the runtime's end_segment() emits them, as
    finish() does at the end of a stream: the output is each segment encoded as if alone, its frames stamped at their
    first input frame, times strictly increasing across a short gap as a long one, the gap flagged once."""
    from wavegraph.pipeline.api import GraphBuilder
    from wavegraph.pipeline.registry import lookup
    from wavegraph.pipeline.testing import run_chunked

    g = GraphBuilder()
    enc = g.add("conformer_encoder", g.add(f"{__name__}:GapFeatures", lost=lost), **ENCODER)
    got = g.run(capture=[f"{enc}.out"])[f"{enc}.out"]
    x, spec = _feats(164), StreamSpec("features", 100.0, (6,), "float32")
    want, times = [], []
    for seg, t_start in ((x[:78], 0.0), (x[78:], (78 + lost) / 100.0)):
        node = lookup("conformer_encoder")(**ENCODER)
        node.configure({"in": spec})
        out = run_chunked(node, seg, spec, [len(seg)])["out"]
        want.append(out)
        times.append(t_start + np.arange(len(out)) * 4 / 100.0)
    assert got.data.shape == (sum(len(w) for w in want), 16), (got.data.shape, [len(w) for w in want])
    np.testing.assert_allclose(got.data, np.concatenate(want), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got.times, np.concatenate(times), rtol=0, atol=1e-9)
    assert (np.diff(got.times) > 0).all()
    assert list(got.gaps) == [pytest.approx((78 + lost) / 100.0)]


class GapAudioParams(NodeParams):
    n1: int = 4050  # samples before the gap
    lost: int = 3


class GapAudio(Source):
    """8000 samples of 16 kHz noise in two chunks: `n1` samples, then (flagged gap, `lost` samples later) the rest."""

    Params = GapAudioParams

    def configure(self, in_specs):
        self.sent = 0
        self.out_specs = {"out": StreamSpec("signal", 16000.0, (1,), "float32", ("ch0",), ("audio",))}
        return self.out_specs

    def read(self):
        x, n1 = (0.1 * np.random.default_rng(1).standard_normal((1, 8000))).astype(np.float32), self.params.n1
        self.sent += 1
        if self.sent == 1:
            return {"out": Chunk(x[:, :n1], 0.0)}
        if self.sent == 2:
            return {"out": Chunk(x[:, n1:], (n1 + self.params.lost) / 16000.0, gap=True)}
        return None


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("n1, lost", [(4050, 3), (4050, 4000), (4000, 3)])
def test_the_enhancers_vad_keeps_increasing_across_a_short_gap(n1, lost):
    """The enhancer's end_segment() (the runtime calls it before a gap) gave the segment's vad frames as finish() does,
    one more after a segment of no whole number of 10 ms hops (4050 samples): stamped 10 ms after its last full hop,
    after the next segment's first frame when the gap was under 10 ms (3 samples lost: the vad went back 6.7 ms, which
    an epochs or join after it takes for a restart). Now the segment's frames are those stamped up to its end: times
    increase for a short gap as a long one, every sample of the segment still in a frame. The audio's tail is cut as the
    filters' are (segment_tail), so its times increase too."""
    from wavegraph.pipeline.api import GraphBuilder

    g = GraphBuilder()
    enh = g.add("enhancer", g.add(f"{__name__}:GapAudio", n1=n1, lost=lost), random_init=True, d_model=16, n_layers=1)
    got = g.run(capture=[f"{enh}.vad", f"{enh}.out"])
    vad, out = got[f"{enh}.vad"], got[f"{enh}.out"]
    assert (np.diff(vad.times) > 0).all(), np.round(vad.times[20:32], 5)
    before = vad.times[vad.times < (n1 + lost) / 16000.0 - 1e-9]
    assert 160 * (len(before) - 1) + 160 >= n1  # the last frame of the segment reaches its last sample
    assert len(before) == n1 // 160 + 1 and list(vad.gaps) == [pytest.approx((n1 + lost) / 16000.0)]
    # the audio: each segment's tail, cut to what is stamped before the next segment (all of it after a long gap; after
    # 3 lost samples, 3 of its 319, the rest counted), so the raw out's times increase too
    assert out.data.shape == (1, 8000 + 319 + min(lost, 319)) and (np.diff(out.times) > 0).all()


class GapEEGParams(NodeParams):
    n1: int = 2480  # samples before the gap
    lost: int = 3


class GapEEG(Source):
    """20 s of 250 Hz EEG-scale noise on C3, C4 in chunks of 250: `lost` samples are lost after the first `n1`."""

    Params = GapEEGParams

    def configure(self, in_specs):
        self.i = 0
        self.out_specs = {"out": signal_spec(250.0, ["C3", "C4"])}
        return self.out_specs

    def read(self):
        n1, lost = self.params.n1, self.params.lost
        if self.i >= 5000:
            return None
        end = min(5000, self.i + 250, n1 if self.i < n1 else 5000)
        chunk = Chunk(_eeg()[:, self.i : end], (self.i + (lost if self.i >= n1 else 0)) / 250.0, gap=self.i == n1)
        self.i = end
        return {"out": chunk}


def _eeg():
    return 1e-5 * np.random.default_rng(0).standard_normal((2, 5000))


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("lost", [3, 250])
def test_the_eeg_tokenizer_keeps_the_tokens_a_segment_completes_at_a_gap(lost):
    """250 Hz EEG through eeg_tokenizer (its resampler to 200 Hz holds a tail) that lost 3 samples (or 1 s) after
    9.92 s. Before: the tokenizer reset at the gap, dropping unsaid the token the segment's resampler tail completes:
    39 tokens in a run where the two segments alone give 20 + 20. Now end_segment() gives it, as finish() does at the
    end of a stream: the run's tokens are each segment's alone, their times increasing for a short gap as a long one."""
    from wavegraph.pipeline.api import GraphBuilder
    from wavegraph.pipeline.registry import lookup

    g = GraphBuilder()
    tok = g.add("eeg_tokenizer", g.add(f"{__name__}:GapEEG", lost=lost))
    got = g.run(capture=[f"{tok}.tokens"])[f"{tok}.tokens"]
    want = []
    for seg in (_eeg()[:, :2480], _eeg()[:, 2480:]):
        node = lookup("eeg_tokenizer")()
        node.configure({"in": signal_spec(250.0, ["C3", "C4"])})
        outs = [node.process({"in": Chunk(seg, 0.0)}), node.finish()]
        want.append(np.concatenate([o["tokens"].data for o in outs if "tokens" in o]))
    assert [len(w) for w in want] == [20, 20]
    np.testing.assert_array_equal(got.data, np.concatenate(want))
    assert (np.diff(got.times) > 0).all() and list(got.gaps) == [pytest.approx((2480 + lost) / 250.0)]
