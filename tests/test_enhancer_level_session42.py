"""Session 42: speech quieter than the enhancer was trained on (-40 to -15 dBFS) was taken for noise and attenuated
without a word (a clean prompt at -66 dBFS RMS came out 4.6 dB lower). The run now says so at its end, and the
enhancer's `input_gain_db` raises the input before the model and takes it off the output (the level is kept)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import need
from wavegraph.nodes.models.enhancer import EnhancerNode
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent

SPEC = signal_spec(16000, ["mic"], "audio", "float32", "a.u.")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64))))


def _enhance(x: np.ndarray, **params) -> np.ndarray:
    """The node's output aligned with its input (the first latency_samples dropped)."""
    node = EnhancerNode(**params)
    node.configure({"in": SPEC})
    parts = [node.process({"in": Chunk(x[None], t0=0.0)})["out"].data, node.finish()["out"].data]
    return np.concatenate(parts, axis=1)[0, node.latency_samples :]


@pytest.fixture(scope="module")
def carlo() -> np.ndarray:
    """A clean held-out utterance of Carlo (never trained on), 3.5 s."""
    from wavegraph.models import speech_data as sd

    try:
        corpus = sd.load_corpus(synthetic=0)
    except sd.DataError as e:
        need(False, f"speech corpora missing: {e}")
    mix = sd.heldout_set(snrs=(20,), per_snr=1, seed=3, noises=("white",), corpus=corpus, speakers=("carlo",))[0]
    return mix.clean.astype(np.float32)


def test_quiet_clean_speech_is_said_and_input_gain_keeps_it(carlo, caplog):
    x = carlo * np.float32(10 ** ((-66 - _db(carlo)) / 20))  # -66 dBFS RMS
    with caplog.at_level(logging.WARNING, "wavegraph.enhancer"):
        y = _enhance(x)
    assert _db(y) - _db(x) < -2.0  # taken for noise (measured -4.6 dB)
    assert "quieter than the speech it was trained on" in caplog.text and "input_gain_db: 40" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.enhancer"):
        y = _enhance(x, input_gain_db=40)
    assert abs(_db(y) - _db(x)) < 0.5 and np.corrcoef(x, y)[0, 1] > 0.97  # as at -26 dBFS (0.988)
    assert not caplog.text


def test_speech_at_the_trained_level_is_not_said(carlo, caplog):
    x = carlo * np.float32(10 ** ((-30 - _db(carlo)) / 20))
    with caplog.at_level(logging.WARNING, "wavegraph.enhancer"):
        y = _enhance(x)
    assert abs(_db(y) - _db(x)) < 0.5 and not caplog.text


def test_input_gain_is_the_model_on_the_raised_input_scaled_back():
    x = (np.random.default_rng(0).standard_normal(4000) * 1e-3).astype(np.float32)
    small = {"random_init": True, "d_model": 16, "n_layers": 1}
    y = _enhance(x, input_gain_db=20, **small)
    by_hand = _enhance(x * np.float32(10), **small) / np.float32(10)
    np.testing.assert_allclose(y, by_hand, rtol=1e-6, atol=1e-9)
    assert not np.allclose(y, _enhance(x, **small), rtol=1e-3)  # the gain changes what the model sees


def test_input_gain_streams_as_the_whole_run():
    x = (np.random.default_rng(1).standard_normal((1, 3000)) * 1e-3).astype(np.float32)
    assert_streaming_equivalent(
        lambda: EnhancerNode(random_init=True, d_model=16, n_layers=1, input_gain_db=25), x, SPEC, rtol=0, atol=5e-7
    )  # float32 sums in another order on another CPU: 1.2e-7 seen here, 60% of 2e-7


def test_auto_gain_raises_quiet_speech_and_keeps_its_level(carlo, caplog):
    x = carlo * np.float32(10 ** ((-66 - _db(carlo)) / 20))
    with caplog.at_level(logging.WARNING, "wavegraph.enhancer"):
        y = _enhance(x, input_gain_db="auto")
    assert abs(_db(y) - _db(x)) < 1.0 and np.corrcoef(x, y)[0, 1] > 0.95  # 0 dB: -4.6 dB, 0.82
    assert not caplog.text


def test_auto_gain_streams_as_the_whole_run_and_resumes_from_its_state():
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((1, 4000)) * np.repeat([1e-4, 1e-2, 1e-5, 1e-3], 1000)).astype(np.float32)  # levels move
    make = lambda: EnhancerNode(random_init=True, d_model=16, n_layers=1, input_gain_db="auto")  # noqa: E731
    whole = assert_streaming_equivalent(make, x, SPEC, rtol=0, atol=5e-7)["out"]  # (as above)
    first, second = make(), make()
    first.configure({"in": SPEC})
    second.configure({"in": SPEC})
    a = first.process({"in": Chunk(x[:, :1700], t0=0.0)})["out"].data
    second.load_state_dict(first.state_dict())
    assert second.gain.gain_db == first.gain.gain_db > 0  # the gain had risen for the quiet start
    b = second.process({"in": Chunk(x[:, 1700:], t0=1700 / 16000)})["out"].data
    np.testing.assert_allclose(np.concatenate([a, b, second.finish()["out"].data], 1), whole, rtol=0, atol=5e-7)


@pytest.mark.parametrize("value, said", [("loud", "auto"), (50, "not within -20 to 40")])
def test_input_gain_db_takes_a_number_of_db_or_auto(value, said):
    with pytest.raises(ValueError, match=said):
        EnhancerNode(random_init=True, input_gain_db=value)


def test_auto_gain_divides_each_output_sample_by_the_gain_of_the_input_sample_it_answers():
    """Output sample m answers input sample m - latency_samples (319): divided by that sample's gain, the auto-gain
    node's output is the model's output on the raised input, sample for sample. (Session 42's first version divided
    by the gain of input m - 478, 159 samples too old: up to 0.5 dB off while the gain climbed.)"""
    from wavegraph.nodes.models.enhancer_level import InputGain

    rng = np.random.default_rng(3)
    x = (rng.standard_normal(4800) * np.repeat([1e-4, 3e-3, 1e-5], 1600)).astype(np.float32)  # the gain moves
    small = {"random_init": True, "d_model": 16, "n_layers": 1}
    g = InputGain("auto", 160, 160).gains(x.reshape(-1, 160)).reshape(-1)
    assert np.ptp(20 * np.log10(g)) > 10  # it climbed and fell
    raw = _enhance(x * g, **small)  # the model on the raised input (aligned: output k answers input k)
    np.testing.assert_allclose(_enhance(x, input_gain_db="auto", **small), raw / g, rtol=1e-5, atol=1e-12)


def test_auto_gain_keeps_its_level_across_a_gap_and_starts_afresh_for_the_next_stream():
    """A live card's lost block is a gap: the microphone's level is the same after it (the first version went back to
    0 dB there, and quiet speech was attenuated again for up to 0.8 s after each dropout)."""
    node = EnhancerNode(random_init=True, d_model=16, n_layers=1, input_gain_db="auto")
    node.configure({"in": SPEC})
    quiet = (np.random.default_rng(4).standard_normal((1, 8000)) * 1e-4).astype(np.float32)
    node.process({"in": Chunk(quiet, t0=0.0)})
    raised = node.gain.gain_db
    assert raised > 20
    node.end_segment(1.0)  # what the runtime calls before a chunk flagged gap
    node.process({"in": Chunk(quiet[:, :160], t0=1.0, gap=True)})
    assert node.gain.gain_db >= raised - 0.1
    node.finish()
    assert node.gain.gain_db == 0.0  # the next file starts at 0 dB
