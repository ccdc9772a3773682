"""Real recordings and real-world variants no earlier test replayed (session 25's unseen-data pass): epochs cut around
cues whose Raw held annotations spanning them (EEGMMIDB's T0 rest periods); the real EEG with a trigger (stim) channel
beside it through the filters, rereference, epochs' baseline, resample, fir and join, each checked against what MNE
does with a stim channel; the real OpenSignals HDF5 EEG, whose samples are ADC counts."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource


def _events_of(path, **params) -> tuple[list[list[float]], dict[int, str]]:
    src = FileSource(path=str(path), chunk_size=50, **params)
    labels = dict(src.configure({})["events"].labels)
    rows = []
    while (out := src.read()) is not None:
        if "events" in out:
            rows.extend(out["events"].data.tolist())
    src.close()
    return rows, labels


def test_an_annotation_reaching_outside_its_epoch_is_replayed_limited_to_it(tmp_path, caplog):
    """Before: epochs cut around each cue of a motor-imagery run (EEGMMIDB's T0 rest, then a T1/T2 cue, 4.1 s each)
    with tmin=-1 overlap the rest period before the cue; the epochs file replayed that rest annotation at the epoch's
    first sample with its whole duration (4 s of 'rest' running 3 s into the cue's data), and a BAD_ span begun near
    an epoch's end ran on across the gap into the next epoch. Each is now the part the epoch holds, as MNE's crop
    limits an annotation: from the epoch's first sample, up to its last; said once."""
    import mne

    raw = mne.io.RawArray(np.zeros((2, 1500)), mne.create_info(["C3", "C4"], 100.0, "eeg"), verbose="error")
    raw.set_annotations(
        mne.Annotations([0.0, 4.0, 6.0, 10.0, 11.5], [4.0, 0.0, 4.0, 0.0, 2.0], ["T0", "T1", "T0", "T1", "BAD_move"])
    )
    events = np.array([[400, 0, 2], [1000, 0, 2]])  # the T1 cues
    epochs = mne.Epochs(
        raw, events, {"T1": 2}, tmin=-1.0, tmax=2.0, baseline=None, reject_by_annotation=False, verbose="error"
    )
    path = tmp_path / "mi-epo.fif"
    epochs.save(path, verbose="error")
    with caplog.at_level(logging.INFO, "wavegraph.file_source"):
        rows, labels = _events_of(path)
    got = sorted((round(onset * 100), labels[int(code)], round(duration, 3)) for onset, duration, code in rows)
    # epoch 1 holds 3..6 s of the raw, samples 0..300 of the replay; epoch 2 holds 9..12 s, samples 301..601
    assert got == [(0, "T0", 1.0), (100, "T1", 0.0), (301, "T0", 1.0), (401, "T1", 0.0), (551, "BAD_move", 0.51)]
    assert "'BAD_move', 'T0'" in caplog.text and "limited to it" in caplog.text


def test_an_iir_filter_passes_a_trigger_channel_with_its_codes_as_mne_filters_do(tmp_path, caplog):
    """Before: the real EEGMMIDB recording with a trigger channel beside its EEG (a FIF's STI 014, a BDF's Status),
    replayed through configs/default.yaml's notch and bandpass, had its trigger filtered: codes 5 and 7 rang into
    values from -8.6 to 4.9, so the recording written after them held no event a reader could find. MNE's raw.filter
    and notch_filter leave stim channels as they are; the IIR filter nodes now do too (said at INFO), and filter the
    EEG as before."""
    import mne
    from conftest import dataset
    from wavegraph.pipeline.api import GraphBuilder

    raw = mne.io.read_raw_edf(dataset("eegmmidb-s001r02"), verbose="error").crop(0, 4).pick(range(4)).load_data()
    stim = np.zeros((1, raw.n_times))
    stim[0, 100:120], stim[0, 500:520] = 5, 7
    raw.add_channels([mne.io.RawArray(stim, mne.create_info(["STI 014"], raw.info["sfreq"], "stim"), verbose="error")])
    path = tmp_path / "with_trigger_raw.fif"
    raw.save(path, verbose="error")
    g = GraphBuilder()
    src = g.add("file_source", path=path, chunk_size=80)
    notch = g.add("notch", src, freq=60.0)
    bp = g.add("bandpass", notch, l_freq=1.0, h_freq=40.0)
    hp = g.add("highpass", src, freq=1.0)
    with caplog.at_level(logging.INFO, "wavegraph.triggers"):
        out = g.run(capture=[src, bp, hp])
    given = out[f"{src}.out"].data
    for node in (bp, hp):
        got = out[f"{node}.out"].data
        np.testing.assert_array_equal(got[-1], given[-1])  # the trigger: its codes, at their samples
        assert np.abs(got[:-1] - given[:-1]).max() > 1e-6  # the EEG filtered
    assert mne.find_events(mne.io.RawArray(out[f"{bp}.out"].data, raw.info, verbose="error"), verbose="error")[
        :, 2
    ].tolist() == [5, 7]
    assert (
        "bandpass" in caplog.text and "'STI 014' unfiltered" not in caplog.text and "STI 014 unfiltered" in caplog.text
    )


def test_rereference_to_a_channel_leaves_a_trigger_and_an_eog_as_mne_does(caplog):
    """Before: rereference `channel: Fcz.` subtracted the reference from every channel: a trigger channel beside the
    real EEGMMIDB EEG came out as its codes minus the reference's volts (no longer codes: find_events read a step at
    nearly every sample), an EOG channel as EOG minus an EEG electrode. As MNE's set_eeg_reference(ref_channels=...)
    (and car) it now re-references the EEG channels only; the others pass unchanged, said at INFO."""
    import mne
    from conftest import dataset
    from wavegraph.pipeline.api import GraphBuilder

    raw = mne.io.read_raw_edf(dataset("eegmmidb-s001r02"), verbose="error").crop(0, 2).pick(range(8)).load_data()
    raw.set_channel_types({"Fc5.": "eog"}, verbose="error")
    stim = np.zeros((1, raw.n_times))
    stim[0, 100:120] = 5
    raw.add_channels([mne.io.RawArray(stim, mne.create_info(["STI 014"], raw.info["sfreq"], "stim"), verbose="error")])
    g = GraphBuilder()
    src = g.add("array_source", data=raw)
    rr = g.add("rereference", src, channel="Fcz.", keep_ref=True)
    with caplog.at_level(logging.INFO, "wavegraph.rereference"):
        got = g.run(capture=[rr])[f"{rr}.out"].data
    want = mne.set_eeg_reference(raw.copy(), ["Fcz."], verbose="error")[0].get_data()  # pyright: ignore[reportArgumentType]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    assert np.unique(got[-1]).tolist() == [0.0, 5.0]
    assert "Fc5., STI 014 pass unchanged" in caplog.text


def test_epochs_baseline_leaves_a_trigger_and_a_temperature_as_mne_epochs_does():
    """Before: `epochs` with `baseline` subtracted the baseline mean from every channel: around a cue of the real
    EEGMMIDB EEG whose baseline held a trigger pulse (code 5), the epoch's trigger channel came out as 5 minus its mean
    (-0.4 and 4.6: no code) and a temperature channel lost its degrees, where mne.Epochs corrects only its data
    channels and EOG/ECG/EMG. It now corrects the channels mne.Epochs does, the epochs equal to MNE's."""
    import mne
    from conftest import dataset
    from wavegraph.pipeline.api import GraphBuilder

    raw = mne.io.read_raw_edf(dataset("eegmmidb-s001r02"), verbose="error").crop(0, 2).pick(range(6)).load_data()
    raw.set_channel_types({"Fc5.": "eog"}, verbose="error")
    extra = np.zeros((2, raw.n_times))
    extra[0, 100:120], extra[1] = 5, 36.6
    info = mne.create_info(["STI 014", "Temp"], raw.info["sfreq"], ["stim", "temperature"])  # pyright: ignore[reportArgumentType]
    raw.add_channels([mne.io.RawArray(extra, info, verbose="error")])
    raw.set_annotations(mne.Annotations([1.0], [0.0], ["cue"]))
    g = GraphBuilder()
    src = g.add("array_source", data=raw)
    ep = g.add("epochs", src, f"{src}.events", tmin=-0.5, tmax=0.5, baseline=[None, 0.0])
    got = g.run(capture=[ep])[f"{ep}.out"].data
    events = np.array([[160, 0, 1]])
    want = mne.Epochs(raw, events, tmin=-0.5, tmax=0.5, baseline=(None, 0.0), verbose="error").get_data()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    assert np.unique(got[0, -2]).tolist() == [0.0, 5.0] and np.all(got[0, -1] == 36.6)


@pytest.mark.parametrize("rate", [100.0, 256.0])
def test_resample_keeps_a_trigger_channels_codes_as_mne_resample_does(rate, caplog):
    """Before: `resample` filtered a trigger channel as it filters EEG: the real EEGMMIDB EEG with a trigger beside it
    (a 2-sample code 5, a 1-sample 7, a held 3 then 9), taken from 160 Hz to 100 Hz (a BDF's 2048 Hz Status to 256 Hz
    likewise), came out with its codes rung into fractions and the short pulses smeared: no event a reader could find.
    It is now resampled as MNE's raw.resample resamples a stim channel (each output the first code of the input samples
    it covers), delayed as the EEG is: after `align`, the same samples as MNE's, in any chunking."""
    import mne
    from conftest import dataset
    from wavegraph.pipeline.api import GraphBuilder

    raw = mne.io.read_raw_edf(dataset("eegmmidb-s001r02"), verbose="error").crop(0, 10 - 1 / 160).pick(range(4))
    stim = np.zeros((1, raw.n_times))
    stim[0, 100:102], stim[0, 503], stim[0, 900:1000], stim[0, 1000:1003] = 5, 7, 3, 9
    raw.load_data().add_channels(
        [mne.io.RawArray(stim, mne.create_info(["STI 014"], raw.info["sfreq"], "stim"), verbose="error")]
    )
    want = raw.copy().resample(rate, verbose="error")
    assert isinstance(want, mne.io.BaseRaw)  # (a Raw, not a (Raw, events) pair: no events given)
    for chunk in (37, 160):
        g = GraphBuilder()
        al = g.add("align", g.add("resample", g.add("array_source", data=raw, chunk_size=chunk), rate=rate))
        with caplog.at_level(logging.INFO, "wavegraph.triggers"):
            got = g.run(capture=[al])[f"{al}.out"].data[:, : want.n_times]
        np.testing.assert_array_equal(got[-1], want.get_data()[-1])
    assert mne.find_events(mne.io.RawArray(got, want.info, verbose="error"), verbose="error")[:, 2].tolist() == [
        5,
        7,
        3,
        9,
    ]
    assert "resamples its trigger channel(s) STI 014 by their codes" in caplog.text


def test_fir_delays_a_trigger_channel_as_its_eeg_without_filtering_it(caplog):
    """Before: `fir` filtered a trigger channel beside the real EEGMMIDB EEG as it filters EEG: its codes 5 and 7 came
    out rung into fractions. It now delays the trigger by the filter's (numtaps - 1) / 2 samples, as the EEG's content,
    unfiltered: after `align`, the trigger's codes at their samples, in any chunking and through the flushed tail."""
    import mne
    from conftest import dataset
    from wavegraph.pipeline.api import GraphBuilder

    raw = mne.io.read_raw_edf(dataset("eegmmidb-s001r02"), verbose="error").crop(0, 3).pick(range(4)).load_data()
    stim = np.zeros((1, raw.n_times))
    stim[0, 100:102], stim[0, 470] = 5, 7  # the 7 in the flushed tail's reach: 11 samples before the end
    raw.add_channels([mne.io.RawArray(stim, mne.create_info(["STI 014"], raw.info["sfreq"], "stim"), verbose="error")])
    for chunk in (37, 160):
        g = GraphBuilder()
        src = g.add("array_source", data=raw, chunk_size=chunk)
        al = g.add("align", g.add("fir", src, l_freq=1.0, h_freq=30.0, numtaps=41))
        with caplog.at_level(logging.INFO, "wavegraph.triggers"):
            out = g.run(capture=[src, al])
        got, given = out[f"{al}.out"].data, out[f"{src}.out"].data
        np.testing.assert_array_equal(got[-1], given[-1])
        assert np.abs(got[:-1] - given[:-1]).max() > 1e-6  # the EEG filtered
    assert "fir 'fir1' delays its trigger channel(s) STI 014 by 20 samples" in caplog.text


def test_an_opensignals_hdf5_file_is_told_its_samples_are_adc_counts_and_how_to_make_volts():
    """Before: file_source refused the real OpenSignals EEG (biosignalsnotebooks' eeg_sample_o.h5) with 'load it:
    data, rate = read_opensignals(PATH) ... or convert it once to FIF (data in volts ...)': read_opensignals gives ADC
    counts (0-65535), and a FIF saved from them as told read back 30000 V of EEG, unsaid. The fix now says they are
    counts of the file's resolution and how a PLUX EEG sensor's become volts."""
    from conftest import dataset
    from wavegraph.pipeline.datasets import read_opensignals
    from wavegraph.pipeline.spec import SpecError

    path = dataset("bsn-eeg-o")
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    said = str(e.value) + (e.value.hint or "")
    assert "ADC counts (16 bits), not volts" in said and "(data / 2**16 - 0.5) * 3 / 41782" in said
    data, _ = read_opensignals(path)
    volts = (data / 2**16 - 0.5) * 3 / 41782
    assert data.max() > 30000 and np.abs(volts).max() < 40e-6  # counts; as volts, EEG's tens of microvolts


def test_join_puts_a_trigger_stream_on_the_eeg_grid_as_codes():
    """Before: `join` interpolated every channel of another input linearly onto the reference's grid: a trigger box's
    stream (typed stim) joined to the real EEGMMIDB EEG at 160 Hz came out with codes 1.875, 2.5, 2.625 beside 5 (a
    100 Hz trigger), and a one-sample pulse of a 1 kHz trigger that no 160 Hz sample fell on was lost. A trigger now
    takes, at each reference time, the first code since the reference time before (else its last code, held)."""
    import mne
    from conftest import dataset
    from wavegraph.pipeline.api import GraphBuilder

    raw = mne.io.read_raw_edf(dataset("eegmmidb-s001r02"), verbose="error").crop(0, 5 - 1 / 160).pick(range(4))
    slow, fast = np.zeros((1, 500)), np.zeros((1, 5000))
    slow[0, 103:106], slow[0, 300] = 5, 7  # 1.03 s (3 samples), 3.0 s (one)
    fast[0, 1033], fast[0, 3000:3010] = 9, 4  # a 1 ms pulse between two 160 Hz samples; 10 ms from 3.0 s
    g = GraphBuilder()
    eeg = g.add("array_source", data=raw.load_data(), chunk_size=16)
    a = g.add("array_source", data=slow, rate=100.0, ch_names=["TRIG"], ch_types="stim", chunk_size=10)
    b = g.add("array_source", data=fast, rate=1000.0, ch_names=["BOX"], ch_types="stim", chunk_size=100)
    j = g.add("join", eeg, a, b, inputs=["eeg", "a", "b"])
    out = g.run(capture=[j])[f"{j}.out"]
    info = mne.create_info(list(out.spec.channel_names), 160.0, ["eeg"] * 4 + ["stim"] * 2)  # pyright: ignore[reportArgumentType]
    joined = mne.io.RawArray(out.data, info, verbose="error")
    assert mne.find_events(joined, "TRIG", verbose="error")[:, [0, 2]].tolist() == [[165, 5], [480, 7]]
    assert mne.find_events(joined, "BOX", verbose="error")[:, [0, 2]].tolist() == [[166, 9], [480, 4]]
    assert set(np.unique(out.data[-2:])) <= {0.0, 4.0, 5.0, 7.0, 9.0}
