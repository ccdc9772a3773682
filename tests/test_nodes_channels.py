"""Re-referencing and channel selection."""

import numpy as np
import pytest
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, run_chunked

NAMES = ["Fz", "C3", "Cz", "C4", "Pz"]
SPEC = signal_spec(250, NAMES, ["eeg", "eeg", "eeg", "eeg", "eog"])
X = np.random.default_rng(0).standard_normal((5, 300)) + np.arange(5)[:, None]


def test_car():
    y = assert_streaming_equivalent(lambda: lookup("car")(), X, SPEC)["out"]
    eeg = X[:4] - X[:4].mean(axis=0)  # the EOG channel is neither averaged nor re-referenced (as MNE)
    np.testing.assert_allclose(y, np.vstack([eeg, X[4:]]), rtol=1e-12, atol=1e-12)
    y2 = run_chunked(lookup("car")(ref_channels=["C3", "C4"]), X, SPEC, [300])["out"]
    ref = X[[1, 3]].mean(axis=0)  # named ref_channels: the EOG channel still passes (as MNE; session 43)
    np.testing.assert_allclose(y2, np.vstack([X[:4] - ref, X[4:]]), rtol=1e-12, atol=1e-12)


def test_car_nan_policies():
    bad = X.copy()
    bad[2, 10] = np.nan
    node = lookup("car")(nan_policy="propagate")
    y = run_chunked(node, bad, SPEC, [300])["out"]
    assert np.isnan(y).sum() == 1 and np.isnan(y[2, 10])
    good = [0, 1, 3]  # the finite EEG channels (the EOG channel is no part of the average)
    np.testing.assert_allclose(y[good, 10], X[good, 10] - X[good, 10].mean(), rtol=1e-12)
    node = lookup("car")()
    y = run_chunked(node, bad, SPEC, [300])["out"]
    z = np.where(np.isfinite(bad), bad, 0)
    np.testing.assert_allclose(y, np.vstack([z[:4] - z[:4].mean(axis=0), z[4:]]), rtol=1e-12, atol=1e-12)
    assert node.counters == {"nan_zeroed": 1}


def test_car_propagate_keeps_float32():
    spec32 = signal_spec(250, NAMES, ["eeg", "eeg", "eeg", "eeg", "eog"], dtype="float32")
    bad = X.astype(np.float32)
    bad[2, 10] = np.nan
    for params in ({}, dict(ref_channels=["Cz", "C4"])):
        node = lookup("car")(nan_policy="propagate", **params)
        assert node.configure({"in": spec32})["out"].dtype == "float32"
        y = run_chunked(node, bad, spec32, [300])["out"]
        assert y.dtype == np.float32 and np.isnan(y[2, 10]) and np.isnan(y).sum() == 1


def test_named_and_bipolar_reference():
    node = lookup("rereference")(channel="Cz")
    spec = node.configure({"in": SPEC})["out"]
    assert spec.channel_names == ("Fz", "C3", "C4", "Pz") and spec.channel_types[-1] == "eog"
    y = assert_streaming_equivalent(lambda: lookup("rereference")(channel="Cz"), X, SPEC)["out"]
    np.testing.assert_array_equal(y[:3], X[[0, 1, 3]] - X[2])
    np.testing.assert_array_equal(y[3], X[4])  # the EOG is not re-referenced, as by MNE's set_eeg_reference
    node = lookup("rereference")(pairs=["C3-C4", "Fz-Pz"])
    assert node.configure({"in": SPEC})["out"].channel_names == ("C3-C4", "Fz-Pz")
    y = run_chunked(node, X, SPEC, [100, 200])["out"]
    np.testing.assert_array_equal(y, np.stack([X[1] - X[3], X[0] - X[4]]))


def test_bipolar_pairs_of_hyphenated_channel_names():
    # EDF montages name channels "Fpz-Cz", "Pz-Oz": the pair splits at the hyphen with a channel on each side
    spec = signal_spec(100, ["Fpz-Cz", "Pz-Oz", "C3"])
    x = np.random.default_rng(1).standard_normal((3, 50))
    node = lookup("rereference")(pairs=["Fpz-Cz-Pz-Oz", "C3 - Fpz-Cz"])
    assert node.configure({"in": spec})["out"].channel_names == ("Fpz-Cz-Pz-Oz", "C3-Fpz-Cz")
    np.testing.assert_array_equal(run_chunked(node, x, spec, [50])["out"], np.stack([x[0] - x[1], x[2] - x[0]]))
    with pytest.raises(SpecError, match="unknown channel 'Fpz'"):  # no split with two known channels
        lookup("rereference")(pairs=["Fpz-Cz-O1"]).configure({"in": spec})
    amb = signal_spec(100, ["A", "A-B", "B-C", "C"])
    with pytest.raises(SpecError, match="2 ways"):
        lookup("rereference")(pairs=["A-B-C"]).configure({"in": amb})


def test_pick_drop_reorder():
    node = lookup("pick_channels")(pick=["C4", "Fz", "Pz"], drop=["Pz"])
    spec = node.configure({"in": SPEC})["out"]
    assert spec.channel_names == ("C4", "Fz") and spec.shape == (2,)
    y = run_chunked(node, X, SPEC, [300])["out"]
    np.testing.assert_array_equal(y, X[[3, 0]])
    y = run_chunked(lookup("pick_channels")(drop=["Cz"]), X, SPEC, [300])["out"]
    np.testing.assert_array_equal(y, X[[0, 1, 3, 4]])


@pytest.mark.parametrize(
    "name,params",
    [
        ("pick_channels", dict(pick=["C3", "O1"])),
        ("pick_channels", dict(drop=["X"])),
        ("rereference", dict(channel="O1")),
        ("rereference", dict(pairs=["C3-O2"])),
        ("car", dict(ref_channels=["T7"])),
    ],
)
def test_unknown_channel_lists_available(name, params):
    with pytest.raises(SpecError, match="unknown channel") as e:
        lookup(name)(**params).configure({"in": SPEC})
    assert "Fz, C3, Cz, C4, Pz" in e.value.hint


@pytest.mark.parametrize("params", [dict(), dict(channel="Cz", pairs=["C3-C4"]), dict(pairs=["C3C4"])])
def test_rereference_bad_params(params):
    with pytest.raises(SpecError):
        lookup("rereference")(**params).configure({"in": SPEC})


@pytest.mark.parametrize(
    ("types", "bads"),
    [
        (["eeg", "eog", "ecg", "stim"], ()),
        (["eeg", "eeg", "eog", "stim"], ("A",)),
        (["eeg", "eeg", "misc"], ("A", "B")),
    ],
)
def test_car_refuses_a_default_reference_of_one_or_no_channel(types, bads):
    """car's default (the EEG channels, less the bads) left one channel: its output was zeros without a word; none
    (every EEG channel bad): 'ref_channels is empty', a parameter the user never set."""
    names = ["A", "B", "C", "D"][: len(types)]
    spec = signal_spec(250, names, types).evolve(bads=bads)
    with pytest.raises(SpecError, match=r"car: [01] channel\(s\) to re-reference by default") as e:
        lookup("car")().configure({"in": spec})
    assert "ref_channels" in e.value.hint
