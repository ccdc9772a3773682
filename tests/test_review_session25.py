"""Session 25's review of the morning's work (8f81c06..): defects found in the new code, each with the test that
failed before its fix."""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.nodes.dsp.join import Join
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec


def _join_box(pieces: list[tuple[str, int, int]]) -> np.ndarray:
    """A 160 Hz EEG joined with a 1 kHz trigger box holding one 1 ms pulse (code 9 at 33 ms, between the EEG's
    samples 5 and 6), fed in the order and pieces given: the joined trigger channel."""
    eeg, box = np.zeros((1, 160)), np.zeros((1, 1000))
    box[0, 33] = 9
    j = Join(inputs=["eeg", "box"])
    j.configure(
        {
            "eeg": StreamSpec("signal", 160.0, (1,), "float64", channel_names=("C3",), channel_types=("eeg",)),
            "box": StreamSpec("signal", 1000.0, (1,), "float64", channel_names=("BOX",), channel_types=("stim",)),
        }
    )
    outs = []
    for port, i, n in pieces:
        x, rate = (eeg, 160.0) if port == "eeg" else (box, 1000.0)
        out = j.process({port: Chunk(x[:, i : i + n], t0=i / rate)})
        if "out" in out:
            outs.append(out["out"].data)
    return np.concatenate(outs, axis=1)[1]


def test_join_keeps_a_trigger_pulse_whatever_the_chunking_of_its_input():
    """Before: join put a trigger on the reference grid by the first code since the reference time before (86686bf),
    but pruned, after each output, every sample of the trigger input before its last one at or before the next
    reference time: a 1 kHz trigger whose chunk ended between two 160 Hz times (at 34 ms, the pulse at 33 ms) lost
    that pulse, which the same stream in one chunk gave (streaming != offline). Now the same code at the same time."""
    whole = _join_box([("eeg", 0, 160), ("box", 0, 1000)])
    split = _join_box([("eeg", 0, 160), ("box", 0, 35), ("box", 35, 965)])
    assert np.flatnonzero(whole).tolist() == [6] and whole[6] == 9
    np.testing.assert_array_equal(split, whole)


def test_car_says_the_bipolar_eog_labels_of_brainvision_and_neuroscan_typed_eeg(caplog):
    """car's warning about channels typed eeg whose label says they hold none (7a6f5a3) missed the commonest EOG labels:
    'HEOG'/'VEOG' (BrainVision, EEGLAB) and 'HEO'/'VEO' (Neuroscan), and 'respiration': the H/V before 'EOG' hid it, so
    car averaged them into the reference without a word. Said now; 'T7', 'Oz' and 'FT9' are not."""
    import logging

    from wavegraph.nodes.dsp.channels import CAR

    names = ("Fz", "T7", "Oz", "FT9", "HEOG", "VEOG", "HEO", "VEO", "respiration")
    spec = StreamSpec("signal", 250.0, (len(names),), "float64", channel_names=names, channel_types=("eeg",) * 9)
    with caplog.at_level(logging.WARNING, "wavegraph.rereference"):
        CAR().configure({"in": spec})
    said = [r.getMessage() for r in caplog.records if "typed eeg" in r.getMessage()]
    assert len(said) == 1, caplog.text
    assert "'HEOG', 'VEOG', 'HEO', 'VEO', 'respiration', typed eeg" in said[0]
    assert "ref_channels: [Fz, T7, Oz, FT9]" in said[0]


def test_a_restart_outside_the_last_gap_is_looked_at_once_not_at_every_read(monkeypatch):
    """lsl_inlet with recover (6a7b610): after an outlet restarted and a gap came that the restart is not inside,
    _restart_lost asked restart_offset at every read, which on another host is a time_correction query of up to 0.1 s
    per chunk. Each (restart, gap) is looked at once now; a new gap is looked at again."""
    from types import SimpleNamespace

    from wavegraph.nodes.io import lsl_checks
    from wavegraph.nodes.io.lsl import LslInlet

    asked = []
    monkeypatch.setattr(lsl_checks, "restart_offset", lambda *a: asked.append(a) or 0.0)
    node = LslInlet(name="x", recover=True)
    node._watch = SimpleNamespace(back_at=100.0)  # type: ignore[assignment]  # the outlet came back at 100 s
    info = SimpleNamespace(name=lambda: "x", source_id=lambda: "amp-1")
    node._info, node._rate, node._gap_ts = info, 250.0, (10.0, 11.0)  # type: ignore[assignment]  # a gap before
    for _ in range(5):  # five reads after it
        node._restart_lost()
    assert len(asked) == 1 and "restart_lost" not in node.counters
    node._gap_ts = (99.5, 100.5)  # the restart's own gap
    node._restart_lost()
    assert len(asked) == 2 and node.counters["restart_lost"] == 125


