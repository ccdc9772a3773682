"""Session 44 probe of the time-domain DSP nodes (IIR, FIR, channel operations) against scipy and MNE: misbehaviours a
demanding user found, each fixed."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal
from wavegraph.nodes.dsp.channels import CAR, Rereference
from wavegraph.nodes.dsp.filterbank import Filterbank
from wavegraph.nodes.dsp.filters import Bandpass, Highpass, Notch
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec

RATE = 250.0


def _run(node, x, chunks=None, names=None):
    node.configure({"in": signal_spec(RATE, names or [f"c{i}" for i in range(x.shape[0])])})
    outs, i = [], 0
    for c in chunks or [x.shape[-1]]:
        o = node.process({"in": Chunk(x[..., i : i + c], i / RATE)})
        i += c
        if o:
            outs.append(o["out"].data)
    return np.concatenate(outs, -1)


def _eeg_with_leading_nan():
    """Three channels on electrode offsets of 20, -10 and 5 mV with 10 uV of EEG, their first samples NaN or inf (a
    dropped first packet), one channel with a later NaN too."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 600)) * 1e-5 + np.array([[0.02], [-0.01], [0.005]])
    x[0, :7] = np.nan
    x[1, 0] = np.inf
    x[2, :40] = np.nan
    x[2, 50] = np.nan
    return x


def _steady_reference(sos, x):
    """Per channel: 0 up to its first finite sample, then sosfilt from that sample's steady state (NaN zeroed)."""
    out = np.zeros_like(x)
    for c in range(x.shape[0]):
        k = int(np.argmax(np.isfinite(x[c])))
        xc = np.nan_to_num(x[c, k:], nan=0.0, posinf=0.0, neginf=0.0)
        out[c, k:] = signal.sosfilt(sos, xc, zi=signal.sosfilt_zi(sos) * xc[0])[0]
    return out


@pytest.mark.parametrize("policy", ["zero", "propagate"])
def test_init_steady_starts_each_channel_at_its_first_finite_sample_in_any_chunking(policy):
    """init: steady on a recording whose first sample is NaN set the steady state from the zeroed NaN (0): on a 20 mV
    electrode offset the output rang from 0 to the offset (20 mV, 2000 x the EEG), the transient steady is there to
    avoid. Now each channel starts from the steady state of its own first finite sample, the same for any chunking."""
    x = _eeg_with_leading_nan()
    sos = signal.iirfilter(4, [1, 30], btype="bandpass", output="sos", fs=RATE)
    want = _steady_reference(sos, x)
    y = _run(Bandpass(l_freq=1, h_freq=30, init="steady", nan_policy=policy), x)
    finite = np.isfinite(x)
    np.testing.assert_allclose(np.where(finite, y, 0.0), np.where(finite, want, 0.0), rtol=0, atol=1e-18)
    assert np.abs(y[:2, :200][finite[:2, :200]]).max() < 1e-4  # no 20 mV ring (c2's NaN at 50 zeroed rings: zero)
    if policy == "propagate":
        np.testing.assert_array_equal(np.isnan(y), ~finite)
    for chunks in ([1] * 45 + [0, 3, 600], [5, 2, 0, 33, 1, 600], list(np.random.default_rng(0).integers(0, 9, 90))):
        y2 = _run(Bandpass(l_freq=1, h_freq=30, init="steady", nan_policy=policy), x, [*chunks, 600])
        np.testing.assert_array_equal(y2, y)


def test_init_steady_waiting_survives_a_state_round_trip_and_an_old_state_loads():
    """A channel still waiting for its first finite sample is in state_dict (`waiting`): loaded into a fresh node, it
    goes on as the first node does. A state saved before `waiting` (with `started`) still loads."""
    x = _eeg_with_leading_nan()
    names = ["a", "b", "c"]
    a = Highpass(freq=1, init="steady")
    whole = _run(Highpass(freq=1, init="steady"), x, names=names)
    _run(a, x[:, :20], names=names)
    saved = a.state_dict()
    assert saved["waiting"].tolist() == [False, False, True]
    b = Highpass(freq=1, init="steady")
    b.configure({"in": signal_spec(RATE, names)})
    b.load_state_dict(saved)
    np.testing.assert_array_equal(b.process({"in": Chunk(x[:, 20:], 20 / RATE)})["out"].data, whole[:, 20:])
    old = {k: v for k, v in a.state_dict().items() if k not in ("waiting", "saved_config")}
    b.load_state_dict({**old, "started": False})
    assert b.state.waiting.all()
    b.load_state_dict({**old, "started": True})
    assert not b.state.waiting.any()


