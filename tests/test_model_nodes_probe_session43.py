"""Session 43 probe of the model nodes and streaming models: what a demanding user ran into, each a failing test first.

* A Conformer state whose buffers hold more than the stream ever leaves in them (a hand-edited or mixed-up state file:
  more pending sub-frames than the lookahead chunk, a longer subsampling buffer, `valid`/`offset` that do not agree)
  was taken by the model node and by the model: the next chunk gave extra output frames, unsaid.
* eeg_tokenizer on a BioSemi 8192 Hz stream said "fix: set max_factor: 1024": the tokenizer has no such parameter.
* eeg_tokenizer's state_dict() shared the live state's memory: editing the saved arrays changed the running node.
* Saved states with values no stream reaches (NaN model state, negative counts, a bad frame 1.5, an enhancer gain of
  NaN or -500 dB, a tokenizer 'valid' of -5, an ssvep zi of NaN or a buffer of a window) were taken: NaN or wrong
  output, or a raw error at the next chunk. A refused ssvep state left the node half-loaded.
* ssvep_trial_decoder took a window under 2 samples and decided every trial from its pre-roll (a [-0:] slice).
* An SSVEP DNN checkpoint listing a channel (or frequency) twice was taken.
"""

import numpy as np
import pytest
import torch
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FEAT = StreamSpec("features", 100.0, (5,), "float32")
ENC = dict(random_init=True, device="cpu", d_model=8, n_layers=1, n_heads=2, subsampling=2, att_context_sizes=[(8, 1)])


def _conformer():
    node = lookup("conformer_encoder")(**ENC)
    node.configure({"in": FEAT})
    return node


def _x(n=40):
    return np.random.default_rng(0).standard_normal((n, 5)).astype(np.float32)


@pytest.mark.parametrize(
    "key, value",
    [
        ("pending", np.zeros((1, 5, 8), np.float32)),  # R = 1: at most 1 sub-frame waits for its chunk
        ("sub.0", np.zeros((1, 5, 9), np.float32)),  # a stride-2 stage keeps 1 frame of context + at most 1
        ("sub.0", np.zeros((1, 5, 0), np.float32)),  # without its frame of left context: every frame shifted by one
        ("valid", -3),
        ("valid", 99),
        ("offset", -10),
    ],
)
def test_conformer_node_refuses_a_state_no_stream_reaches_and_keeps_its_own(key, value):
    x = _x()
    a = _conformer()
    a.process({"in": Chunk(x[:7], t0=0.0)})
    saved = a.state_dict()
    bad = {**saved, "model": {**saved["model"], key: value}}
    b = _conformer()
    b.process({"in": Chunk(x[:7], t0=0.0)})
    with pytest.raises(ValueError, match=key.split(".")[0]):
        b.load_state_dict(bad)
    # nothing of it was taken: b goes on as a, frame for frame
    ya, yb = a.process({"in": Chunk(x[7:], t0=0.07)}), b.process({"in": Chunk(x[7:], t0=0.07)})
    np.testing.assert_array_equal(ya["out"].data, yb["out"].data)
    assert ya["out"].data.shape == (18, 8)


def test_conformer_model_refuses_an_overfull_pending_buffer():
    from wavegraph.models.conformer import ConformerConfig, ConformerEncoder

    torch.manual_seed(0)
    cfg = ConformerConfig(d_in=5, d_model=8, n_layers=1, n_heads=2, subsampling=2, att_context_sizes=[[8, 1]])
    model = ConformerEncoder(cfg).eval()
    state = model.init_state(1)
    state["pending"] = torch.zeros(1, 4, 8)
    with pytest.raises(ValueError, match="pending"), torch.no_grad():
        model.stream(torch.zeros(1, 3, 5), state)
    # what the stream itself leaves is taken, at every length
    state = model.init_state(1)
    with torch.no_grad():
        for n in (1, 2, 3, 1, 1, 5):
            _, state = model.stream(torch.randn(1, n, 5), state)


