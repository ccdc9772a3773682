"""DSP nodes attacked at their numerical edges, against what an MNE/scipy/ezmsg-sigproc user trusts. Each test is a
defect this sweep found; it failed before its fix. What was already right is listed in the commit messages."""

import numpy as np
import pytest
from scipy import signal as ss
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, signal_spec
from wavegraph.pipeline.testing import run_chunked

SPEC = signal_spec(1000.0, ["E0", "E1"])


@pytest.mark.parametrize(
    "params,harmonic",
    [
        (dict(freq=50.0, quality=0.1), 1),  # -3 dB bandwidth 500 Hz = Nyquist: a pole on the unit circle
        (dict(freq=400.0, quality=0.5), 1),  # 800 Hz wide: poles outside it, the output grows to 1e308
        (dict(freq=1.0, quality=0.001), 1),
        (dict(freq=100.0, quality=0.3, harmonics=2), 2),  # 200 Hz / 0.3 = 667 Hz
    ],
)
def test_a_notch_wider_than_nyquist_is_refused_not_run_unstable(params, harmonic):
    # iirnotch(f, Q) is unstable once its bandwidth f/Q reaches Nyquist; the node ran it: on unit noise the output
    # reached 1e308, then `overflow` reset it again and again, and every sample came out wrong or zeroed.
    node = lookup("notch")(**params)
    with pytest.raises(SpecError, match=rf"harmonic {harmonic}.*bandwidth.*quality") as e:
        node.configure({"in": SPEC})
    need = harmonic * params["freq"] / 500.0
    assert f"{need:g}" in str(e.value)  # the smallest quality that works, said as the fix
    ok = lookup("notch")(**{**params, "quality": 1.5 * need})
    ok.configure({"in": SPEC})
    y = ok.process({"in": Chunk(np.random.default_rng(0).standard_normal((2, 20_000)), 0.0)})["out"].data
    assert np.abs(y).max() < 20 and not ok.counters


def test_an_unstable_iir_design_is_a_spec_error_whatever_the_node():
    # The generic check (every IIR node and the filter bank run SosKernel): a section with a pole outside the unit
    # circle is refused at configure, naming the pole.
    from wavegraph.nodes.dsp.filters import SosKernel

    sos = np.array([[1.0, 0.0, 0.0, 1.0, -2.1, 1.1]])  # poles 1.1 and 1.0
    with pytest.raises(SpecError, match="unstable.*pole.*1.1"):
        SosKernel(sos, np.float64)


@pytest.mark.parametrize("numtaps,rate", [(201, 1000.0), (31, 250.0)])
def test_fir_declares_its_delay_on_the_stream_so_align_removes_it(numtaps, rate):
    # fir's output lags its time stamps by (numtaps - 1) / 2 samples (its declared latency), as resample's does; but
    # only resample put it in StreamSpec.delay, so `align` (delay: auto) after a fir dropped nothing and left the
    # signal (numtaps - 1) / 2 samples late, and `wavegraph describe` showed no delay on fir's edge.
    spec = signal_spec(rate, ["E0"])
    fir = lookup("fir")(h_freq=rate / 10, numtaps=numtaps)
    out_spec = fir.configure({"in": spec})["out"]
    lag = (numtaps - 1) // 2
    assert out_spec.delay == pytest.approx(lag / rate)
    x = np.zeros((1, 400))
    x[0, 100] = 1.0  # an impulse: its response peaks `lag` samples later (linear phase)
    y = run_chunked(lookup("fir")(h_freq=rate / 10, numtaps=numtaps), x, spec, [7] * 57 + [1])["out"]
    assert int(np.argmax(y[0])) == 100 + lag
    align = lookup("align")()
    align.configure({"in": out_spec})
    z = align.process({"in": Chunk(y, 0.0)})["out"]
    assert int(np.argmax(z.data[0])) == 100 and z.t0 == 0.0  # back on the source's time base
    padded = np.pad(x[0], (0, lag))  # (fir flushes its last `lag` samples at finish: the input's length after align)
    np.testing.assert_allclose(z.data[0], ss.lfilter(fir.b, 1, padded)[lag:], rtol=1e-12, atol=1e-15)


