"""Session 43 probe of the wire/transport edges and the kernels' dispatch: hostile input as a peer (or a caller) would
give it, each case a misbehaviour reproduced on the code before its fix.

Kernels run on both backends: the torch reference and the Triton kernels under TRITON_INTERPRET=1 (fp32, tiny
shapes)."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # must precede the first triton import

import textwrap  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import wavegraph.kernels as kernels  # noqa: E402
from wavegraph.kernels.dispatch import triton_available  # noqa: E402
from wavegraph.pipeline import shm  # noqa: E402
from wavegraph.pipeline.chunk import Chunk  # noqa: E402
from wavegraph.pipeline.config import load_config  # noqa: E402
from wavegraph.pipeline.graph import build_graph  # noqa: E402
from wavegraph.pipeline.runner import run_graph  # noqa: E402
from wavegraph.pipeline.spec import signal_spec  # noqa: E402
from wavegraph.pipeline.transport import EdgeReceiver, EdgeSender, ipc_endpoint  # noqa: E402

BACKENDS = ["ref", pytest.param("triton", marks=pytest.mark.skipif(not triton_available(), reason="no triton"))]
B, H, DK, DV = 2, 2, 4, 3


def _step_args():
    return (torch.randn(B, H, DK), torch.randn(B, H, DK), torch.randn(B, H, DV), -torch.rand(B, H, DK))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "name, bad, message",
    [
        ("k", torch.randn(DK), r"k has shape \(4,\), expected \(2, 2, 4\)"),
        ("g", torch.tensor(-1.0), r"g has shape \(\), expected \(2, 2, 4\)"),
        ("v", torch.randn(DV), r"v must be \(batch=2, heads=2, dv\), got \(3,\)"),
        ("v", torch.randn(B, H), r"v must be \(batch=2, heads=2, dv\), got \(2, 2\)"),
    ],
)
def test_gla_step_with_an_argument_of_too_few_axes_names_it_as_passed(monkeypatch, backend, name, bad, message):
    """The Triton gla_step added a time axis to k, v, g before checking them: a k or g of fewer than 2 axes was a raw
    IndexError ('too many indices for tensor of dimension 1'), a 2-D v was reported with a shape it was not passed
    with ((2, 2, 1)). Both backends now give the reference's ValueError, and the state is left alone."""
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    q, k, v, g = _step_args()
    args = dict(q=q, k=k, v=v, g=g)
    args[name] = bad
    state = torch.randn(B, H, DK, DV)
    before = state.clone()
    with pytest.raises(ValueError, match=message):
        kernels.gla_step(state=state, **args)
    assert torch.equal(state, before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_update_with_a_state_of_the_wrong_shape_names_conv_state(monkeypatch, backend):
    """The Triton causal_conv1d_update called the state it was given `initial_state` (causal_conv1d's argument) in its
    error: the caller passed conv_state."""
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    x, weight = torch.randn(B, 3), torch.randn(3, 4)
    with pytest.raises(ValueError, match=r"^conv_state has shape \(2, 3, 2\), expected \(2, 3, 3\)"):
        kernels.causal_conv1d_update(x, torch.randn(B, 3, 2), weight)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", ["gla_chunk", "gla_step"])
@pytest.mark.parametrize("scale", ["0.5", [1.0], 1j, float("nan"), float("inf"), torch.tensor([1.0, 2.0])], ids=repr)
def test_a_gla_scale_that_is_not_a_finite_real_number_is_a_clear_error(monkeypatch, backend, op, scale):
    """scale='0.5' or [1.0] was "only integer tensors of a single element can be converted to an index" on the reference
    and another message on Triton; 1j was cut to its real part on the reference (with a ComplexWarning) and refused on
    Triton; NaN and inf gave all-NaN output on both. Now one ValueError naming scale, and the state is left alone."""
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    q, k, v, g = _step_args()
    state = torch.randn(B, H, DK, DV)
    before = state.clone()
    with pytest.raises(ValueError, match=r"^scale must be a finite real number \(None: 1/sqrt\(dk\)\), got "):
        if op == "gla_chunk":
            kernels.gla_chunk(q[:, :, None], k[:, :, None], v[:, :, None], g[:, :, None], state, scale=scale)
        else:
            kernels.gla_step(q, k, v, g, state, scale=scale)
    assert torch.equal(state, before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_gla_scale_given_as_a_number_or_a_one_element_tensor_still_scales(monkeypatch, backend):
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    q, k, v, g = _step_args()
    state = torch.randn(B, H, DK, DV)
    outs = [kernels.gla_step(q, k, v, g, state.clone(), scale=s) for s in (0.5, torch.tensor(0.5), 1)]
    torch.testing.assert_close(outs[0], outs[1])
    torch.testing.assert_close(outs[0] * 2, outs[2])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", ["selective_state_update", "causal_conv1d_update", "gla_step"])
def test_a_broadcast_state_updated_in_place_is_a_clear_error(monkeypatch, backend, op):
    """A state given as a broadcast view (expand(): its slots share memory): selective_state_update's reference wrote
    every row into the same memory (a UserWarning; the state silently held the last row's update), its Triton path and
    the other ops raised torch's internal-overlap RuntimeError. Now one ValueError naming the state and the fix."""
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    d, n = 5, 3
    if op == "selective_state_update":
        state = torch.randn(1, d, n).expand(B, d, n)
        call = lambda: kernels.selective_state_update(  # noqa: E731
            state, torch.randn(B, d), torch.randn(B, d), -torch.rand(d, n), torch.randn(B, n), torch.randn(B, n)
        )
        name = "state"
    elif op == "causal_conv1d_update":
        state = torch.randn(1, d, 3).expand(B, d, 3)
        call = lambda: kernels.causal_conv1d_update(torch.randn(B, d), state, torch.randn(d, 4))  # noqa: E731
        name = "conv_state"
    else:
        state = torch.randn(1, H, DK, DV).expand(B, H, DK, DV)
        call = lambda: kernels.gla_step(*_step_args(), state)  # noqa: E731
        name = "state"
    before = state.clone()
    with pytest.raises(ValueError, match=rf"^{name} is a broadcast view .* pass {name}\.clone\(\)"):
        call()
    assert torch.equal(state, before)


# ------------------------------------------------------------------------- chunks whose dtype cannot travel


@pytest.mark.parametrize("bad", ["object", "float128", "<U4"])
def test_a_chunk_of_a_dtype_that_cannot_travel_is_dropped_across_processes_as_in_one(tmp_path, monkeypatch, bad):
    """A source whose chunk 5 is of a dtype no wire code carries (object, float128, str; fixture_nodes.Shifty): in one
    process the chunk was dropped, counted and the next one flagged gap; across processes the sending worker failed
    ("process 'a' failed: dtype: dtype object cannot be sent" and a traceback) and the run with it. Now the edge's
    sender drops it (counted, its seq consumed): both runners record the same, one gap."""

    monkeypatch.chdir(tmp_path)
    outputs = []
    for in_process in (True, False):
        out = f"out_{in_process}.csv"
        (tmp_path / "g.yaml").write_text(
            textwrap.dedent(
                f"""\
                nodes:
                  - {{id: src, type: "fixture_nodes:Shifty", params: {{bad: "{bad}"}}}}
                  - {{id: bp, type: bandpass, params: {{l_freq: 1.0, h_freq: 40.0}}}}
                  - {{id: rec, type: recorder, params: {{path: {out}}}}}
                edges:
                  - {{source: src.out, target: bp.in}}
                  - {{source: bp.out, target: rec.in}}
                processes: {{a: [src], b: [bp, rec]}}
                """
            )
        )
        result = run_graph(build_graph(load_config(tmp_path / "g.yaml")), in_process=in_process)
        assert not result.failure, result.failure
        assert result.stats["rec"]["gaps"] == 1
        if not in_process:  # the sending node's summary says the chunk it could not send (it said nothing)
            assert result.stats["src"]["counters"].get("tx_rejected_dtype") == 1, result.stats["src"]
        outputs.append((tmp_path / out).read_text())
    assert outputs[0] == outputs[1] and outputs[0].count("\n") == 1 + 19 * 25


@pytest.mark.parametrize("kind", ["zmq", "shm"])
@pytest.mark.parametrize("size", [4, 40000], ids=["small", "large"])
def test_an_edge_sender_drops_a_chunk_it_cannot_encode_and_the_receiver_sees_the_gap(size, kind):
    """EdgeSender.send raised wire's 'dtype' error for such a chunk; now it drops it (rejected_dtype), consumes its seq
    and returns True (a block-policy caller retrying on False would spin); an end-of-stream chunk goes on, empty."""

    spec = signal_spec(100.0, ["a"])
    if kind == "shm":  # a large chunk through the ring (shm_min=1), a small one whole in the lane
        name = shm.shm_prefix("unsendable")
        rx = shm.ShmEdgeReceiver(ipc_endpoint("unsendable"), spec, shm=name)
        tx = shm.ShmEdgeSender(rx.endpoint, spec, shm=name, shm_min=1 if size > 4 else shm.SHM_MIN_BYTES)
    else:
        rx = EdgeReceiver(ipc_endpoint("unsendable"), spec)
        tx = EdgeSender(rx.endpoint, spec)
    try:
        assert tx.send(Chunk(np.zeros((1, size)), 0.0), timeout=10)
        assert tx.send(Chunk(np.zeros((1, size), dtype=object), 1.0), timeout=10)
        assert tx.send(Chunk(np.ones((1, size)), 2.0), timeout=10)
        assert tx.send(Chunk(np.zeros((1, 0), dtype=object), 3.0, eos=True), timeout=10)
        assert tx.counters["rejected_dtype"] == 1
        got = [rx.recv(timeout=10) for _ in range(3)]
        assert all(c is not None for c in got)
        assert [(c.t0, c.gap, c.eos) for c in got] == [(0.0, False, False), (2.0, True, False), (3.0, False, True)]
        assert rx.counters["seq_missing"] == 1 and rx.counters["rejected"] == 0
    finally:
        tx.close()
        rx.close()


def test_an_end_of_stream_chunk_whose_data_cannot_travel_is_counted_and_its_end_still_arrives():
    """Review: the end-of-stream chunk of such a dtype went on empty, its data dropped uncounted and unflagged, where
    one process counts the drop."""
    spec = signal_spec(100.0, ["a"])
    rx = EdgeReceiver(ipc_endpoint("unsendable-eos"), spec)
    tx = EdgeSender(rx.endpoint, spec)
    try:
        assert tx.send(Chunk(np.zeros((1, 4)), 0.0), timeout=10)
        assert tx.send(Chunk(np.zeros((1, 4), dtype=object), 1.0, eos=True), timeout=10)
        assert tx.counters["rejected_dtype"] == 1
        got = [rx.recv(timeout=10) for _ in range(2)]
        assert [(c.t0, c.eos, c.n_times(-1)) for c in got if c is not None] == [(0.0, False, 4), (1.0, True, 0)]
        assert got[1] is not None and got[1].gap and rx.counters["seq_missing"] == 1
    finally:
        tx.close()
        rx.close()
