"""The model nodes tried as a user would, with hostile inputs: checkpoints whose JSON is hand-edited, corrupt or
from another tool, parameters of the wrong type or size, odd input streams. Each gets a clear error naming what
is wrong and the fix, never a raw torch/scipy traceback or a silently wrong output."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.mamba import MambaConfig, MambaStack
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _no_config(state: dict) -> dict:
    """A state without the configuration it was saved under (one built by hand, or saved before the key was
    added): the node's own shape checks must still refuse it."""
    return {k: v for k, v in state.items() if k != "saved_config"}


SPEC = StreamSpec("features", 100.0, (6,), "float32")


@pytest.fixture
def mamba_ckpt(tmp_path):
    path = tmp_path / "m.safetensors"
    ckpt.save(MambaStack(MambaConfig(d_model=8, n_layers=1, d_in=6)), path)
    return path


def edited(path, tmp_path, name, **config):
    """A copy of checkpoint `path` whose JSON config has `config` changed (as a user editing it by hand)."""
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["config"].update(config)
    out = tmp_path / f"{name}.safetensors"
    shutil.copy(path, out)
    out.with_suffix(".json").write_text(json.dumps(meta))
    return out


@pytest.mark.parametrize(
    "change, said",
    [
        ({"d_model": "8"}, "MambaConfig.d_model must be a whole number, got '8' (str)"),
        ({"d_model": 8.5}, "MambaConfig.d_model must be a whole number, got 8.5"),
        ({"d_model": None}, "MambaConfig.d_model must be a whole number, got None"),
        ({"dt_min": "0.001"}, "MambaConfig.dt_min must be a number, got '0.001' (str)"),
        ({"n_layers": True}, "MambaConfig.n_layers must be a whole number, got True"),
    ],
)
def test_checkpoint_config_of_the_wrong_type_is_named(mamba_ckpt, tmp_path, change, said):
    """A JSON config holding "8" or 8.5 for d_model failed inside torch ("empty(): argument 'size' must be tuple of
    ints") with no word of the file or the field."""
    path = edited(mamba_ckpt, tmp_path, "typed", **change)
    for node in (lookup("mamba")(checkpoint=str(path)), lookup("model")(checkpoint=str(path))):
        with pytest.raises(SpecError) as e:
            node.configure({"in": SPEC})
        assert said in str(e.value) and str(path.with_suffix(".json")) in str(e.value), str(e.value)


def test_a_whole_float_in_a_config_still_loads(mamba_ckpt, tmp_path):
    path = edited(mamba_ckpt, tmp_path, "whole", d_model=8.0, n_layers=1.0)
    assert lookup("mamba")(checkpoint=str(path)).configure({"in": SPEC})["out"].shape == (8,)


@pytest.mark.parametrize(
    "config, said",
    [
        ({"d_model": "16"}, "MambaConfig.d_model must be a whole number, got '16' (str)"),
        ({"d_model": 16.5}, "MambaConfig.d_model must be a whole number, got 16.5"),
    ],
)
def test_inline_config_of_the_wrong_type_is_named(config, said):
    """`type: model` with `config: {d_model: "16"}` (a quoted YAML value) failed inside torch."""
    node = lookup("model")(random_init=True, kind="mamba", config=config, device="cpu")
    with pytest.raises(SpecError, match="fix the inline model dims") as e:
        node.configure({"in": SPEC})
    assert said in str(e.value)


def test_conformer_contexts_not_a_list():
    node = lookup("model")(random_init=True, kind="conformer", config={"att_context_sizes": "x"}, device="cpu")
    with pytest.raises(SpecError, match=r"ConformerConfig.att_context_sizes must be a list, got 'x'"):
        node.configure({"in": SPEC})


def test_config_json_not_utf8(mamba_ckpt):
    """A config saved in another encoding raised UnicodeDecodeError out of configure()."""
    mamba_ckpt.with_suffix(".json").write_bytes(b"\xff\xfe{\x00}\x00")
    with pytest.raises(SpecError, match=r"m\.json is not valid JSON: 'utf-8' codec can't decode"):
        lookup("mamba")(checkpoint=str(mamba_ckpt)).configure({"in": SPEC})


