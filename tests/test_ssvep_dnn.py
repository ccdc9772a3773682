"""The Deep-SSVEP DNN (models/ssvep_dnn.py), `wavegraph train ssvep` from a recording, and ssvep_decoder method dnn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from wavegraph.models import ssvep_dnn as dnn  # noqa: E402
from wavegraph.nodes.models.ssvep import SSVEPDecoder  # noqa: E402
from wavegraph.pipeline.datasets import DatasetError  # noqa: E402
from wavegraph.pipeline.spec import SpecError, signal_spec  # noqa: E402
from wavegraph.pipeline.testing import assert_streaming_equivalent  # noqa: E402

WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "weights"
FREQS = [8.0, 10.0, 12.0, 15.0]


def test_layers_follow_the_paper():
    cfg = dnn.SSVEPDNNConfig(250.0, [f"c{i}" for i in range(9)], list(np.arange(40) * 0.2 + 8), 100)
    m = dnn.SSVEPDNN(cfg)
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert shapes["combine.weight"] == (1, 3, 1, 1) and "combine.bias" not in shapes  # 1x1 over 3 sub-bands
    assert shapes["spatial.weight"] == (120, 1, 9, 1)  # [C x 1], 120 filters
    assert shapes["down.weight"] == (120, 120, 1, 2) and m.down.stride == (1, 2)  # [1 x 2] stride 2
    assert shapes["temporal.weight"] == (120, 120, 1, 10)  # [1 x 10]
    assert shapes["fc.weight"] == (40, 120 * 50)
    assert m(torch.randn(5, 3, 9, 100)).shape == (5, 40)
    assert cfg.bands == [[6.0, 90.0], [14.0, 90.0], [22.0, 90.0]]


def test_checkpoint_round_trip(tmp_path):
    cfg = dnn.SSVEPDNNConfig(160.0, ["O1", "Oz", "O2"], FREQS, 64)
    m = dnn.SSVEPDNN(cfg).eval()
    x = np.random.default_rng(0).standard_normal((4, 3, 3, 64))
    for half in (False, True):
        dnn.save(m, tmp_path / "m.safetensors", half=half)
        m2, meta = dnn.load(tmp_path / "m.safetensors")
        assert meta["kind"] == "ssvep_dnn" and m2.cfg == cfg
        np.testing.assert_allclose(dnn.predict_proba(m2, x), dnn.predict_proba(m, x), atol=1e-2 if half else 1e-6)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """A calibration run (real EEGMMIDB background + simulated SSVEP, annotations = Hz) written as FIF, a DNN
    trained from it with `wavegraph train ssvep`, and a second run (other background segment) to decode."""
    from wavegraph.benchmarks import ssvep_sim as sim
    from wavegraph.benchmarks.train_ssvep import main

    d = tmp_path_factory.mktemp("ssvep")
    try:
        calib = sim.calibration_raw(FREQS, 10, 2.0, -10.0, segment="train", seed=1)
        online = sim.calibration_raw(FREQS, 4, 2.0, -10.0, segment="eval", seed=1)  # same simulated subject
    except DatasetError as e:
        pytest.skip(f"data set unavailable: {e}")
    calib.save(d / "calib_raw.fif", verbose="error")
    ckpt = d / "dnn.safetensors"
    rc = main(
        [str(d / "calib_raw.fif"), "--freqs", *map(str, FREQS), "--window", "1.0", "--steps", "10", "--out", str(ckpt)]
    )
    assert rc == 0 and ckpt.is_file()
    return ckpt, online


def _markers(raw):
    """The annotations as an events chunk (onset, duration, code = 1 + frequency index)."""
    return np.array([[a["onset"], a["duration"], 1 + FREQS.index(float(a["description"]))] for a in raw.annotations])


def test_trained_checkpoint_decodes_a_new_run_through_the_trial_decoder(calibrated):
    """Stimulus-locked decisions on a run the model never saw (another background segment), fed in chunks with
    the markers arriving early, late and in bursts: the same decisions, well above chance."""
    from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec

    ckpt, online = calibrated
    x = online.get_data()
    ev = _markers(online)
    specs = {
        "in": signal_spec(online.info["sfreq"], online.ch_names),
        "events": StreamSpec(
            "events", 0.0, (3,), "float64", labels=tuple((i + 1, f"{f:g}") for i, f in enumerate(FREQS))
        ),
    }
    runs, scores = [], []
    for marker_lag in (-1, 3, 30):  # markers delivered this many chunks (0.25 s) before/after their samples
        node = SSVEPTrialDecoder(method="dnn", checkpoint=str(ckpt))
        node.configure(specs)
        got, n_chunks, sent = [], x.shape[1] // 40 + 1, 0
        scores.append([])
        for i in range(n_chunks + 60):
            inputs = {}
            if i < n_chunks:
                inputs["in"] = Chunk(x[:, i * 40 : (i + 1) * 40], t0=i * 40 / 160.0)
            due = ev[(ev[:, 0] * 160 // 40 + marker_lag <= i) & (np.arange(len(ev)) >= sent)]
            if len(due):
                inputs["events"] = Chunk(due, t0=float(due[0, 0]))
                sent += len(due)
            if inputs:
                out = node.process(inputs)
                if "out" in out:
                    got.append(out["out"].data)
                    scores[-1].append(out["scores"].data)
        runs.append(np.concatenate(got))
    for r in runs[1:]:
        np.testing.assert_array_equal(r, runs[0])
    dec = runs[0]
    np.testing.assert_allclose(dec[:, 0], ev[:, 0])
    acc = float(np.mean(dec[:, 2] == ev[:, 2]))
    assert acc > 0.6, f"accuracy {acc:.2f} on {len(ev)} trials (chance 0.25)"
    # a 1 s DNN decides on the mean softmax over its window and the windows one sample earlier and later (as the
    # benchmark): offline, each trial filtered from 1 s before its marker, the wider window cut at marker + 0.14 s
    m, _ = dnn.load(ckpt)
    k = dnn.decision_crops(m.cfg)
    assert k == 1 and node.latency_samples == round(0.14 * 160) + 160 + k - 1
    from scipy.signal import sosfilt

    offline = []
    for t in ev[:, 0]:
        s = int(round(t * 160))
        y = np.stack([sosfilt(sos, x[:, max(0, s - 160) : s + 22 + 160 + k], axis=-1) for sos in node._sos])
        offline.append(dnn.predict_proba(m, y[None, ..., -(160 + 2 * k) :], crops=k)[0])
    np.testing.assert_allclose(np.concatenate(scores[0]), offline, rtol=1e-5, atol=1e-7)


def test_dnn_node_streaming_equals_offline(calibrated):
    ckpt, online = calibrated
    x = online.get_data()[:, :800]
    spec = signal_spec(online.info["sfreq"], online.ch_names)
    out = assert_streaming_equivalent(
        lambda: SSVEPDecoder(method="dnn", checkpoint=str(ckpt), step=0.25),
        x,
        spec,
        chunkings=[[1] * 200 + [600], [33] * 24 + [8]],
        rtol=1e-5,
        atol=1e-6,
    )
    # offline: causal bank over the whole signal, then the model on each window
    m, _ = dnn.load(ckpt)
    from scipy.signal import sosfilt

    y = np.stack([sosfilt(s, x, axis=-1) for s in dnn.design_dnn_bank(m.cfg)])
    wins = np.stack([y[..., k * 40 : k * 40 + 160] for k in range((800 - 160) // 40 + 1)])
    np.testing.assert_allclose(out["scores"], dnn.predict_proba(m, wins), rtol=1e-5, atol=1e-6)


def test_dnn_node_checks_the_checkpoint_against_the_stream(calibrated):
    ckpt, online = calibrated
    with pytest.raises(SpecError, match="trained at 160 Hz"):
        SSVEPDecoder(method="dnn", checkpoint=str(ckpt)).configure({"in": signal_spec(250.0, online.ch_names)})
    with pytest.raises(SpecError, match="not in the stream"):
        SSVEPDecoder(method="dnn", checkpoint=str(ckpt)).configure({"in": signal_spec(160.0, ["O1", "O2"])})
    with pytest.raises(SpecError, match="differ from the checkpoint"):
        SSVEPDecoder(method="dnn", checkpoint=str(ckpt), freqs=[8, 9, 10, 11]).configure(
            {"in": signal_spec(160.0, online.ch_names)}
        )
    with pytest.raises(ValueError, match="does not exist"):  # when the graph is built, before any device opens
        SSVEPDecoder(method="dnn", checkpoint="/nonexistent.safetensors")


def test_shipped_global_models_load_and_are_small():
    files = sorted(WEIGHTS.glob("ssvep_dnn_40f_160hz_*ms.safetensors"))
    if not files:
        pytest.skip("global DNN weights not trained yet")
    assert sum(f.stat().st_size for f in files) < 10 * 2**20
    for f in files:
        m, meta = dnn.load(f)
        assert meta["training"]["stage"] == "global" and len(m.cfg.freqs) == 40 and m.cfg.rate == 160.0
        node = SSVEPDecoder(method="dnn", checkpoint=str(f))
        node.configure({"in": signal_spec(160.0, m.cfg.channels)})
        assert node.latency_samples == m.cfg.n_samples - 1


def test_fine_tune_for_a_new_subject_keeps_the_convs_and_starts_a_new_head():
    cfg = dnn.SSVEPDNNConfig(160.0, ["O1", "Oz", "O2"], FREQS, 64)
    torch.manual_seed(0)
    glob = dnn.SSVEPDNN(cfg)
    with torch.no_grad():
        glob.fc.weight.mul_(50.0)
        glob.fc.bias.fill_(1.0)  # a trained, confident head
    x, y = np.zeros((0, 3, 3, 64)), np.zeros(0, dtype=int)
    new = dnn.fine_tune(glob, x, y, 0, new_head=True, seed=3)
    kept = dnn.fine_tune(glob, x, y, 0)
    for name in ("combine", "spatial", "down", "temporal"):
        assert torch.equal(getattr(new, name).weight, getattr(glob, name).weight)
    assert torch.equal(kept.fc.weight, glob.fc.weight) and torch.equal(glob.fc.bias, torch.ones(len(FREQS)))
    assert abs(float(new.fc.weight.detach().std()) - 0.01) < 0.002 and not new.fc.bias.any()
    assert torch.equal(dnn.fine_tune(glob, x, y, 0, new_head=True, seed=3).fc.weight, new.fc.weight)  # seeded


def test_stimulus_locked_windows_repeat_the_stimulus_phase():
    """Calibration windows a whole stimulus period apart see the same phase at every harmonic (up to half a
    sample of rounding); none runs past its trial's end or its stop; j = 0 is the plain window."""
    rate, n, start = 160.0, 64, 40
    t = np.arange(400) / rate
    labels = np.array([0, 1, 2, 3])
    trials = np.stack([np.sin(2 * np.pi * FREQS[k] * t + k) + 0.5 * np.sin(4 * np.pi * FREQS[k] * t) for k in labels])
    stops = [400, 400, 200, 400]
    x, y, idx = dnn.stimulus_locked_windows(trials[:, None], labels, FREQS, rate, start, n, 40, stops=stops)
    assert x.shape[1:] == (1, n) and len(x) == len(y) == len(idx)
    for i, k in enumerate(labels):
        w = x[idx == i, 0]
        assert np.all(y[idx == i] == k)
        np.testing.assert_array_equal(w[0], trials[i, start : start + n])
        # as many as fit before the stop: the next one would not
        assert (
            start + round(len(w) * rate / FREQS[k]) + n > stops[i] >= start + round((len(w) - 1) * rate / FREQS[k]) + n
        )
        corr = [np.corrcoef(w[0], v)[0, 1] for v in w[1:]]
        assert min(corr) > 0.9, corr  # same phase; a half-period shift would give about -0.5 here
    assert dnn.stimulus_locked_windows(trials[:, None], labels, FREQS, rate, start, n, 0)[0].shape[0] == 4
    assert dnn.epochs_for_steps(250, 300) == 100 and dnn.epochs_for_steps(50, 300) == 300


