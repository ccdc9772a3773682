"""Cache-aware Conformer: streaming over any chunking equals the offline forward with the same mask."""

import random

import pytest
import torch
from wavegraph.models.conformer import ConformerConfig, ConformerEncoder, chunked_limited_mask

pytestmark = pytest.mark.usefixtures("one_torch_thread")


TOL = 1e-5  # fp32 max abs diff, streaming vs offline


def make(sub=4, contexts=((8, 1), (6, 2), (0, 0)), seed=0, **kw):
    torch.manual_seed(seed)
    cfg = ConformerConfig(
        d_in=12,
        d_model=32,
        n_layers=2,
        n_heads=4,
        conv_kernel=5,
        subsampling=sub,
        att_context_sizes=[list(c) for c in contexts],
        **kw,
    )
    return ConformerEncoder(cfg).eval()


def run_stream(model, x, sizes, ctx):
    cache = model.init_state(x.shape[0], att_context=ctx)
    ys, i = [], 0
    for n in sizes:
        y, cache = model.stream(x[:, i : i + n], cache)
        assert y.shape[1] % (ctx[1] + 1) == 0, "stream emits whole chunks only"
        ys.append(y)
        i += n
    assert i == x.shape[1]
    y, cache = model.flush(cache)
    ys.append(y)
    return torch.cat(ys, 1)


def chunkings(n, seed=0):
    rng = random.Random(seed)
    out = [[1] * n, [n], [3, 1, 0, 2] + [n - 6]]
    for max_size in (5, 23):
        sizes, left = [], n
        while left:
            s = min(left, rng.randint(0, max_size))
            sizes.append(s)
            left -= s
        out.append(sizes)
    return out


@pytest.mark.parametrize("sub", [4, 8])
def test_stream_equals_forward_any_chunking(sub):
    model = make(sub)
    torch.manual_seed(1)
    x = torch.randn(2, 7 * sub * 3 + sub + 3, 12)  # ends in a partial chunk and a partial stride block
    head = torch.nn.Linear(32, 11)
    with torch.no_grad():
        for ctx in model.cfg.att_context_sizes:
            ref = model(x, att_context=ctx)
            assert ref.shape[1] == x.shape[1] // sub
            assert model.output_lengths(torch.tensor([x.shape[1]])).item() == x.shape[1] // sub
            for sizes in chunkings(x.shape[1]):
                got = run_stream(model, x, sizes, ctx)
                assert got.shape == ref.shape
                err = (got - ref).abs().max().item()
                assert err <= TOL, f"ctx {ctx}, sizes {sizes[:6]}: max abs diff {err}"
                assert torch.equal(head(got).argmax(-1), head(ref).argmax(-1))


def test_contexts_really_differ_and_mask_shape():
    model = make()
    x = torch.randn(1, 96, 12)
    with torch.no_grad():
        outs = [model(x, att_context=c) for c in model.cfg.att_context_sizes]
    assert (outs[0] - outs[1]).abs().max() > 1e-3 and (outs[0] - outs[2]).abs().max() > 1e-3
    pos = torch.arange(8)
    m = chunked_limited_mask(pos, pos, 2, 1)  # chunks of 2, one chunk of left context
    assert m[4].tolist() == [False, False, True, True, True, True, False, False]
    assert m[5].tolist() == [False, False, True, True, True, True, False, False]
    assert m[0].tolist() == [True, True] + [False] * 6


def test_latency_is_declared_and_tight():
    """Output sub-frame j depends on input frames up to j * sub + latency and no further; for the first frame of a
    chunk the last of those frames does matter (the declared latency is tight)."""
    sub, (left, right) = 4, (8, 1)
    model = make(sub)
    lat = model.latency_frames((left, right))
    assert lat == (right + 1) * sub - 1
    torch.manual_seed(2)
    x = torch.randn(1, 64, 12)
    with torch.no_grad():
        ref = model(x, att_context=(left, right))
        for j in (0, 3, 6):  # first, second frame of a chunk
            last_needed = j * sub + lat  # the last input frame sub-frame j may depend on
            x2 = x.clone()
            x2[:, last_needed + 1 :] += 5.0
            assert torch.allclose(model(x2, att_context=(left, right))[:, j], ref[:, j], atol=1e-6)
            if j % (right + 1) == 0:  # the first frame of a chunk waits the full latency: the bound is tight
                x3 = x.clone()
                x3[:, last_needed] += 5.0
                assert not torch.allclose(model(x3, att_context=(left, right))[:, j], ref[:, j], atol=1e-4)