def test_a_model_too_big_for_memory_is_named(mamba_ckpt, tmp_path):
    """d_model: 10000000 (a typo) raised torch's "DefaultCPUAllocator: can't allocate memory" RuntimeError."""
    path = edited(mamba_ckpt, tmp_path, "huge", d_model=10**7, d_in=0)  # no input projection: the first layer fails
    with pytest.raises(SpecError, match="a mamba model of this config does not fit in memory") as e:
        lookup("mamba")(checkpoint=str(path)).configure({"in": SPEC})
    assert "make it smaller" in str(e.value) and "huge.json" in str(e.value)


# --- the SSVEP decoders -------------------------------------------------------------------------------------------

SHIPPED_DNN = Path(__file__).resolve().parents[1] / "models" / "weights" / "ssvep_dnn_8f_160hz_1000ms.safetensors"
DNN_CHANNELS = ["Pz", "PO3", "PO4", "PO7", "PO8", "POz", "O1", "Oz", "O2"]


@pytest.mark.parametrize(
    "change, said",
    [
        (
            {"n_samples": -5},
            "n_samples (the window length in samples) must be >= 2, got -5",
        ),  # was torch's RuntimeError
        ({"bands": [[90.0, 6.0]] * 3}, "band [90.0, 6.0] must be [low, high] Hz with 0 < low < high < Nyquist"),
        ({"bands": [[6.0, 200.0]] * 3}, "band [6.0, 200.0] must be [low, high]"),  # was scipy's "0 < Wn < fs/2"
        ({"p1": 2.0}, "the dropouts p1 and p2 must be in [0, 1), got 2.0"),  # was torch's "dropout probability"
        ({"freqs": [float("nan")] * 8}, "SSVEPDNNConfig.freqs[0] must be a number, not NaN"),  # was decoded as "nan"
        ({"freqs": [-8.0] + [9.0 + i for i in range(7)]}, "stimulus frequency -8.0 Hz must be > 0"),  # was decoded
        ({"rate": "160"}, "SSVEPDNNConfig.rate must be a number, got '160'"),  # was "unsupported operand type(s)"
    ],
)
@pytest.mark.parametrize("kind", ["ssvep_decoder", "ssvep_trial_decoder"])
def test_ssvep_checkpoint_config_values_are_checked(tmp_path, change, said, kind):
    path = edited(SHIPPED_DNN, tmp_path, "dnn", **change)
    node = lookup(kind)(method="dnn", checkpoint=str(path))
    specs = {"in": signal_spec(160.0, DNN_CHANNELS), "events": StreamSpec("events", 0.0, (3,), "float64")}
    with pytest.raises(SpecError) as e:
        node.configure(specs if kind == "ssvep_trial_decoder" else {"in": specs["in"]})
    text = str(e.value)
    assert said in text and "dnn.json" in text and "wavegraph train ssvep" in text, text


@pytest.mark.parametrize("freqs", [[0, 10], [-8, 10], [float("inf"), 10]])
def test_fbcca_stimulus_frequencies_must_be_positive(freqs):
    """freqs [0, 10] raised IndexError from the first window's scoring; [-8, 10] scored -8 Hz as a target."""
    with pytest.raises(ValueError, match="`freqs` must be stimulus frequencies > 0 Hz"):
        lookup("ssvep_decoder")(freqs=freqs)


@pytest.mark.parametrize(
    "spec, params, said, fix",
    [
        (StreamSpec("signal", 160.0, (0,), "float32"), {}, "ssvep_decoder has no channel to decode", "set `channels`"),
        # said by the decoder's check_params since session 30 (dab2f1b), as validate says it behind a device
        (signal_spec(160.0, ["O1", "O2"]), {"channels": []}, "`channels` is an empty list", "fix: channels: [O1"),
    ],
)
def test_ssvep_decoder_with_no_channel_is_an_error(spec, params, said, fix):
    """A stream of 0 channels, or `channels: []`, gave a decision every 0.25 s scored from no data."""
    node = lookup("ssvep_decoder")(freqs=[8, 10], **params)
    with pytest.raises(SpecError, match="no channel to decode") as e:
        node.configure({"in": spec})
    assert said in str(e.value) and fix in str(e.value), str(e.value)