def test_notch_init_steady_after_a_leading_nan_does_not_ring_from_zero():
    """The notch (DC gain 1) on a 20 mV offset whose first sample is NaN: its output rang by 0.6 mV at 50 Hz."""
    x = _eeg_with_leading_nan()
    y = _run(Notch(freq=50, init="steady"), x)
    sos = signal.tf2sos(*signal.iirnotch(50, 30, fs=RATE))
    finite = np.isfinite(x)
    want = _steady_reference(sos, x)
    np.testing.assert_allclose(np.where(finite, y, 0), np.where(finite, want, 0), rtol=0, atol=1e-15)


def test_filterbank_init_steady_starts_each_channel_at_its_first_finite_sample():
    """The filter bank (bands, channels, samples): every band of a channel from that channel's first finite sample,
    equal to the bandpass node's, in any chunking."""
    x = _eeg_with_leading_nan()
    bands = [(1.0, 30.0), (6.0, 30.0)]
    y = _run(Filterbank(bands=bands, init="steady", nan_policy="propagate"), x)
    for k, (lo, hi) in enumerate(bands):
        one = _run(Bandpass(l_freq=lo, h_freq=hi, init="steady", nan_policy="propagate"), x)
        np.testing.assert_array_equal(y[k], one)
        want = _steady_reference(signal.iirfilter(4, [lo, hi], btype="bandpass", output="sos", fs=RATE), x)
        np.testing.assert_allclose(y[k][np.isfinite(x)], want[np.isfinite(x)], rtol=0, atol=1e-18)
    y2 = _run(Filterbank(bands=bands, init="steady", nan_policy="propagate"), x, [1] * 45 + [0, 3, 600])
    np.testing.assert_array_equal(y2, y)


def test_car_with_its_only_reference_channel_nan_gives_nan_not_the_unreferenced_signal():
    """car ref_channels: [M1] under propagate, M1 NaN at a sample: the mean of no finite channel was taken as 0 and the
    others came out un-referenced there (their 20 mV offset amid re-referenced samples); rereference channel: M1 gives
    NaN there, and so does car now. A trigger still keeps its codes."""
    x = np.array([[1.0, 2, 3], [10, 20, 30], [100, np.nan, 300], [5, 6, 7], [0, 4, 0]]) + 0.02
    names = ["a", "b", "M1", "M2", "STI"]
    spec = signal_spec(100.0, names, ["eeg", "eeg", "eeg", "eeg", "stim"])
    car = CAR(ref_channels=["M1"], nan_policy="propagate")
    car.configure({"in": spec})
    y = car.process({"in": Chunk(x, 0.0)})["out"].data
    ref = Rereference(channel="M1", keep_ref=True, nan_policy="propagate")
    ref.configure({"in": spec})
    want = ref.process({"in": Chunk(x, 0.0)})["out"].data
    np.testing.assert_array_equal(y[:4], want[:4])
    assert np.isnan(y[:4, 1]).all() and np.array_equal(y[4], x[4])
    # one finite reference channel of two: its value is the reference (as before)
    car2 = CAR(ref_channels=["M1", "M2"], nan_policy="propagate")
    car2.configure({"in": spec})
    np.testing.assert_allclose(car2.process({"in": Chunk(x, 0.0)})["out"].data[:2, 1], x[:2, 1] - x[3, 1])


def test_mix_fix_for_a_nan_channel_leaves_the_trigger_out_as_the_default_mean_does(caplog):
    """mix's default mean leaves a trigger (stim) out; a NaN in 'R' of L, R, STI was said with the fix 'weights:
    [0.5, 0, 0.5]', which mixes the trigger's codes into the audio. Now [1, 0, 0]."""
    from wavegraph.nodes.dsp.channels import Mix

    m = Mix()
    m.configure({"in": signal_spec(100.0, ["L", "R", "STI"], ["misc", "misc", "stim"])})
    x = np.ones((3, 10))
    x[1, 3] = np.nan
    with caplog.at_level("WARNING", logger="wavegraph.mix"):
        m.process({"in": Chunk(x, 0.0)})
    assert "weights: [1, 0, 0]" in caplog.text, caplog.text
