"""Each Triton kernel against its torch reference in fp32 under TRITON_INTERPRET=1 (small shapes, odd lengths),
state continuation (chunk A then chunk B == A+B), and state_batch_indices over a permuted sparse slot set.
Tolerances: the selective scan/conv ops use mamba_ssm's fp32 test tolerance (rtol 3e-4, atol 1e-3); GLA uses fla's
relative RMSE (5e-3). Calls go through the public dispatch with WAVEGRAPH_KERNELS=triton.

WAVEGRAPH_KERNEL_TEST_DEVICE=cuda (benchmarks/gpu_check.sh) runs the same tests compiled on a GPU, no interpreter."""

import os
from typing import Any

DEVICE = os.environ.get("WAVEGRAPH_KERNEL_TEST_DEVICE", "cpu")
if DEVICE == "cpu":
    os.environ["TRITON_INTERPRET"] = "1"  # must precede the first triton import
else:
    os.environ.pop("TRITON_INTERPRET", None)

import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from conftest import need  # noqa: E402
from wavegraph.kernels.dispatch import triton_available  # noqa: E402

need(triton_available(), "triton is not installed")

import wavegraph.kernels as kernels  # noqa: E402
from wavegraph.kernels import reference as R  # noqa: E402

RTOL, ATOL = 3e-4, 1e-3


@pytest.fixture(autouse=True)
def _force_triton(monkeypatch):
    monkeypatch.setenv("WAVEGRAPH_KERNELS", "triton")


def on_device(obj: Any) -> Any:
    """Move a tensor, or the tensors in a dict/tuple, to the test device."""
    if isinstance(obj, torch.Tensor):
        return obj.to(DEVICE)
    if isinstance(obj, dict):
        return {k: on_device(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(on_device(v) for v in obj)
    return obj


def rel_rmse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b).pow(2).mean().sqrt()) / b.pow(2).mean().sqrt().clamp_min(1e-12))


def _scan_args(b, d, L, n, seed, full=True) -> dict[str, Any]:
    g = torch.Generator().manual_seed(seed)
    a: dict[str, Any] = dict(
        u=torch.randn(b, d, L, generator=g),
        delta=torch.randn(b, d, L, generator=g) * 0.5,
        A=-torch.rand(d, n, generator=g) * 2 - 0.1,
        B=torch.randn(b, n, L, generator=g),
        C=torch.randn(b, n, L, generator=g),
    )
    if full:
        a.update(
            D=torch.randn(d, generator=g),
            z=torch.randn(b, d, L, generator=g),
            delta_bias=torch.randn(d, generator=g) * 0.1,
            delta_softplus=True,
            initial_state=torch.randn(b, d, n, generator=g),
        )
    return on_device(a)


@pytest.mark.parametrize("b,d,L,n,full", [(1, 5, 1, 3, False), (2, 19, 23, 16, True), (1, 33, 40, 5, True)])
def test_selective_scan_matches_reference(b, d, L, n, full):
    a = _scan_args(b, d, L, n, seed=L, full=full)
    y, h = kernels.selective_scan(**a)
    y_ref, h_ref = R.selective_scan_ref(**a)
    torch.testing.assert_close(y, y_ref, rtol=RTOL, atol=ATOL)
    torch.testing.assert_close(h, h_ref, rtol=RTOL, atol=ATOL)
    assert h.dtype == torch.float32 and y.dtype == a["u"].dtype


def test_selective_scan_with_the_cuda_launch_defaults():
    """The CUDA default tiles (SCAN_LAUNCH, 4 channels x 8 steps, set from timings on an H200) against the
    reference; the other tests run the interpreter's. Sizes leave a part-filled last tile on both axes."""
    from wavegraph.kernels import triton_ssm

    block_d, block_l, num_warps = triton_ssm.SCAN_LAUNCH["cuda"]
    a = _scan_args(2, 2 * block_d + 3, 2 * block_l + 5, 16, seed=11)
    y, h = triton_ssm.selective_scan(**a, block_d=block_d, block_l=block_l, num_warps=num_warps)
    y_ref, h_ref = R.selective_scan_ref(**a)
    torch.testing.assert_close(y, y_ref, rtol=RTOL, atol=ATOL)
    torch.testing.assert_close(h, h_ref, rtol=RTOL, atol=ATOL)