def test_ssvep_decoder_refuses_complex_samples():
    """A complex signal was cast to float64 chunk by chunk, dropping the imaginary part (a ComplexWarning only)."""
    node = lookup("ssvep_decoder")(freqs=[8, 10])
    with pytest.raises(SpecError, match="ssvep_decoder needs a real-valued EEG signal, got complex64"):
        node.configure({"in": StreamSpec("signal", 160.0, (2,), "complex64", ("O1", "O2"))})


# --- eeg_tokenizer and enhancer -----------------------------------------------------------------------------------


def test_tokenizer_refuses_complex_and_channelless_streams():
    """A complex signal lost its imaginary part chunk by chunk (a ComplexWarning only); a 0-channel stream raised
    torch's "quantile() input tensor must be non-empty" from process()."""
    tok = lookup("eeg_tokenizer")
    with pytest.raises(SpecError, match="eeg_tokenizer needs a real-valued EEG signal, got complex64"):
        tok().configure({"in": StreamSpec("signal", 250.0, (2,), "complex64")})
    with pytest.raises(SpecError, match="eeg_tokenizer needs one or more channels, the stream has none"):
        tok().configure({"in": StreamSpec("signal", 250.0, (0,), "float32")})


def test_enhancer_random_init_dims_that_do_not_fit_the_core():
    """core: gla with d_model: 30 raised a bare ValueError from models/gla.py, naming neither node nor fix."""
    node = lookup("enhancer")(random_init=True, core="gla", d_model=30)
    with pytest.raises(
        SpecError, match="enhancer: random_init core gla: .* fix: use a d_model that is a multiple of 8"
    ):
        node.configure({"in": StreamSpec("signal", 16000.0, (1,), "float32")})


# --- `wavegraph train ...`: arguments checked before any data is read or step taken ------------------------------


def _usage_error(main, argv, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2, argv
    return capsys.readouterr().err


@pytest.mark.parametrize("lr", ["-1", "nan", "0"])
def test_train_tokenizer_and_enhancer_refuse_a_bad_learning_rate(lr, tmp_path, capsys):
    """--lr -1 / nan raised torch's "Invalid learning rate" traceback after the data was read."""
    from wavegraph.benchmarks.tokenizer import train_main
    from wavegraph.models.train_enhancer import main

    out = str(tmp_path / "w.safetensors")
    for run in (train_main, main):
        assert "argument --lr: must be above 0" in _usage_error(run, ["--steps", "1", "--lr", lr, "--out", out], capsys)


def test_train_out_that_cannot_hold_the_weights_is_said_before_training(tmp_path, capsys):
    """`--out model.json` (the config's name) or a folder failed at the save: after the whole training (tokenizer,
    ssvep) or at the first evaluation (enhancer), the run lost."""
    from wavegraph.benchmarks.tokenizer import train_main
    from wavegraph.benchmarks.train_ssvep import main as train_ssvep
    from wavegraph.models.train_enhancer import main

    rec = tmp_path / "calib_raw.fif"  # never read: the check comes first
    rec.touch()
    for out, says in ((tmp_path / "w.json", "that is the config's name; give the weights file"), (tmp_path, "folder")):
        for run, argv in (
            (train_main, ["--steps", "1"]),
            (main, ["--steps", "1"]),
            (train_ssvep, [str(rec), "--freqs", "8", "10"]),
        ):
            err = _usage_error(run, [*argv, "--out", str(out)], capsys)
            assert f"--out {out}: " in err and says in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calib_raw.fif"]  # nothing left behind by the check


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--core", "gla", "--d-model", "30"], "must be a whole multiple of n_heads"),
        (["--tone-frames", "1"], "tone_frames must be 0 (no tone feature) or >= 2"),
        (["--df-bins", "4", "--df-order", "0"], "df_order >= 1"),
        (["--init", "/no/such/enhancer.safetensors"], "--init /no/such/enhancer.safetensors: no model config"),
    ],
)
def test_train_enhancer_model_options_are_usage_errors(argv, says, tmp_path, capsys):
    """Each raised a ValueError / CheckpointError traceback from the model's config."""
    from wavegraph.models.train_enhancer import main

    assert says in _usage_error(main, [*argv, "--out", str(tmp_path / "e.safetensors")], capsys)


