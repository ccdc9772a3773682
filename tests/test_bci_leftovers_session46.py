"""Session 46, BCI leftovers: the DNN SSVEP decoders' state fingerprint covers the checkpoint config that decides the
output with the weights (two checkpoints of equal weights and edited sub-band edges shared states: a state of one went
on in the other's filters, unsaid); markers whose window the signal ended before (epochs' outside_data, the trial
decoder's after_end) are said at finish with their markers (they were counted only); two markers in one sample are
both kept, as before, and said once (mne.Epochs refuses them by default)."""

from __future__ import annotations

import logging

import mne
import numpy as np
import pytest
from conftest import dataset
from wavegraph.nodes.dsp.epochs import Epochs
from wavegraph.nodes.models.ssvep import SSVEPDecoder, SSVEPTrialDecoder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

OCC = ["O1..", "Oz..", "O2.."]
LABELS = ((1, "left"), (2, "right"))
EVENTS = StreamSpec("events", 0.0, (3,), "float64", labels=LABELS)


# --- 1. the DNN's fingerprint covers its checkpoint's sub-band edges ------------------------------------------------


@pytest.fixture(scope="module")
def dnn_pair(tmp_path_factory):
    """The shipped 8-class DNN and a copy of the same weights with its sub-band edges edited in the JSON."""
    pytest.importorskip("torch")
    from wavegraph.models import ssvep_dnn
    from wavegraph.nodes.models.enhancer import shipped_checkpoint

    path = shipped_checkpoint().replace("enhancer.safetensors", "ssvep_dnn_8f_160hz_1000ms.safetensors")
    model, _ = ssvep_dnn.load(path)
    model.cfg.bands = [[7.0, 70.0], [15.0, 70.0], [23.0, 70.0]]
    other = tmp_path_factory.mktemp("dnn") / "bands.safetensors"
    ssvep_dnn.save(model, other)
    return path, str(other), model.cfg.channels


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("kind", [SSVEPDecoder, SSVEPTrialDecoder])
def test_a_dnn_state_is_refused_by_a_checkpoint_of_the_same_weights_and_other_bands(kind, dnn_pair, caplog):
    from wavegraph.nodes.models.weights_fingerprint import WEIGHTS_KEY, weights_fingerprint

    path, other, channels = dnn_pair
    specs = {"in": signal_spec(160.0, channels, "eeg", dtype="float64", units="V"), "events": EVENTS}
    if kind is SSVEPDecoder:
        specs.pop("events")
    nodes = []
    for p in (path, other, path):
        node = kind(method="dnn", checkpoint=p)
        node.configure(specs)
        nodes.append(node)
    x = 1e-5 * np.random.default_rng(0).standard_normal((len(channels), 300))
    nodes[0].process({"in": Chunk(x, 0.0)})
    state = nodes[0].state_dict()
    assert state[WEIGHTS_KEY] == nodes[1].state_dict()[WEIGHTS_KEY]  # equal weights: the weights' print is as before
    assert state[WEIGHTS_KEY] == weights_fingerprint(nodes[0].model)  # (its format unchanged)
    with pytest.raises(ValueError, match=r"same weights but another checkpoint config .*bands\.safetensors"):
        nodes[1].load_state_dict(state)  # was taken: its filter memory went on in the other sub-bands
    nodes[2].load_state_dict(state)  # the same checkpoint: taken
    older = {k: v for k, v in state.items() if k != "checkpoint_config"}  # saved before the config's print was kept
    with caplog.at_level(logging.WARNING, logger="wavegraph.models"):
        nodes[1].load_state_dict(older)
    assert "not of its checkpoint's config (saved before it was kept)" in caplog.text


def test_the_config_print_reads_a_hand_written_integer_band_as_the_float_band():
    from wavegraph.nodes.models.weights_fingerprint import config_fingerprint

    a = config_fingerprint({"bands": [[6, 72], [14, 72]], "rate": 160, "channels": ["Oz"]})
    assert a == config_fingerprint({"channels": ["Oz"], "rate": 160.0, "bands": [[6.0, 72.0], [14.0, 72.0]]})
    assert a != config_fingerprint({"channels": ["Oz"], "rate": 160.0, "bands": [[7.0, 72.0], [14.0, 72.0]]})


# --- 2 and 3. windows the signal ended before; two markers in one sample ---------------------------------------------


@pytest.fixture(scope="module")
def eeg():
    raw = mne.io.read_raw_edf(dataset("eegmmidb-s001r02"), verbose="error").pick(OCC).load_data()
    return raw.info["sfreq"], raw.get_data()


def _run(node, rate, x, rows, chunk):
    node.node_id = "n"
    node.configure({"in": signal_spec(rate, OCC, "eeg", units="V"), "events": EVENTS})
    outs = [node.process({"events": Chunk(rows, float(rows[0, 0]))})]
    outs += [node.process({"in": Chunk(x[:, i : i + chunk], i / rate)}) for i in range(0, x.shape[1], chunk)]
    outs += [node.input_ended("in"), node.input_ended("events"), *node.finish_all()]
    port = "events" if isinstance(node, Epochs) else "out"
    return np.concatenate([o[port].data for o in outs if o and port in o]), node.counters