def test_selective_scan_state_continuation():
    a = _scan_args(2, 7, 29, 4, seed=3)
    y, h = kernels.selective_scan(**a)
    timed = ("u", "delta", "B", "C", "z")
    cut = 13  # not a multiple of the kernel's 16-step tile
    y1, h1 = kernels.selective_scan(**{k: v[..., :cut] if k in timed else v for k, v in a.items()})
    second: dict[str, Any] = {
        k: v[..., cut:] if k in timed else (h1 if k == "initial_state" else v) for k, v in a.items()
    }
    y2, h2 = kernels.selective_scan(**second)
    torch.testing.assert_close(torch.cat([y1, y2], -1), y, rtol=RTOL, atol=ATOL)
    torch.testing.assert_close(h2, h, rtol=RTOL, atol=ATOL)


def test_selective_state_update_with_permuted_sparse_slots():
    g = torch.Generator().manual_seed(4)
    bsz, d, n, slots = 3, 37, 16, 8
    state = torch.randn(slots, d, n, generator=g).to(DEVICE)
    idx = torch.tensor([6, 0, 3], device=DEVICE)  # permuted, sparse: slots 1, 2, 4, 5, 7 must stay untouched
    args: dict[str, Any] = dict(
        x=torch.randn(bsz, d, generator=g),
        dt=torch.randn(bsz, d, generator=g),
        A=-torch.rand(d, n, generator=g),
        B=torch.randn(bsz, n, generator=g),
        C=torch.randn(bsz, n, generator=g),
        D=torch.randn(d, generator=g),
        z=torch.randn(bsz, d, generator=g),
        dt_bias=torch.randn(d, generator=g),
        dt_softplus=True,
        state_batch_indices=idx,
    )
    args = on_device(args)
    s_tri, s_ref = state.clone(), state.clone()
    y = kernels.selective_state_update(s_tri, **args)
    y_ref = R.selective_state_update_ref(s_ref, **args)
    torch.testing.assert_close(y, y_ref, rtol=RTOL, atol=ATOL)
    torch.testing.assert_close(s_tri, s_ref, rtol=RTOL, atol=ATOL)
    untouched = [1, 2, 4, 5, 7]
    assert torch.equal(s_tri[untouched], state[untouched])
    assert not torch.allclose(s_tri[idx], state[idx])
    # each row really used its own slot: a per-row call on that slot alone gives the same output
    for i, s in enumerate(idx.tolist()):
        one = state[s : s + 1].clone()
        row: dict[str, Any] = {
            k: (
                v[i : i + 1]
                if isinstance(v, torch.Tensor) and v.shape[:1] == (bsz,) and k != "state_batch_indices"
                else v
            )
            for k, v in args.items()
            if k != "state_batch_indices"
        }
        yi = kernels.selective_state_update(one, **row)
        torch.testing.assert_close(yi[0], y[i], rtol=RTOL, atol=ATOL)


def _update_args(g: torch.Generator, d: int, n: int) -> dict[str, Any]:
    """Inputs of a 2-row state update (CPU)."""
    return dict(
        x=torch.randn(2, d, generator=g),
        dt=torch.rand(2, d, generator=g),
        A=-torch.rand(d, n, generator=g),
        B=torch.randn(2, n, generator=g),
        C=torch.randn(2, n, generator=g),
    )