def _small_global_and_calibration():
    """A seeded 3-channel global model and 24 random calibration windows with their labels."""
    torch.manual_seed(0)
    glob = dnn.SSVEPDNN(dnn.SSVEPDNNConfig(160.0, ["O1", "Oz", "O2"], FREQS, 64))
    x = np.random.default_rng(0).standard_normal((24, 3, 3, 64)).astype(np.float32)
    return glob, x, np.arange(24) % len(FREQS)


def test_fine_tune_is_seeded_whatever_ran_before_and_leaves_the_global_generator_alone():
    """Stage 2's dropout used torch's global generator, so the same seed gave different subject models depending on
    what the process had drawn before (bench cells moved by up to 0.02 between runs)."""
    glob, x, y = _small_global_and_calibration()
    torch.manual_seed(1)
    first = dnn.fine_tune(glob, x, y, 2, new_head=True, seed=7)
    torch.manual_seed(2)
    torch.rand(1000)  # something else drew from the global generator
    before = torch.random.get_rng_state()
    second = dnn.fine_tune(glob, x, y, 2, new_head=True, seed=7)
    assert torch.equal(torch.random.get_rng_state(), before)
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)


def test_background_noise_adds_other_windows_residuals_and_channel_dropout_zeroes_channels():
    """Stage 2's regularisers (fine_tune noise / chan_drop): the residuals are the windows without their class's
    stimulus-locked mean; the augmented batch is the batch plus one residual each, scaled by at most `noise`
    times the window's RMS; dropped channels are zero."""
    rng = np.random.default_rng(0)
    n, c, t = 40, 3, 64
    y = np.arange(n) % len(FREQS)
    template = rng.standard_normal((len(FREQS), 3, c, t))
    background = rng.standard_normal((n, 3, c, t))
    x = (template[y] + background).astype(np.float32)
    res = dnn.background_residuals(x, y)
    for k in range(len(FREQS)):  # the class mean (the stimulus) is gone; what is left is the background
        np.testing.assert_allclose(res[y == k].mean(axis=0), 0.0, atol=1e-5)
        bg = background[y == k]
        np.testing.assert_allclose(res[y == k], bg - bg.mean(axis=0), atol=1e-5)
    aug = dnn._augmenter(x, y, noise=0.5, chan_drop=0.0)
    xb = torch.as_tensor(x[:8])
    out = aug(xb, torch.arange(8), torch.Generator().manual_seed(1))
    rms = lambda v: float(np.sqrt(np.mean(np.square(v))))  # noqa: E731
    for i in range(8):
        added = (out[i] - xb[i]).numpy()
        # one residual, scaled: it correlates perfectly with one of them
        corr = [abs(np.corrcoef(added.ravel(), r.ravel())[0, 1]) for r in res]
        assert max(corr) > 0.999
        assert 0.0 <= rms(added) <= 0.5 * rms(x[i]) * (1 + 1e-5)
    drop = dnn._augmenter(x, y, noise=0.0, chan_drop=0.5)(
        torch.ones(200, 3, c, t), torch.arange(200), torch.Generator().manual_seed(2)
    )
    per_channel = drop.amax(dim=(1, 3))  # (200, c): 1 kept, 0 dropped; a channel goes in every band at once
    assert torch.equal(drop.amin(dim=(1, 3)), per_channel)
    assert 0.4 < float(per_channel.mean()) < 0.6


