"""The model node (type model, and its aliases conformer_encoder, mamba, gla): streaming == whole (shared harness),
gap resets, state round trips, clear errors."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.conformer import ConformerConfig, ConformerEncoder
from wavegraph.models.gla import GLAConfig, GLAStack
from wavegraph.models.mamba import MambaConfig, MambaStack
from wavegraph.nodes.models.model import ModelNode
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Source
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, run_chunked

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# fp32 models: chunked runs equal the whole-signal run to rounding (observed ~1e-6)
RTOL, ATOL = 1e-5, 1e-5
RATE = 100.0
SPEC = StreamSpec("features", RATE, (6,), "float32")
ENC = dict(
    random_init=True,
    seed=3,
    d_model=32,
    n_layers=2,
    n_heads=4,
    conv_kernel=5,
    subsampling=4,
    att_context_sizes=[(8, 1), (4, 3)],
    device="cpu",
)
SSM = dict(random_init=True, seed=3, d_model=16, n_layers=2, d_state=4, device="cpu")
GLA = dict(random_init=True, seed=3, d_model=16, n_layers=2, n_heads=2, gate_low_rank=4, chunk_size=8, device="cpu")
PARAMS = {"conformer_encoder": ENC, "mamba": SSM, "gla": GLA}


def feats(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 6)).astype(np.float32)


@pytest.mark.parametrize("att_context", [None, (4, 3)])
def test_encoder_streaming_equals_whole(att_context):
    cls = lookup("conformer_encoder")
    assert issubclass(cls, ModelNode)
    x = feats(250)  # 62 sub-frames: ends in a partial chunk and a partial stride block
    whole = assert_streaming_equivalent(lambda: cls(**ENC, att_context=att_context), x, SPEC, rtol=RTOL, atol=ATOL)
    assert whole["out"].shape == (62, 32) and whole["out"].dtype == np.float32
    # the node is the model: same numbers as the offline forward
    node = cls(**ENC, att_context=att_context)
    out = node.configure({"in": SPEC})["out"]
    assert out.rate == RATE / 4 and out.shape == (32,) and out.kind == "features"
    assert node.latency_samples == ((att_context or (8, 1))[1] + 1) * 4 - 1
    with torch.no_grad():
        ref = node.net(torch.from_numpy(x)[None], att_context=att_context or (8, 1))[0].numpy()
    np.testing.assert_allclose(whole["out"], ref, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", ["mamba", "gla"])
def test_recurrent_streaming_equals_whole(kind):
    cls = lookup(kind)
    assert issubclass(cls, ModelNode)
    x = feats(230)
    whole = assert_streaming_equivalent(lambda: cls(**PARAMS[kind]), x, SPEC, rtol=RTOL, atol=ATOL)
    assert whole["out"].shape == (230, 16)
    node = cls(**PARAMS[kind])
    assert node.configure({"in": SPEC})["out"].rate == RATE and node.latency_samples == 0
    with torch.no_grad():  # (in the dtype the node runs it in: GLA's float64, models/gla.py stream_dtype)
        ref = node.net(torch.from_numpy(x)[None].to(node.net.stream_dtype))[0].float().numpy()
    np.testing.assert_allclose(whole["out"], ref, rtol=RTOL, atol=ATOL)


def test_generic_model_type_equals_the_aliases(tmp_path):
    """type: model with kind + config (random_init) or a checkpoint of any kind gives what the alias gives."""
    x = feats(90, seed=7)
    model = lookup("model")
    cases = [
        (
            dict(
                kind="conformer",
                config=dict(
                    d_model=32, n_layers=2, n_heads=4, conv_kernel=5, subsampling=4, att_context_sizes=[[8, 1], [4, 3]]
                ),
                options={"att_context": [4, 3]},
            ),
            "conformer_encoder",
            dict(ENC, att_context=(4, 3)),
        ),
        (dict(kind="gla", config=dict(d_model=16, n_layers=2, n_heads=2, gate_low_rank=4, chunk_size=8)), "gla", GLA),
    ]
    for generic, alias, alias_params in cases:
        got = assert_streaming_equivalent(
            lambda g=generic: model(random_init=True, seed=3, device="cpu", **g), x, SPEC, rtol=RTOL, atol=ATOL
        )["out"]
        ref = run_chunked(lookup(alias)(**alias_params), x, SPEC, [90])["out"]
        np.testing.assert_array_equal(got, ref)
    node = model(random_init=True, kind="conformer", config=cases[0][0]["config"], options={"att_context": [4, 3]})
    node.configure({"in": SPEC})
    assert node.latency_samples == 4 * 4 - 1 and node.out_specs["out"].rate == RATE / 4
    # a checkpoint names its kind: the generic node needs no kind
    torch.manual_seed(0)
    stack = GLAStack(GLAConfig(d_model=8, n_layers=1, d_in=6, n_heads=2, gate_low_rank=4)).eval()
    path = tmp_path / "gla.safetensors"
    ckpt.save(stack, path)
    node = model(checkpoint=str(path), device="cpu")
    got = run_chunked(node, x, SPEC, [40, 50])["out"]
    with torch.no_grad():
        np.testing.assert_allclose(got, stack(torch.from_numpy(x)[None])[0].numpy(), rtol=RTOL, atol=ATOL)
    assert lookup("gla")(checkpoint=str(path)).configure({"in": SPEC})["out"].shape == (8,)
    with pytest.raises(SpecError, match="holds a 'gla' model, this node needs 'conformer'"):
        model(checkpoint=str(path), kind="conformer").configure({"in": SPEC})
    with pytest.raises(SpecError, match="random_init needs the model kind"):
        model(random_init=True).configure({"in": SPEC})
    with pytest.raises(SpecError, match="unknown model kind 'lstm'"):
        model(random_init=True, kind="lstm").configure({"in": SPEC})
    with pytest.raises(SpecError, match="bad stream options"):
        model(random_init=True, kind="mamba", options={"att_context": [4, 3]}).configure({"in": SPEC})
    with pytest.raises(ValueError, match="come from the checkpoint"):
        model(checkpoint=str(path), config={"d_model": 4})


def test_encoder_times_and_gap_reset():
    cls = lookup("conformer_encoder")
    assert issubclass(cls, ModelNode)
    x = feats(164, seed=1)  # 78 frames, then 86 after the gap: 21 sub-frames, the last in a partial chunk
    node = cls(**ENC)
    node.configure({"in": SPEC})
    outs = [node.process({"in": Chunk(x[:37], t0=10.0)}), node.process({"in": Chunk(x[37:78], t0=10.37)})]
    pending = node.state["pending"].shape[1]
    assert pending == 1  # 19 sub-frames in chunks of 2: one waits for its chunk
    assert outs[0]["out"].t0 == 10.0 and outs[1]["out"].t0 == pytest.approx(10.0 + 8 * 0.04)
    # a gap: the next segment is encoded as if the stream started there
    after = node.process({"in": Chunk(x[78:], t0=20.0, gap=True)})
    tail = node.finish()
    assert node.counters["frames_dropped_at_gap"] == pending
    fresh = cls(**ENC)
    fresh.configure({"in": SPEC})
    ref = run_chunked(fresh, x[78:], SPEC, [86])["out"]
    got = np.concatenate([after["out"].data, tail["out"].data])
    assert len(got) == 21
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)
    assert after["out"].t0 == 20.0 and tail["out"].t0 == pytest.approx(20.0 + 20 * 0.04)


@pytest.mark.parametrize("kind", ["mamba", "gla"])
def test_recurrent_gap_reset_and_state_roundtrip(kind):
    cls = lookup(kind)
    x = feats(60, seed=2)
    node = cls(**PARAMS[kind])
    node.configure({"in": SPEC})
    node.process({"in": Chunk(x[:30])})
    saved = node.state_dict()
    a = node.process({"in": Chunk(x[30:])})["out"].data
    node.load_state_dict(saved)
    b = node.process({"in": Chunk(x[30:])})["out"].data
    np.testing.assert_array_equal(a, b)
    c = node.process({"in": Chunk(x[30:], gap=True)})["out"].data
    fresh = cls(**PARAMS[kind])
    fresh.configure({"in": SPEC})
    np.testing.assert_array_equal(c, fresh.process({"in": Chunk(x[30:])})["out"].data)
    assert np.abs(c - a).max() > 1e-3  # the state mattered
    assert "frames_dropped_at_gap" not in node.counters  # nothing is held back by a causal stride-1 model
    with pytest.raises(KeyError, match="do not match"):
        node.load_state_dict({**saved, "model": {"x": np.zeros(1)}})
    key = next(iter(saved["model"]))
    with pytest.raises(ValueError, match=f"model state '{key}' has shape"):
        node.load_state_dict({**saved, "model": {**saved["model"], key: np.zeros((2, 3))}})


def test_encoder_state_roundtrip_mid_stream():
    cls = lookup("conformer_encoder")
    assert issubclass(cls, ModelNode)
    x = feats(120, seed=4)
    node = cls(**ENC)
    node.configure({"in": SPEC})
    node.process({"in": Chunk(x[:45])})
    saved = node.state_dict()
    a = node.process({"in": Chunk(x[45:])})["out"].data
    node2 = cls(**ENC)
    node2.configure({"in": SPEC})
    node2.load_state_dict(saved)
    np.testing.assert_array_equal(node2.process({"in": Chunk(x[45:])})["out"].data, a)


def test_checkpoint_param(tmp_path):
    torch.manual_seed(0)
    enc = ConformerEncoder(ConformerConfig(d_in=6, d_model=32, n_layers=1, n_heads=2, att_context_sizes=[[4, 1]]))
    path = tmp_path / "enc.safetensors"
    ckpt.save(enc, path)
    node = lookup("conformer_encoder")(checkpoint=str(path), device="cpu")
    node.configure({"in": SPEC})
    x = feats(40)
    got = run_chunked(node, x, SPEC, [13, 27])["out"]
    with torch.no_grad():
        ref = enc.eval()(torch.from_numpy(x)[None])[0].numpy()
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)
    with pytest.raises(SpecError, match="ConformerEncoder takes 6 features per frame, the input has 5"):
        lookup("conformer_encoder")(checkpoint=str(path)).configure({"in": StreamSpec("features", RATE, (5,))})
    with pytest.raises(SpecError, match="holds a 'conformer' model, this node needs 'mamba'"):
        lookup("mamba")(checkpoint=str(path)).configure({"in": SPEC})
    mpath = tmp_path / "ssm.safetensors"
    ckpt.save(MambaStack(MambaConfig(d_model=8, n_layers=1, d_in=6)), mpath)
    assert lookup("mamba")(checkpoint=str(mpath)).configure({"in": SPEC})["out"].shape == (8,)


def test_bad_params_and_specs(tmp_path):
    enc, ssm = lookup("conformer_encoder"), lookup("mamba")
    x = tmp_path / "x.safetensors"
    x.touch()  # a checkpoint path must be a file, with its config beside it, when the node is built
    x.with_suffix(".json").touch()
    with pytest.raises(ValueError, match="exactly one of"):
        enc()
    with pytest.raises(ValueError, match="exactly one of"):
        ssm(checkpoint=str(x), random_init=True)
    with pytest.raises(ValueError, match="come from the checkpoint"):
        enc(checkpoint=str(x), d_model=16)
    with pytest.raises(ValueError, match="does not exist"):
        ssm(checkpoint=str(tmp_path / "missing.safetensors"))
    with pytest.raises(ValueError, match="is a folder"):
        ssm(checkpoint=str(tmp_path))
    with pytest.raises(ValueError, match="device"):
        ssm(random_init=True, device="tpu")
    with pytest.raises(SpecError, match="must be a features stream"):
        enc(**ENC).configure({"in": signal_spec(RATE, ["C3", "C4"])})
    with pytest.raises(SpecError, match=r"att_context \[2, 1\] is not one"):
        enc(**{**ENC, "att_context": (2, 1)}).configure({"in": SPEC})
    with pytest.raises(SpecError, match="multiple of the chunk size"):
        enc(**{**ENC, "att_context_sizes": [(5, 1)]}).configure({"in": SPEC})
    for kind, params in PARAMS.items():  # complex frames (an stft) would be cast to float32, dropping the imaginary
        with pytest.raises(SpecError, match="real-valued features, got complex64"):
            lookup(kind)(**params).configure({"in": StreamSpec("features", RATE, (6,), "complex64")})
    (tmp_path / "m.safetensors").touch()
    with pytest.raises(ValueError, match="has no config m.json beside it"):
        ssm(checkpoint=str(tmp_path / "m.safetensors"))
    if not torch.cuda.is_available():
        with pytest.raises(SpecError, match="no CUDA device"):
            ssm(**{**SSM, "device": "cuda"}).configure({"in": SPEC})
    node = ssm(**SSM)
    node.configure({"in": SPEC})
    with pytest.raises(ValueError, match=r"\(frames, 6\)"):
        node.process({"in": Chunk(np.zeros((4, 5), np.float32))})


@pytest.mark.parametrize("kind", ["conformer_encoder", "mamba"])
def test_read_only_chunks_from_the_wire(kind):
    # wire.decode hands out read-only views; torch.from_numpy warns (undefined behaviour on write) on those
    node = lookup(kind)(**PARAMS[kind])
    node.configure({"in": SPEC})
    x = feats(40)
    ro = np.frombuffer(x.tobytes(), dtype=np.float32).reshape(x.shape)
    assert not ro.flags.writeable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = node.process({"in": Chunk(ro)})["out"].data
    ref = lookup(kind)(**PARAMS[kind])
    ref.configure({"in": SPEC})
    np.testing.assert_array_equal(got, ref.process({"in": Chunk(x.copy())})["out"].data)


def test_node_modules_import_without_torch():
    code = (
        "import sys, wavegraph.nodes.models.model; from wavegraph.pipeline.registry import lookup; "
        "lookup('mamba'); lookup('gla'); lookup('model'); "
        "assert 'torch' not in sys.modules, 'torch imported'; print('ok')"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr


GRAPH = """\
nodes:
  - id: src
    type: noise
    params: {rate: 400.0, channels: 2, chunk_size: 33, duration: 2.0, seed: 1}
  - id: win
    type: sliding_window
    params: {size: 8, hop: 4}
  - id: enc
    type: conformer_encoder
    params: {random_init: true, d_model: 32, n_layers: 1, n_heads: 4, subsampling: 4,
             att_context_sizes: [[8, 1]], device: cpu}
  - id: ssm
    type: mamba
    params: {random_init: true, d_model: 16, n_layers: 1, d_state: 4, device: cpu}
  - id: sink
    type: fixture_nodes:Collect