@pytest.mark.parametrize("backend", ["ref", "triton"])
@pytest.mark.parametrize(
    "idx, match",
    [
        ([0, 5], r"holds 5 but the state has 3 slots"),  # out of range: Triton used to write past the state
        ([-1, 0], r"holds -1: slot indices must be >= 0"),  # negative: the reference used to wrap to the last slot
        ([1, 1], r"repeats slot 1"),  # repeated: Triton used to apply the update twice
    ],
)
def test_selective_state_update_rejects_bad_slot_indices(monkeypatch, backend, idx, match):
    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    g = torch.Generator().manual_seed(6)
    d, n = 5, 4
    state = torch.randn(3, d, n, generator=g).to(DEVICE)
    before = state.clone()
    args = on_device(_update_args(g, d, n))
    check = True if backend == "triton" else None  # on CUDA the Triton path reads the values back only when asked
    with pytest.raises(ValueError, match=match):
        kernels.selective_state_update(
            state, **args, state_batch_indices=torch.tensor(idx, device=DEVICE), check_indices=check
        )
    assert torch.equal(state, before)  # refused before anything was written
    with pytest.raises(ValueError, match="integer tensor"):
        kernels.selective_state_update(state, **args, state_batch_indices=torch.tensor([0.0, 1.0], device=DEVICE))
    if backend == "triton" and idx != [1, 1]:  # unasked (the CUDA default): the kernel's guard, row NaN, no write
        y = kernels.selective_state_update(
            state, **args, state_batch_indices=torch.tensor(idx, device=DEVICE), check_indices=False
        )
        assert torch.isnan(y[[i for i, v in enumerate(idx) if v < 0 or v >= 3]]).all()
        state.copy_(before)
    # the valid neighbour of each case works on both backends
    kernels.selective_state_update(state, **args, state_batch_indices=torch.tensor([2, 0], device=DEVICE))
    assert torch.equal(state[1], before[1]) and not torch.equal(state[2], before[2])


