"""Nodes after a delaying node (resample, fir, istft: StreamSpec.delay, content lagging its stamps), against what the
same graph gives without the delay. Each test is a defect this sweep found; it failed before its fix."""

import numpy as np
import pytest
from scipy import signal as ss
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec

NAMES = ["O1", "O2"]


def _resampled(x, rate=1000.0, to=250.0):
    """x through a resample node: its output chunks joined, and its spec (declares the 40 ms delay)."""
    rs = lookup("resample")(rate=to)
    spec = rs.configure({"in": signal_spec(rate, NAMES)})["out"]
    y = np.concatenate([c["out"].data for c in (rs.process({"in": Chunk(x, 0.0)}), rs.finish())], axis=1)
    return y, spec


def _ssvep(n, rate, seed=0):
    t = np.arange(n) / rate
    noise = np.random.default_rng(seed).standard_normal((2, n))
    return noise + np.sin(2 * np.pi * 10.0 * t) * (t % 2.0 < 1.2)  # a 10 Hz response in parts only


def _run(node, spec, y, events, step=37):
    node.configure({"in": spec, "events": StreamSpec("events", 0.0, (3,))})
    node.process({"events": Chunk(events, 0.0)})
    outs = [node.process({"in": Chunk(y[:, k : k + step], k / spec.rate)}) for k in range(0, y.shape[1], step)]
    outs.append(node.finish())
    return np.concatenate([o["scores"].data for o in outs if "scores" in o])


def test_ssvep_trial_decoder_after_a_resample_cuts_the_window_after_the_marker_not_its_delay_later():
    # EEG 1 kHz -> resample 250 Hz -> ssvep_trial_decoder, markers on the source clock: the resampler's output lags
    # its stamps by 40 ms (declared), and the decoder cut every trial window 10 samples late. The reference is the
    # decoder on what the resampler's output holds, stamped at its true times (no delay): equal scores now.
    x = _ssvep(8000, 1000.0)
    y, spec = _resampled(x)
    assert spec.delay == 0.04
    onsets = np.array([2.0, 4.004, 6.0])
    events = np.column_stack([onsets, 0 * onsets, [1, 1, 1]])
    params = dict(freqs=[8.0, 10.0, 12.0], window=1.0, n_bands=2)
    got = _run(lookup("ssvep_trial_decoder")(**params), spec, y, events)
    content = ss.resample_poly(x, 1, 4, axis=-1)  # the resampled content at its own times
    ref = _run(lookup("ssvep_trial_decoder")(**params), signal_spec(250.0, NAMES), content, events)
    late = _run(lookup("ssvep_trial_decoder")(**params), signal_spec(250.0, NAMES), y, events)  # the old cut
    assert got.shape == ref.shape == (3, 3)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)
    assert not np.allclose(late, ref, rtol=1e-3)  # the test sees the 40 ms


def test_ssvep_decoder_after_a_resample_puts_its_decisions_at_the_content_times():
    # ssvep_decoder's decisions (events) had the window's stamp as onset, 40 ms after the content they decided on
    # (markers are content times: a recorder or epochs places them on the signal); its scores declared no delay.
    x = _ssvep(4000, 1000.0)
    y, spec = _resampled(x)
    node = lookup("ssvep_decoder")(freqs=[8.0, 10.0, 12.0], window=1.0, n_bands=2)
    out_specs = node.configure({"in": spec})
    outs = [node.process({"in": Chunk(y[:, k : k + 50], k / 250.0)}) for k in range(0, y.shape[1], 50)]
    ev = np.concatenate([o["out"].data for o in outs if "out" in o])
    sc = [o["scores"] for o in outs if "scores" in o]
    assert out_specs["scores"].delay == spec.delay  # an align after the scores removes it
    np.testing.assert_allclose(
        ev[:4, 0], np.arange(4) * 62 / 250 - 0.04, atol=1e-12
    )  # window k (hop 62)'s content starts there
    assert sc[0].t0 == 0.0  # the scores stay stamped at the window's stamp


