"""Session 45 probe of the spectral and rate nodes (stft, istft, filterbank, resample): an istft after a filterbank
gave its channels back as ch0.. of a flat (bands*channels,) signal; resample declared its content delay D/up as its
latency, which `describe` summed, where an impulse's peak comes out half/up input samples after it (441 declared
against 27 measured at 44.1 -> 16 kHz). And odd framings against scipy's ShortTimeFFT, one sample per chunk."""

from __future__ import annotations

import mne
import numpy as np
import pytest
from scipy.signal import ShortTimeFFT
from wavegraph.nodes.dsp.filterbank import Filterbank
from wavegraph.nodes.dsp.resample import Resample
from wavegraph.nodes.dsp.windows import ISTFT, STFT, make_window
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, run_chunked

NAMES = ["C3", "C4", "Cz"]
BANDS = [[8.0, 30.0], [12.0, 40.0]]


def test_istft_after_a_filterbank_gives_back_its_bands_and_channel_names():
    spec = signal_spec(250.0, NAMES)
    x = np.random.default_rng(0).standard_normal((3, 640))
    fb = Filterbank(bands=BANDS)
    banded = run_chunked(fb, x, spec, [640])["out"]
    st, it = STFT(n_fft=64, hop=16, window="hann"), ISTFT(n_fft=64, hop=16, window="hann")
    frames_spec = st.configure({"in": fb.out_specs["out"]})["out"]
    out = it.configure({"in": frames_spec})["out"]
    assert out.shape == (2, 3) and out.channel_names == tuple(NAMES)  # was (6,) named ch0..ch5, typed misc
    assert out.channel_types == ("eeg",) * 3
    frames = run_chunked(st, banded, fb.out_specs["out"], [640])["out"]
    y = run_chunked(it, frames, frames_spec, [1] * frames.shape[0])["out"]
    assert y.shape[:2] == (2, 3)
    np.testing.assert_allclose(y[..., 48 : 48 + 640], banded, rtol=1e-10, atol=1e-12)  # n_fft - hop later
    assert_streaming_equivalent(lambda: ISTFT(n_fft=64, hop=16, window="hann"), frames, frames_spec)
    # frames of no named channels (a model's real_to_complex) still come back flat, named ch0..
    bare = frames_spec.evolve(channel_names=(), channel_types=())
    assert ISTFT(n_fft=64, hop=16, window="hann").configure({"in": bare})["out"].channel_names[:2] == ("ch0", "ch1")


def test_a_graph_gives_an_mne_recordings_names_back_through_filterbank_stft_istft():
    x = np.random.default_rng(1).standard_normal((4, 500)) * 1e-5
    x[3] = 0.0
    x[3, 100] = 5.0
    raw = mne.io.RawArray(x, mne.create_info([*NAMES, "STI"], 250.0, ["eeg"] * 3 + ["stim"]), verbose=False)
    g = GraphBuilder()
    src = g.add("array_source", data=raw, chunk_size=37, id="src")
    fb = g.add("filterbank", src, id="fb", bands=BANDS)
    st = g.add("stft", fb, id="st", n_fft=64, hop=16, window="hann")
    it = g.add("istft", st, id="it", n_fft=64, hop=16, window="hann")
    g.add("align", it, id="al")
    out = g.run(capture=["fb.out", "al.out"])
    back = out["al.out"]
    assert back.spec.channel_names == tuple(NAMES) and back.spec.shape == (2, 3)  # the stft left the trigger out
    np.testing.assert_allclose(back.data[..., :500], out["fb.out"].data[:, :3], rtol=1e-9, atol=1e-18)


def _peak_waits(fin: float, fout: float, starts) -> tuple[Resample, list[int], list[float]]:
    """An impulse at each input index in `starts`, fed one sample per chunk as the runtime drives a live stream:
    (node, input samples after the impulse when its peak output came out, its peak's stamp less the impulse's)."""
    waits, content = [], []
    for i0 in starts:
        node = Resample(rate=fout)
        node.configure({"in": signal_spec(fin, ["a"])})
        n = i0 + 2 * node.latency_samples + 2 * node.L + 4
        x = np.zeros((1, n))
        x[0, i0] = 1.0
        outs, when, stamps = [], [], []
        for i in range(n):
            o = node.process({"in": Chunk(x[:, i : i + 1], t0=i / fin)}).get("out")
            if o is not None:
                stamps.append(o.t0)
                outs.append(o.data[0])
                when += [i] * o.data.shape[1]
        j = int(np.argmax(np.abs(np.concatenate(outs))))
        waits.append(when[j] - i0)
        content.append(stamps[0] + j / fout - i0 / fin)
    return node, waits, content


