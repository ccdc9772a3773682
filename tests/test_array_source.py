"""array_source: data already in memory (an array, an MNE Raw) replayed as file_source replays a file."""

from typing import Any

import mne
import numpy as np
import pytest
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.config import GraphError


def _raw(n=1000, sfreq=250.0):
    x = np.random.default_rng(0).standard_normal((3, n)) * 1e-5
    raw = mne.io.RawArray(x, mne.create_info(["C3", "Cz", "C4"], sfreq, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([0.5, 2.0, 3.2], [0.1, 0.0, 0.2], ["left", "right", "left"]))
    return raw


def test_array_with_events_comes_back_whole_in_order_with_times_and_labels():
    x = np.arange(3 * 1001, dtype=np.float32).reshape(3, 1001)
    g = GraphBuilder()
    src = g.add(
        "array_source", data=x, rate=100.0, ch_types=["eeg", "eeg", "stim"], chunk_size=64,
        events=[[2.0, 0.0, 7], [0.5, 0.0, 3]], labels={3: "cue"},
    )  # fmt: skip
    out = g.run(capture=[src, f"{src}.events"])
    sig, ev = out[f"{src}.out"], out[f"{src}.events"]
    np.testing.assert_array_equal(sig.data, x)  # float64 by default, every sample once
    assert sig.data.dtype == np.float64 and sig.spec.channel_names == ("ch0", "ch1", "ch2")
    assert sig.spec.channel_types == ("eeg", "eeg", "stim") and sig.spec.rate == 100.0
    np.testing.assert_allclose(sig.times, np.arange(1001) / 100.0)
    np.testing.assert_array_equal(ev.data, [[0.5, 0.0, 3.0], [2.0, 0.0, 7.0]])  # sorted by onset
    assert dict(ev.spec.labels) == {3: "cue", 7: "7"}


def _in_memory_and_from_file(data, path, chunk_size: int, filtered: bool = False) -> tuple[dict, dict]:
    """The streams of array_source(data) and of file_source(path), by port name (out, events)."""
    streams = []
    sources: list[dict[str, Any]] = [{"data": data}, {"path": str(path)}]
    for params in sources:
        g = GraphBuilder()
        src = g.add("array_source" if "data" in params else "file_source", chunk_size=chunk_size, **params)
        out = g.add("bandpass", src, l_freq=1.0, h_freq=40.0) if filtered else src
        streams.append({k.split(".")[-1]: v for k, v in g.run(capture=[out, f"{src}.events"]).items()})
    return streams[0], streams[1]


def test_raw_in_memory_gives_what_file_source_gives_for_the_same_raw_saved(tmp_path):
    raw = _raw()
    path = tmp_path / "s_raw.fif"
    raw.save(path, verbose="error")
    mem, disk = _in_memory_and_from_file(raw, path, 37, filtered=True)
    np.testing.assert_allclose(mem["out"].data, disk["out"].data, rtol=1e-6, atol=1e-12)  # FIF stores float32
    np.testing.assert_allclose(mem["events"].data, disk["events"].data, atol=1e-6)  # FIF: float32 durations
    assert mem["events"].spec.labels == disk["events"].spec.labels == ((1, "left"), (2, "right"))
    assert mem["out"].spec.channel_names == disk["out"].spec.channel_names


def test_epochs_in_memory_give_what_file_source_gives_for_the_epochs_file(tmp_path):
    epochs = mne.make_fixed_length_epochs(_raw(2000), 1.5, id=9, verbose="error")
    path = tmp_path / "s-epo.fif"
    epochs.save(path, verbose="error")
    mem, disk = _in_memory_and_from_file(epochs, path, 100)
    np.testing.assert_allclose(mem["out"].data, disk["out"].data, rtol=1e-6, atol=1e-12)
    assert mem["out"].gaps == disk["out"].gaps and len(mem["out"].gaps) == len(epochs) - 1
    np.testing.assert_array_equal(mem["events"].data, disk["events"].data)
    assert mem["events"].spec.labels == disk["events"].spec.labels


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"data": np.zeros((2, 10))}, "needs its sampling rate"),
        ({"data": np.zeros((2, 10)), "rate": 10.0, "ch_names": ["a"]}, "1 ch_names for 2 channels"),
        ({"data": np.zeros((2, 10), complex), "rate": 10.0}, "complex128"),
        ({"data": np.zeros((2, 10)), "rate": 10.0, "ch_types": "brain"}, "ch_types 'brain'"),
        ({"data": np.zeros((2, 10)), "rate": 10.0, "events": [[1.0, 0.0]]}, r"events of shape \(1, 2\)"),
        ({"data": "not data", "rate": 10.0}, "dtype <U8"),
        (
            {"data": np.zeros((1, 100)), "rate": 10.0, "events": [[50, 0, 1]]},
            "1 event onsets outside the data's 0..10 s",
        ),
        ("raw+rate", "MNE Raw carries its own rate"),
        ("raw+ch_types", "MNE Raw carries its own ch_types"),
    ],
)
def test_bad_data_is_refused_at_build_naming_the_node_and_the_fix(params, message):
    if params == "raw+rate":
        params = {"data": _raw(100), "rate": 100.0}
    elif params == "raw+ch_types":  # was ignored: the Raw's own types replayed without a word
        params = {"data": _raw(100), "ch_types": "eog"}
    g = GraphBuilder()
    g.add("array_source", **params)
    with pytest.raises(GraphError, match=f"array_source0.*{message}.*fix: "):
        g.run()