def test_align_auto_on_a_delay_between_samples_says_where_it_comes_from_and_what_to_write():
    # fir (50 samples at 1 kHz) then resample to 250 Hz (10 samples): 22.5 samples of delay at 250 Hz. align's error
    # was 'a delay of 0.09 s is not a whole number of samples; fix: use a multiple of 0.004 s' for a delay nobody wrote.
    src = signal_spec(1000.0, ["E0"])
    fir = lookup("fir")(h_freq=40.0, numtaps=101)
    rs = lookup("resample")(rate=250.0)
    spec = rs.configure({"in": fir.configure({"in": src})["out"]})["out"]
    with pytest.raises(SpecError, match=r"declares \(0.09 s.*22.5 samples") as e:
        lookup("align")().configure({"in": spec})
    assert "delay: 0.088 (22 samples) or 0.092 (23)" in e.value.hint
    align = lookup("align")(delay=0.088)  # what it says to write works
    assert align.configure({"in": spec})["out"].delay == pytest.approx(0.002)


def test_a_fir_longer_than_its_state_can_hold_is_refused_before_it_allocates():
    # numtaps: 100000001 on 64 channels asked numpy for 763 MiB of taps and then 48 GiB of lfilter state: validate
    # said 'MemoryError ... this is a bug in the node' (or the machine ran out of memory). The other windowed nodes
    # refuse more than 1 GiB of state at configure; fir now does too, naming the longest numtaps that fits.
    spec = signal_spec(1000.0, [f"E{i}" for i in range(64)])
    with pytest.raises(SpecError, match=r"fir numtaps 100000001 .* 64 channels needs .* GiB") as e:
        lookup("fir")(h_freq=40.0, numtaps=100_000_001).configure({"in": spec})
    longest = int(e.value.hint.split("numtaps of at most ")[1].split()[0])
    assert longest % 2 == 1 and longest * (64 * 8 + 8) <= 2**30 < (longest + 2) * (64 * 8 + 8)  # the longest odd one
    lookup("fir")(h_freq=40.0, numtaps=1001).configure({"in": spec})  # a long filter that fits is still taken


@pytest.mark.parametrize("params,what", [(dict(tmax=1e7), "tmax - tmin"), (dict(max_delay=1e7), "max_delay")])
def test_epochs_longer_than_its_buffer_can_hold_are_refused_at_configure(params, what):
    # tmax: 1e7 (or a max_delay of 1e7 s) was taken: the node kept every sample waiting for an epoch's end (or for a
    # late marker), 64 channels x 1 kHz x 8 bytes a second, until the machine ran out of memory (2e6 samples held
    # after 2000 s here, and growing). Over 1 GiB of buffer is now a SpecError naming the longest that fits.
    from wavegraph.pipeline.spec import StreamSpec

    spec = signal_spec(1000.0, [f"E{i}" for i in range(64)])
    node = lookup("epochs")(**params)
    with pytest.raises(SpecError, match=rf"epochs .*{what}.* GiB of buffer; at most 1 GiB") as e:
        node.configure({"in": spec, "events": StreamSpec("events", 0.0, (3,))})
    assert "at most" in e.value.hint
    ok = lookup("epochs")(tmin=-1.0, tmax=4.0, max_delay=30.0)  # a long epoch and patience that fit are still taken
    ok.configure({"in": spec, "events": StreamSpec("events", 0.0, (3,))})


def test_a_resampling_ratio_whose_filter_cannot_fit_is_refused_and_not_suggested():
    # 1000 -> 999.9999 Hz (a measured rate) needs up/down 9999999/10000000: the error said 'set max_factor: 10000000',
    # and with it configure asked numpy for 1.49 GiB of taps (then as much twice more): MemoryError, a traceback in
    # Python, 'this is a bug in the node' from validate; the filter would have delayed the stream by 2.8 hours.
    spec = signal_spec(1000.0, ["E0"])
    with pytest.raises(SpecError, match="above max_factor 1000") as e:
        lookup("resample")(rate=999.9999).configure({"in": spec})
    assert "max_factor: 10000000" not in e.value.hint and "simple ratio" in e.value.hint and "GiB" in e.value.hint
    for params in (dict(rate=999.9999, max_factor=10_000_000), dict(up=9_999_999, down=10_000_000, max_factor=10**7)):
        with pytest.raises(SpecError, match=r"needs a filter of \d+ taps \(4.47 GiB\); at most 1 GiB"):
            lookup("resample")(**params).configure({"in": spec})
    with pytest.raises(SpecError, match="set max_factor: 1001 "):  # a ratio whose filter fits is still offered
        lookup("resample")(rate=1001.0).configure({"in": spec})