@pytest.mark.parametrize("f", [0.0, -6.0, float("nan")])
def test_ssvep_references_of_a_frequency_not_above_0_hz_are_refused_not_hung(f):
    """models.ssvep.references() took f <= 0 to have every harmonic below Nyquist and built them one by one: with
    n_harmonics 1e29 it hung (the node refuses f <= 0, a caller of the function did not get that far). Refused now."""
    from wavegraph.models.ssvep import references

    with pytest.raises(ValueError, match="must be above 0 Hz"):
        references([f], 250.0, 10, n_harmonics=10**29)
    assert [r.shape for r in references([6.0, 7.5], 250.0, 10, n_harmonics=3)] == [(6, 10), (6, 10)]


def test_an_ssvep_decoder_leaves_a_trigger_channel_beside_the_eeg_out(caplog):
    """Since filterbank and running_zscore pass a trigger (stim) channel on unchanged (3eba71f), an ssvep_decoder after
    them took its raw codes (0, then 5) as a third EEG channel beside two, changing every CCA score. With no `channels`
    it decodes the data channels now, as MNE's picks="data", said at INFO; the scores equal those of the EEG alone."""
    import logging

    from wavegraph.nodes.models.ssvep import SSVEPDecoder

    rate, rng = 250.0, np.random.default_rng(3)
    t = np.arange(1000) / rate
    eeg = np.stack([np.sin(2 * np.pi * 7.5 * t), np.cos(2 * np.pi * 7.5 * t)]) + 0.5 * rng.standard_normal((2, 1000))
    trig = np.zeros((1, 1000))
    trig[0, 300:320] = 5.0

    def decoded(x, types):
        dec = SSVEPDecoder(freqs=[6.0, 7.5, 10.0], window=1.0, step=0.5)
        names = ("O1", "O2", "STI 014")[: len(types)]
        dec.configure({"in": StreamSpec("signal", rate, (len(types),), "float64", names, types)})
        return dec.process({"in": Chunk(x, 0.0)})["scores"].data

    with caplog.at_level(logging.INFO, "wavegraph.triggers"):
        both = decoded(np.concatenate([eeg, trig]), ("eeg", "eeg", "stim"))
    assert "leaves out its trigger channel(s) STI 014" in caplog.text
    np.testing.assert_array_equal(both, decoded(eeg, ("eeg", "eeg")))


def test_a_fir_whose_mne_length_exceeds_the_bound_for_its_channels_still_runs_the_users_numtaps(caplog):
    """1a0cc91 refused an edge whose MNE length did not fit the 1 GiB bound for the stream's channels: 256 channels at
    2048 Hz with l_freq 0.01 and the user's own numtaps 1001 (which fits) were refused, where 128 channels warned and
    ran. A length that exists is said (with the bound) and the user's filter runs; only an edge no length reaches is
    refused (l_freq 1e-300: tests/test_leftovers7_session25.py)."""
    import logging

    from wavegraph.nodes.dsp.fir import FIR
    from wavegraph.pipeline.spec import signal_spec

    spec = signal_spec(2048.0, [f"E{i}" for i in range(256)])
    with caplog.at_level(logging.WARNING, "wavegraph.fir"):
        out = FIR(l_freq=0.01, numtaps=1001).configure({"in": spec})["out"]
    assert out.shape == (256,)
    said = caplog.records[0].getMessage()
    assert "fix: numtaps: 675841 or more" in said and "fit the 1 GiB bound here" in said, said


def test_bench_pacing_names_the_png_it_wrote_for_a_name_without_a_suffix(tmp_path, monkeypatch, capsys):
    """f5d8d3c gave bench enhance '--png plot' -> plot.png said as such; bench pacing (transport, kernels, nodes,
    soak alike) still printed 'plot: plot' while matplotlib wrote plot.png."""
    from wavegraph.benchmarks import pacing

    monkeypatch.chdir(tmp_path)
    assert pacing.main(["--seconds", "0.1", "--png", "late"]) == 0
    assert "plot: late.png" in capsys.readouterr().out and (tmp_path / "late.png").is_file()
