"""Leftovers of session 25's trigger (stim) pass and others: running_zscore, filterbank, bandpower, stft and
eeg_tokenizer given a trigger channel beside the EEG (passed as it is by the first two, as MNE's raw.filter leaves one;
left out of the features of the others, as MNE's compute_psd picks data channels)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

RATE = 200.0


def _eeg_and_trigger(n: int = 800) -> tuple[np.ndarray, np.ndarray]:
    """Two EEG channels (volts) and a trigger of codes 5 (2 samples), 7 (1 sample) and a held 3."""
    rng = np.random.default_rng(3)
    eeg = rng.standard_normal((2, n)) * 1e-5
    trig = np.zeros(n)
    trig[100:102], trig[250], trig[400:460] = 5, 7, 3
    return eeg, trig


def _run(node, x: np.ndarray, spec, chunk: int = 37) -> dict[str, np.ndarray]:
    """The node's outputs over x in chunks of `chunk` samples, finish() included."""
    outs = node.configure({"in": spec})
    got: dict[str, list[np.ndarray]] = {k: [] for k in outs}
    steps = [node.process({"in": Chunk(x[..., i : i + chunk], t0=i / RATE)}) for i in range(0, x.shape[-1], chunk)]
    for out in [*steps, node.finish()]:
        for k, c in out.items():
            got[k].append(c.data)
    axis = {k: -1 if outs[k].kind == "signal" else 0 for k in outs}
    return {k: np.concatenate(v, axis=axis[k]) for k, v in got.items() if v}


WITH = signal_spec(RATE, ["C3", "C4", "STI 014"], ["eeg", "eeg", "stim"])
WITHOUT = signal_spec(RATE, ["C3", "C4"], "eeg")


def test_running_zscore_and_filterbank_pass_a_trigger_channel_unchanged(caplog):
    """Before: running_zscore made the trigger's codes z-scores (fractions and negatives, no event code a reader could
    find) and filterbank filtered them in every band, as bandpass did before it passed them. Now
    the trigger passes both unchanged (said at INFO), as MNE's raw.filter leaves a stim channel; the EEG is as
    without the trigger."""
    from wavegraph.nodes.dsp.filterbank import Filterbank
    from wavegraph.nodes.dsp.scaling import RunningZScore

    eeg, trig = _eeg_and_trigger()
    x = np.vstack([eeg, trig])
    with caplog.at_level(logging.INFO, "wavegraph.triggers"):
        z = _run(RunningZScore(window=0.5), x, WITH)["out"]
        fb = _run(Filterbank(bands=[[4, 8], [8, 30]]), x, WITH)["out"]
    np.testing.assert_array_equal(z[2], trig)
    np.testing.assert_array_equal(fb[:, 2], np.stack([trig, trig]))
    np.testing.assert_array_equal(z[:2], _run(RunningZScore(window=0.5), eeg, WITHOUT)["out"])
    np.testing.assert_array_equal(fb[:, :2], _run(Filterbank(bands=[[4, 8], [8, 30]]), eeg, WITHOUT)["out"])
    said = [r.getMessage() for r in caplog.records if "STI 014" in r.getMessage()]
    assert len(said) == 2 and all(
        "passes its trigger channel(s) STI 014 unchanged" in m or "unfiltered" in m for m in said
    )


@pytest.mark.parametrize("kind", ["bandpower", "stft"])
def test_bandpower_and_stft_leave_a_trigger_channel_out_of_their_features(caplog, kind):
    """Before: bandpower gave the trigger's codes a band power (columns 'STI 014:alpha', ...) and stft a spectrum, fed
    on as features of the EEG. The trigger is now left out of the features, said once at INFO (MNE's compute_psd picks
    the data channels); the EEG's columns are those of the EEG alone. A stream of the trigger alone is refused."""
    from wavegraph.nodes.dsp.bandpower import Bandpower
    from wavegraph.nodes.dsp.windows import STFT
    from wavegraph.pipeline.spec import SpecError

    make = {"bandpower": lambda: Bandpower(window=0.5, hop=0.25), "stft": lambda: STFT(n_fft=64, hop=32)}[kind]
    eeg, trig = _eeg_and_trigger()
    with caplog.at_level(logging.INFO, "wavegraph.triggers"):
        node = make()
        got = _run(node, np.vstack([eeg, trig]), WITH)["out"]
    want_node = make()
    want = _run(want_node, eeg, WITHOUT)["out"]
    assert node.out_specs["out"].shape == want_node.out_specs["out"].shape
    assert node.out_specs["out"].channel_names == want_node.out_specs["out"].channel_names
    assert not any("STI" in n for n in node.out_specs["out"].channel_names)
    np.testing.assert_array_equal(got, want)
    said = [r.getMessage() for r in caplog.records if "leaves out its trigger channel(s) STI 014" in r.getMessage()]
    assert len(said) == 1, caplog.text
    with pytest.raises(SpecError, match="every channel of its input is a trigger"):
        make().configure({"in": signal_spec(RATE, ["STI 014"], "stim")})