def test_stage_two_regularisers_are_seeded_and_freeze_keeps_the_convs():
    glob, x, y = _small_global_and_calibration()
    a, b = (dnn.fine_tune(glob, x, y, 2, new_head=True, seed=7, noise=1.0, chan_drop=0.1) for _ in range(2))
    plain = dnn.fine_tune(glob, x, y, 2, new_head=True, seed=7)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.fc.weight, plain.fc.weight)  # the augmentation changed what it learnt
    frozen = dnn.fine_tune(glob, x, y, 2, new_head=True, seed=7, freeze=True)
    near = dnn.fine_tune(glob, x, y, 2, new_head=True, seed=7, l2sp=1e3)
    for name in ("combine", "spatial", "down", "temporal"):
        g, f = getattr(glob, name).weight, getattr(frozen, name).weight
        assert torch.equal(f, g)
        # L2-SP: pulled towards the global weights, so they move less than in plain stage 2
        moved = float((getattr(plain, name).weight - g).detach().norm())
        assert float((getattr(near, name).weight - g).detach().norm()) < moved
    assert not torch.equal(frozen.fc.weight, plain.fc.weight)


def test_stage_two_trains_with_the_raised_last_dropout_and_gives_it_back():
    """Stage 2 runs the last dropout at FINE_TUNE_P2 (the paper's 0.95; the global models train at 0.5) for
    windows of 0.3-1.5 s and keeps the global model's at 0.2 s and 2 s (as chosen on development subjects); the
    model it returns decides with the global settings (and dropout off)."""
    rng = np.random.default_rng(0)
    y = np.arange(24) % len(FREQS)
    assert dnn.FINE_TUNE_P2 == 0.95
    seen: list = []
    for n_samples, expected in ((32, 0.5), (64, 0.95), (160, 0.95), (320, 0.5)):  # 0.2, 0.4, 1 and 2 s
        cfg = dnn.SSVEPDNNConfig(160.0, ["O1", "Oz", "O2"], FREQS, n_samples, p2=0.5)
        torch.manual_seed(0)
        glob = dnn.SSVEPDNN(cfg)
        x = rng.standard_normal((24, 3, 3, n_samples)).astype(np.float32)
        seen.clear()
        glob.drop3.register_forward_pre_hook(lambda mod, args: seen.append((mod.p, mod.training)))
        tuned = dnn.fine_tune(glob, x, y, 1, new_head=True)  # the copy keeps the hook
        assert seen and all(s == (expected, True) for s in seen), (n_samples, seen)
        assert (tuned.drop1.p, tuned.drop3.p) == (0.1, 0.5) and not tuned.training
        seen.clear()
        dnn.fine_tune(glob, x, y, 1, new_head=True, p2=0.7)  # given: used at any window
        assert seen and all(s == (0.7, True) for s in seen)


