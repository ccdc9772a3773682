"""Session 46 probe: the first graphs a Timeflux or ezmsg user writes from the docs alone, on real data, each compared
with what MNE/scipy/numpy give offline. What went wrong: an `lsl_outlet` fed an stft spectrogram failed at configure
with "IndexError: tuple index out of range" (it labelled column i with channel name i), and a CSV named those columns
f0..f129; `magnitude`'s log floor (1e-10, audio's) cut 17 % of a real EEG spectrogram in volts to -10, unsaid; and
`pick_channels: [C3]` on PhysioNet's 'C3..' listed 64 names without saying which one was meant. Kept as examples: alpha
band power to a CSV, an EMG envelope through the documented rectifier node, SSVEP scores from a replayed epochs file,
a two-rate join across processes."""

import logging

import mne
import numpy as np
import pytest
import scipy.signal as ss
from conftest import dataset
from wavegraph.nodes.dsp.spectral import Magnitude
from wavegraph.nodes.dsp.windows import STFT
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.cli import main
from wavegraph.pipeline.spec import signal_spec

EEG = "dataset:eegmmidb-s001r02"
OCC = ["O1..", "Oz.."]


def _eeg(picks):
    raw = mne.io.read_raw(dataset("eegmmidb-s001r02"), verbose="error")
    return raw.get_data(picks=picks), raw.info["sfreq"]