def test_running_zscore_stays_exact_after_the_signal_moves_far_from_its_first_sample():
    # A stream that starts at 0 (an amplifier's first sample, a raw ADC count before its offset settles) and then sits
    # at 1e8 with unit noise: the sums were kept relative to the first sample, and variance = E[d^2] - E[d]^2 lost
    # every digit (1e16 - 1e16): z-scores off by up to 3.7 (silently), 3e-3 at 1e6. Each block's sums are now taken
    # relative to the sample before it, so only the drift within a window counts.
    from numpy.lib.stride_tricks import sliding_window_view
    from wavegraph.pipeline.testing import assert_streaming_equivalent

    rate, W, n = 250.0, 250, 2000
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, n)) + np.array([[1e8], [-3e6]])
    x[:, :5] = 0.0
    spec = signal_spec(rate, ["E0", "E1"])
    y = assert_streaming_equivalent(lambda: lookup("running_zscore")(window=1.0), x, spec, rtol=0, atol=0)["out"]
    win = sliding_window_view(x, W, axis=1)[:, W:]  # windows wholly past the jump (each ends at sample t)
    ref = (x[:, 2 * W - 1 :] - win.mean(-1)) / win.std(-1)
    np.testing.assert_allclose(y[:, 2 * W - 1 :], ref, rtol=0, atol=1e-6)
    spiked = x.copy()  # a spike on a block's last sample spoils the windows that hold it, and no later one
    spiked[:, 3 * W - 1] = 1e150
    z = assert_streaming_equivalent(lambda: lookup("running_zscore")(window=1.0), spiked, spec, [[n]])["out"]
    np.testing.assert_allclose(z[:, 4 * W - 1 :], y[:, 4 * W - 1 :], rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "pairs,match",
    [
        (["C3-Cz", "Cz-C4", "C3-Cz"], r"pair 'C3-Cz' is given twice"),
        (["C3-C3"], r"pair 'C3-C3' subtracts C3 from itself"),
    ],
)
def test_rereference_refuses_a_pair_twice_or_a_channel_minus_itself(pairs, match):
    # Two outputs named 'C3-Cz': pick_channels drop: [C3-Cz] then removed only the first, and the recording still had a
    # channel 'C3-Cz' the user had dropped; 'C3-C3' was a channel of zeros, unsaid.
    node = lookup("rereference")(pairs=pairs)
    with pytest.raises(SpecError, match=match) as e:
        node.configure({"in": signal_spec(250.0, ["C3", "Cz", "C4"])})
    assert "each pair once" in e.value.hint or "two different channels" in e.value.hint


@pytest.mark.parametrize("floor", [1e-50, 1e-300])
def test_a_magnitude_floor_that_float32_rounds_to_zero_is_refused(floor):
    # log: true with floor 1e-50 on an stft of a float32 signal (complex64): the floor became float32 0, and a silent
    # bin gave log10(0) = -inf in the features (and numpy's 'RuntimeWarning: divide by zero'); a model after it then
    # computes NaN. The same floor on complex128 works: float64 holds it.
    from wavegraph.pipeline.spec import StreamSpec

    node = lookup("magnitude")(log=True, floor=floor)
    with pytest.raises(SpecError, match=rf"floor {floor:g} is 0 in float32") as e:
        node.configure({"in": StreamSpec("features", 100.0, (3,), "complex64")})
    assert "1e-45" in e.value.hint
    wide = lookup("magnitude")(log=True, floor=floor)
    wide.configure({"in": StreamSpec("features", 100.0, (3,), "complex128")})
    y = wide.process({"in": Chunk(np.zeros((2, 3), np.complex128), 0.0)})["out"].data
    np.testing.assert_array_equal(y, np.log10(floor))