def test_ssvep_windows_too_big_for_memory_are_said_at_configure():
    """`window: 100000` (samples meant, read as seconds) or `max_delay: 1e6` was accepted: the decoder then buffered
    every sample (9 GiB before its first window here) until the machine ran out of memory."""
    sig = signal_spec(250.0, [f"c{i}" for i in range(9)])
    ev = StreamSpec("events", 0.0, (3,), "float64")
    with pytest.raises(SpecError, match=r"ssvep_decoder window of 25000000 samples .* needs 8.38 GiB of state"):
        lookup("ssvep_decoder")(freqs=[8, 10], window=100000).configure({"in": sig})
    with pytest.raises(SpecError, match=r"ssvep_trial_decoder's kept signal .* needs 16.8 GiB of state; at most 1 GiB"):
        lookup("ssvep_trial_decoder")(freqs=[8, 10], max_delay=1e6).configure({"in": sig, "events": ev})
    assert lookup("ssvep_decoder")(freqs=[8, 10], window=30.0).configure({"in": sig})["scores"].shape == (2,)


# --- the model node's stream -----------------------------------------------------------------------------------


def test_a_conformer_context_too_big_for_memory_is_named():
    """att_context_sizes [[1000000000, 0]] raised torch's DefaultCPUAllocator RuntimeError from configure()."""
    node = lookup("conformer_encoder")(
        random_init=True, d_model=16, n_layers=1, n_heads=2, att_context_sizes=[[10**9, 0]], device="cpu"
    )
    with pytest.raises(SpecError, match="conformer_encoder: the model's stream state does not fit in memory") as e:
        node.configure({"in": SPEC})
    assert "fewer left frames in att_context" in str(e.value)


@pytest.mark.parametrize("rate", [float("nan"), float("inf")])
def test_model_node_refuses_a_rate_that_is_not_finite(rate):
    """A NaN or infinite input rate was taken: the output spec's rate and every output time were NaN (or 0)."""
    node = lookup("mamba")(random_init=True, d_model=8, n_layers=1, device="cpu")
    with pytest.raises(SpecError, match="mamba needs a regular"):
        node.configure({"in": StreamSpec("features", rate, (6,), "float32")})


def test_train_tokenizer_frames_longer_than_every_recording(tmp_path, capsys):
    """--frames 100000 raised torch's "invalid multinomial distribution (sum of probabilities <= 0)" at step 1."""
    from wavegraph.benchmarks.tokenizer import train_main

    err = _usage_error(
        train_main, ["--frames", "100000", "--steps", "1", "--out", str(tmp_path / "t.safetensors")], capsys
    )
    assert "--frames 100000: no training recording is that long (the longest has" in err and "or fewer" in err, err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("windows", [["0"], ["-1"], ["nan"]])  # no valid one first: it would train the shipped one
def test_train_ssvep_global_windows_are_checked(windows, capsys):
    """--global --windows 0 raised the model config's ValueError traceback."""
    from wavegraph.benchmarks.train_ssvep import main as train_ssvep

    err = _usage_error(train_ssvep, ["--global", "--epochs", "1", "--windows", *windows], capsys)
    assert "window lengths in (0, 30] s" in err, err


@pytest.mark.parametrize("kind", ["enhancer", "eeg_tokenizer"])
def test_model_random_init_of_a_kind_with_a_fixed_input(kind):
    """type: model, kind: enhancer, random_init: true said "unknown EnhancerConfig keys ['d_in']", a key the user
    never wrote (the node adds the stream's width)."""
    node = lookup("model")(random_init=True, kind=kind, device="cpu")
    with pytest.raises(SpecError, match=f"random_init of kind '{kind}': its input is fixed by its own config") as e:
        node.configure({"in": SPEC})
    assert f"use type: {kind} for it" in str(e.value)


SHIPPED = Path(__file__).resolve().parents[1] / "models" / "weights"