def test_eeg_tokenizer_leaves_a_trigger_channel_out_of_its_tokens(caplog):
    """Before: eeg_tokenizer gave the trigger a token column of its own ('STI 014'), tokens of its codes that mean
    nothing, fed on to the models as an EEG channel. It is now left out (said at INFO): the tokens are the EEG's."""
    from wavegraph.nodes.models.tokenizer import EEGTokenizerNode

    eeg, trig = _eeg_and_trigger(600)
    with caplog.at_level(logging.INFO, "wavegraph.triggers"):
        node = EEGTokenizerNode()
        got = _run(node, np.vstack([eeg, trig]), WITH, chunk=200)
    want = _run(EEGTokenizerNode(), eeg, WITHOUT, chunk=200)
    assert node.out_specs["tokens"].channel_names == ("C3", "C4")
    np.testing.assert_array_equal(got["tokens"], want["tokens"])
    np.testing.assert_allclose(got["embeddings"], want["embeddings"], rtol=1e-5, atol=1e-6)
    assert any("leaves out its trigger channel(s) STI 014" in r.getMessage() for r in caplog.records)


def _sleep_edf(path) -> None:
    """A sleep study's EDF as Sleep-EDF labels it: two EEG derivations, then EOG, EMG and an ECG by name only."""
    import mne

    names = ["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal", "EMG submental", "ECG"]
    rng = np.random.default_rng(4)
    raw = mne.io.RawArray(rng.standard_normal((5, 400)) * 2e-5, mne.create_info(names, 100.0, "eeg"), verbose="error")
    mne.export.export_raw(str(path), raw, fmt="edf", verbose="error")


def _car_of(path, caplog, **params) -> tuple[StreamSpec, list[str]]:
    from wavegraph.nodes.dsp.channels import CAR
    from wavegraph.nodes.io.file_source import FileSource

    src = FileSource(path=str(path), **params)
    spec = src.configure({})["out"]
    src.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.rereference"):
        CAR().configure({"in": spec})
    return spec, [r.getMessage() for r in caplog.records if "typed eeg" in r.getMessage()]


def test_car_says_eog_emg_and_ecg_typed_eeg_in_its_average_and_infer_types_types_them(tmp_path, caplog):
    """Before: a sleep EDF ('EOG horizontal', 'EMG submental', 'ECG' beside 'EEG Fpz-Cz'), all typed EEG as MNE's
    read_raw_edf reads them (infer_types False), went through car with the EOG and EMG averaged into the reference,
    unsaid, and file_source had no way to type them. car now says them once with the fix, and file_source's
    infer_types (MNE's name) types them by the label's first word as read_raw_edf(infer_types=True) does."""
    import mne
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.pipeline.spec import SpecError

    path = tmp_path / "sleep.edf"
    _sleep_edf(path)
    spec, said = _car_of(path, caplog)
    assert set(spec.channel_types) == {"eeg"}
    assert len(said) == 1, caplog.text
    assert "'EOG horizontal', 'EMG submental', 'ECG', typed eeg, are averaged into the reference" in said[0]
    assert "fix: file_source infer_types: true types 'EOG horizontal', 'EMG submental'" in said[0]
    assert "give car ref_channels: [EEG Fpz-Cz, EEG Pz-Oz]" in said[0]  # for 'ECG', which no type word names

    spec, said = _car_of(path, caplog, infer_types=True)
    mne_raw = mne.io.read_raw_edf(path, infer_types=True, verbose="error")
    assert list(spec.channel_names) == mne_raw.ch_names == ["Fpz-Cz", "Pz-Oz", "horizontal", "submental", "ECG"]
    assert list(spec.channel_types) == mne_raw.get_channel_types() == ["eeg", "eeg", "eog", "emg", "eeg"]
    assert len(said) == 1 and "channel(s) 'ECG', typed eeg" in said[0] and "infer_types" not in said[0].split("fix:")[1]

    wav = tmp_path / "a.wav"
    import soundfile as sf

    sf.write(wav, np.zeros((100, 2)), 8000)
    with pytest.raises(SpecError, match="infer_types is for EDF/BDF files"):
        FileSource(path=str(wav), infer_types=True).configure({})