@pytest.mark.parametrize(
    "stft,istft,said",
    [
        (dict(n_fft=256), dict(n_fft=257, hop=128), r"n_fft 257 differs .* \(n_fft 256\).*wrong samples.*same bins"),
        (dict(n_fft=256, hop=64), dict(n_fft=256), r"hop 128 differs .*\(hop 64\).*wrong output rate \(8000 Hz, not"),
        (dict(n_fft=256), dict(n_fft=256, window="hann"), r"window hann differs .*\(window sqrt_hann\)"),
    ],
)
def test_an_istft_that_differs_from_its_stft_is_refused_naming_both(stft, istft, said):
    # The istft could not see the stft's hop or n_fft (n_fft 256 and 257 give the same 129 bins): an istft of
    # another hop gave a wrong output rate, one of another n_fft or window wrong samples, without a word. The stft's
    # spec now carries its framing (through the wire form too), and the istft names both values and the fix.
    s = lookup("stft")(**stft)
    spec = s.configure({"in": signal_spec(4000.0, NAMES)})["out"]
    for given in (spec, StreamSpec.from_dict(spec.to_dict())):
        with pytest.raises(SpecError, match=said) as e:
            lookup("istft")(**istft).configure({"in": given})
        assert "give the istft the stft's n_fft: 256" in e.value.hint


def test_an_istft_like_its_stft_gives_the_input_back_and_frames_of_no_known_stft_are_taken():
    x = np.random.default_rng(1).standard_normal((2, 1024))
    s, i = lookup("stft")(n_fft=64, hop=16, window="hann"), lookup("istft")(n_fft=64, hop=16, window="hann")
    spec = s.configure({"in": signal_spec(1000.0, NAMES)})["out"]
    assert i.configure({"in": spec})["out"].rate == 1000.0
    z = np.concatenate([s.process({"in": Chunk(x, 0.0)})["out"].data, s.finish()["out"].data])
    y = i.process({"in": Chunk(z, 0.0)})["out"].data
    np.testing.assert_allclose(y[:, 48:1024], x[:, : 1024 - 48], atol=1e-12)  # n_fft - hop samples late
    lookup("istft")(n_fft=64, hop=32).configure({"in": spec.evolve(framing=None)})  # (real_to_complex: unknown)


def test_fir_flushes_its_tail_so_fir_then_align_ends_where_the_input_does():
    # fir -> align (delay: auto) ended (numtaps - 1) / 2 samples short: the fir kept its last samples in its state,
    # where resample flushes its tail at finish(). Now the tail comes out at finish (zeros through the filter), stamped
    # after the last sample, and align gives the input's length on the input's time base, for any chunking.
    from wavegraph.pipeline.testing import assert_streaming_equivalent

    x = np.random.default_rng(2).standard_normal((2, 500))
    spec = signal_spec(250.0, NAMES)
    fir = lookup("fir")(h_freq=40.0, numtaps=31)
    whole = assert_streaming_equivalent(lambda: lookup("fir")(h_freq=40.0, numtaps=31), x, spec)["out"]
    fir.configure({"in": spec})
    b = fir.b
    np.testing.assert_allclose(whole, ss.lfilter(b, 1.0, np.pad(x, ((0, 0), (0, 15))), axis=-1), atol=1e-12)
    fir, align = lookup("fir")(h_freq=40.0, numtaps=31), lookup("align")()
    aspec = align.configure({"in": fir.configure({"in": spec})["out"]})["out"]
    outs = [fir.process({"in": Chunk(x[:, k : k + 64], k / 250.0)}) for k in range(0, 500, 64)] + [fir.finish()]
    ys = [align.process({"in": o["out"]}) for o in outs if o] + [align.finish()]
    y = np.concatenate([o["out"].data for o in ys if o], axis=1)
    assert aspec.delay == 0 and y.shape == x.shape
    assert [o["out"].t0 for o in ys if o][0] == 0.0 and outs[-1]["out"].t0 == 500 / 250.0
    ref = np.asarray(ss.lfilter(b, 1.0, np.pad(x, ((0, 0), (0, 15))), axis=-1))
    np.testing.assert_allclose(y, ref[:, 15:], atol=1e-12)