def test_weight_averaging_ends_at_the_mean_of_the_last_steps_weights():
    """fit(average=a): the model ends with the mean of its weights after each of the last a x steps (stochastic
    weight averaging); without it, with the last step's. One step per epoch here, so the per-epoch log sees every
    step's weights."""
    glob, x, y = _small_global_and_calibration()
    seen: list = []
    model = dnn.SSVEPDNN(glob.cfg)
    model.load_state_dict(glob.state_dict())
    log = lambda ep, loss: seen.append([p.detach().clone() for p in model.parameters()])  # noqa: E731
    torch.manual_seed(3)  # the dropout masks
    dnn.fit(model, x, y, 10, lr=1e-2, batch=len(y), log=log, average=0.5)
    assert len(seen) == 10
    for i, p in enumerate(model.parameters()):
        expected = torch.stack([s[i] for s in seen[5:]]).mean(dim=0)
        torch.testing.assert_close(p.detach(), expected, rtol=1e-5, atol=1e-7)
        assert not torch.equal(p.detach(), seen[-1][i]) or i == 0  # not the last step's (the combine weights may stay)
    plain = dnn.SSVEPDNN(glob.cfg)
    plain.load_state_dict(glob.state_dict())
    torch.manual_seed(3)
    dnn.fit(plain, x, y, 10, lr=1e-2, batch=len(y))
    for p, q in zip(plain.parameters(), seen[-1]):
        assert torch.equal(p.detach(), q)  # the same trajectory; plain keeps its last step