@pytest.mark.parametrize("chunk", [7, 10000])
@pytest.mark.parametrize(
    "make, counter, what",
    [
        (lambda: Epochs(tmin=-0.2, tmax=0.5), "outside_data", "no epoch"),
        (lambda: SSVEPTrialDecoder(freqs=[6.0, 7.5], window=1.0, channels=OCC), "after_end", "no decision"),
    ],
)
def test_windows_the_recording_ended_before_are_said_and_two_markers_in_a_sample_are_both_kept_and_said(
    eeg, make, counter, what, chunk, caplog
):
    """EEGMMIDB S001R02 (61 s): markers at 10 s twice (codes 1 and 2), 0.3 s before the last sample, at it and after
    it. The last three were counted only; the pair at 10 s was kept unsaid (mne.Epochs raises on it by default)."""
    rate, x = eeg
    last = (x.shape[1] - 1) / rate
    rows = np.array([[5.0, 0, 1], [10.0, 0, 1], [10.0, 0, 2], [last - 0.3, 0, 1], [last, 0, 2], [last + 2, 0, 1]])
    with caplog.at_level(logging.WARNING, logger="wavegraph.markers"):
        out, counters = _run(make(), rate, x, rows, chunk)
    assert out[:, 0].tolist() == [5.0, 10.0, 10.0]  # both kept (epochs: their rows; the decoder: its decisions)
    assert out[1:, 2].tolist() == ([1.0, 2.0] if counter == "outside_data" else [out[1, 2]] * 2)
    assert counters == {counter: 3}
    said = [r.getMessage() for r in caplog.records if r.name == "wavegraph.markers"]
    assert len(said) == 2, said
    assert "'left' (code 1) at 10.000 s and 'right' (code 2) at 10.000 s fall in one sample" in said[0]
    assert "event_repeated='error'" in said[0]
    assert f"'n': the signal ended at {last:.3f} s" in said[1]
    assert (
        "3 markers: 'left' (code 1) at 60.694 s, 'right' (code 2) at 60.994 s, 'left' (code 1) at 62.994 s" in said[1]
    )
    assert f"{what}, counted {counter}" in said[1]


def test_a_marker_pair_is_said_once_per_node_and_not_across_a_new_stream(eeg, caplog):
    """Said once (the first pair); the next stream's sample indices start again: its first marker is no repeat of the
    last one of the stream before."""
    rate, x = eeg
    x = x[:, : int(20 * rate)]
    node = Epochs(tmin=-0.2, tmax=0.5)
    rows = np.array([[5.0, 0, 1], [5.0, 0, 2], [8.0, 0, 1], [8.0, 0, 1]])
    with caplog.at_level(logging.WARNING, logger="wavegraph.markers"):
        out, _ = _run(node, rate, x, rows, 160)
        assert len(out) == 4 and caplog.text.count("fall in one sample") == 1
        caplog.clear()
        node2 = SSVEPTrialDecoder(freqs=[6.0, 7.5], window=1.0, channels=OCC)
        _run(node2, rate, x, np.array([[5.0, 0, 1]]), 160)
        _run(node2, rate, x, np.array([[5.0, 0, 2]]), 160)  # run again: its marker at 5 s is no repeat of the first's
    assert "fall in one sample" not in caplog.text


def test_docs_say_what_epochs_does_with_two_markers_in_one_sample():
    from pathlib import Path

    text = " ".join((Path(__file__).parents[1] / "docs" / "nodes.md").read_text().split())
    assert "Two markers in one sample each get their epoch, on the same samples" in text


# --- the enhancer's state covers its checkpoint config too (the helper's leftover) -----------------------------------


def test_an_enhancer_state_is_refused_by_the_same_weights_with_another_mask_floor(tmp_path):
    """A copy of the shipped enhancer with only `mask_floor` edited in its JSON has the same weights: a mid-stream state
    of one went on in the other unsaid. Its config's print is kept beside the weights' now; the same copy unedited
    still takes it."""
    import json
    import shutil

    from wavegraph.nodes.models.enhancer import EnhancerNode, shipped_checkpoint

    spec = {"in": signal_spec(16000.0, ["mic"], "audio", dtype="float32", units="a.u.")}
    copies = {}
    for name, floor in (("same", None), ("floor", 0.2)):
        path = tmp_path / f"{name}.safetensors"
        shutil.copy(shipped_checkpoint(), path)
        meta = json.loads(open(shipped_checkpoint().replace(".safetensors", ".json")).read())
        if floor is not None:
            meta["config"]["mask_floor"] = floor
        path.with_suffix(".json").write_text(json.dumps(meta))
        copies[name] = str(path)
    nodes = {}
    for name in ("shipped", "same", "floor"):
        nodes[name] = EnhancerNode(**({} if name == "shipped" else {"checkpoint": copies[name]}))
        nodes[name].configure(spec)
    x = 0.05 * np.random.default_rng(1).standard_normal((1, 4005)).astype(np.float32)
    nodes["shipped"].process({"in": Chunk(x, 0.0)})
    state = nodes["shipped"].state_dict()
    assert state["weights"] == nodes["floor"].state_dict()["weights"]  # equal weights
    with pytest.raises(
        ValueError, match=r"enhancer state was saved with the same weights but another checkpoint config"
    ):
        nodes["floor"].load_state_dict(state)
    assert nodes["floor"].state_dict()["n_in"] == 0  # nothing taken
    nodes["same"].load_state_dict(state)  # an unedited copy: taken
    assert nodes["same"].state_dict()["n_in"] == 4005
