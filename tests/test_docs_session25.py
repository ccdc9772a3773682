"""docs/nodes.md, README.md and the configs followed literally after session 25's changes (a new user's walk):
what the docs say a node does, checked against the node (and MNE, where the docs say "as MNE's"). Tiny arrays in
memory or tmp_path, one process."""

import mne
import numpy as np
from wavegraph.pipeline.api import GraphBuilder


def _raw_with_a_bad_channel() -> mne.io.RawArray:
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "C4", "Cz", "EOG1"], 100.0, ["eeg", "eeg", "eeg", "eog"])  # pyright: ignore[reportArgumentType]
    raw = mne.io.RawArray(rng.normal(0, 1e-5, (4, 300)), info, verbose="error")
    raw.info["bads"] = ["C4"]
    return raw


def test_rereference_to_a_named_channel_leaves_a_bad_channel_as_mne_and_car_do():
    """docs/nodes.md: rereference to `channel` re-references 'only the channels `car` re-references by default, as
    MNE's set_eeg_reference(ref_channels=[...])'; car leaves a channel the source marks bad out, and so does MNE
    (its pick_types excludes bads): C4, marked bad, came out as C4 - Cz, where MNE gives C4 as it was."""
    raw = _raw_with_a_bad_channel()
    g = GraphBuilder()
    src = g.add("array_source", data=raw, chunk_size=64)
    ref = g.add("rereference", src, channel="Cz")
    got = g.run(capture=[ref])[f"{ref}.out"]
    ref_cz = raw.copy().set_eeg_reference(ref_channels=["Cz"], verbose="error")  # pyright: ignore[reportArgumentType]
    mne_ref = ref_cz.drop_channels(["Cz"])
    assert got.spec.channel_names == tuple(mne_ref.ch_names)
    np.testing.assert_allclose(got.data, mne_ref.get_data(), rtol=0, atol=1e-20)
    assert got.spec.bads == ("C4",)


def test_describe_does_not_say_the_device_would_give_the_sound_cards_latency():
    """docs/speech.md ("Latency"): what the sound card adds is not in describe's figure, 'with or without --devices':
    only PortAudio knows it once the stream is open. The path line said '(needs the device)', with --devices too,
    so a user who then gave --devices got the same line again."""
    from pathlib import Path

    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph, describe

    root = Path(__file__).resolve().parents[1]
    graph = build_graph(load_config(root / "configs/speech_enhance.yaml", []), devices=False)
    path = next(line for line in describe(graph).splitlines() if line.startswith("  mic -> "))
    assert "71.19 ms + what the device adds at mic, speaker" in path  # the figure docs/speech.md gives
    assert "needs the device" not in path and "once the stream is open" in path, path


def test_array_source_of_a_raw_with_a_trigger_names_no_none_file(caplog):
    """README's `g.add("array_source", data=raw)` of an mne.io.Raw with a trigger channel said at INFO
    'file_source: None has no annotations; its events come from trigger channel ...': a file named None."""
    import logging

    info = mne.create_info(["Cz", "STI 014"], 100.0, ["eeg", "stim"])  # pyright: ignore[reportArgumentType]
    data = np.zeros((2, 200))
    data[1, 50:52] = 5
    raw = mne.io.RawArray(data, info, verbose="error")
    g = GraphBuilder()
    src = g.add("array_source", data=raw, chunk_size=50)
    with caplog.at_level(logging.INFO):
        got = g.run(capture=[f"{src}.events"])
    assert got[f"{src}.events"].data[:, 2].tolist() == [5.0]
    said = [r.getMessage() for r in caplog.records if "has no annotations" in r.getMessage()]
    assert said and not any("None" in m for m in said), said


def test_ssvep_dnn_decoder_takes_the_checkpoints_channels_named_in_another_order(tmp_path):
    """configs/bci_ssvep.yaml's comment: `--set decoder.method=dnn --set decoder.checkpoint=...` from `wavegraph train
    ssvep`, with the config's `channels: [O1, Oz, O2, PO3, ...]`: train ssvep stores them in its own order (PO3, PO4,
    ..., O1, Oz, O2) and the decoder refused the same channels listed in another order. It takes them by name now, in
    the checkpoint's order, and decides as with the checkpoint's own list."""
    import torch
    from wavegraph.models import ssvep_dnn as dnn

    torch.manual_seed(0)
    cfg = dnn.SSVEPDNNConfig(160.0, ["PO3", "O1", "Oz", "O2"], [8.0, 10.0], 80)
    ckpt = tmp_path / "dnn.safetensors"
    dnn.save(dnn.SSVEPDNN(cfg), ckpt)
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1e-5, (4, 480))
    x[1:] += 2e-5 * np.sin(2 * np.pi * 10.0 * np.arange(480) / 160.0)

    def decide(channels):
        g = GraphBuilder()
        src = g.add("array_source", data=x, rate=160.0, ch_names=["O1", "Oz", "O2", "PO3"], ch_types="eeg")
        dec = g.add("ssvep_decoder", src, method="dnn", checkpoint=str(ckpt), channels=channels, step=0.5)
        return g.run(capture=[f"{dec}.scores"])[f"{dec}.scores"].data

    by_config = decide(["O1", "Oz", "O2", "PO3"])  # the stream's order, as the config lists them
    np.testing.assert_array_equal(by_config, decide(None))  # the checkpoint's own channels
    assert by_config.shape[0] > 0