def test_mixup_mixes_each_window_with_one_of_its_own_class():
    """fine_tune(mixup=a): each training window becomes (1 - u) x + u x' with x' a window of the same class and
    u ~ U(0, a): the stimulus-locked template stays, the background is a blend of two."""
    rng = np.random.default_rng(0)
    n, c, t = 40, 3, 64
    y = np.arange(n) % len(FREQS)
    x = (rng.standard_normal((n, 3, c, t)) + 10.0 * y[:, None, None, None]).astype(np.float32)
    aug = dnn._augmenter(x, y, noise=0.0, chan_drop=0.0, mixup=0.5)
    out = aug(torch.as_tensor(x[:8]), torch.arange(8), torch.Generator().manual_seed(1)).numpy()
    mixed = 0
    for i in range(8):
        same = np.flatnonzero(y == y[i])
        # out = (1 - u) x_i + u x_j for one j of the class: solve for u per candidate, keep the exact one
        fits = []
        for j in same:
            d = (x[j] - x[i]).ravel()
            u = float(np.dot((out[i] - x[i]).ravel(), d) / max(float(np.dot(d, d)), 1e-12))
            resid = np.abs(out[i] - ((1 - u) * x[i] + u * x[j])).max()
            fits.append((resid, u, j))
        resid, u, j = min(fits)
        assert resid < 1e-4 and -1e-6 <= u <= 0.5 + 1e-6, (i, resid, u)
        mixed += j != i and u > 1e-3
    assert mixed >= 6
    glob, xs, ys = _small_global_and_calibration()
    a, b = (dnn.fine_tune(glob, xs, ys, 2, new_head=True, seed=7, mixup=0.5) for _ in range(2))
    plain = dnn.fine_tune(glob, xs, ys, 2, new_head=True, seed=7)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.fc.weight, plain.fc.weight)