@pytest.mark.parametrize("rate", [8192.0, 16384.0])
def test_eeg_tokenizer_at_a_rate_its_resampler_refuses_names_a_fix_that_exists(rate):
    node = lookup("eeg_tokenizer")()
    with pytest.raises(SpecError) as e:
        node.configure({"in": signal_spec(rate, ["C3", "C4"])})
    assert "max_factor" not in type(node).Params.model_fields  # so the fix may not be "set max_factor" on it
    assert "resample" in e.value.hint and "before" in e.value.hint
    factor = int(str(e.value.hint).split("max_factor: ")[1].split()[0].rstrip(","))
    # the fix as said works: a resample node with that max_factor, then the tokenizer
    res = lookup("resample")(rate=200.0, max_factor=factor)
    out = res.configure({"in": signal_spec(rate, ["C3", "C4"])})["out"]
    lookup("eeg_tokenizer")().configure({"in": out})


def _two_tokenizers_midstream():
    """(the signal, two eeg_tokenizer nodes that have both taken its first 550 samples)."""
    x = np.random.default_rng(0).standard_normal((2, 1500)) * 20
    nodes = []
    for _ in range(2):
        node = lookup("eeg_tokenizer")()
        node.configure({"in": signal_spec(200.0, ["C3", "C4"])})
        node.process({"in": Chunk(x[:, :550], t0=0.0)})
        nodes.append(node)
    return x, *nodes


def test_eeg_tokenizer_state_dict_is_a_copy_the_node_does_not_share():
    """state_dict() handed out the live model state's memory: a user editing the saved arrays (zeroing them for a
    what-if, or np.copyto into them) changed the running node's next tokens (20 of 20 differed)."""

    x, a, b = _two_tokenizers_midstream()
    saved = a.state_dict()
    for key in ("model.samples", "model.prev"):
        saved[key][...] = 0.0
    ya, yb = a.process({"in": Chunk(x[:, 550:], t0=2.75)}), b.process({"in": Chunk(x[:, 550:], t0=2.75)})
    np.testing.assert_array_equal(ya["tokens"].data, yb["tokens"].data)
    np.testing.assert_array_equal(ya["embeddings"].data, yb["embeddings"].data)


def _mamba():
    node = lookup("mamba")(random_init=True, device="cpu", d_model=8, n_layers=1, d_state=4, nan_policy="propagate")
    node.configure({"in": FEAT})
    return node


@pytest.mark.parametrize(
    "key, value, says",
    [
        ("n_in", -3, "n_in"),  # was taken: every later frame stamped 0.1 s late
        ("n_out", 9, "n_out"),  # more frames out than in
        ("bad_frames", np.array([1.5]), "bad_frames"),  # was cut to frame 1
        ("bad_frames", np.array([99]), "bad_frames"),  # a frame not received yet: a NaN frame out of nowhere
        ("base_t0", [0.0], "base_t0"),  # was TypeError 'must be real number, not list' at the next chunk
        ("model", "nan", "NaN"),  # was taken: every later output NaN
    ],
)
def test_model_node_refuses_saved_counters_times_and_values_no_stream_reaches(key, value, says):
    x = _x()
    x[3, 2] = np.nan
    a, b = _mamba(), _mamba()  # b fresh: its own base_t0 is None, which the runtime's kind check lets any list by
    a.process({"in": Chunk(x[:7], t0=0.0)})
    saved = a.state_dict()
    if key == "model":
        value = {k: np.full_like(v, np.nan) if isinstance(v, np.ndarray) else v for k, v in saved["model"].items()}
    with pytest.raises(ValueError, match=says):
        b.load_state_dict({**saved, key: value})
    b.process({"in": Chunk(x[:7], t0=0.0)})
    ya, yb = a.process({"in": Chunk(x[7:], t0=0.07)}), b.process({"in": Chunk(x[7:], t0=0.07)})
    assert ya["out"].t0 == yb["out"].t0 == 0.07
    np.testing.assert_array_equal(ya["out"].data, yb["out"].data)
    assert np.isfinite(yb["out"].data).all()


def _enhancer(gain="auto"):
    node = lookup("enhancer")(input_gain_db=gain)
    node.configure({"in": signal_spec(16000.0, ["mic"], dtype="float32")})
    return node