def test_multi_process_run_is_refused_clearly():
    g = GraphBuilder()
    g.add("array_source", data=np.zeros((1, 10)), rate=10.0)
    with pytest.raises(
        ValueError, match=r"cannot be sent to its worker: node 'array_source0' .*'data'.*in_process=True"
    ):
        g.run(in_process=False)


def test_epochs_made_from_a_raw_replay_without_preload_or_drop_bad(tmp_path):
    """mne.Epochs(raw, events) as usually made (preload=False, bad epochs not dropped yet: len() raises in MNE)
    replays its good epochs; one rejected by its `reject` is not replayed, as in the file it saves."""
    raw = _raw(2000)
    x = np.asarray(raw.get_data())
    x[1, 1100:1110] = 1e-3  # a 1 mV artefact in the second epoch
    raw = mne.io.RawArray(x, raw.info, verbose="error")
    events = np.array([[500, 0, 1], [1125, 0, 2], [1500, 0, 1]])
    epochs = mne.Epochs(raw, events, tmin=-0.2, tmax=0.5, baseline=None, reject={"eeg": 1e-4}, verbose="error")
    g = GraphBuilder()
    src = g.add("array_source", data=epochs, chunk_size=50)
    mem = {k.split(".")[-1]: v for k, v in g.run(capture=[src, f"{src}.events"]).items()}
    path = tmp_path / "r-epo.fif"
    epochs.save(path, verbose="error")
    assert len(mne.read_epochs(path, verbose="error")) == 2
    _, disk = _in_memory_and_from_file(epochs, path, 50)
    np.testing.assert_allclose(mem["out"].data, disk["out"].data, rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(mem["events"].data, disk["events"].data)
    assert list(mem["events"].data[:, 2]) == [1.0, 1.0]


def test_an_mne_exported_edf_read_into_memory_replays_as_file_source_replays_the_file(tmp_path):
    """mne.export pads an EDF's last record and marks the fill BAD_ACQ_SKIP; file_source leaves it out, and so must
    array_source given the same file read by MNE (it replayed the fill as signal and the mark as an event)."""
    x = np.random.default_rng(0).standard_normal((3, 625)) * 1e-5  # 2.5 s at 250 Hz: half a record of fill
    raw = mne.io.RawArray(x, mne.create_info(["O1", "Oz", "O2"], 250.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([0.5], [1.0], ["8"]))
    path = tmp_path / "exported.edf"
    mne.export.export_raw(path, raw, fmt="edf", verbose="error")
    mem, disk = _in_memory_and_from_file(mne.io.read_raw(path, preload=True, verbose="error"), path, 100)
    assert disk["out"].data.shape == (3, 625)
    np.testing.assert_array_equal(mem["out"].data, disk["out"].data)
    np.testing.assert_array_equal(mem["events"].data, disk["events"].data)