def test_left_context_is_limited():
    """With L=8, R=1 (chunks of 2) a sub-frame reaches at most 4 chunks + its own chunk back per layer by attention
    (<= 9 sub-frames forward) and then 4 more by the conv (kernel 5) in the same layer; input frames 0..3 touch
    sub-frames 0..1. Two layers: nothing past sub-frame 1 + 2 * 13 = 27 can depend on them."""
    model = make()
    torch.manual_seed(3)
    x = torch.randn(1, 160, 12)
    x2 = x.clone()
    x2[:, :4] += 5.0
    with torch.no_grad():
        ref = model(x, att_context=(8, 1))
        y2 = model(x2, att_context=(8, 1))
    assert torch.allclose(y2[:, 28:], ref[:, 28:], atol=1e-6)
    assert not torch.allclose(y2[:, :2], ref[:, :2], atol=1e-4)
    assert not torch.allclose(y2[:, 20:28], ref[:, 20:28], atol=1e-4)


def test_lengths_mask_padding():
    model = make()
    torch.manual_seed(4)
    x = torch.randn(2, 80, 12)
    lengths = torch.tensor([80, 53])
    with torch.no_grad():
        y = model(x, lengths, att_context=(8, 1))
        solo = model(x[1:, :53], att_context=(8, 1))
    assert model.output_lengths(lengths).tolist() == [20, 13]
    assert torch.isfinite(y).all()
    assert (y[1, 13:] == 0).all()
    assert (y[1, :13] - solo[0]).abs().max() <= TOL


def test_multi_latency_training_samples_the_configured_set():
    model = make()
    model.train()
    rng = random.Random(0)
    seen = {model.sample_att_context(rng) for _ in range(50)}
    assert seen == {tuple(c) for c in model.cfg.att_context_sizes}
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    x = torch.randn(2, 48, 12)
    for _ in range(3):  # att_context=None in train mode: one random context per batch
        y = model(x)
        loss = y.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_inputs_shorter_than_a_stride_block():
    model = make()
    with torch.no_grad():
        for t in (0, 1, 3):
            y = model(torch.randn(2, t, 12))
            assert y.shape == (2, 0, 32)
        y, cache = model.stream(torch.randn(1, 3, 12), model.init_state(1))
        assert y.shape == (1, 0, 32)
        assert model.flush(cache)[0].shape == (1, 0, 32)
        assert model(torch.randn(1, 4, 12)).shape == (1, 1, 32)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="multiple of the chunk size"):
        ConformerConfig(att_context_sizes=[[5, 1]])
    with pytest.raises(ValueError, match="subsampling"):
        ConformerConfig(subsampling=3)
    with pytest.raises(ValueError, match="even size"):
        ConformerConfig(d_model=30, n_heads=10)
    model = make()
    with pytest.raises(ValueError, match="d_in=12"):
        model(torch.randn(1, 10, 13))
    cache = model.init_state(2, att_context=(8, 1))
    with pytest.raises(ValueError, match="batch"):
        model.stream(torch.randn(1, 10, 12), cache)
    with pytest.raises(ValueError, match=r"att_context \[2, 1\] is not one the model was built/trained for"):
        model.init_state(1, att_context=(2, 1))
    with pytest.raises(ValueError, match="not a ConformerEncoder state"):
        model.stream(torch.randn(1, 10, 12), {"pending": torch.zeros(1, 0, 32)})


@pytest.mark.parametrize("ctx, kernel, layers, sub", [((8, 1), 5, 2, 4), ((12, 2), 4, 3, 2)])
def test_exact_recompute_window_is_the_receptive_field(ctx, kernel, layers, sub):
    """benchmarks/models.py times `forward` on exact_window_start(...): the last chunk's output depends on the
    window's first input frame and on nothing before it, and the window alone reproduces the streamed chunk."""
    from wavegraph.benchmarks.models import exact_window_start

    torch.manual_seed(0)
    cfg = ConformerConfig(
        d_in=8,
        d_model=16,
        n_layers=layers,
        n_heads=2,
        conv_kernel=kernel,
        subsampling=sub,
        att_context_sizes=[list(ctx)],
    )
    model = ConformerEncoder(cfg).eval()
    size = ctx[1] + 1
    end = 40 * size * sub
    start = exact_window_start(cfg, ctx, end)
    assert 0 < start and start % (size * sub) == 0
    x = torch.randn(1, end, 8)
    with torch.no_grad():
        ref = model(x)[:, -size:]
        torch.testing.assert_close(model(x[:, start:])[:, -size:], ref, rtol=0, atol=TOL)
        # per layer: L sub-frames of attention plus the conv's k-1, rounded up to whole chunks
        first = sub * (end // sub - size - layers * (ctx[0] + size * -(-(kernel - 1) // size))) - (sub - 1)
        assert first - size * sub < start <= first  # the window starts on the chunk grid just before that frame
        moved = []
        for frame in (first - 1, first):
            x2 = x.clone()
            x2[:, frame] += 100.0
            moved.append((model(x2)[:, -size:] - ref).abs().max().item())
    assert moved[0] == 0.0 and moved[1] > 1e-7  # the frame before does not matter at all, the first one does