@pytest.mark.parametrize(
    "gain, key, value",
    [
        ("auto", "gain_db", float("nan")),  # was taken: every later output NaN
        ("auto", "gain_db", 1e6),  # was OverflowError (34, 'Numerical result out of range') at the next chunk
        ("auto", "gain_db", -500.0),  # was taken: outputs of 4.9e20 (the divisors of a gain the auto gain never has)
        ("auto", "peak_db", float("nan")),
        ("auto", "pending", "zeros"),  # was taken: inf out ('divide by zero')
        ("auto", "pending", "nan"),
        (6.0, "gain_db", 12.0),  # a fixed gain never moves: the divisors of another gain, output 6 dB off
    ],
)
def test_enhancer_refuses_a_saved_input_gain_no_stream_reaches(gain, key, value):
    x = (np.random.default_rng(0).standard_normal((1, 3200)) * 0.01).astype(np.float32)
    a, b = _enhancer(gain), _enhancer(gain)
    for node in (a, b):
        node.process({"in": Chunk(x[:, :1600], t0=0.0)})
    saved = a.state_dict()
    if isinstance(value, str):
        value = np.zeros_like(saved["gain"]["pending"]) if value == "zeros" else saved["gain"]["pending"] * np.nan
    with pytest.raises(ValueError, match=key):
        b.load_state_dict({**saved, "gain": {**saved["gain"], key: value}})
    ya, yb = a.process({"in": Chunk(x[:, 1600:], t0=0.1)}), b.process({"in": Chunk(x[:, 1600:], t0=0.1)})
    np.testing.assert_array_equal(ya["out"].data, yb["out"].data)


def test_enhancer_input_gain_state_round_trips_as_saved():
    x = (np.random.default_rng(1).standard_normal((1, 4800)) * 0.003).astype(np.float32)
    a, b = _enhancer(), _enhancer()
    a.process({"in": Chunk(x[:, :2000], t0=0.0)})
    b.load_state_dict(a.state_dict())
    ya, yb = a.process({"in": Chunk(x[:, 2000:], t0=0.125)}), b.process({"in": Chunk(x[:, 2000:], t0=0.125)})
    np.testing.assert_array_equal(ya["out"].data, yb["out"].data)


@pytest.mark.parametrize(
    "key, value",
    [
        ("model.valid", -5),  # the real samples counted wrong: 6 of 20 tokens differed, unsaid
        ("model.valid", 10**9),  # the zeros before the stream taken for samples: 18 of 20 differed
        ("n_out", -1),  # tokens stamped 3 s early
        ("model.samples", "nan"),  # was taken: 5 tokens differed
        ("model.prev", "nan"),
    ],
)
def test_eeg_tokenizer_refuses_a_saved_state_no_stream_reaches(key, value):
    x, a, b = _two_tokenizers_midstream()
    saved = a.state_dict()
    if isinstance(value, str):
        value = np.full_like(saved[key], np.nan)
    with pytest.raises(ValueError, match=key.split(".")[-1]):
        b.load_state_dict({**saved, key: value})
    ya, yb = a.process({"in": Chunk(x[:, 550:], t0=2.75)}), b.process({"in": Chunk(x[:, 550:], t0=2.75)})
    assert ya["tokens"].t0 == yb["tokens"].t0
    np.testing.assert_array_equal(ya["tokens"].data, yb["tokens"].data)


@pytest.mark.parametrize("key", ["zi", "buf_long"])
def test_ssvep_decoder_refuses_a_saved_state_no_stream_reaches(key):
    """A NaN filter state gave no decision at all from there on (every score NaN), an overlong buffer shifted the
    decisions (onsets 12 ms late): taken without a word. (A NaN in the buffer is a stream's own under nan_policy
    propagate, or after a filter overflowed: taken.)"""

    def decoder():
        node = lookup("ssvep_decoder")(freqs=[8.0, 10.0, 12.0], window=0.4, step=0.12, n_bands=2)
        node.configure({"in": signal_spec(250.0, ["O1", "Oz", "O2"])})
        return node

    x = np.random.default_rng(0).standard_normal((3, 1000)) * 1e-5
    a, b = decoder(), decoder()
    for node in (a, b):
        node.process({"in": Chunk(x[:, :333], t0=0.0)})
    saved = a.state_dict()
    if key == "buf_long":  # one window and more: a stream keeps under a window's samples
        bad = {**saved, "buf": np.ones(saved["buf"].shape[:2] + (300,)), "moved": np.ones(300, bool)}
    else:
        bad = {**saved, key: np.full_like(saved[key], np.nan)}
    with pytest.raises(ValueError, match=key.split("_")[0]):
        b.load_state_dict(bad)
    ya, yb = a.process({"in": Chunk(x[:, 333:], t0=1.332)}), b.process({"in": Chunk(x[:, 333:], t0=1.332)})
    np.testing.assert_array_equal(ya["out"].data, yb["out"].data)
    np.testing.assert_array_equal(ya["scores"].data, yb["scores"].data)