edges:
  - {source: src.out, target: win.in}
  - {source: win.out, target: enc.in}
  - {source: enc.out, target: ssm.in}
  - {source: ssm.out, target: sink.in}
"""


def test_yaml_graph_runs_in_process(tmp_path):
    """Real graph: noise -> sliding_window (features) -> conformer_encoder -> mamba, through the in-process runner;
    the collected stream equals the two nodes run offline on the same features."""
    import fixture_nodes
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    p = tmp_path / "g.yaml"
    p.write_text(GRAPH)
    g = build_graph(load_config(p))
    result = run_graph(g, in_process=True)
    assert result.exit_code == 0
    sink = g.nodes["sink"]
    assert isinstance(sink, fixture_nodes.Collect)
    chunks = [c for c in sink.chunks if c.data.size]
    got = np.concatenate([c.data for c in chunks])
    # offline reference: the same source and window, then the model nodes fed whole
    g2 = build_graph(load_config(p))
    src, win = g2.nodes["src"], g2.nodes["win"]
    assert isinstance(src, Source)
    sig = []
    while (out := src.read()) is not None:
        sig.append(out["out"].data)
    feats_ = run_chunked(win, np.concatenate(sig, axis=-1), src.out_specs["out"], [800])["out"]
    enc = run_chunked(g2.nodes["enc"], feats_, win.out_specs["out"], [len(feats_)])["out"]
    ref = run_chunked(g2.nodes["ssm"], enc, g2.nodes["enc"].out_specs["out"], [len(enc)])["out"]
    assert got.shape == ref.shape == (len(feats_) // 4, 16)
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)
    assert chunks[1].t0 - chunks[0].t0 == pytest.approx(len(chunks[0].data) * 4 * 4 / 400.0)


@pytest.mark.parametrize("kind", ["conformer_encoder", "mamba"])
def test_nan_policy(kind):
    cls = lookup(kind)
    params = PARAMS[kind]
    sub = 4 if kind == "conformer_encoder" else 1
    x = feats(90, seed=5)
    x[10, 2] = np.nan
    x[51, 0] = np.inf
    clean = x.copy()
    clean[~np.isfinite(clean)] = 0.0
    ref = run_chunked(cls(**params), clean, SPEC, [90])["out"]
    node = cls(**params)
    zeroed = run_chunked(node, x, SPEC, [33, 57])["out"]
    np.testing.assert_allclose(zeroed, ref, rtol=RTOL, atol=ATOL)
    assert node.counters["nan_zeroed"] == 2
    # propagate: NaN exactly at the outputs whose input frames held them, the state stays clean; any chunking
    prop = assert_streaming_equivalent(lambda: cls(**params, nan_policy="propagate"), x, SPEC, rtol=RTOL, atol=ATOL)
    bad_rows = np.flatnonzero(np.isnan(prop["out"]).any(axis=1)).tolist()
    assert bad_rows == [10 // sub, 51 // sub] and np.isnan(prop["out"][bad_rows]).all()
    ok = np.ones(len(ref), bool)
    ok[bad_rows] = False
    np.testing.assert_allclose(prop["out"][ok], ref[ok], rtol=RTOL, atol=ATOL)


def test_a_missing_checkpoint_is_a_build_error_with_its_line():
    """configs/bci_ssvep_dnn.yaml names `subject01.safetensors`, which a user makes with `wavegraph train ssvep`:
    without it, building the graph as `wavegraph validate` does (no amplifier needed) says so at the line."""
    from pathlib import Path

    from wavegraph.pipeline.config import GraphError, load_config
    from wavegraph.pipeline.graph import build_graph

    config = Path(__file__).resolve().parents[1] / "configs" / "bci_ssvep_dnn.yaml"
    with pytest.raises(GraphError) as e:
        build_graph(load_config(config, ["decoder.checkpoint=no/such/subject01.safetensors"]), devices=False)
    text = str(e.value)
    assert "bci_ssvep_dnn.yaml:33: node 'decoder' (ssvep_trial_decoder): parameter 'checkpoint'" in text, text
    assert "does not exist" in text and "fix: give the weights file" in text, text
