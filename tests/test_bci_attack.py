"""The BCI path on real recordings (ssvepy's SSVEP epochs) and their realistic variants: flat or zeroed stretches,
odd rates and stimulus frequencies, markers; results checked against offline computations written here."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import dataset
from wavegraph.nodes.models.ssvep import SSVEPDecoder, SSVEPTrialDecoder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec
from wavegraph.pipeline.testing import assert_streaming_equivalent, run_chunked

OCC = ["O1", "Oz", "O2", "PO3", "POz", "PO4", "PO7", "PO8"]
RATE = 256.0


@pytest.fixture(scope="module")
def real():
    """4 s of each of ssvepy's first 3 epochs (real SSVEP at 6 Hz), occipital channels, volts: (8, 3072)."""
    import mne

    ep = mne.read_epochs(dataset("ssvepy-epochs"), verbose="error").pick(OCC)
    return np.concatenate([e[:, : int(4 * RATE)] for e in ep.get_data()[:3]], axis=1)


def fbcca(**kw):
    return SSVEPDecoder(**{"method": "fbcca", "freqs": [6.0, 7.5, 10.0, 12.0], "window": 2.0, "step": 0.5, **kw})


def test_a_window_without_signal_gets_no_decision_and_is_counted(real, caplog):
    """A flat recording (every channel 0, or each at its own DC offset: electrodes off) was decided 6 Hz (the first
    frequency: every score 0) in every window, and windows inside a zeroed stretch after real EEG were decided on the
    sub-band filters' ringing (scores like real ones). They get NaN scores and no decision now, counted and said."""
    spec = signal_spec(RATE, OCC)
    n = real.shape[1]
    for flat in (np.zeros_like(real), np.linspace(-1e-4, 1e-4, len(OCC))[:, None] + np.zeros_like(real)):
        node = fbcca()
        with caplog.at_level(logging.WARNING, "wavegraph.ssvep"):
            out = run_chunked(node, flat, spec, [64] * (n // 64))
        assert out["out"].shape == (0, 3), f"decided {out['out'][:, 2]} on no signal"
        assert np.isnan(out["scores"]).all()
        assert node.counters["undecided_flat"] == out["scores"].shape[0] == 21
        assert "no signal" in caplog.text and "undecided_flat" in caplog.text
    # real EEG, then 6 s of zeros: the windows on the EEG are decided as without the zeros; those deep in the zeros
    # (the sub-bands' ringing under 0.1 nV) are not
    x = np.concatenate([real, np.zeros((len(OCC), int(6 * RATE)))], axis=1)
    ref = run_chunked(fbcca(), real, spec, [n])
    node = fbcca()
    got = run_chunked(node, x, spec, [n, x.shape[1] - n])
    k = ref["scores"].shape[0]
    np.testing.assert_array_equal(got["scores"][:k], ref["scores"])
    np.testing.assert_array_equal(got["out"][:k], ref["out"])
    assert np.isnan(got["scores"][-6:]).all() and node.counters["undecided_flat"] >= 6
    assert got["out"][-1, 0] < (n + 4 * RATE) / RATE  # no decision on a window starting 4 s into the zeros


def test_windows_without_signal_are_the_same_in_any_chunking(real):
    """Which windows have no signal is tracked across chunks (a constant stretch that starts and ends mid-chunk)."""
    x = real[:, :2048].copy()
    x[:, 700:1500] = x[:, 700:701]  # each channel held at its value (a frozen amplifier)
    whole = assert_streaming_equivalent(lambda: fbcca(window=1.0, step=0.25), x, signal_spec(RATE, OCC), rtol=1e-9)
    starts = np.arange(whole["scores"].shape[0]) * 64
    inside = (starts > 700) & (starts + 256 <= 1500)
    assert inside.sum() == 9 and np.isnan(whole["scores"][inside]).all()
    assert np.isfinite(whole["scores"][~inside]).all()


def test_a_trial_on_a_flat_stretch_gets_no_decision(real):
    """ssvep_trial_decoder: a marker whose window holds no signal was decided (the first frequency); now counted."""
    x = np.concatenate([real[:, :1024], np.zeros((len(OCC), 1024)) + 3e-5], axis=1)
    specs = {"in": signal_spec(RATE, OCC), "events": StreamSpec("events", 0.0, (3,), "float64")}
    node = SSVEPTrialDecoder(method="fbcca", freqs=[6.0, 7.5, 10.0, 12.0], window=1.0, pre=0.5)
    node.configure(specs)
    outs = [node.process({"events": Chunk(np.array([[1.0, 1.0, 1], [5.0, 1.0, 1]]), 1.0)})]
    outs += [node.process({"in": Chunk(x[:, i : i + 128], i / RATE)}) for i in range(0, x.shape[1], 128)]
    outs.append(node.finish())
    ev = np.concatenate([o["out"].data for o in outs if "out" in o])
    assert ev[:, 0].tolist() == [1.0]  # the trial on real EEG only
    assert node.counters == {"undecided_flat": 1}


def test_a_stimulus_frequency_the_sub_bands_filter_out_is_refused_with_the_rate_that_keeps_it(real):
    """At 128 Hz the sub-bands end at 57.6 Hz (0.45 x the rate): a clear 60 Hz SSVEP (below Nyquist, 64 Hz) was
    filtered out and never chosen, without a word (at 250 Hz likewise 100 Hz, past the 90 Hz edge). Such a frequency
    is refused, naming the edge and the rate to resample to; resampled so, the 60 Hz target is chosen."""
    from scipy.signal import resample_poly
    from wavegraph.pipeline.api import GraphBuilder
    from wavegraph.pipeline.spec import SpecError

    x = resample_poly(real[:, :2048], 1, 2, axis=-1)  # 8 s at 128 Hz
    x = x + 3e-6 * np.sin(2 * np.pi * 60.0 * np.arange(x.shape[1]) / 128.0)  # a 60 Hz SSVEP of 3 uV
    with pytest.raises(SpecError, match=r"60 Hz are not below the decoder's sub-bands, which end at 57.6 Hz") as e:
        fbcca(freqs=[7.0, 60.0]).configure({"in": signal_spec(128.0, OCC)})
    assert "resample the stream to 134 Hz or more" in e.value.hint
    with pytest.raises(SpecError, match=r"100 Hz are not below .* end at 90 Hz"):
        fbcca(freqs=[7.0, 100.0]).configure({"in": signal_spec(250.0, OCC)})
    g = GraphBuilder()
    src = g.add("array_source", data=x, rate=128.0, ch_names=OCC, ch_types="eeg", chunk_size=32)
    dec = g.add("ssvep_decoder", g.add("resample", src, rate=256.0), freqs=[7.0, 60.0], window=2.0, step=1.0)
    codes = g.run(capture=[f"{dec}.out"])[f"{dec}.out"].data[:, 2]
    assert codes.size >= 5 and (codes == 2).all(), codes


def _cca_rho(x: np.ndarray, y: np.ndarray) -> float:
    """Largest canonical correlation from the covariances: rho^2 = top eigenvalue of Cxx^-1 Cxy Cyy^-1 Cyx."""
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    cxx, cyy, cxy = x @ x.T, y @ y.T, x @ y.T
    m = np.linalg.solve(cxx, cxy) @ np.linalg.solve(cyy, cxy.T)
    return float(np.sqrt(np.max(np.linalg.eigvals(m).real)))


def test_fbcca_decisions_on_real_ssvep_equal_an_offline_cca_written_here(real):
    """The sliding decoder on real SSVEP, in 13-sample chunks, against FBCCA computed here from the
    paper: scipy's cheby1 sub-bands [8n-2, 90] Hz run causally over the whole signal, covariance CCA against
    sin/cos references, weights n^-1.25 + 0.25. Same scores (1e-6) and decisions, stamped at each window's start."""
    from scipy.signal import cheby1, sosfilt

    x = real[:, :2048]
    freqs, size, hop = [6.0, 7.5, 8.57, 12.0], 512, 128  # (no 10 Hz: its 5th harmonic is the mains)
    n = x.shape[1]
    got = run_chunked(fbcca(freqs=freqs), x, signal_spec(RATE, OCC), [13] * (n // 13) + [n % 13])
    t = np.arange(size) / RATE
    refs = [np.vstack([g(2 * np.pi * h * f * t) for h in range(1, 6) for g in (np.sin, np.cos)]) for f in freqs]
    bands = [
        np.asarray(sosfilt(cheby1(4, 0.5, [8 * k + 6, 90], "bandpass", fs=RATE, output="sos"), x)) for k in range(5)
    ]
    w = np.arange(1, 6) ** -1.25 + 0.25
    want = np.array(
        [
            [sum(w[k] * _cca_rho(bands[k][:, s : s + size], ref) ** 2 for k in range(5)) for ref in refs]
            for s in range(0, n - size + 1, hop)
        ]
    )
    np.testing.assert_allclose(got["scores"], want, rtol=1e-6)
    np.testing.assert_array_equal(got["out"][:, 2], 1 + np.argmax(want, axis=1))
    np.testing.assert_allclose(got["out"][:, 0], np.arange(len(want)) * hop / RATE)
    assert (got["out"][:, 2] == 1).mean() > 0.8  # the recording's 6 Hz


def test_a_recording_shorter_than_one_window_says_it_got_no_decision(real, caplog):
    """A 1.5 s recording replayed through a 2 s decoder gave no decision and no word of why (an empty decisions file,
    `out 0`): the samples are counted samples_short_of_window and the reason is said. A longer one is not."""
    spec = signal_spec(RATE, OCC)
    node = fbcca()
    with caplog.at_level(logging.WARNING, "wavegraph.ssvep"):
        out = run_chunked(node, real[:, :384], spec, [32] * 12)
    assert out["out"].shape == (0, 3) and node.counters == {"samples_short_of_window": 384}
    assert "shorter than one window (2 s)" in caplog.text and "1.500 s" in caplog.text
    caplog.clear()
    node = fbcca()
    with caplog.at_level(logging.WARNING, "wavegraph.ssvep"):
        out = run_chunked(node, real[:, :600], spec, [600])
    assert out["out"].shape == (1, 3) and node.counters == {} and not caplog.text


def test_channels_a_clinical_edf_spells_otherwise_get_a_fix_in_its_own_spelling(real, tmp_path):
    """A real recording exported as a clinical EDF names its channels 'EEG O1-REF': the decoder's `channels` [O1, ...]
    were refused with the fix 'e.g. [O1, Oz, O2]' (the names just refused). The fix now gives the file's names, and
    its --set, parsed as the command line does, decodes the file as the recording under the 10-20 names."""
    import mne
    from wavegraph.pipeline.api import GraphBuilder
    from wavegraph.pipeline.config import GraphError
    from wavegraph.pipeline.set_overrides import parse_set

    x = real[:, :1024]
    raw = mne.io.RawArray(x, mne.create_info([f"EEG {c}-REF" for c in OCC], RATE, "eeg"), verbose="error")
    path = tmp_path / "clinical.edf"
    mne.export.export_raw(path, raw, verbose="error")

    def decide(channels, source):
        g = GraphBuilder()
        dec = g.add("ssvep_decoder", source(g), freqs=[6.0, 7.5, 8.57, 12.0], window=2.0, step=1.0, channels=channels)
        return g.run(capture=[f"{dec}.out"])[f"{dec}.out"].data

    def edf(g):
        return g.add("file_source", path=str(path), chunk_size=32)

    with pytest.raises(GraphError) as e:
        decide(OCC[:3], edf)
    fix = str(e.value)
    assert "e.g. [EEG O1-REF, EEG Oz-REF, EEG O2-REF]" in fix
    ((_, _, channels),) = parse_set([fix.split("--set '")[1].split("'")[0].replace("NODE.", "decoder.")])
    got = decide(channels, edf)
    ref = decide(OCC[:3], lambda g: g.add("array_source", data=x, rate=RATE, ch_names=OCC, ch_types="eeg"))
    assert got.shape == ref.shape == (3, 3)
    np.testing.assert_array_equal(got[:, 2], ref[:, 2])


def test_markers_stamped_to_the_ms_at_250_hz_cut_the_epochs_and_trials_mne_cuts(real, tmp_path):
    """At 250 Hz a marker stamped to the ms lies half way between two samples one time in four (1.302 s: sample
    325.5). epochs and ssvep_trial_decoder took the earlier sample; MNE's events_from_annotations rounds half to even
    (326), so 1 epoch in 8 was a sample off mne.Epochs on the same file. Now the same samples: epochs equal MNE's,
    and each trial decision equals FBCCA on the window cut at MNE's event sample."""
    import mne
    from scipy.signal import resample_poly, sosfilt
    from wavegraph.nodes.dsp.epochs import Epochs
    from wavegraph.nodes.io.file_source import FileSource

    rate = 250.0
    x = resample_poly(real[:, :2048], 125, 128, axis=-1)  # 8 s at 250 Hz
    raw = mne.io.RawArray(x, mne.create_info(OCC, rate, "eeg"), verbose="error")
    onsets = np.round(np.arange(1.3, 5.9, 0.41) + 0.002, 3)  # whole ms, several at half a sample
    assert (np.abs((onsets * rate) % 1 - 0.5) < 1e-9).sum() >= 5
    raw.set_annotations(mne.Annotations(onsets, 0.0, ["1"] * onsets.size))
    path = tmp_path / "ms_raw.fif"
    raw.save(path, verbose="error")
    raw = mne.io.read_raw_fif(path, verbose="error")
    events, _ = mne.events_from_annotations(raw, verbose="error")
    want = mne.Epochs(raw, events, tmin=-0.1, tmax=0.2, baseline=None, preload=True, verbose="error").get_data()

    src = FileSource(path=str(path), chunk_size=37)
    specs = src.configure({})
    node = Epochs(tmin=-0.1, tmax=0.2)
    node.configure({"in": specs["out"], "events": specs["events"]})
    trial = SSVEPTrialDecoder(method="fbcca", freqs=[6.0, 7.5, 8.57, 12.0], window=1.0, pre=0.5, delay=0.14)
    trial.configure({"in": specs["out"], "events": specs["events"]})
    outs, decided = [], []
    while (o := src.read()) is not None:
        inputs = {"in": o["out"], **({"events": o["events"]} if "events" in o else {})}
        outs.append(node.process(inputs))
        decided.append(trial.process(inputs))
    outs += node.finish_all()
    decided += trial.finish_all()
    got = np.concatenate([o["out"].data for o in outs if "out" in o])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    scores = np.concatenate([o["scores"].data for o in decided if "scores" in o])
    data = np.asarray(raw.get_data())
    assert scores.shape[0] == len(events)
    for row, s in zip(scores, events[:, 0].tolist()):
        seg = data[:, s - 125 : s + 35 + 250]
        y = np.stack([sosfilt(sos, seg, axis=-1) for sos in trial.scorer.sos])[..., -250:]
        np.testing.assert_allclose(row, trial.scorer.scores(y), rtol=1e-9)


def test_the_shipped_dnn_decodes_eegmmidbs_own_edf_whose_names_carry_dots():
    """The shipped DNN (trained at 160 Hz on EEGMMIDB's occipital channels, named O1, PO3, ...) on EEGMMIDB's own EDF
    ('O1..', 'Po3.'): refused, and the fix ('set `channels` to [Pz.., Po3., ...]') was refused in turn ('differ from
    the checkpoint's; drop `channels`'): no way to run it. `channels` may now give the stream's spelling of the
    checkpoint's channels, in its order; the fix says so, and the decisions equal those on the channels renamed."""
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.pipeline.set_overrides import parse_set
    from wavegraph.pipeline.spec import SpecError

    ckpt = "models/weights/ssvep_dnn_40f_160hz_200ms.safetensors"
    src = FileSource(path=str(dataset("eegmmidb-s001r02")), chunk_size=1280)
    spec = src.configure({})["out"]
    first = src.read()
    assert first is not None
    x = first["out"].data  # the first 8 s
    src.close()
    ev_spec = StreamSpec("events", 0.0, (3,), "float64")
    markers = Chunk(np.array([[1.0, 1.0, 1], [3.3, 1.0, 1], [5.55, 1.0, 1]]), 1.0)

    def scores(node, spec):
        node.configure({"in": spec, "events": ev_spec})
        outs = [node.process({"events": markers})]
        outs += [node.process({"in": Chunk(x[:, i : i + 160], i / 160.0)}) for i in range(0, x.shape[1], 160)]
        return np.concatenate([o["scores"].data for o in outs + node.finish_all() if "scores" in o])

    with pytest.raises(SpecError) as e:
        SSVEPTrialDecoder(method="dnn", checkpoint=ckpt).configure({"in": spec, "events": ev_spec})
    assert "set `channels` to the stream's names of the checkpoint's channels, in its order" in e.value.hint
    ((_, _, channels),) = parse_set([e.value.hint.split("--set '")[1].split("'")[0].replace("NODE.", "decoder.")])
    assert channels[:2] == ["Pz..", "Po3."]
    got = scores(SSVEPTrialDecoder(method="dnn", checkpoint=ckpt, channels=channels), spec)
    renamed = [n.strip(".").upper().replace("Z", "z") for n in spec.channel_names]
    want = scores(SSVEPTrialDecoder(method="dnn", checkpoint=ckpt), signal_spec(160.0, renamed))
    assert got.shape == (3, 40)
    np.testing.assert_array_equal(got, want)


def test_trials_of_an_epochs_file_are_decided_after_each_gap_as_after_the_stream_start():
    """ssvepy's epochs file (the replay graph's default: 16 epochs, each a segment after a gap, its marker on the
    first sample): ssvep_trial_decoder decided the first trial (its pre-roll cut at the stream start, short_preroll)
    and dropped the 15 others as gap_in_trial, though their windows hold no gap: only the pre-roll reached back
    across the gap. Each is now filtered from its epoch's start, as the first; each decision equals FBCCA on the
    epoch filtered from its first sample."""
    from scipy.signal import sosfilt
    from wavegraph.nodes.io.file_source import FileSource

    src = FileSource(path="dataset:ssvepy-epochs", picks=OCC, chunk_size=512)
    specs = src.configure({})
    node = SSVEPTrialDecoder(method="fbcca", freqs=[6.0, 7.5, 8.57, 12.0], window=2.0, delay=0.14)
    node.configure({"in": specs["out"], "events": specs["events"]})
    outs, epochs = [], []
    while (o := src.read()) is not None:
        if o["out"].gap or not epochs:
            epochs.append([])
        epochs[-1].append(o["out"].data)
        outs.append(node.process({"in": o["out"], **({"events": o["events"]} if "events" in o else {})}))
    src.close()
    outs += node.finish_all()
    ev = np.concatenate([o["out"].data for o in outs if "out" in o])
    scores = np.concatenate([o["scores"].data for o in outs if "scores" in o])
    assert len(ev) == 16 and node.counters == {"short_preroll": 16}
    np.testing.assert_allclose(ev[:, 0], np.arange(16) * 16.0)
    for row, parts in zip(scores, epochs):
        x = np.concatenate(parts, axis=1)[:, : round(0.14 * RATE) + 512]
        y = np.stack([sosfilt(sos, x, axis=-1) for sos in node.scorer.sos])[..., -512:]
        np.testing.assert_allclose(row, node.scorer.scores(y), rtol=1e-9)
    assert (ev[:, 2] == 1).sum() >= 10  # 6 Hz, the recording's


def test_decisions_follow_a_drifting_amplifiers_clock_as_sliding_windows_do(real):
    """A live amplifier whose clock runs 2000 ppm off its nominal 256 Hz (lsl_inlet stamps each chunk from the LSL
    timestamps): ssvep_decoder stamped every window from the first chunk's t0 on the nominal grid, 22 ms off the
    LSL clock after 12 s and growing without bound, while sliding_window, epochs and ssvep_trial_decoder follow the
    chunk times. The decoder re-anchors as sliding_window does: the same window starts, within window x drift."""
    from wavegraph.nodes.dsp.windows import SlidingWindow

    drift, t_start = 2000e-6, 5000.0
    times = t_start + np.arange(real.shape[1] + 1) * (1 + drift) / RATE  # each sample's time on the LSL clock
    spec = signal_spec(RATE, OCC)
    node, frames = fbcca(window=1.0, step=0.5), SlidingWindow(size=256, hop=128)
    node.configure({"in": spec})
    frames.configure({"in": spec})
    onsets, starts = [], []
    for i in range(0, real.shape[1], 32):
        c = Chunk(real[:, i : i + 32], float(times[i]))
        if "out" in (o := node.process({"in": c})):
            onsets.append(o["out"].data[:, 0])
        if "out" in (f := frames.process({"in": c})):
            starts.append(f["out"].t0 + np.arange(f["out"].data.shape[0]) * 128 / RATE)
    onsets = np.concatenate(onsets)
    np.testing.assert_allclose(onsets, np.concatenate(starts)[: onsets.size], rtol=0, atol=1e-9)
    assert np.abs(onsets - times[np.arange(onsets.size) * 128]).max() < 256 * drift / RATE + 1e-6


def test_eeg_tokens_and_the_models_after_them_follow_a_drifting_amplifiers_clock():
    """configs/eeg_tokens.yaml live (EEGMMIDB's real EEG, an amplifier 2000 ppm off its nominal 160 Hz): the tokenizer
    latched its resampler's first start and the conformer/mamba nodes their first input t0, so tokens, embeddings and
    model outputs drifted off the LSL clock (79 ms after 40 s) while the resampler inside follows the chunk times.
    Each now re-anchors as the resampler does: every output is within a few ms of the drifted clock."""
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.pipeline.registry import lookup

    src = FileSource(path="dataset:eegmmidb-s001r02", picks=["O1..", "Oz..", "O2.."], chunk_size=6400)
    spec = src.configure({})["out"]
    first = src.read()
    assert first is not None
    x = first["out"].data  # 40 s
    src.close()
    drift, t_start, rate = 2000e-6, 5000.0, 160.0
    tok = lookup("eeg_tokenizer")()
    enc = lookup("conformer_encoder")(
        random_init=True, seed=0, d_model=64, n_layers=2, subsampling=2, att_context_sizes=[[16, 0]]
    )
    ssm = lookup("mamba")(random_init=True, seed=0, d_model=64, n_layers=2)
    tok_specs = tok.configure({"in": spec})
    enc_spec = enc.configure({"in": tok_specs["embeddings"]})["out"]
    ssm.configure({"in": enc_spec})
    stamps: dict[str, list[float]] = {"tok": [], "enc": [], "ssm": []}
    for i in range(0, x.shape[1], 16):
        t = tok.process({"in": Chunk(x[:, i : i + 16], t_start + i * (1 + drift) / rate)})
        if (out := t.get("embeddings")) is None:
            continue
        stamps["tok"] += list(out.t0 + np.arange(out.data.shape[0]) / 2.0)
        if "out" in (e := enc.process({"in": out})):
            stamps["enc"] += list(e["out"].t0 + np.arange(e["out"].data.shape[0]) / enc_spec.rate)
            if "out" in (m := ssm.process({"in": e["out"]})):
                stamps["ssm"] += list(m["out"].t0 + np.arange(m["out"].data.shape[0]) / enc_spec.rate)
    for name, got in stamps.items():
        got = np.asarray(got)
        period = 0.5 if name == "tok" else 1 / enc_spec.rate
        want = t_start + np.arange(got.size) * period * (1 + drift)  # each frame's start on the drifted clock
        assert got.size >= 30 and np.abs(got - want).max() < 0.005, (name, np.abs(got - want).max())


@pytest.mark.parametrize(
    ("rate", "n_bands", "said", "fix"),
    [
        (256.0, 12, "sub-band 12 would start at 94 Hz, not below the sub-bands' top edge 90 Hz", "set n_bands to 11"),
        (
            128.0,
            8,
            "sub-band 8 would start at 62 Hz, not below the sub-bands' top edge 57.6 Hz",
            "resample the stream to 138",
        ),
    ],
)
def test_too_many_sub_bands_say_how_many_fit_and_resample_only_where_it_helps(real, rate, n_bands, said, fix):
    """n_bands past the sub-bands' top edge said 'use fewer sub-bands or a higher sampling rate; fix: lower
    n_bands/freqs or resample to a higher rate' at 256 Hz too, where the top is FBCCA's 90 Hz: no rate helps, and
    freqs have nothing to do with it. It says how many fit (which then decode the real recording), and a rate to
    resample to only below 200 Hz."""
    from scipy.signal import resample_poly
    from wavegraph.pipeline.spec import SpecError

    with pytest.raises(SpecError, match=said) as e:
        fbcca(n_bands=n_bands).configure({"in": signal_spec(rate, OCC)})
    assert fix in e.value.hint and "freqs" not in e.value.hint
    assert ("resample" in e.value.hint) == (rate < 200)
    most = int(e.value.hint.split("set n_bands to ")[1].split()[0])
    x = resample_poly(real[:, :2048], int(rate), 256, axis=-1)
    out = run_chunked(fbcca(n_bands=most, freqs=[6.0, 7.5, 8.57, 12.0]), x, signal_spec(rate, OCC), [x.shape[1]])
    assert (out["out"][:, 2] == 1).mean() > 0.6  # 6 Hz, the recording's


def test_codes_that_match_no_marker_of_a_recording_are_said_with_the_codes_it_has(real, tmp_path, caplog):
    """A recording with markers '6' and '7.5' replayed through a trial decoder or epochs set up for the live session
    (`codes: [75]`, lsl_inlet's marker_codes {"7.5": 75}): file_source numbers '7.5' 7, so nothing was decided or
    epoched, and only the summary's ignored_marker said anything. The end of the run says which codes the markers
    had; `codes` set to those decides every trial."""
    import mne
    from wavegraph.pipeline.api import GraphBuilder

    raw = mne.io.RawArray(real, mne.create_info(OCC, RATE, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([1.0, 4.5, 8.0], 2.0, ["6", "7.5", "6"]))
    path = tmp_path / "calib_raw.fif"
    raw.save(path, verbose="error")

    def run(node_type, codes, **kw):
        g = GraphBuilder()
        src = g.add("file_source", path=str(path), chunk_size=64)
        node = g.add(node_type, src, codes=codes, **kw)
        g.connect(f"{src}.events", f"{node}.events")
        return g.run(capture=[f"{node}.out"])[f"{node}.out"].data

    trial = {"freqs": [6.0, 7.5, 8.57, 12.0], "window": 1.0}
    for node_type, kw, what in (("ssvep_trial_decoder", trial, "trial decision"), ("epochs", {}, "epoch")):
        caplog.clear()
        with caplog.at_level(logging.WARNING, "wavegraph.markers"):
            assert len(run(node_type, [75], **kw)) == 0
        assert f"no {what} was made; the markers had codes 6 ('6') x2, 7 ('7.5') x1" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.markers"):
        assert len(run("ssvep_trial_decoder", [6, 7], **trial)) == 3
    assert not caplog.text


@pytest.mark.parametrize("spelling", ["{}", "EEG {}-REF"])
def test_eeg_tokens_picks_on_a_file_spelling_them_otherwise_give_the_picks_in_its_spelling(real, tmp_path, spelling):
    """configs/eeg_tokens.yaml picks EEGMMIDB's names ('O1..', 'Po7.'): on a lab's own recording ('O1', or a clinical
    EDF's 'EEG O1-REF') file_source said only 'no channel O1..' and listed every channel. It now says how the file
    spells it and gives the picks in the file's spelling, which replay the channels meant, in the config's order."""
    import mne
    from wavegraph.nodes.io.file_source import FileSource
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.set_overrides import parse_set
    from wavegraph.pipeline.spec import SpecError

    names = [spelling.format(c) for c in OCC]
    raw = mne.io.RawArray(real[:, :512], mne.create_info(names, RATE, "eeg"), verbose="error")
    path = tmp_path / ("lab_raw.fif" if spelling == "{}" else "clinical.edf")
    (raw.save(path, verbose="error") if path.suffix == ".fif" else mne.export.export_raw(path, raw, verbose="error"))
    picks = [
        p
        for p in load_config("configs/eeg_tokens.yaml").nodes[0].params["picks"]
        if p.strip(".").upper() in {c.upper() for c in OCC}
    ]  # the config's picks this recording has: O1.., Oz.., O2.., Po7., Poz., Po8.
    assert len(picks) == 6
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path), picks=picks).configure({})
    assert f"the file spells it {spelling.format('O1')!r}" in str(e.value)
    ((_, _, fixed),) = parse_set([e.value.hint.split("--set '")[1].split("'")[0].replace("NODE.", "src.")])
    src = FileSource(path=str(path), picks=fixed)
    spec = src.configure({})["out"]
    first = src.read()
    assert first is not None
    src.close()
    meant = [OCC.index(p.strip(".").upper().replace("Z", "z")) for p in picks]
    assert list(spec.channel_names) == [names[i] for i in meant]
    np.testing.assert_allclose(first["out"].data, real[meant, : first["out"].data.shape[1]], rtol=1e-4, atol=1e-9)