@pytest.mark.parametrize(
    "fin,fout",
    [(44100, 16000), (48000, 16000), (16000, 48000), (250, 100), (1000, 250), (16000, 44100), (250, 200)],
)
def test_resample_declares_the_wait_for_an_impulse_peak(fin, fout):
    node, waits, content = _peak_waits(fin, fout, range(100, 100 + 7))
    assert abs(max(waits) - node.latency_samples) <= 1, (waits, node.latency_samples)  # 441 against 27 at 44.1k
    # the content delay (the stamps' lag, which align removes) stays D/down output samples, within one
    assert max(abs(c - node.out_specs["out"].delay) for c in content) <= 1 / fout + 1e-12


def test_describe_sums_what_an_impulse_measures_through_44k_to_16k_and_back():
    g = GraphBuilder()
    src = g.add("array_source", data=np.zeros((1, 4410)), rate=44100.0, chunk_size=441, id="src")
    down = g.add("resample", src, id="down", rate=16000.0)
    g.add("resample", down, id="up", rate=44100.0)
    graph = build_graph(g.config(capture=["up.out"]))
    declared = graph.path_latency(["src", "down", "up", "_capture0"])
    a, wa, _ = _peak_waits(44100.0, 16000.0, [200])
    b, wb, _ = _peak_waits(16000.0, 44100.0, [200])
    measured = wa[0] / 44100.0 + wb[0] / 16000.0
    assert abs(declared - measured) <= 2 / 16000.0, (declared, measured)  # it declared 20 ms, measured 1.2 ms
    assert graph.specs["up.out"].delay == pytest.approx(0.020)  # the content delay align removes: unchanged


@pytest.mark.parametrize(
    "n_fft,hop,window,dtype",
    [
        (90, 45, "sqrt_hann", "float64"),
        (255, 85, "hann", "float64"),
        (33, 11, ["kaiser", 8.0], "float32"),
        (15, 5, "blackman", "float64"),
        (7, 7, "boxcar", "float32"),
        (2, 1, "hann", "float64"),
    ],
)
def test_odd_framings_match_scipy_short_time_fft_one_sample_per_chunk(n_fft, hop, window, dtype):
    n = 211
    spec = signal_spec(1000.0, ["a", "b"], dtype=dtype)
    x = np.random.default_rng(2).standard_normal((2, n)).astype(dtype)
    st = STFT(n_fft=n_fft, hop=hop, window=window)
    z = run_chunked(st, x, spec, [1] * n)["out"]
    w = make_window(tuple(window) if isinstance(window, list) else window, n_fft)
    sft = ShortTimeFFT(w, hop, 1000.0, phase_shift=None)  # scipy's slice p starts at p*hop - m_num_mid
    a = (n_fft - sft.m_num_mid) % hop  # zeros in front so that its slices fall on ours (at k*hop - n_fft + hop)
    c = (a + sft.m_num_mid - n_fft + hop) // hop  # our frame k is its slice k + c
    s = sft.stft(np.concatenate([np.zeros((2, a)), x.astype(np.float64)], axis=1))
    frames = min(z.shape[0], s.shape[-1] - (c - sft.p_min))
    ref = s[..., c - sft.p_min : c - sft.p_min + frames].transpose(2, 0, 1).reshape(frames, -1)
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(z[:frames], ref, rtol=0, atol=tol * np.abs(ref).max())
    it = ISTFT(n_fft=n_fft, hop=hop, window=window)
    y = run_chunked(it, z, st.out_specs["out"], [1] * z.shape[0])["out"]
    back = sft.istft(sft.stft(x.astype(np.float64)), k1=n)
    np.testing.assert_allclose(y[:, n_fft - hop : n_fft - hop + n], back, rtol=0, atol=tol * 10)
    # the leftover: the stream does not tell the istft where it ended, so up to hop - 1 zeros follow
    assert y.shape[1] - (n_fft - hop) == -(-n // hop) * hop
    np.testing.assert_allclose(y[:, n_fft - hop + n :], 0.0, atol=tol * 10)