def test_epochs_after_a_resample_are_cut_around_the_marker_not_its_delay_later():
    # EEG at 1 kHz -> resample to 250 Hz -> epochs, markers on the source clock: the resampler's output lags its
    # stamps by 40 ms (declared, StreamSpec.delay), and epochs cut every window 10 samples late (an ERP peak at 300 ms
    # showed at 340 ms) with no word. mne.Epochs on the resampled recording (MNE resamples without delay) is the
    # reference: epochs now read the signal's samples at their content times (stamp - declared delay).
    from wavegraph.nodes.dsp.epochs import Epochs
    from wavegraph.pipeline.spec import StreamSpec

    rate, n = 1000.0, 6000
    x = np.random.default_rng(3).standard_normal((2, n))
    rs = lookup("resample")(rate=250.0)
    spec = rs.configure({"in": signal_spec(rate, ["E0", "E1"])})["out"]
    y = np.concatenate([c["out"].data for c in (rs.process({"in": Chunk(x, 0.0)}), rs.finish())], axis=1)
    onsets = np.array([1.0, 2.5, 4.004])
    node = Epochs(tmin=-0.2, tmax=0.5)
    node.configure({"in": spec, "events": StreamSpec("events", 0.0, (3,))})
    node.process({"events": Chunk(np.column_stack([onsets, 0 * onsets, [1, 2, 3]]), 1.0)})
    got = [node.process({"in": Chunk(y[:, k : k + 37], k / 250.0)}) for k in range(0, y.shape[1], 37)]
    got = np.concatenate([g["out"].data for g in got if g])
    content = ss.resample_poly(x, 1, 4, axis=-1)  # what the resampler's output holds, at its true times
    s = np.round(onsets * 250).astype(int)
    ref = np.stack(
        [content[:, k - 50 : k + 126] for k in s]
    )  # mne.Epochs' samples [s + round(tmin*rate), s + round(tmax*rate)]
    assert got.shape == ref.shape and not node.counters
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


def test_join_lines_up_an_input_that_lags_its_stamps_with_one_that_does_not():
    # A 1 kHz signal joined, on the grid of its own 250 Hz resampled copy, with itself: the resampled input's content
    # lags its stamps by 40 ms (declared), and join lined the stamps up, so the raw channel came out 40 ms early
    # against the resampled one; and the output declared no delay, so an align after it removed nothing. Now each
    # input is shifted by its delay relative to the reference, and the output declares the reference's.
    from wavegraph.nodes.dsp.join import Join

    rate, n = 1000.0, 4000
    x = np.random.default_rng(4).standard_normal((1, n))
    src = signal_spec(rate, ["E0"])
    rs = lookup("resample")(rate=250.0)
    rs_spec = rs.configure({"in": src})["out"]
    node = Join(inputs=["a", "b"])
    out_spec = node.configure({"a": rs_spec, "b": src})["out"]
    assert out_spec.delay == pytest.approx(0.04)
    outs = []
    for k in range(0, n, 100):
        c = Chunk(x[:, k : k + 100], k / rate)
        outs.append(node.process({"a": rs.process({"in": c})["out"], "b": c}))
    first = next(o["out"] for o in outs if o)
    y = np.concatenate([o["out"].data for o in outs if o], axis=1)
    m = y.shape[1]
    assert m > 900 and first.t0 == pytest.approx(0.04)  # the resampler's 10 warm-up samples: before b's content
    np.testing.assert_allclose(y[0], ss.resample_poly(x[0], 1, 4)[:m], rtol=0, atol=1e-12)  # content from time 0
    np.testing.assert_allclose(y[1], x[0, 0 : 4 * m : 4], rtol=0, atol=1e-9)  # b at those times (was x[40], x[44] ...)
    align = lookup("align")()
    align.configure({"in": out_spec})
    z = align.process({"in": first})["out"]
    assert z.t0 == pytest.approx(0.04) and z.data[0, 0] == y[0, 10]  # stamped at its content's time


@pytest.mark.parametrize("name,params", [("bandpower", {}), ("sliding_window", dict(size=50, hop=25))])
def test_windowed_features_keep_the_delay_their_signal_declares(name, params):
    # stft carried its input's declared delay; bandpower and sliding_window built their features spec without it, so
    # features of a resampled (or fir-filtered) signal were stamped 40 ms late with nothing declared, and an align
    # after them (or a consumer reading StreamSpec.delay) had nothing to remove.
    rs = lookup("resample")(rate=250.0)
    spec = rs.configure({"in": signal_spec(1000.0, ["E0", "E1"])})["out"]
    out = lookup(name)(**params).configure({"in": spec})["out"]
    assert out.delay == pytest.approx(0.04)
    frames = np.ones((3, out.shape[0]))
    align = lookup("align")()
    align.configure({"in": out})
    align.process({"in": Chunk(frames, 0.0)})  # (the frames stamped before the start once moved are dropped)
    assert align.process({"in": Chunk(frames, 5.0)})["out"].t0 == pytest.approx(4.96)  # 40 ms earlier: content time