def _graph(tmp_path, text, name="g.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _stft_power_reference(x, n_fft, hop, frames, floor):
    """Offline: n_fft - hop zeros before, zeros after, frames every hop, hann (periodic), |rfft|^2, log10 with floor."""
    w = ss.get_window("hann", n_fft)
    xp = np.concatenate([np.zeros((x.shape[0], n_fft - hop)), x, np.zeros((x.shape[0], n_fft))], axis=1)
    fr = np.stack([xp[:, k * hop : k * hop + n_fft] for k in range(frames)])
    p = np.abs(np.fft.rfft(fr * w, axis=-1)) ** 2
    return np.log10(np.maximum(p.reshape(frames, -1), floor))


SPECTROGRAM = f"""\
name: spectrogram
nodes:
  - {{id: src, type: file_source, params: {{path: "{EEG}", chunk_size: 20, picks: {OCC}}}}}
  - {{id: spec, type: stft, params: {{n_fft: 128, hop: 32, window: hann}}}}
  - {{id: mag, type: magnitude, params: {{power: 2, log: true, floor: 1.0e-30}}}}
  - {{id: rec, type: recorder, params: {{path: REC}}}}
edges:
  - {{source: src.out, target: spec.in}}
  - {{source: spec.out, target: mag.in}}
  - {{source: mag.out, target: rec.in}}
"""


def test_a_csv_of_an_eeg_spectrogram_names_each_column_by_channel_and_frequency_and_equals_numpy(tmp_path):
    """Before: the header was t,f0,...,f129: 65 bins of two channels, channel and frequency unsaid (f65 was Oz at 0 Hz)."""
    out = tmp_path / "spectrogram.csv"
    g = _graph(tmp_path, SPECTROGRAM.replace("REC", str(out)))
    assert main(["run", str(g), "--in-process", "--no-status"]) == 0
    header = out.read_text().splitlines()[0].split(",")
    assert header[:4] == ["t", "O1..:0Hz", "O1..:1.25Hz", "O1..:2.5Hz"]  # 160 Hz / 128 per bin
    assert header[65] == "O1..:80Hz" and header[66] == "Oz..:0Hz" and len(header) == 1 + 2 * 65
    got = np.loadtxt(out, delimiter=",", skiprows=1)
    x, _ = _eeg(OCC)
    np.testing.assert_allclose(got[:, 1:], _stft_power_reference(x, 128, 32, len(got), 1e-30), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[:, 0], np.arange(len(got)) * 32 / 160.0)


def test_an_lsl_outlet_fed_an_stft_spectrogram_labels_its_columns_instead_of_failing(tmp_path, capsys):
    """Before: validate said "configure() failed: IndexError: tuple index out of range; ... this is a bug in the node"."""
    pytest.importorskip("pylsl")
    from wavegraph.nodes.io.lsl_outlet import LslOutlet

    g = _graph(
        tmp_path,
        SPECTROGRAM.replace("type: recorder, params: {path: REC}", "type: lsl_outlet, params: {name: spectro}"),
    )
    assert main(["validate", str(g)]) == 0, capsys.readouterr().err
    spec = signal_spec(160.0, OCC, "eeg")
    frames = Magnitude().configure({"in": STFT(n_fft=128, hop=32).configure({"in": spec})["out"]})["out"]
    node = LslOutlet(name="spectro-probe46")
    node.configure({"in": frames})
    info = node._info
    ch, labels, types = info.desc().child("channels").child("channel"), [], []
    while not ch.empty():
        labels.append(ch.child_value("label"))
        types.append(ch.child_value("type"))
        ch = ch.next_sibling()
    assert info.channel_count() == 130 and len(labels) == 130
    assert labels[0] == "O1..:0Hz" and labels[8] == "O1..:10Hz" and labels[65 + 8] == "Oz..:10Hz"
    assert set(types) == {"eeg"}


def test_magnitude_says_when_its_log_floor_cuts_eeg_in_volts_and_not_for_silence(caplog):
    """Before: 17 % of the log power spectrogram of the real EEGMMIDB recording (85 % of its bins above 30 Hz) came out
    log10(1e-10) = -10, the floor that suits audio at full scale 1, and nothing said so."""
    x, rate = _eeg(OCC)
    stft = STFT(n_fft=128, hop=32, window="hann")
    spec = stft.configure({"in": signal_spec(rate, OCC, "eeg")})["out"]
    z = stft.process({"in": Chunk(x, t0=0.0)})["out"].data
    mag = Magnitude(power=2, log=True)
    mag.node_id = "mag"
    mag.configure({"in": spec})
    with caplog.at_level(logging.WARNING, "wavegraph.magnitude"):
        y = mag.process({"in": Chunk(z, t0=0.0)})["out"].data
        mag.process({"in": Chunk(z, t0=100.0)})
    assert np.mean(y == -10.0) > 0.1  # the values are as documented: the floor is applied
    said = [r for r in caplog.records if r.name == "wavegraph.magnitude"]
    assert len(said) == 1  # once
    assert "magnitude 'mag'" in said[0].message and "floor 1e-10 (V^2)" in said[0].message
    assert "fix: give a floor" in said[0].message
    assert mag.counters["below_floor"] == 2 * int(np.count_nonzero((np.abs(z) ** 2 < 1e-10) & (z != 0)))
    caplog.clear()
    quiet = Magnitude(power=2, log=True, floor=1e-30)
    quiet.configure({"in": spec})
    with caplog.at_level(logging.WARNING, "wavegraph.magnitude"):
        quiet.process({"in": Chunk(z, t0=0.0)})
        silent = Magnitude(power=2, log=True)
        silent.configure({"in": spec})
        assert np.all(silent.process({"in": Chunk(np.zeros_like(z), t0=0.0)})["out"].data == -10.0)
    assert not caplog.records and "below_floor" not in quiet.counters and "below_floor" not in silent.counters


def test_a_pick_of_c3_on_physionets_dotted_names_says_which_channel_it_meant(tmp_path, capsys):
    """Before: "unknown channel 'C3'; fix: available channels: Fc5., Fc3., ..." (64 names), 'C3..' among them unsaid."""
    g = _graph(
        tmp_path,
        f"""\
nodes:
  - {{id: src, type: file_source, params: {{path: "{EEG}"}}}}
  - {{id: pick, type: pick_channels, params: {{pick: [C3, C4..]}}}}
  - {{id: sink, type: null_sink}}
edges:
  - {{source: src.out, target: pick.in}}
  - {{source: pick.out, target: sink.in}}
""",
    )
    assert main(["validate", str(g)]) == 2
    err = capsys.readouterr().err
    assert "unknown channel 'C3'; fix: did you mean 'C3..'?" in err


def test_alpha_band_power_neurofeedback_to_a_csv_equals_scipy_welch(tmp_path):
    """Example: CAR-free bandpass 1-40 Hz then alpha/beta band power every 0.5 s over 2 s, as scipy's welch gives it."""
    out = tmp_path / "alpha.csv"
    g = _graph(
        tmp_path,
        f"""\
name: alpha-nf
nodes:
  - {{id: src, type: file_source, params: {{path: "{EEG}", chunk_size: 16, picks: [O1.., O2..]}}}}
  - {{id: bp, type: bandpass, params: {{l_freq: 1.0, h_freq: 40.0}}}}
  - {{id: pow, type: bandpower, params: {{bands: {{alpha: [8, 13], beta: [13, 30]}}, window: 2.0, hop: 0.5}}}}
  - {{id: rec, type: recorder, params: {{path: {out}}}}}
edges:
  - {{source: src.out, target: bp.in}}
  - {{source: bp.out, target: pow.in}}
  - {{source: pow.out, target: rec.in}}
""",
    )
    assert main(["run", str(g), "--in-process", "--no-status"]) == 0
    assert out.read_text().splitlines()[0] == "t,O1..:alpha,O1..:beta,O2..:alpha,O2..:beta"
    got = np.loadtxt(out, delimiter=",", skiprows=1)[:, 1:]
    x, fs = _eeg(["O1..", "O2.."])
    y = ss.sosfilt(ss.iirfilter(4, [1, 40], btype="band", ftype="butter", output="sos", fs=fs), x)
    win, hop = int(2 * fs), int(0.5 * fs)
    rows = []
    for k in range((y.shape[1] - win) // hop + 1):
        f, p = ss.welch(y[:, k * hop : k * hop + win], fs, window="hann", nperseg=win)
        rows.append(
            [p[c, (f >= lo) & (f < hi)].sum() * (f[1] - f[0]) for c in range(2) for lo, hi in ((8, 13), (13, 30))]
        )
    np.testing.assert_allclose(got, np.array(rows), rtol=1e-10)


RECTIFY = '''\
import numpy as np
from wavegraph.nodes.nanpolicy import NanPolicy
from wavegraph.nodes.signal import SignalNode
from wavegraph.pipeline.node import NodeParams


class RectifyParams(NodeParams):
    nan_policy: NanPolicy = "zero"


class Rectify(SignalNode):
    """|x| (docs/nodes.md, magnitude): its output holds frequencies its input's filters took out."""

    Params = RectifyParams

    def setup(self, spec):
        return spec.evolve(dtype=self.dtype.name, highpass=0.0, lowpass=None, band=None)

    def transform(self, x):
        return np.abs(x)
'''


def test_an_emg_envelope_through_the_documented_rectifier_equals_scipy_across_processes(tmp_path, capsys):
    """Example: the real biosignalsnotebooks EMG (1 kHz) -> highpass 20 Hz -> |x| -> lowpass 5 Hz, the rectifier a user
    node beside the graph in a process of its own; validate says nothing of a passband, the output is scipy's."""
    from wavegraph.pipeline.datasets import read_opensignals

    data, rate = read_opensignals(dataset("bsn-emg-two-devices"), device="00:07:80:D8:A7:F9")
    emg = (data[:, :10000] / 2**16 - 0.5) * 3 / 1000  # PLUX EMG: ADC counts to volts (VCC 3 V, gain 1000)
    fif = tmp_path / "emg_raw.fif"
    mne.io.RawArray(emg, mne.create_info(["EMG"], rate, "emg"), verbose="error").save(fif, verbose="error")
    (tmp_path / "mynodes.py").write_text(RECTIFY)
    out = tmp_path / "env.npz"
    g = _graph(
        tmp_path,
        f"""\
name: emg-envelope
nodes:
  - {{id: src, type: file_source, params: {{path: {fif}, chunk_size: 50}}}}
  - {{id: hp, type: highpass, params: {{freq: 20.0}}}}
  - {{id: rect, type: "mynodes:Rectify"}}
  - {{id: env, type: lowpass, params: {{freq: 5.0}}}}
  - {{id: rec, type: recorder, params: {{path: {out}}}}}
edges:
  - {{source: src.out, target: hp.in}}
  - {{source: hp.out, target: rect.in}}
  - {{source: rect.out, target: env.in}}
  - {{source: env.out, target: rec.in}}
processes:
  user: [rect]
""",
    )
    assert main(["validate", str(g)]) == 0
    assert "passes nothing" not in capsys.readouterr().err
    assert main(["run", str(g), "--no-status"]) == 0
    emg = mne.io.read_raw_fif(fif, verbose="error").get_data()  # (saved in float32, as MNE saves)
    hp = ss.sosfilt(ss.butter(4, 20, "highpass", fs=rate, output="sos"), emg)
    want = ss.sosfilt(ss.butter(4, 5, "lowpass", fs=rate, output="sos"), np.abs(hp))
    np.testing.assert_allclose(np.load(out)["data"], want, rtol=1e-10, atol=1e-16)


def test_ssvep_scores_of_the_replayed_epochs_file_equal_an_independent_fbcca():
    """Example: ssvep_decoder (fbcca) on ssvepy's 16 epochs at 256 Hz, O1/Oz/O2, 2 s windows every 1 s, each epoch a
    segment of its own (filters from zero), against FBCCA written from its paper (cheby1 sub-bands [8n-2, 90] Hz,
    w(n) = n^-1.25 + 0.25, 5 harmonics)."""
    g = GraphBuilder()
    src = g.add("file_source", path="dataset:ssvepy-epochs", chunk_size=64)
    dec = g.add(
        "ssvep_decoder", src, method="fbcca", freqs=[6.0, 7.5], window=2.0, step=1.0, channels=["O1", "Oz", "O2"]
    )
    got = g.run(capture=[f"{dec}.scores", f"{dec}.out"])
    scores = got[f"{dec}.scores"].data
    ep = mne.read_epochs(dataset("ssvepy-epochs"), verbose="error").pick(["O1", "Oz", "O2"])
    x_all, fs = ep.get_data(), ep.info["sfreq"]
    sos = [ss.cheby1(4, 0.5, (6 + 8 * n, 90), btype="bandpass", output="sos", fs=fs) for n in range(5)]
    weights = np.arange(1, 6) ** -1.25 + 0.25
    win = int(2 * fs)
    t = np.arange(win) / fs

    def orth(a):
        return np.linalg.qr((a - a.mean(-1, keepdims=True)).T)[0]

    refs = [
        orth(np.array([g(2 * np.pi * h * f * t) for h in range(1, 6) for g in (np.sin, np.cos)])) for f in (6.0, 7.5)
    ]
    want = []
    for x in x_all:
        xb = [ss.sosfilt(s, x, axis=-1) for s in sos]
        for k in range(0, x.shape[1] - win + 1, int(fs)):
            rho = [[np.linalg.svd(orth(b[:, k : k + win]).T @ q, compute_uv=False)[0] for q in refs] for b in xb]
            want.append(weights @ np.array(rho) ** 2)
    np.testing.assert_allclose(scores, np.array(want), rtol=1e-9, atol=1e-12)
    codes = got[f"{dec}.out"].data[:, 2]
    np.testing.assert_array_equal(codes, np.argmax(want, axis=1) + 1)
    assert np.mean(codes == 1) > 0.9  # 6 Hz, as DATA.md says of most epochs


def test_two_streams_at_160_and_250_hz_joined_across_processes_equal_numpy_interp(tmp_path):
    """Example: real EEG (160 Hz) joined with a 3 Hz sine at 250 Hz, each source in its own process."""
    out = tmp_path / "joined.npz"
    g = _graph(
        tmp_path,
        f"""\
nodes:
  - {{id: eeg, type: file_source, params: {{path: "{EEG}", chunk_size: 16, picks: [C3.., C4..]}}}}
  - {{id: gen, type: sine, params: {{rate: 250.0, channels: [aux], freq: 3.0, duration: 70.0, chunk_size: 25}}}}
  - {{id: j, type: join, params: {{inputs: [eeg, aux]}}}}
  - {{id: rec, type: recorder, params: {{path: {out}}}}}
edges:
  - {{source: eeg.out, target: j.eeg}}
  - {{source: gen.out, target: j.aux}}
  - {{source: j.out, target: rec.in}}
processes:
  a: [eeg]
  b: [gen]
  c: [j, rec]
""",
    )
    assert main(["run", str(g), "--no-status"]) == 0
    got = np.load(out)["data"]
    x, fs = _eeg(["C3..", "C4.."])
    t = np.arange(x.shape[1]) / fs
    aux = np.interp(t, np.arange(70 * 250) / 250.0, np.sin(2 * np.pi * 3.0 * np.arange(70 * 250) / 250.0))
    np.testing.assert_array_equal(got[:2], x)
    np.testing.assert_allclose(got[2], aux, atol=1e-12)