def test_plot_of_a_file_in_the_data_cache_writes_its_png_in_the_current_folder(tmp_path, monkeypatch, capsys):
    """Before: `wavegraph plot FILE` of a data set's file (in $WAVEGRAPH_DATA, ~/.cache/wavegraph) wrote its PNG into the
    cache, beside the file, where no one looks (and a cache clean-up deletes it). It now goes to the current folder,
    said with why (the printed path is the PNG's); a file elsewhere still gets its PNG beside it."""
    import soundfile as sf
    from wavegraph.nodes.io.plot import main

    cache, work = tmp_path / "cache", tmp_path / "work"
    (cache / "speech").mkdir(parents=True)
    work.mkdir()
    wav = cache / "speech" / "a.wav"
    sf.write(wav, np.sin(np.arange(800) / 5.0) * 0.1, 8000)
    monkeypatch.setenv("WAVEGRAPH_DATA", str(cache))
    monkeypatch.chdir(work)
    assert main([str(wav)]) == 0
    out, err = capsys.readouterr()
    assert (work / "a.wav.png").is_file() and not (cache / "speech" / "a.wav.png").exists()
    assert out.strip() == "a.wav.png"
    assert f"wrote a.wav.png in the current folder ({work}), not beside {wav}: its folder is wavegraph's data" in err

    mine = tmp_path / "mine" / "b.wav"
    mine.parent.mkdir()
    sf.write(mine, np.zeros(800), 8000)
    assert main([str(mine)]) == 0
    assert (mine.parent / "b.wav.png").is_file() and "note:" not in capsys.readouterr().err


def _mixed_wav(tmp_path, x: np.ndarray, caplog, **params) -> list[str]:
    """What `mix` says of a 16 kHz WAV of channels x replayed by file_source in 1600-sample chunks."""
    import soundfile as sf
    from wavegraph.nodes.dsp.channels import Mix
    from wavegraph.nodes.io.file_source import FileSource

    path = tmp_path / "quad.wav"
    sf.write(path, x.T, 16000, subtype="FLOAT")
    src = FileSource(path=str(path), chunk_size=1600)
    mix = Mix(**params)
    mix.configure({"in": src.configure({})["out"]})
    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.mix"):
        while (out := src.read()) is not None:
            mix.process({"in": out["out"]})
        mix.finish()
    src.close()
    return [r.getMessage() for r in caplog.records]


def test_mix_says_one_inverted_channel_of_four_which_never_reached_20_db(tmp_path, caplog):
    """Before: a 4-channel WAV of one source with one channel phase-inverted mixed 6 dB under the channels' level
    (one inverted channel of n: 20*log10(n/(n-2)) dB, never the documented 20 dB of a cancelling pair), unsaid; a pair
    with R = -0.8 L lost 19 dB unsaid. A channel inverted against the rest of the mix (correlation -0.8 or less) whose
    flip raises the mix 3 dB or more is now said once, naming it, with the weights that flip it; four unrelated
    channels, and a quiet inverted channel of a pair (R = -0.1 L: 1.7 dB), are not."""
    rng = np.random.default_rng(5)
    s = rng.standard_normal(16000 * 3) * 0.1
    noise = rng.standard_normal((4, s.size)) * 0.005
    said = _mixed_wav(tmp_path, np.stack([s, s, s, -s]) + noise, caplog)
    assert len(said) == 1, said
    assert said[0].startswith("mix: its channel 'ch3' is inverted against 'ch0', 'ch1', 'ch2' (correlation -1.00):")
    assert "RMS is 6.0 dB under the channels' mean RMS and 6.0 dB under the mix with it flipped" in said[0]
    assert said[0].endswith("weights: [0.25, 0.25, 0.25, -0.25]")

    said = _mixed_wav(tmp_path, np.stack([s, -0.8 * s]), caplog, weights=[0.5, 0.5])
    assert len(said) == 1 and "channel 'ch1' is inverted against 'ch0'" in said[0], said
    assert "19.1 dB under their level in phase" in said[0] and said[0].endswith("weights: [0.5, -0.5]")

    assert _mixed_wav(tmp_path, rng.standard_normal((4, s.size)) * 0.1, caplog) == []
    assert _mixed_wav(tmp_path, np.stack([s, -0.1 * s]), caplog) == []