@pytest.mark.parametrize("name", ["bandpass", "filterbank"])
@pytest.mark.parametrize("rp,rs", [(3.0, 1.0), (1.0, 1.0), (20.0, 0.01)])
def test_an_elliptic_design_whose_stopband_is_not_below_its_ripple_is_a_parameter_error(name, rp, rs):
    # design: ellip with rs <= rp: scipy's ellipap failed inside ('ValueError: attempt to get argmin of an empty
    # sequence', from numpy, so validate called it a bug in the node), or, at rs == rp, the design came out singular and
    # the node said its edges were too small a fraction of the rate and to resample (nothing to do with the rate).
    params = dict(l_freq=8.0, h_freq=12.0) if name == "bandpass" else dict(bands=[[8.0, 12.0]])
    node = lookup(name)(**params, design="ellip", rp=rp, rs=rs)
    with pytest.raises(SpecError, match=rf"ellip.*rs {rs:g} dB.*rp {rp:g} dB") as e:
        node.configure({"in": signal_spec(1000.0, ["E0"])})
    assert "rs: 40" in e.value.hint
    lookup(name)(**params, design="ellip", rp=rp, rs=rp + 40).configure({"in": signal_spec(1000.0, ["E0"])})


@pytest.mark.parametrize(
    "params,rate,said",
    [
        (dict(l_freq=1.0), 1000.0, "keeps 89 % at 0 Hz (DC)"),  # the default numtaps 101: a high-pass that is not
        (dict(l_freq=1.0, h_freq=40.0), 250.0, "keeps 59 % at 0 Hz (DC)"),
        (dict(h_freq=495.0), 1000.0, "keeps 49 % at 500 Hz"),
        (dict(l_freq=5.0, h_freq=7.0), 1000.0, "keeps 112 % at 3 Hz"),  # a band narrower than the transition
        (dict(l_freq=52.0, h_freq=50.0), 1000.0, "keeps 89 % at 51 Hz"),  # a band-stop likewise
    ],
)
def test_a_fir_too_short_for_its_edges_says_so_with_the_length_it_needs(params, rate, said, caplog):
    # numtaps (101 by default) sets the transition band: about 3.3 x rate / numtaps wide (hamming), 33 Hz at 1 kHz.
    # A 1 Hz high-pass with it let 89 % of DC and of 0.5 Hz through, unsaid (MNE refuses such a length: 'The requested
    # filter length 101 is too short for the requested 1.00 Hz transition band'). The node still runs (tests use short
    # filters on purpose) but says what the filter does and the numtaps MNE's rule gives.
    import logging

    with caplog.at_level(logging.WARNING, "wavegraph.fir"):
        lookup("fir")(**params).configure({"in": signal_spec(rate, ["E0"])})
    (line,) = [r.getMessage() for r in caplog.records]
    assert said in line and "numtaps: " in line, line
    longer = int(line.split("numtaps: ")[1].split()[0])
    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.fir"):  # the length it gives says nothing
        lookup("fir")(**params, numtaps=longer).configure({"in": signal_spec(rate, ["E0"])})
    assert not caplog.records, caplog.records[0].getMessage()


@pytest.mark.parametrize(
    "name,params",
    [("gain", dict(db=6.0)), ("mix", dict(weights=[1.0, 1.0])), ("rereference", dict(pairs=["E0-E1"]))],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_stateless_node_overflowing_says_no_numpy_warning(name, params, dtype):
    # Samples near the dtype's limit (a corrupt file's bytes read as floats): gain 6 dB, a mix of two channels or a
    # bipolar pair exceeds it, and numpy printed 'RuntimeWarning: overflow encountered in multiply/reduce/subtract'
    # with a line of the node's module. The values go out as inf at those samples only (the next node's NaN policy
    # counts them; rereference, a SignalNode, counts `overflow` and zeroes them), as the docs say, without the warning.
    import warnings

    big = float(np.finfo(dtype).max) * 0.9
    x = np.array([[big, 1.0, big], [-big, 2.0, big]], dtype=dtype)
    node = lookup(name)(**params)
    node.configure({"in": signal_spec(250.0, ["E0", "E1"], dtype=dtype)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = node.process({"in": Chunk(x, 0.0)})["out"].data
    assert np.isfinite(y[..., 1]).all()  # the samples that fit are untouched