@pytest.mark.parametrize(
    "change, said",
    [
        ({"hop": 0}, "TokenizerConfig.hop must be >= 1, got 0"),  # was ZeroDivisionError
        ({"hop": -1}, "TokenizerConfig.hop must be >= 1, got -1"),  # was taken: tokens of nonsense
        ({"n_heads": 0}, "TokenizerConfig.n_heads must be >= 1"),  # was ZeroDivisionError
        ({"code_dim": 0}, "TokenizerConfig.code_dim must be >= 1"),  # was torch's "groups must be a positive integer"
        ({"scale_window": float("inf")}, "rate and scale_window must be > 0 and finite"),  # was OverflowError
        ({"clip": 0.0}, "clip > 0"),  # was taken: every scaled sample clipped to 0
    ],
)
def test_tokenizer_checkpoint_config_values_are_checked(tmp_path, change, said):
    path = edited(SHIPPED / "eeg_tokenizer.safetensors", tmp_path, "tok", **change)
    with pytest.raises(SpecError) as e:
        lookup("eeg_tokenizer")(checkpoint=str(path)).configure({"in": signal_spec(200.0, ["C3"])})
    text = str(e.value)
    assert said in text and "tok.json: bad eeg_tokenizer config" in text and "wavegraph train tokenizer" in text, text


def test_enhancer_checkpoint_config_that_its_core_refuses(tmp_path):
    """mlp_ratio: Infinity in the shipped enhancer's JSON raised OverflowError from the GLA core's constructor."""
    path = edited(SHIPPED / "enhancer.safetensors", tmp_path, "enh", mlp_ratio=float("inf"))
    with pytest.raises(
        SpecError, match=r"enh\.json: bad enhancer config: .*mlp_ratio and norm_eps must be > 0 and finite"
    ):
        lookup("enhancer")(checkpoint=str(path)).configure({"in": StreamSpec("signal", 16000.0, (1,), "float32")})


@pytest.mark.parametrize(
    "kind, config, said",
    [
        ("mamba", {"d_model": 8, "dt_max": float("inf")}, "need 0 < dt_min <= dt_max, finite"),
        ("mamba", {"d_model": 8, "norm_eps": -1.0}, "norm_eps > 0, finite"),
        ("gla", {"d_model": 16, "n_heads": 2, "norm_eps": -1.0}, "mlp_ratio and norm_eps must be > 0 and finite"),
        ("conformer", {"d_model": 16, "n_heads": 2, "att_context_sizes": [[8, 1]], "rope_base": 0.0}, "rope_base > 0"),
    ],
)
def test_model_configs_that_made_every_output_nan(kind, config, said):
    """Each of these configs built a model whose every output was NaN, without a word."""
    node = lookup("model")(random_init=True, kind=kind, config=config, device="cpu")
    with pytest.raises(SpecError, match=f"bad {kind} config: .*{re.escape(said)}"):
        node.configure({"in": SPEC})


@pytest.mark.parametrize(
    "kind, saved_by, loaded_by, said",
    [
        ("mamba", {"d_model": 16}, {"d_model": 8}, "model state 'conv.0' has shape (1, 32, 3), this model's is like"),
        ("mamba", {"d_model": 8, "d_state": 8}, {"d_model": 8, "d_state": 4}, "model state 'ssm.0' has shape"),
        ("conformer_encoder", {"d_model": 16}, {"d_model": 32}, "model state 'pending' has shape (1, 1, 16)"),
        (
            "conformer_encoder",
            {"att_context_sizes": [[8, 1]]},
            {"att_context_sizes": [[4, 1]]},
            "model state 'left' is 8, this node's is 4: saved with other options",
        ),
    ],
)
def test_a_state_saved_by_another_model_config_is_refused_at_load(kind, saved_by, loaded_by, said):
    """load_state_dict took a state of another model size (it checked rank and batch only): the next chunk failed
    inside the model ("initial_state has shape ...", torch's "Sizes of tensors must match"), or, for a Conformer state
    of another att_context, ran on with the saved context in place of the configured one."""
    x = np.random.default_rng(0).standard_normal((30, 6)).astype(np.float32)
    dims = {"conformer_encoder": {"n_heads": 2, "att_context_sizes": [[8, 1]]}, "mamba": {"d_state": 4}}[kind]
    make = lambda p: lookup(kind)(random_init=True, n_layers=1, device="cpu", **{**dims, **p})  # noqa: E731
    a, b = make(saved_by), make(loaded_by)
    for node in (a, b):
        node.configure({"in": SPEC})
    a.process({"in": Chunk(x)})
    with pytest.raises(ValueError, match=re.escape(said)):
        b.load_state_dict(_no_config(a.state_dict()))
    c = make(saved_by)  # the same config still loads, and continues exactly
    c.configure({"in": SPEC})
    c.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(c.process({"in": Chunk(x)})["out"].data, a.process({"in": Chunk(x)})["out"].data)