def test_latency_jitter_cuts_each_training_window_up_to_k_samples_off_the_stimulus_locked_start():
    """fine_tune(latency_jitter=k): the calibration windows are cut k samples wider on each side
    (stimulus_locked_windows margin=k, centred on the stimulus-locked windows) and every training step takes
    each window d ~ U{-k..k} samples later, as a trial's visual latency varies; the model still sees its own
    window length, and windows of the wrong width are refused."""
    rate, n, start, k = 160.0, 64, 40, 2
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2, 3])
    trials = rng.standard_normal((4, 3, 3, 400)).astype(np.float32)
    plain, _, i0 = dnn.stimulus_locked_windows(trials, labels, FREQS, rate, start, n, 40)
    wide, y, idx = dnn.stimulus_locked_windows(trials, labels, FREQS, rate, start, n, 40, margin=k)
    assert wide.shape[-1] == n + 2 * k
    for i in range(4):  # centred on the plain windows; the wider last one of a trial may not fit any more
        centre, same = wide[idx == i][..., k:-k], plain[i0 == i]
        assert len(same) - 1 <= len(centre) <= len(same) and np.all(y[idx == i] == labels[i])
        np.testing.assert_array_equal(centre, same[: len(centre)])
    # the augmenter: windows whose samples are their time index show where each cut starts
    ramp = np.broadcast_to(np.arange(n + 2 * k, dtype=np.float32), (200, 3, 3, n + 2 * k)).copy()
    aug = dnn._augmenter(ramp, np.arange(200) % 4, noise=0.0, chan_drop=0.0, jitter=k)
    out = aug(torch.as_tensor(ramp), torch.arange(200), torch.Generator().manual_seed(1)).numpy()
    assert out.shape == (200, 3, 3, n)
    first = out[:, 0, 0, 0]
    expected = np.broadcast_to(first[:, None, None, None] + np.arange(n, dtype=np.float32), out.shape)
    np.testing.assert_array_equal(out, expected)  # contiguous cuts
    assert set(first.tolist()) == set(range(2 * k + 1))  # every offset -k..k, each window cut whole
    glob, _, _ = _small_global_and_calibration()
    xs = rng.standard_normal((24, 3, 3, 64 + 2 * k)).astype(np.float32)
    ys = np.arange(24) % len(FREQS)
    a, b = (dnn.fine_tune(glob, xs, ys, 2, new_head=True, seed=7, latency_jitter=k) for _ in range(2))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))  # seeded
    centred = dnn.fine_tune(glob, xs[..., k:-k], ys, 2, new_head=True, seed=7)
    assert not torch.equal(a.fc.weight, centred.fc.weight)
    with pytest.raises(ValueError, match="latency_jitter"):
        dnn.fine_tune(glob, xs[..., k:-k], ys, 1, latency_jitter=k)
    # the rule: `seconds` in whole samples (at least one) within its windows, else none; off by default
    at = lambda rate, seconds: dnn.SSVEPDNNConfig(rate, ["Oz"], FREQS, int(round(seconds * rate)))  # noqa: E731
    rule = lambda cfg: dnn.stage2_latency_jitter(cfg, 0.00625, (0.8, 1.5))  # noqa: E731
    assert [rule(at(160.0, w)) for w in (0.2, 0.4, 0.6, 1.0, 2.0)] == [0, 0, 0, 1, 0]
    assert rule(at(250.0, 1.0)) == 2 and rule(at(1000.0, 1.0)) == 6
    assert dnn.FINE_TUNE_LATENCY_JITTER_S == 0.0 and dnn.stage2_latency_jitter(at(160.0, 1.0)) == 0


def test_latency_jitter_from_cuts_the_first_steps_at_the_stimulus_locked_start():
    """fine_tune(latency_jitter_from=f): for the first f of the optimiser steps every window is cut at its
    stimulus-locked start (nothing drawn: stage 2 runs as without the jitter), then at d ~ U{-k..k} as before;
    f = 1 is stage 2 without the jitter, to the bit; a fraction outside 0-1 is refused."""
    n, k = 64, 1
    ramp = np.broadcast_to(np.arange(n + 2 * k, dtype=np.float32), (100, 3, 3, n + 2 * k)).copy()
    aug = dnn._augmenter(ramp, np.arange(100) % 4, noise=0.0, chan_drop=0.0, jitter=k, jitter_from=3)
    gen = torch.Generator().manual_seed(1)
    starts = [set(aug(torch.as_tensor(ramp), torch.arange(100), gen)[:, 0, 0, 0].tolist()) for _ in range(5)]
    assert starts[:3] == [{float(k)}] * 3 and all(s == set(range(2 * k + 1)) for s in starts[3:])
    glob, _, _ = _small_global_and_calibration()
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((24, 3, 3, 64 + 2 * k)).astype(np.float32)
    ys = np.arange(24) % len(FREQS)

    def tuned(x, **kw):
        return dnn.fine_tune(glob, x, ys, 4, new_head=True, seed=7, batch=6, **kw)

    plain, never = tuned(xs[..., k:-k]), tuned(xs, latency_jitter=k, latency_jitter_from=1.0)
    half, always = tuned(xs, latency_jitter=k, latency_jitter_from=0.5), tuned(xs, latency_jitter=k)
    assert all(torch.equal(p, q) for p, q in zip(plain.parameters(), never.parameters()))
    assert not torch.equal(half.fc.weight, plain.fc.weight) and not torch.equal(half.fc.weight, always.fc.weight)
    with pytest.raises(ValueError, match="latency_jitter_from"):
        tuned(xs, latency_jitter=k, latency_jitter_from=1.5)


