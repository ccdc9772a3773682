"""Session 44's probe of the BCI path: FBCCA against a reference written from the paper (Chen et al. 2015) on the
real SSVEP recording, the decoders' default channels (MNE's picks="data"), windows too short for CCA over the
channels, and the occipital example of a 10-05 cap in the channel error."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import dataset
from scipy import signal as sps
from wavegraph.models.ssvep import FBCCA
from wavegraph.nodes.models.ssvep import SSVEPDecoder, SSVEPTrialDecoder
from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec

OCC = ["O1", "Oz", "O2", "PO3", "POz", "PO4", "PO7", "PO8"]


def _paper_fbcca(x, rate, freqs, start=0, n_bands=5, n_harm=5, a=1.25, b=0.25):
    """Chen et al. 2015, written out: sub-band n a Chebyshev-I band-pass [8n - 2, 90] Hz (run causally from x's first
    sample, as the decoder does), rho_n(f) the largest canonical correlation (the classic covariance form) of its
    samples from `start` on with the sin/cos references of harmonics 1..H below Nyquist, score sum_n (n^-a + b) rho^2."""
    t = np.arange(x.shape[1] - start) / rate
    out = np.zeros(len(freqs))
    for n in range(1, n_bands + 1):
        sos = sps.iirfilter(
            4, [8 * n - 2, min(90, 0.45 * rate)], rp=0.5, btype="bandpass", ftype="cheby1", output="sos", fs=rate
        )
        xn = sps.sosfilt(sos, x, axis=-1)[:, start:]
        for j, f in enumerate(freqs):
            hs = [h for h in range(1, n_harm + 1) if h * f < rate / 2]
            y = np.vstack([g(2 * np.pi * h * f * t) for h in hs for g in (np.sin, np.cos)])
            xc, yc = xn - xn.mean(1, keepdims=True), y - y.mean(1, keepdims=True)
            cxy = xc @ yc.T
            m = np.linalg.solve(xc @ xc.T, cxy) @ np.linalg.solve(yc @ yc.T, cxy.T)
            out[j] += (n**-a + b) * float(np.max(np.real(np.linalg.eigvals(m))))
    return out


@pytest.fixture(scope="module")
def ssvepy():
    mne = pytest.importorskip("mne")
    ep = mne.read_epochs(dataset("ssvepy-epochs"), verbose="error")
    return ep.get_data(picks=OCC)[:4, :, : 3 * 256], ep.info["sfreq"]


def test_fbcca_equals_the_papers_formula_on_real_ssvep(ssvepy):
    x, rate = ssvepy
    freqs = [6.0, 7.5, 8.57, 10.0]
    m = FBCCA(freqs, rate)
    for trial in x:
        for start in (0, 256):  # the first 2 s of 3, and the last 2 s filtered from the epoch start
            got = m.scores(m.filter(trial)[..., start : start + 512])
            np.testing.assert_allclose(got, _paper_fbcca(trial[:, : start + 512], rate, freqs, start), rtol=1e-9)


def _inputs(node, spec):
    """The decoder's input specs: the trial decoder's marker stream too."""
    return {"in": spec, "events": StreamSpec("events", 0.0, (3,))} if "events" in node.inputs else {"in": spec}


def test_default_channels_are_the_data_channels_as_mne_picks_data():
    """Without `channels` an EOG, an accelerometer typed misc (a BrainFlow board's accel_x) and an ECG were decoded
    beside the EEG, where the docs said MNE's picks="data" (which gives the EEG alone)."""
    spec = StreamSpec(
        "signal",
        250.0,
        (6,),
        "float64",
        ("O1", "Oz", "O2", "HEOG", "accel_x", "ECG"),
        ("eeg", "eeg", "eeg", "eog", "misc", "ecg"),
    )
    for node in (
        SSVEPDecoder(method="fbcca", freqs=[6.0, 7.5]),
        SSVEPTrialDecoder(method="fbcca", freqs=[6.0, 7.5]),
    ):
        node.configure(_inputs(node, spec))
        assert node._pick == [0, 1, 2]
    # a stream with no data channel (an LSL stream of a type MNE has no name for: all misc): every one but a trigger
    misc = StreamSpec("signal", 250.0, (3,), "float64", ("a", "b", "STI"), ("misc", "misc", "stim"))
    node = SSVEPDecoder(method="fbcca", freqs=[6.0, 7.5])
    node.configure({"in": misc})
    assert node._pick == [0, 1]


def test_decisions_ignore_a_non_eeg_channel_by_default():
    """The decisions of a stream with an accelerometer beside the EEG are those of the EEG alone."""
    rng = np.random.default_rng(3)
    t = np.arange(2500) / 250.0
    eeg = 0.5 * np.sin(2 * np.pi * 7.5 * t) + rng.standard_normal((3, t.size))
    acc = 3.0 * np.sin(2 * np.pi * 10.0 * t + 0.3)[None] + 0.1 * rng.standard_normal((1, t.size))  # head tremor
    both = StreamSpec("signal", 250.0, (4,), "float64", ("O1", "Oz", "O2", "accel_x"), ("eeg", "eeg", "eeg", "misc"))
    from wavegraph.pipeline.testing import run_chunked

    mk = lambda: SSVEPDecoder(method="fbcca", freqs=[7.5, 10.0], window=1.0, step=0.5)  # noqa: E731
    got = run_chunked(mk(), np.vstack([eeg, acc]), both, [250] * 10)
    ref = run_chunked(mk(), eeg, signal_spec(250.0, ["O1", "Oz", "O2"]), [250] * 10)
    np.testing.assert_array_equal(got["out"], ref["out"])
    assert (got["out"][:, 2] == 1).all()  # 7.5 Hz, the EEG's; the accelerometer's 10 Hz won every window before


@pytest.mark.parametrize("trial", [False, True])
def test_a_window_no_longer_than_the_channels_is_refused(trial):
    """64 channels in a 0.2 s window at 256 Hz (51 samples): the centred channels span the window, CCA correlates 1
    with every reference and every window was decided as the first of `freqs`, unsaid (the ssvepy replay, channels
    null, window 0.2: 2,496 decisions '10' of [10, 6, 7.5])."""
    names = [f"E{i}" for i in range(64)]
    cls = SSVEPTrialDecoder if trial else SSVEPDecoder
    kw = {} if trial else {"step": 0.1}
    node = cls(method="fbcca", freqs=[10.0, 6.0, 7.5], window=0.2, **kw)
    with pytest.raises(SpecError, match="51 samples .* for 64 channels.*fewer `channels`"):
        node.configure(_inputs(node, signal_spec(256.0, names)))
    ok = cls(method="fbcca", freqs=[10.0, 6.0, 7.5], window=0.2, channels=["E1", "E2", "E3"], **kw)
    ok.configure(_inputs(ok, signal_spec(256.0, names)))
    m = FBCCA([10.0, 6.0, 7.5], 256.0)
    with pytest.raises(ValueError, match="51 samples for 64 channels"):
        m.scores(np.random.default_rng(0).standard_normal((5, 64, 51)))


def test_the_channel_error_names_the_occipital_channels_of_a_10_05_cap():
    names = ["Fp1", "Cz", "Pz", "POO1", "POO2", "OI1h", "OI2h", "O1h", "O2h", "I1", "I2"]
    node = SSVEPDecoder(method="fbcca", freqs=[6.0, 7.5], channels=["O1", "Oz", "O2"])
    with pytest.raises(SpecError, match=r"e\.g\. \[POO1, POO2, OI1h, OI2h, O1h, O2h, I1, I2\]"):
        node.configure({"in": signal_spec(250.0, names)})