def test_enhancer_state_of_another_config_is_refused_at_load():
    """The enhancer took any state with the right keys: the next block failed inside the Mamba kernel
    ("initial_state has shape (1, 64, 3), expected (1, 32, 3)")."""
    spec = StreamSpec("signal", 16000.0, (1,), "float32")
    x = np.random.default_rng(0).standard_normal((1, 800)).astype(np.float32) * 0.1
    a, b = (lookup("enhancer")(random_init=True, d_model=d) for d in (32, 16))
    for node in (a, b):
        node.configure({"in": spec})
    a.process({"in": Chunk(x)})
    with pytest.raises(ValueError, match=r"enhancer state 'model.core.conv.0' has shape \(1, 64, 3\), this model's"):
        b.load_state_dict(_no_config(a.state_dict()))


def test_ssvep_state_of_other_bands_or_channels_is_refused_at_load():
    """ssvep_decoder reshaped a loaded buffer to its own layout: a state of 3 sub-bands loaded into a 2-band decoder ran
    on without a word (bands mixed up); of 3 channels into 2, scipy's "Invalid zi shape" at the next chunk. The trial
    decoder's failed at the next chunk with numpy's "all the input array dimensions ... must match exactly"."""
    x = np.random.default_rng(0).standard_normal((3, 100))
    sig = lambda n: signal_spec(250.0, ["O1", "Oz", "O2"][:n])  # noqa: E731
    for params, n_saved, n_loaded in (({"n_bands": 3}, 3, 3), ({}, 3, 2)):
        a = lookup("ssvep_decoder")(freqs=[8, 10], **params)
        b = lookup("ssvep_decoder")(freqs=[8, 10])
        a.configure({"in": sig(n_saved)})
        b.configure({"in": sig(n_loaded)})
        a.process({"in": Chunk(x[:n_saved])})
        with pytest.raises(ValueError, match="saved by a decoder of other bands or channels"):
            b.load_state_dict({**b.state_dict(), **{k: a.state_dict()[k] for k in ("zi", "buf")}})
    ev = StreamSpec("events", 0.0, (3,), "float64")
    a, b = lookup("ssvep_trial_decoder")(freqs=[8, 10]), lookup("ssvep_trial_decoder")(freqs=[8, 10])
    a.configure({"in": sig(3), "events": ev})
    b.configure({"in": sig(2), "events": ev})
    a.process({"in": Chunk(x)})
    with pytest.raises(ValueError, match=r"state 'buf.data' has shape \(3, 100\), this node keeps \(2, n\)"):
        b.load_state_dict(_no_config(a.state_dict()))


def test_tokenizer_state_of_another_tokenizer_is_refused_at_load(tmp_path):
    """eeg_tokenizer checked a loaded state's batch and rank only: a state of another tokenizer (context 4, loaded by
    one of context 3) failed at the next chunk with torch's "The size of tensor a (5) must match the size of tensor b
    (6)"."""
    import torch
    from wavegraph.models.eeg_tokenizer import EEGTokenizer, TokenizerConfig

    torch.manual_seed(0)
    other = tmp_path / "tok3.safetensors"
    ckpt.save(EEGTokenizer(TokenizerConfig(context=3)).eval(), other)
    sig = signal_spec(200.0, ["C3", "C4"])
    a, b = lookup("eeg_tokenizer")(), lookup("eeg_tokenizer")(checkpoint=str(other))
    for node in (a, b):
        node.configure({"in": sig})
    a.process({"in": Chunk(np.random.default_rng(0).standard_normal((2, 450)))})
    with pytest.raises(
        ValueError, match=r"eeg_tokenizer state 'model.prev' has shape \(2, 3, 64\), this node's is like"
    ):
        b.load_state_dict(_no_config(a.state_dict()))


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--eval-every", "0"], "argument --eval-every: must be above 0"),  # ZeroDivisionError after step 1
        (["--snr-range", "10", "-10"], "--snr-range 10 -10: give LO <= HI"),  # numpy's "high - low < 0"
        (["--real-fraction", "2"], "--real-fraction 2: a share, in [0, 1]"),  # taken
        (["--noises", "bogus"], "--noises: bogus not among"),  # a ValueError traceback after the corpus was read
        (["--mask-floor", "1.5"], "--mask-floor 1.5: in [0, 1)"),  # written into the saved config
    ],
)
def test_train_enhancer_data_options_are_checked_before_the_corpus_is_read(argv, says, tmp_path, capsys):
    from wavegraph.models.train_enhancer import main

    common = ["--steps", "1", "--pool", "0", "--heldout-per-snr", "0", "--out", str(tmp_path / "e.safetensors")]
    assert says in _usage_error(main, [*argv, *common], capsys)