def test_decision_crops_average_the_softmax_over_windows_shifted_up_to_k_samples():
    """predict_proba(crops=k): windows k samples wider on each side, the mean softmax over the 2k + 1 windows of the
    model's length cut from them (a trial whose response came a little early or late meets its template at a
    crop); the wrong width is refused; the rule gives whole samples within its windows; sim.window cuts the wider
    windows around the same start."""
    from wavegraph.benchmarks import ssvep_sim as sim

    glob, _, _ = _small_global_and_calibration()
    k = 2
    x = np.random.default_rng(5).standard_normal((7, 3, 3, 64 + 2 * k)).astype(np.float32)
    crops = [dnn.predict_proba(glob, x[..., d : d + 64]) for d in range(2 * k + 1)]
    got = dnn.predict_proba(glob, x, crops=k)
    np.testing.assert_allclose(got, np.mean(crops, axis=0), rtol=1e-12)
    assert not np.allclose(got, crops[k]) and np.allclose(got.sum(1), 1.0)
    np.testing.assert_array_equal(dnn.predict_proba(glob, x[..., k:-k], crops=0), crops[k])
    with pytest.raises(ValueError, match="crops"):
        dnn.predict_proba(glob, x[..., 1:], crops=k)
    at = lambda seconds: dnn.SSVEPDNNConfig(160.0, ["Oz"], FREQS, int(round(seconds * 160.0)))  # noqa: E731
    assert [dnn.decision_crops(at(w), 0.00625) for w in (0.2, 0.4, 0.6, 1.0, 2.0)] == [0, 0, 0, 1, 0]
    assert dnn.decision_crops(at(1.0), 0.0) == 0 and dnn.decision_crops(at(1.0)) == 1  # on by default (session 10)
    xb = np.arange(2 * 500, dtype=float).reshape(2, 500)
    np.testing.assert_array_equal(sim.window(xb, 160.0, 1.0, margin=k)[..., k:-k], sim.window(xb, 160.0, 1.0))
    assert sim.window(xb, 160.0, 1.0, margin=k)[0, 0] == sim.window(xb, 160.0, 1.0)[0, 0] - k


def test_train_ssvep_fine_tunes_with_the_latency_jitter_rule(calibrated, tmp_path, monkeypatch):
    """`wavegraph train ssvep` from a global model follows the bench's stage 2: with the latency jitter on (off by
    default) at 1 s and 160 Hz its calibration windows are cut one sample wider on each side for fine_tune
    (recorded in the checkpoint), and the held-out accuracy is scored on the plain windows the decoder sees."""
    from wavegraph.benchmarks import ssvep_sim as sim
    from wavegraph.benchmarks.train_ssvep import main

    monkeypatch.setattr(dnn, "FINE_TUNE_LATENCY_JITTER_S", 0.00625)
    ckpt, _ = calibrated
    torch.manual_seed(0)
    glob = dnn.SSVEPDNN(dnn.SSVEPDNNConfig(160.0, sim.CHANNELS, FREQS, 160))
    dnn.save(glob, tmp_path / "glob.safetensors")
    out = tmp_path / "tuned.safetensors"
    args = [str(ckpt.parent / "calib_raw.fif"), "--freqs", *map(str, FREQS), "--window", "1.0", "--steps", "3"]
    assert main([*args, "--init", str(tmp_path / "glob.safetensors"), "--out", str(out)]) == 0
    model, meta = dnn.load(out)
    assert meta["training"]["latency_jitter"] == 1 and model.cfg.n_samples == 160
    # stage 2 at 1 s is a seed ensemble of 3 runs (models.ssvep_dnn.stage2_ensemble), saved whole
    assert isinstance(model, dnn.SSVEPEnsemble) and meta["members"] == 3 and meta["training"]["stage2_runs"] == 3
    assert meta["training"]["decision_crops"] == 1  # held-out windows scored as the trial decoder decides
    assert 0.0 <= meta["training"]["held_out_accuracy"] <= 1.0
    assert main([*args, "--no-init", "--out", str(tmp_path / "scratch.safetensors")]) == 0  # no global: no jitter
    model, meta = dnn.load(tmp_path / "scratch.safetensors")
    assert meta["training"]["latency_jitter"] == 0 and model.cfg.n_samples == 160
    assert meta["training"]["decision_crops"] == 0


