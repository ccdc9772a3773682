"""Leftovers of session 25: a stream's declared passband (StreamSpec band / highpass / lowpass) along a graph, each
replayed with the input that showed it."""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.pipeline.spec import signal_spec


# --- 1. join: the band of every input, not only the reference's ------------------------------------------------
def test_join_declares_the_band_of_every_input_as_mne_reads_mixed_filters():
    """A 1 kHz EEG (1-100 Hz) joined with a 100 Hz sensor (0.5 Hz highpass), interpolated onto the 1 kHz grid: the
    sensor's channel holds nothing above 50 Hz. Before, the output said (1, 100) Hz, the reference's lowpass, and a
    FIF recorder wrote lowpass 100. Now the lowest lowpass of any input, its Nyquist included (as MNE's EDF reader
    stores the highest highpass and the lowest lowpass of channels filtered apart): (1, 50)."""
    from wavegraph.nodes.dsp.join import Join

    eeg = signal_spec(1000.0, ["C3"]).filtered(1.0, 100.0)
    sensor = signal_spec(100.0, ["acc"], "misc").filtered(0.5, None)
    out = Join().configure({"a": eeg, "b": sensor})["out"]
    assert out.passband() == (1.0, 50.0)  # (was (1.0, 100.0))
    assert out.band == 50.0  # the sensor's rate, as a resample up from it says

    # an input resampled up from 100 Hz holds no more than the 100 Hz one: its band counts as its rate would
    resampled = signal_spec(1000.0, ["acc"], "misc").evolve(band=50.0)
    assert Join().configure({"a": eeg, "b": resampled})["out"].passband() == (1.0, 50.0)
    # the reference at the lower rate: every input holds up to its Nyquist, no band to declare
    low_ref = Join(reference="b").configure({"a": eeg, "b": sensor})["out"]
    assert (low_ref.rate, low_ref.band, low_ref.passband()) == (100.0, None, (1.0, 50.0))


def test_join_keeps_the_bad_channels_of_every_input_under_their_joined_names():
    """Input b's channel marked bad (a FIF's info['bads']) was dropped by join: a car after it averaged it in. Now the
    union, as MNE's add_channels merges them, under the names join gives (prefixed where names collide)."""
    from wavegraph.nodes.dsp.join import Join

    a = signal_spec(250.0, ["C3", "C4"]).evolve(bads=("C4",))
    b = signal_spec(250.0, ["C4", "Pz"]).evolve(bads=("Pz",))
    out = Join().configure({"a": a, "b": b})["out"]
    assert out.channel_names == ("a:C3", "a:C4", "b:C4", "b:Pz")
    assert out.bads == ("a:C4", "b:Pz")  # (was ())
    plain = Join().configure({"a": signal_spec(250.0, ["C3"]), "b": b})["out"]
    assert plain.bads == ("Pz",)


# --- 2. stft -> istft: the signal comes back with its passband ---------------------------------------------------
def test_istft_gives_back_the_passband_and_bads_of_the_signal_the_stft_framed():
    """bandpass 1-30 Hz -> stft -> istft: the istft's signal said (0, 500) Hz, no band and no bad channels, and a FIF
    recorder wrote that. Now the stft carries them on its frames (as it carries the recording's date) and the istft
    gives them back: (1, 30) Hz; a signal brought up from 100 Hz keeps its 50 Hz band (which the enhancer checks)."""
    from wavegraph.nodes.dsp.windows import ISTFT, STFT

    x = signal_spec(1000.0, ["C3", "C4"]).evolve(band=50.0, bads=("C4",)).filtered(1.0, 30.0)
    frames = STFT(n_fft=64, hop=32).configure({"in": x})["out"]
    y = ISTFT(n_fft=64, hop=32).configure({"in": frames})["out"]
    assert y.passband() == (1.0, 30.0)  # (was (0.0, 500.0))
    assert (y.band, y.highpass, y.lowpass, y.bads) == (50.0, 1.0, 30.0, ("C4",))
    full = ISTFT(n_fft=64, hop=32).configure(
        {"in": STFT(n_fft=64, hop=32).configure({"in": signal_spec(8e3, ["m"])})["out"]}
    )
    assert full["out"].band is None and full["out"].passband() == (0.0, 4000.0)  # a full-band signal stays so