def test_selective_state_update_noncontiguous_state_is_updated_in_place():
    g = torch.Generator().manual_seed(5)
    d, n = 6, 4
    base = torch.randn(2, n, d, generator=g).to(DEVICE)
    state = base.transpose(1, 2)  # (2, d, n) view, not contiguous
    args = _update_args(g, d, n)
    args = on_device(args)
    ref = state.clone()
    y = kernels.selective_state_update(state, **args)
    torch.testing.assert_close(y, R.selective_state_update_ref(ref, **args), rtol=RTOL, atol=ATOL)
    torch.testing.assert_close(base.transpose(1, 2), ref, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("w,L,act", [(4, 37, "silu"), (2, 1, None), (3, 70, None)])
def test_causal_conv1d_matches_reference_and_continues(w, L, act):
    g = torch.Generator().manual_seed(w * 100 + L)
    b, d = 2, 21
    x, wt, bias = torch.randn(b, d, L, generator=g), torch.randn(d, w, generator=g), torch.randn(d, generator=g)
    s0 = torch.randn(b, d, w - 1, generator=g)
    x, wt, bias, s0 = on_device((x, wt, bias, s0))
    y, fin = kernels.causal_conv1d(x, wt, bias, s0, act)
    y_ref, fin_ref = R.causal_conv1d_ref(x, wt, bias, s0, act)
    torch.testing.assert_close(y, y_ref, rtol=RTOL, atol=ATOL)
    assert torch.equal(fin, fin_ref)
    if L > 1:
        cut = L // 2 + 1
        y1, f1 = kernels.causal_conv1d(x[..., :cut], wt, bias, s0, act)
        y2, f2 = kernels.causal_conv1d(x[..., cut:], wt, bias, f1, act)
        torch.testing.assert_close(torch.cat([y1, y2], -1), y_ref, rtol=RTOL, atol=ATOL)
        assert torch.equal(f2, fin_ref)
    state, state_ref = s0.clone(), s0.clone()
    yu = kernels.causal_conv1d_update(x[..., 0], state, wt, bias, act)
    torch.testing.assert_close(
        yu, R.causal_conv1d_update_ref(x[..., 0], state_ref, wt, bias, act), rtol=RTOL, atol=ATOL
    )
    assert torch.equal(state, state_ref)


def _gla_args(b, h, L, dk, dv, seed, gate_scale=1.0):
    g_ = torch.Generator().manual_seed(seed)
    return on_device(
        (
            torch.randn(b, h, L, dk, generator=g_),
            torch.randn(b, h, L, dk, generator=g_),
            torch.randn(b, h, L, dv, generator=g_),
            F.logsigmoid(torch.randn(b, h, L, dk, generator=g_) * 2) * gate_scale,
        )
    )


@pytest.mark.parametrize("b,h,L,dk,dv,gs", [(1, 2, 1, 8, 8, 1.0), (2, 2, 37, 12, 20, 1.0), (1, 1, 33, 16, 70, 8.0)])
def test_gla_chunk_matches_reference(b, h, L, dk, dv, gs):
    q, k, v, g = _gla_args(b, h, L, dk, dv, seed=L, gate_scale=gs)
    S0 = torch.randn(b, h, dk, dv, device=DEVICE)
    o, S = kernels.gla_chunk(q, k, v, g, S0)
    o_ref, S_ref = R.gla_recurrent_ref(q, k, v, g, S0)
    assert rel_rmse(o, o_ref) < 5e-3 and rel_rmse(S, S_ref) < 5e-3
    assert S.dtype == torch.float32


def test_gla_chunk_state_continuation_and_steps():
    q, k, v, g = _gla_args(2, 2, 30, 8, 16, seed=7)
    o, S = kernels.gla_chunk(q, k, v, g, scale=0.3)
    cut = 11
    o1, S1 = kernels.gla_chunk(q[:, :, :cut], k[:, :, :cut], v[:, :, :cut], g[:, :, :cut], scale=0.3)
    o2, S2 = kernels.gla_chunk(q[:, :, cut:], k[:, :, cut:], v[:, :, cut:], g[:, :, cut:], S1, scale=0.3)
    assert rel_rmse(torch.cat([o1, o2], 2), o) < 5e-3 and rel_rmse(S2, S) < 5e-3
    state = S1.clone()
    steps = [kernels.gla_step(q[:, :, t], k[:, :, t], v[:, :, t], g[:, :, t], state, scale=0.3) for t in range(cut, 30)]
    assert rel_rmse(torch.stack(steps, 2), o[:, :, cut:]) < 5e-3 and rel_rmse(state, S) < 5e-3
    # the length-1 time axis form returns a length-1 time axis
    st = S1.clone()
    o_t = kernels.gla_step(
        q[:, :, cut : cut + 1], k[:, :, cut : cut + 1], v[:, :, cut : cut + 1], g[:, :, cut : cut + 1], st, scale=0.3
    )
    assert o_t.shape == (2, 2, 1, 16)
    torch.testing.assert_close(o_t[:, :, 0], steps[0])


@pytest.mark.parametrize("backend", ["triton", "ref"])
def test_public_ops_route_to_the_forced_backend(monkeypatch, backend):
    """A spy (the real kernel still runs) on each Triton entry point: called iff the Triton backend is chosen."""
    from wavegraph.kernels import triton_conv, triton_gla, triton_ssm

    monkeypatch.setenv("WAVEGRAPH_KERNELS", backend)
    calls = []
    for mod, name in (
        (triton_ssm, "selective_scan"),
        (triton_ssm, "selective_state_update"),
        (triton_conv, "causal_conv1d"),
        (triton_conv, "causal_conv1d_update"),
        (triton_gla, "gla_chunk"),
        (triton_gla, "gla_step"),
    ):
        real = getattr(mod, name)
        monkeypatch.setattr(mod, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    a = _scan_args(1, 4, 3, 2, seed=0, full=False)
    kernels.selective_scan(**a)
    d, n = 4, 2
    kernels.selective_state_update(
        on_device(torch.zeros(1, d, n)),
        *on_device((torch.randn(1, d), torch.rand(1, d), -torch.rand(d, n), torch.randn(1, n), torch.randn(1, n))),
    )
    x, w = on_device((torch.randn(1, d, 3), torch.randn(d, 3)))
    kernels.causal_conv1d(x, w)
    kernels.causal_conv1d_update(x[..., 0], on_device(torch.zeros(1, d, 2)), w)
    q, k, v, g = _gla_args(1, 1, 3, 4, 4, seed=0)
    kernels.gla_chunk(q, k, v, g)
    kernels.gla_step(q[:, :, 0], k[:, :, 0], v[:, :, 0], g[:, :, 0], on_device(torch.zeros(1, 1, 4, 4)))
    expected = [
        "selective_scan",
        "selective_state_update",
        "causal_conv1d",
        "causal_conv1d_update",
        "gla_chunk",
        "gla_step",
    ]
    assert calls == (expected if backend == "triton" else [])


def test_bfloat16_inputs_keep_fp32_state():
    """bf16 activations (as a model on GPU would pass): outputs come back bf16 within bf16 rounding of the
    reference, the fp32 state matches at the fp32 tolerance."""
    a = _scan_args(1, 8, 20, 4, seed=9, full=False)
    a = {k: (v.bfloat16() if k in ("u", "delta", "B", "C") else v) for k, v in a.items()}
    y, h = kernels.selective_scan(**a)
    y_ref, h_ref = R.selective_scan_ref(**a)
    assert y.dtype == torch.bfloat16 and h.dtype == torch.float32
    torch.testing.assert_close(y.float(), y_ref.float(), rtol=1e-2, atol=1e-2)
    torch.testing.assert_close(h, h_ref, rtol=RTOL, atol=ATOL)
    q, k, v, g = _gla_args(1, 1, 20, 8, 16, seed=9)
    q, k, v = q.bfloat16(), k.bfloat16(), v.bfloat16()
    o, S = kernels.gla_chunk(q, k, v, g)
    o_ref, S_ref = R.gla_recurrent_ref(q, k, v, g)
    assert o.dtype == torch.bfloat16 and S.dtype == torch.float32
    assert rel_rmse(o.float(), o_ref.float()) < 1e-2 and rel_rmse(S, S_ref) < 5e-3


@pytest.mark.parametrize("bad", [5, -1])
def test_unchecked_out_of_range_slot_touches_no_state_and_gives_nan(bad):
    """The kernel's own guard, used where the indices are not read back (CUDA): an out-of-range row leaves every
    slot alone and its output is NaN; the valid row is updated as the reference does it."""
    from wavegraph.kernels import triton_ssm

    g = torch.Generator().manual_seed(8)
    d, n = 5, 4
    state = torch.randn(3, d, n, generator=g)
    args = _update_args(g, d, n)
    before, want_state = state.clone(), state.clone()
    want_y = R.selective_state_update_ref(want_state, **args, state_batch_indices=torch.tensor([2, 0]))
    state_d, args_d = on_device(state), on_device(args)  # on the CPU state_d is `state` itself, updated in place
    y = triton_ssm.selective_state_update(
        state_d, **args_d, state_batch_indices=torch.tensor([2, bad], device=DEVICE), check_indices=False
    )
    assert torch.isnan(y[1]).all() and torch.allclose(y[0].cpu(), want_y[0], rtol=RTOL, atol=ATOL)
    assert torch.allclose(state_d[2].cpu(), want_state[2], rtol=RTOL, atol=ATOL)
    assert torch.equal(state_d[:2].cpu(), before[:2])  # slot 0 (and 1) untouched: the bad row wrote nowhere


def test_kernels_sweep_writes_the_configs_that_tuned_rows_run(tmp_path):
    """benchmarks/kernels_sweep.py's plumbing, for a GPU lease that cannot spare a failed call: on the CPU two
    configs per op are run and checked against the torch reference (not a timing), and the JSON written is what
    `--tuned` runs."""
    from wavegraph.benchmarks.kernels_sweep import sweep, tuned_impls

    g = torch.Generator().manual_seed(12)
    d, n = 6, 4
    scan = _scan_args(1, d, 10, n, seed=12, full=False)
    upd = {**on_device(_update_args(g, d, n)), "state": on_device(torch.randn(5, d, n, generator=g))}
    upd["state_batch_indices"] = torch.tensor([3, 1], device=DEVICE)
    refs = {
        "selective_scan": lambda a: R.selective_scan_ref(**a, delta_softplus=True),
        "selective_state_update": lambda a: R.selective_state_update_ref(**a, dt_softplus=True),
    }
    cases = [dict(op=op, args=a, impls={"ref": refs[op]}) for op, a in zip(refs, (scan, upd))]
    best = sweep(cases, "cpu", 4800.0, 1, str(tmp_path / "best.json"))
    assert set(best) == {"selective_scan", "selective_state_update"} and all(best.values()), best
    impls = tuned_impls(str(tmp_path / "best.json"))
    y, h = impls["selective_scan"](dict(scan))
    y_ref, h_ref = R.selective_scan_ref(**scan, delta_softplus=True)
    torch.testing.assert_close(y, y_ref, rtol=RTOL, atol=ATOL)
    torch.testing.assert_close(h, h_ref, rtol=RTOL, atol=ATOL)
    state = upd["state"].clone()
    want = R.selective_state_update_ref(state, **{k: v for k, v in upd.items() if k != "state"}, dt_softplus=True)
    torch.testing.assert_close(impls["selective_state_update"](dict(upd)), want, rtol=RTOL, atol=ATOL)