@pytest.mark.parametrize("name", ["x_raw.fif", "x.edf"])
def test_the_recorder_puts_a_marker_on_the_content_it_marks_of_a_delayed_signal(tmp_path, name):
    # EEG -> resample (or fir) -> recorder with the source's markers: the recorder placed each marker at its stamp,
    # so in the FIF annotations and EDF+ TALs a marker sat `delay` (here 40 ms, 10 samples) before the content it
    # marks (an impulse at content time 1.0 s, stored at stamp 1.04 s). Now the marker is written at the stamp of
    # its content (onset + delay): mne.events_from_annotations gives the impulse's sample.
    import mne
    from wavegraph.nodes.io.recorder import Recorder

    x = np.zeros((2, 500))
    x[:, 260] = 1e-4  # the stream's sample 260 (stamp 1.04 s) holds content time 1.0 s
    spec = signal_spec(250.0, NAMES).evolve(delay=0.04)
    rec = Recorder(path=str(tmp_path / name), events=True)
    rec.configure({"in": spec, "events": StreamSpec("events", 0.0, (3,), labels=((1, "flash"),))})
    rec.process({"events": Chunk(np.array([[1.0, 0.0, 1]]), 1.0)})
    for k in range(0, 500, 100):
        rec.process({"in": Chunk(x[:, k : k + 100], k / 250.0)})
    rec.finish()
    rec.close()
    raw = mne.io.read_raw(tmp_path / name, verbose="error")
    events, _ = mne.events_from_annotations(raw, verbose="error")
    y = np.asarray(raw.get_data())
    assert events[:, 0].tolist() == [raw.first_samp + int(np.argmax(y[0]))] == [raw.first_samp + 260]


def test_a_fir_state_saved_before_the_tail_flush_still_loads_and_its_tail_comes_out():
    x = np.random.default_rng(4).standard_normal((2, 300))
    spec = signal_spec(250.0, NAMES)
    a, b = lookup("fir")(h_freq=40.0, numtaps=31), lookup("fir")(h_freq=40.0, numtaps=31)
    a.configure({"in": spec})
    b.configure({"in": spec})
    y1 = a.process({"in": Chunk(x[:, :100], 0.0)})["out"].data
    old = {k: v for k, v in a.state_dict().items() if k not in ("n_in", "t_next")}  # as saved before
    b.load_state_dict(old)
    y2 = b.process({"in": Chunk(x[:, 100:], 0.4)})["out"].data
    tail = b.finish()["out"]
    ref = np.asarray(ss.lfilter(a.b, 1.0, np.pad(x, ((0, 0), (0, 15))), axis=-1))
    np.testing.assert_allclose(np.concatenate([y1, y2, tail.data], axis=1), ref, atol=1e-12)
    assert tail.t0 == pytest.approx(300 / 250.0, abs=1e-12)


def test_model_and_tokenizer_features_carry_the_delay_their_frames_are_stamped_with():
    # A model node stamps its frames on its input's clock and the tokenizer on its resampled stream's: their features
    # lag their stamps by what the input (and the tokenizer's resampler) declared, as stft's and bandpower's do. The
    # specs said 0, so an `align` or `epochs` after them took them as on time.
    _, spec = _resampled(np.zeros((2, 1000)))  # 250 Hz, 40 ms late
    mamba = lookup("mamba")(random_init=True, d_model=8, n_layers=1)
    features = StreamSpec("features", 100.0, (8,), "float32", delay=0.04)  # an stft's frames after a resample
    assert mamba.configure({"in": features})["out"].delay == 0.04
    tok = lookup("eeg_tokenizer")()
    out = tok.configure({"in": spec})
    inner = tok.resampler.out_specs["out"].delay
    assert inner > spec.delay and out["tokens"].delay == out["embeddings"].delay == inner