# --- 3. a recorder's NPZ replays with its band -------------------------------------------------------------------
def test_an_npz_recording_replays_with_the_band_it_was_recorded_with(tmp_path):
    """100 Hz EEG resampled to 1 kHz and recorded to .npz: the file's spec holds band 50, but file_source replayed it
    as (0, 500) Hz (a FIF of the same stream replays (0, 50)). Now the NPZ replays with its band, as recorded."""
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.pipeline.api import GraphBuilder

    x = np.random.default_rng(0).standard_normal((2, 200)) * 1e-5
    g = GraphBuilder()
    up = g.add("resample", g.add("array_source", data=x, rate=100.0, ch_names=["C3", "C4"], ch_types="eeg"), rate=1e3)
    hp = g.add("highpass", up, freq=1.0)
    g.add("recorder", hp, path=tmp_path / "rec.npz")
    live = g.run(capture=[hp])[f"{hp}.out"].spec
    assert live.passband() == (1.0, 50.0)
    replay = FileSource(path=str(tmp_path / "rec.npz")).configure({})["out"]
    assert replay.passband() == (1.0, 50.0)  # (was (1.0, 500.0))
    assert replay.band == 50.0


# --- 4. rereference: a derivation of a bad channel is bad --------------------------------------------------------
def test_a_bipolar_derivation_of_a_bad_channel_is_marked_bad_as_mne_does(caplog):
    """C4 marked bad in the source (a FIF's info['bads']), pairs C3-C4 and Fz-Pz: the output said no bad channel (C4
    is gone), so a car after it averaged C3-C4 in and a FIF recorder wrote it good. mne.set_bipolar_reference marks
    C3-C4 bad and warns; now so does rereference (said once at configure)."""
    from wavegraph.nodes.dsp.channels import Rereference

    spec = signal_spec(250.0, ["C3", "C4", "Fz", "Pz"]).evolve(bads=("C4",))
    with caplog.at_level("WARNING"):
        out = Rereference(pairs=["C3-C4", "Fz-Pz"]).configure({"in": spec})["out"]
    assert out.bads == ("C3-C4",)  # (was ())
    assert "C3-C4" in caplog.text and "C4" in caplog.text and "bad" in caplog.text
    named = Rereference(channel="Cz").configure({"in": signal_spec(250.0, ["Cz", "C3", "C4"]).evolve(bads=("C4",))})
    assert named["out"].bads == ("C4",)  # referenced to a good channel, a bad one stays bad under its name


# --- 5. a join of channels filtered apart is not 'a chain that passes nothing' ------------------------------------
JOINED = """
name: joined
nodes:
  - {id: eeg, type: sine, params: {rate: 1000.0, freq: 100.0, duration: 0.1}}
  - {id: slow, type: sine, params: {rate: 50.0, freq: 5.0, duration: 0.1}}
  - {id: hp, type: highpass, params: {freq: 40.0}}
  - {id: j, type: join}
  - {id: sink, type: null_sink}
edges:
  - {source: eeg.out, target: hp.in}
  - {source: hp.out, target: j.a}
  - {source: slow.out, target: j.b}
  - {source: j.out, target: sink.in}
"""


def test_a_join_of_channels_filtered_apart_is_said_as_such_not_as_passing_nothing(tmp_path):
    """A 40 Hz highpass on a 1 kHz input joined with a 50 Hz sensor (nothing above 25 Hz): validate said "node 'j': its
    output passes nothing", which is false (each channel passes its own band). Now it says the channels were filtered
    apart, naming both nodes, and the fix (filter the inputs alike, or record them apart)."""
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.passband_notes import crossed_filter_notes

    (tmp_path / "g.yaml").write_text(JOINED)
    graph = build_graph(load_config(tmp_path / "g.yaml"))
    (note,) = crossed_filter_notes(graph)
    assert "passes nothing" not in note  # (was "node 'j': its output passes nothing: ...")
    assert "filtered apart" in note and "'hp'" in note and "'slow'" in note and "40 Hz" in note and "25 Hz" in note
    assert graph.specs["j.out"].passband() == (0.0, 25.0)  # written as MNE reads edges that cross


# --- 6. an NPZ whose stored spec gives edges or an origin no recorder writes ---------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lowpass", -1.0),
        ("lowpass", "x"),
        ("highpass", float("nan")),
        ("band", "x"),
        ("meas_date", 5),
        ("first_time", "x"),
    ],
)
def test_an_npz_whose_spec_gives_edges_no_recorder_writes_is_refused_naming_the_field(tmp_path, field, value):
    """A recorder's .npz edited by hand: lowpass -1 replayed as such and a FIF recorder after it wrote lowpass -1.0
    (MNE reads it back so); lowpass "x" stopped validate with "could not convert string to float: 'x'; fix: check its
    params" (the params were right); meas_date 5 or first_time "x" failed later. Now each is refused at configure,
    naming the file, the field and its value."""
    import json

    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.pipeline.spec import SpecError

    path = tmp_path / "edited.npz"
    spec = signal_spec(250.0, ["C3"]).to_dict() | {field: value}
    np.savez(path, data=np.zeros((1, 100)), spec=np.array(json.dumps(spec)), t0=np.array(0.0))
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert str(path) in e.value.message and f"{field} {value!r}" in e.value.message, e.value.message
    assert "recorder" in e.value.hint