def test_seed_ensemble_decides_on_the_mean_softmax_round_trips_and_runs_in_the_node(tmp_path):
    """SSVEPEnsemble: softmax(forward) is the mean of its members' softmax, with the decision crops too (the mean
    over members and crops); it saves and loads whole (`members` in the JSON), its first run is one model; the
    DNN decoder node takes its checkpoint like a single model's, streaming equal to offline; the rule gives 3
    runs at 1 s only; members of other configs are refused."""
    from wavegraph.benchmarks import ssvep_sim as sim

    cfg = dnn.SSVEPDNNConfig(160.0, sim.CHANNELS, FREQS, 160)
    members = []
    for seed in range(3):
        torch.manual_seed(seed)
        m = dnn.SSVEPDNN(cfg)
        with torch.no_grad():
            m.fc.weight.mul_(30.0)  # confident members that disagree
        members.append(m.eval())
    ens = dnn.SSVEPEnsemble(members)
    x = np.random.default_rng(0).standard_normal((6, 3, 9, 162))
    want = np.mean([dnn.predict_proba(m, x, crops=1) for m in members], axis=0)
    np.testing.assert_allclose(dnn.predict_proba(ens, x, crops=1), want, rtol=1e-5, atol=1e-7)
    each = [dnn.predict_proba(m, x[..., 1:-1]) for m in members]
    assert not np.allclose(each[0], each[1])
    np.testing.assert_allclose(dnn.predict_proba(ens, x[..., 1:-1]), np.mean(each, axis=0), rtol=1e-5, atol=1e-7)
    dnn.save(ens, tmp_path / "ens.safetensors", extra={"stage": "test"})
    back, meta = dnn.load(tmp_path / "ens.safetensors")
    assert isinstance(back, dnn.SSVEPEnsemble) and meta["members"] == 3 and back.cfg == cfg
    np.testing.assert_allclose(dnn.predict_proba(back, x, crops=1), want, rtol=1e-5, atol=1e-7)
    first = dnn.first_member(back)
    assert isinstance(first, dnn.SSVEPDNN) and torch.equal(first.fc.weight, members[0].fc.weight)
    assert dnn.first_member(members[1]) is members[1]
    at = lambda w: dnn.SSVEPDNNConfig(160.0, ["Oz"], FREQS, int(round(w * 160)))  # noqa: E731
    assert [dnn.stage2_ensemble(at(w)) for w in (0.2, 0.4, 0.6, 1.0, 2.0)] == [1, 1, 1, 3, 1]
    assert dnn.stage2_ensemble(at(1.0), 2) == 2 and dnn.stage2_ensemble(at(2.0), 2) == 1
    with pytest.raises(ValueError, match="same config"):
        dnn.SSVEPEnsemble([members[0], dnn.SSVEPDNN(at(1.0))])
    signal = np.random.default_rng(1).standard_normal((9, 480)) * 1e-5
    out = assert_streaming_equivalent(
        lambda: SSVEPDecoder(method="dnn", checkpoint=str(tmp_path / "ens.safetensors"), step=0.5),
        signal,
        signal_spec(160.0, list(sim.CHANNELS)),
        chunkings=[[7] * 68 + [4], [160] * 3],
        rtol=1e-5,
        atol=1e-6,
    )
    from scipy.signal import sosfilt

    y = np.stack([sosfilt(s, signal, axis=-1) for s in dnn.design_dnn_bank(cfg)])
    wins = np.stack([y[..., k * 80 : k * 80 + 160] for k in range((480 - 160) // 80 + 1)])
    np.testing.assert_allclose(out["scores"], np.mean([dnn.predict_proba(m, wins) for m in members], 0), rtol=1e-4)