def test_ssvep_decoder_a_refused_state_leaves_the_node_as_it_was():
    """A state refused for its 'last' (one per channel) had already replaced the filter state, buffer and window count:
    the node went on from half of the refused state (27 of 27 scores differed from the node's own)."""

    def decoder():
        node = lookup("ssvep_decoder")(freqs=[8.0, 10.0, 12.0], window=0.4, step=0.12, n_bands=2)
        node.configure({"in": signal_spec(250.0, ["O1", "Oz", "O2"])})
        return node

    x = np.random.default_rng(0).standard_normal((3, 1000)) * 1e-5
    a, b, c = decoder(), decoder(), decoder()
    a.process({"in": Chunk(x[:, :333], t0=0.0)})
    for node in (b, c):
        node.process({"in": Chunk(x[:, :200], t0=0.0)})
    with pytest.raises(ValueError, match="'last'"):
        b.load_state_dict({**a.state_dict(), "last": np.zeros(5)})
    yb, yc = b.process({"in": Chunk(x[:, 200:], t0=0.8)}), c.process({"in": Chunk(x[:, 200:], t0=0.8)})
    np.testing.assert_array_equal(yb["scores"].data, yc["scores"].data)
    np.testing.assert_array_equal(yb["out"].data, yc["out"].data)


def test_ssvep_trial_decoder_a_refused_state_leaves_the_node_as_it_was():
    """A state refused for its 'ready' rows had already replaced the held samples, the pending markers and the bad
    segments: the node went on from half of the refused state."""
    specs = {"in": signal_spec(250.0, ["O1", "Oz", "O2"]), "events": StreamSpec("events", 0.0, (3,), "float64")}

    def decoder():
        node = lookup("ssvep_trial_decoder")(freqs=[8.0, 10.0, 12.0], n_bands=2)
        node.configure(specs)
        return node

    x = np.random.default_rng(0).standard_normal((3, 400)) * 1e-5
    a, b = decoder(), decoder()
    a.process({"events": Chunk(np.array([[0.2, 0.0, 1.0]]), t0=0.2)})
    a.process({"in": Chunk(x[:, :150], t0=0.0)})
    b.process({"in": Chunk(x[:, :60], t0=0.0)})
    before = b.state_dict()
    with pytest.raises(ValueError, match="ready"):
        b.load_state_dict({**a.state_dict(), "ready": np.zeros((1, 2))})
    after = b.state_dict()
    assert after.keys() == before.keys()
    for k in before:
        assert repr(after[k]) == repr(before[k]), k


@pytest.mark.parametrize("window", [0.001, 0.004])
def test_ssvep_trial_decoder_refuses_a_window_under_two_samples(window):
    """window: 0.001 (0 samples at 250 Hz) was taken, and every trial decided from its whole pre-roll (a slice [-0:]):
    a decision of duration 0 with made-up scores; 1 sample was undecided as flat. The sliding decoder refused both."""
    node = lookup("ssvep_trial_decoder")(freqs=[8.0, 10.0], window=window, n_bands=1)
    with pytest.raises(SpecError, match="window") as e:
        node.configure(
            {"in": signal_spec(250.0, ["O1", "Oz", "O2"]), "events": StreamSpec("events", 0.0, (3,), "float64")}
        )
    assert "longer window" in e.value.hint


@pytest.mark.parametrize("field", ["channels", "freqs"])
def test_ssvep_dnn_checkpoint_listing_a_channel_or_frequency_twice_is_refused(tmp_path, field):
    """A checkpoint JSON edited (or merged) to list Oz nine times was taken: the decoder fed one channel nine times to a
    DNN trained on nine, and decided without a word; `channels: [Oz, Oz]` as a parameter was refused."""
    import json
    import shutil
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "models" / "weights" / "ssvep_dnn_8f_160hz_1000ms"
    meta = json.loads(src.with_suffix(".json").read_text())
    names = meta["config"]["channels"]
    meta["config"][field] = [meta["config"][field][1]] * len(meta["config"][field])
    shutil.copy(src.with_suffix(".safetensors"), tmp_path / "dnn.safetensors")
    (tmp_path / "dnn.json").write_text(json.dumps(meta))
    node = lookup("ssvep_decoder")(method="dnn", checkpoint=str(tmp_path / "dnn.safetensors"))
    with pytest.raises(SpecError, match="more than once"):
        node.configure({"in": signal_spec(160.0, names)})