def _rewritten(src, tmp_path, change):
    """A copy of checkpoint `src` (JSON beside it) whose tensors `change` edits in place."""
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(src))
    change(tensors)
    out = tmp_path / "w.safetensors"
    save_file(tensors, str(out))
    shutil.copy(src.with_suffix(".json"), out.with_suffix(".json"))
    return out


def test_weights_holding_nan_are_refused(tmp_path):
    """Weights with a NaN (a training run that diverged) loaded without a word: the enhancer then put out NaN."""
    path = _rewritten(
        SHIPPED / "enhancer.safetensors", tmp_path, lambda t: t["core.in_proj.bias"].__setitem__(0, np.nan)
    )
    with pytest.raises(SpecError, match=r"tensor 'core.in_proj.bias' in .* holds 1 NaN or infinite values") as e:
        lookup("enhancer")(checkpoint=str(path)).configure({"in": StreamSpec("signal", 16000.0, (1,), "float32")})
    assert "retrain" in str(e.value)


def test_integer_tensors_where_the_model_has_floats_are_refused(mamba_ckpt, tmp_path):
    """An int tensor in place of a float one was copied in silently (its values truncated or taken as weights)."""
    import torch

    def to_int(t):
        t["in_proj.weight"] = (t["in_proj.weight"] * 10).to(torch.int32)

    path = _rewritten(mamba_ckpt, tmp_path, to_int)
    with pytest.raises(SpecError, match=r"tensor 'in_proj.weight' is torch.int32 in .*, the model's is torch.float32"):
        lookup("mamba")(checkpoint=str(path)).configure({"in": SPEC})


@pytest.mark.parametrize("cut", [0, 40, "half"])
def test_train_ssvep_on_an_empty_or_cut_off_recording(cut, tmp_path, capsys):
    """An empty or cut-off .fif raised MNE's "'NoneType' object has no attribute 'kind'" (or numpy's "buffer size must
    be a multiple of element size", no file named) out of `wavegraph train ssvep`."""
    import mne
    from wavegraph.benchmarks.train_ssvep import main as train_ssvep

    whole = tmp_path / "whole_raw.fif"
    info = mne.create_info(["O1", "O2"], 250.0, "eeg")
    mne.io.RawArray(np.zeros((2, 2500)), info, verbose="error").save(whole, verbose="error")
    data = whole.read_bytes()
    rec = tmp_path / "calib_raw.fif"
    rec.write_bytes(data[: len(data) // 2 if cut == "half" else cut])
    assert train_ssvep([str(rec), "--freqs", "8", "10", "--out", str(tmp_path / "s.safetensors")]) == 2
    err = capsys.readouterr().err
    assert f"{rec} cannot be read as a recording (MNE: " in err and "fix: give a whole recording" in err, err


def test_model_state_missing_an_entry_is_named():
    """A state without its frame counters raised a bare KeyError: 'n_in'."""
    node = lookup("mamba")(random_init=True, d_model=8, n_layers=1, device="cpu")
    node.configure({"in": SPEC})
    saved = node.state_dict()
    del saved["n_in"]
    with pytest.raises(KeyError, match=r"MambaNode state keys \['bad_frames', 'base_t0', 'model', 'n_out'\] are not"):
        node.load_state_dict(saved)
