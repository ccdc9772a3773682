"""Synthetic sources: reproducible, chunk-size independent, resumable, and the EEG model's content."""

import numpy as np
import pytest
from scipy import signal as ss
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Source
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError


def read_all(src):
    src.configure({})
    parts, t0s = [], []
    while (out := src.read()) is not None:
        parts.append(out["out"].data)
        t0s.append(out["out"].t0)
    return np.concatenate(parts, axis=1), t0s


def read_one(src: Source) -> Chunk:
    out = src.read()
    assert out is not None
    return out["out"]


CASES = [
    ("sine", dict(freq=[5.0, 7.5], channels=2)),
    ("noise", dict(color="white", channels=3)),
    ("noise", dict(color="pink", channels=2)),
    ("chirp", dict(f0=1.0, f1=40.0, t1=2.0)),
    ("eeg_sim", dict(ssvep_freqs=[12.0], blink_rate=2.0, emg_rate=2.0)),
]


@pytest.mark.parametrize("name,params", CASES, ids=[c[0] + str(i) for i, c in enumerate(CASES)])
def test_chunk_size_independent_reproducible_resumable(name, params):
    cls = lookup(name)
    assert issubclass(cls, Source)
    assert cls.live is False
    a, t0s = read_all(cls(**params, duration=6.0, chunk_size=1000, seed=3))
    assert a.shape[1] == 1500 and t0s[:2] == [0.0, 4.0]
    b, _ = read_all(cls(**params, duration=6.0, chunk_size=7, seed=3))
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-20)  # same samples, any chunk size
    c, _ = read_all(cls(**params, duration=6.0, chunk_size=1000, seed=3))
    np.testing.assert_array_equal(c, a)
    if name in ("noise", "eeg_sim"):
        d, _ = read_all(cls(**params, duration=6.0, seed=4))
        assert not np.allclose(d, a)
    s1 = cls(**params, duration=6.0, chunk_size=333, seed=3)
    s1.configure({})
    first = np.concatenate([read_one(s1).data for _ in range(2)], axis=1)
    s2 = cls(**params, duration=6.0, chunk_size=333, seed=3)
    s2.configure({})
    s2.load_state_dict(s1.state_dict())
    rest, _ = read_all_from(s2)
    np.testing.assert_allclose(np.concatenate([first, rest], axis=1), a, rtol=1e-12, atol=1e-20)


def read_all_from(src):
    parts = []
    while (out := src.read()) is not None:
        parts.append(out["out"].data)
    return np.concatenate(parts, axis=1), None


def test_infinite_duration_and_sine_values():
    s = lookup("sine")(freq=10.0, amplitude=2.0, rate=100.0, duration=None, chunk_size=50)
    assert isinstance(s, Source)
    s.configure({})
    for _ in range(30):
        out = read_one(s)
    t = out.t0 + np.arange(50) / 100.0
    np.testing.assert_allclose(out.data[0], 2.0 * np.sin(2 * np.pi * 10 * t), atol=1e-9)


def slope(x, fs, lo, hi):
    f, p = ss.welch(x, fs=fs, nperseg=int(4 * fs), axis=-1)
    m = (f >= lo) & (f <= hi)
    return np.polyfit(np.log10(f[m]), np.log10(p[..., m].mean(axis=0) if p.ndim > 1 else p[m]), 1)[0]


def test_pink_noise_is_one_over_f():
    x, _ = read_all(lookup("noise")(color="pink", channels=4, rate=250.0, duration=60.0, chunk_size=500))
    assert slope(x, 250.0, 1.0, 100.0) == pytest.approx(-1.0, abs=0.15)
    assert x.std() == pytest.approx(1.0, rel=0.3)
    w, _ = read_all(lookup("noise")(color="white", channels=4, rate=250.0, duration=60.0, chunk_size=500))
    assert slope(w, 250.0, 1.0, 100.0) == pytest.approx(0.0, abs=0.1)


def test_eeg_sim_content():
    fs = 250.0
    x, _ = read_all(
        lookup("eeg_sim")(
            rate=fs, duration=40.0, chunk_size=250, ssvep_freqs=[15.0], ssvep_uv=4.0, blink_rate=0.0, emg_rate=0.0
        )
    )
    f, p = ss.welch(x, fs=fs, nperseg=1000, axis=-1)
    o1, f3 = 9, 2  # default channels: Fp1 Fp2 F3 F4 C3 Cz C4 P3 P4 O1 Oz O2

    def peak(ch, hz):  # power at hz over the median of its neighbourhood
        i = np.argmin(abs(f - hz))
        return p[ch, i] / np.median(p[ch, i - 12 : i + 12])

    assert peak(o1, 10.0) > 20 and peak(o1, 15.0) > 20 and peak(o1, 30.0) > 5  # alpha, SSVEP, 2nd harmonic
    assert p[o1, np.argmin(abs(f - 10))] > 10 * p[f3, np.argmin(abs(f - 10))]  # occipital alpha
    assert slope(x[:, :], fs, 2.0, 8.0) < -0.5  # 1/f background below alpha
    assert 1e-6 < x.std() < 1e-4  # volts
    # blinks: frontal, large, positive
    y, _ = read_all(
        lookup("eeg_sim")(rate=fs, duration=20.0, blink_rate=1.0, blink_uv=150.0, emg_rate=0.0, alpha_uv=0.0)
    )
    assert y[0].max() > 100e-6 and abs(y[9]).max() < 60e-6
    # EMG bursts: high-frequency power rises in frontal channels
    z, _ = read_all(lookup("eeg_sim")(rate=fs, duration=20.0, blink_rate=0.0, emg_rate=1.0, alpha_uv=0.0))

    def hf(a):
        return ss.welch(a, fs=fs, nperseg=500, axis=-1)[1][:, 150:].sum()

    assert hf(z[2:4]) > 2 * hf(y[2:4])  # ~3.5x measured; 1x without EMG


def test_eeg_sim_ssvep_trials_cycle():
    fs = 250.0
    x, _ = read_all(
        lookup("eeg_sim")(
            rate=fs,
            duration=8.0,
            ssvep_freqs=[11.0, 17.0],
            ssvep_trial=4.0,
            ssvep_uv=5.0,
            background_uv=1.0,
            alpha_uv=0.0,
            blink_rate=0.0,
            emg_rate=0.0,
            channels=["Oz"],
        )
    )
    for k, (on, off) in enumerate([(11.0, 17.0), (17.0, 11.0)]):
        f, p = ss.welch(x[0, k * 1000 : (k + 1) * 1000], fs=fs, nperseg=500)
        assert p[np.argmin(abs(f - on))] > 50 * p[np.argmin(abs(f - off))]


@pytest.mark.parametrize(
    "name,params",
    [
        ("sine", dict(freq=200.0)),
        ("chirp", dict(f1=300.0)),
        ("eeg_sim", dict(ssvep_freqs=[130.0])),
        ("sine", dict(freq=[1.0, 2.0], channels=3)),
    ],
)
def test_bad_params(name, params):
    with pytest.raises(SpecError):
        lookup(name)(**params).configure({})
