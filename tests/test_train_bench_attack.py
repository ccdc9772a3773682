"""`wavegraph train NAME` and `wavegraph bench NAME` used as a new user would: odd options, output paths that are
folders or cannot be written, checkpoints that are not ours. Each test failed before its fix."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "weights"


def _usage_error(main, argv, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2, argv
    return capsys.readouterr().err


def test_train_ssvep_global_writes_to_out_not_over_the_shipped_model(tmp_path, monkeypatch, capsys):
    """`train ssvep --global --windows 1 --out mine.safetensors` ignored --out: the model went over the shipped
    models/weights/ssvep_dnn_40f_160hz_1000ms.safetensors."""
    from wavegraph.benchmarks import train_ssvep

    calls = []
    monkeypatch.setattr(train_ssvep, "train_global", lambda w, epochs, **kw: calls.append((w, kw.get("out"))))
    out = tmp_path / "mine.safetensors"
    assert train_ssvep.main(["--global", "--windows", "1", "--epochs", "1", "--out", str(out)]) == 0
    assert calls == [(1.0, out)]
    err = _usage_error(train_ssvep.main, ["--global", "--windows", "1", "2", "--out", str(out)], capsys)
    assert "names one model; give one --windows value" in err, err
    err = _usage_error(train_ssvep.main, ["--global", "--windows", "1", "--out", str(tmp_path)], capsys)
    assert f"--out {tmp_path}: it is a folder" in err, err
    assert len(calls) == 1
    calls.clear()
    assert train_ssvep.main(["--global", "--windows", "1", "--epochs", "1"]) == 0  # the shipped path, as documented
    assert calls == [(1.0, None)]


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--seed", "-1"], "--seed -1: must be >= 0"),  # numpy's 'expected non-negative integer' traceback
        (["--seconds", "0.03"], "--seconds 0.03: a training example must be at least 0.05 s"),  # torch's pad error
        (["--seconds", "0.4", "--stoi-weight", "1"], "must be at least 0.41 s"),  # torch's unfold error
        (["--log", "{tmp}"], "--log {tmp}: cannot write it (it is a folder)"),  # IsADirectoryError after the corpus
        (["--log", "{tmp}/c.csv", "--plot", "{tmp}"], "--plot {tmp}: cannot write it (it is a folder)"),  # at the end
        (["--plot", "{tmp}/c.png"], "--plot {tmp}/c.png draws the training curve of --log"),  # left out unsaid
        (["--log", "{tmp}/c.json"], "its summary goes beside it as .json; give --log NAME.csv"),  # CSV overwritten
    ],
)
def test_train_enhancer_options_that_failed_after_the_data_was_read(argv, says, tmp_path, capsys):
    from wavegraph.models.train_enhancer import main

    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    common = ["--steps", "1", "--d-model", "8", "--n-layers", "1", "--pool", "0", "--heldout-per-snr", "0"]
    err = _usage_error(main, [*common, *argv, "--out", str(tmp_path / "e.safetensors")], capsys)
    assert says.replace("{tmp}", str(tmp_path)) in err, err
    assert not any(p.is_file() for p in tmp_path.iterdir())


def test_stoi_says_its_shortest_input_instead_of_a_torch_error():
    """models.intelligibility.stoi took 6,200 to 6,311 samples, then failed in torch's unfold ('maximum size for
    tensor at dimension 2 is 29 but size is 30')."""
    import torch
    from wavegraph.models import intelligibility

    x = torch.randn(1, 6250, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"stoi needs at least 0\.395 s of audio \(6312 samples\)"):
        intelligibility.stoi(x, x)
    assert intelligibility.stoi(torch.randn(1, 6312), torch.randn(1, 6312)).shape == (1,)


def test_bench_tokenizer_weights_threads_and_json_are_checked_before_the_evaluation(tmp_path, capsys):
    """--weights missing: a CheckpointError traceback; another model's weights: an AssertionError; --threads 0:
    torch's RuntimeError; --json a folder: IsADirectoryError after the whole evaluation."""
    from wavegraph.benchmarks.tokenizer import bench_main

    missing = tmp_path / "tok.safetensors"
    err = _usage_error(bench_main, ["--weights", str(missing)], capsys)
    assert f"--weights {missing}: " in err and "Traceback" not in err, err
    err = _usage_error(bench_main, ["--weights", str(SHIPPED / "enhancer.safetensors")], capsys)
    assert "holds Enhancer weights, not an EEG tokenizer's; give weights written by `wavegraph train tokenizer`" in err
    assert "argument --threads: must be above 0" in _usage_error(bench_main, ["--threads", "0"], capsys)
    assert f"--json {tmp_path}: cannot write it (it is a folder)" in _usage_error(
        bench_main, ["--json", str(tmp_path)], capsys
    )


def test_a_pytorch_or_nemo_checkpoint_is_named_as_such_with_the_fix(tmp_path, capsys):
    """A torch.save .pt (what NeMo / mamba_ssm / DeepFilterNet users have) was 'has no config m.json beside it; fix:
    copy the .json along' (bench enhance: pydantic's whole ValidationError); with a .json beside it, safetensors'
    'Error while deserializing header'. A .nemo (a tar) likewise."""
    import io
    import shutil
    import tarfile

    import torch
    from wavegraph.benchmarks.enhance import main as bench_enhance
    from wavegraph.models import checkpoint as ckpt

    pt = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(3)}, pt)
    nemo = tmp_path / "model.nemo"
    with tarfile.open(nemo, "w") as tar:
        info = tarfile.TarInfo("model_config.yaml")
        tar.addfile(info, io.BytesIO(b""))
    for path, what in ((pt, "a PyTorch checkpoint (torch.save"), (nemo, "a tar archive (a NeMo .nemo model?)")):
        err = _usage_error(bench_enhance, ["--methods", "ours", "--checkpoint", str(path)], capsys)
        assert f"--checkpoint {path}: is {what}" in err and "fix: give weights written by `wavegraph train`" in err
        assert "ValidationError" not in err and "pydantic" not in err, err
        shutil.copy(SHIPPED / "enhancer.json", path.with_suffix(".json"))  # a config beside it: the weights read
        with pytest.raises(ckpt.CheckpointError, match=f"is {what[:12]}.*which wavegraph does not load"):
            ckpt.load(path)
    with pytest.raises(ckpt.CheckpointError, match="is a folder; give the weights file"):
        ckpt.load(tmp_path)
    with pytest.raises(ckpt.CheckpointError, match="no model config .* neither exists; check the path"):
        ckpt.load(tmp_path / "typo.safetensors")


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--files", "0"], "argument --files: must be above 0"),  # ZeroDivisionError after the runs
        (["--files", "-2"], "argument --files: must be above 0"),  # '-2 files in 0.0 s = -154.88 files/s', exit 0
    ],
)
def test_bench_batch_refuses_a_file_count_below_one(argv, says, tmp_path, capsys):
    from wavegraph.benchmarks.batch import main

    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert says.replace("{tmp}", str(tmp_path)) in _usage_error(main, ["--no-ray", *argv], capsys)


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--init", "{tmp}/typo.safetensors"], "--init {tmp}/typo.safetensors: does not exist; give a checkpoint"),
        (["--init", "{tmp}"], "--init {tmp}: is a folder"),
        (["--init", "{tmp}/typo.safetensors", "--no-init"], "--init and --no-init: give one"),
        (["--step", "-1"], "--step -1: seconds between windows, above 0"),  # a window at every sample
        (["--step", "nan"], "--step nan: seconds between windows"),  # 'cannot convert float NaN to integer'
        (["--pre", "nan"], "--pre nan: the filter's pre-roll"),  # same
    ],
)
def test_train_ssvep_init_and_window_options_are_checked(argv, says, tmp_path, capsys):
    """A --init that does not exist (a typo) was left out without a word: the model was trained from scratch."""
    from wavegraph.benchmarks.train_ssvep import main

    rec = tmp_path / "calib_raw.fif"  # never read: the checks come first
    rec.touch()
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    err = _usage_error(main, [str(rec), "--freqs", "8", "10", *argv, "--out", str(tmp_path / "s.safetensors")], capsys)
    assert says.replace("{tmp}", str(tmp_path)) in err, err


def test_train_ssvep_without_out_does_not_replace_an_earlier_model(tmp_path, monkeypatch, capsys):
    """Without --out the model goes to ./ssvep_dnn.safetensors: a second calibration (the next subject) replaced the
    first one's model there without a word. Given as --out, it is replaced as asked."""
    from wavegraph.benchmarks import train_ssvep

    monkeypatch.chdir(tmp_path)
    earlier = tmp_path / "ssvep_dnn.safetensors"
    earlier.write_bytes(b"subject 1")
    rec = tmp_path / "calib_raw.fif"
    rec.touch()
    err = _usage_error(train_ssvep.main, [str(rec), "--freqs", "8", "10"], capsys)
    assert "no --out, and ssvep_dnn.safetensors (the default) is already here" in err, err
    assert "give --out NAME.safetensors (e.g. subject02.safetensors), or --out ssvep_dnn.safetensors" in err, err
    assert earlier.read_bytes() == b"subject 1"
    monkeypatch.setattr(train_ssvep, "train_recording", lambda args: args.out)
    assert (
        train_ssvep.main([str(rec), "--freqs", "8", "10", "--out", "ssvep_dnn.safetensors"]) == "ssvep_dnn.safetensors"
    )
    earlier.unlink()
    assert train_ssvep.main([str(rec), "--freqs", "8", "10"]) == "ssvep_dnn.safetensors"


def test_train_tokenizer_refuses_a_step_of_one_frame(tmp_path, capsys):
    """--batch 1 --frames 1 read the data (9 s) and failed at step 1 with torch's 'Expected more than 1 value per
    channel when training' (the encoder's batch norm over one frame)."""
    from wavegraph.benchmarks.tokenizer import train_main

    argv = ["--steps", "1", "--batch", "1", "--frames", "1", "--out", str(tmp_path / "t.safetensors")]
    assert "a step needs 2 frames or more (the encoder's batch norm); give --batch 2" in _usage_error(
        train_main, argv, capsys
    )


def test_bench_enhance_refuses_noise_files_that_are_clean_files_too(tmp_path, capsys):
    """--clean DIR --noise DIR (the same folder) mixed each file with its own copy (its start drawn from a span of
    one sample): '0 dB' mixtures that the noisy input itself scored as PESQ-WB 4.64 / STOI 1.000 / SI-SDR 138 dB."""
    import numpy as np
    import soundfile as sf
    from wavegraph.benchmarks.enhance import main

    rng = np.random.default_rng(0)
    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, 0.1 * rng.standard_normal(19200), 16000)
    argv = ["--clean", str(tmp_path), "--noise", str(tmp_path), "--methods", "noisy", "--snrs", "0"]
    assert main([*argv, "--png", str(tmp_path / "out" / "p.png")]) == 2
    err = capsys.readouterr().err
    assert f"--noise {tmp_path}: 2 of the noise files it gave are --clean files too ({tmp_path / 'a.wav'}" in err, err
    assert "fix: give noise recordings in a folder of their own, outside the --clean folder" in err


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--subjects", "0"], "argument --subjects: must be 1 or more"),  # ZeroDivisionError
        (["--m", "1"], "argument --m: must be 2 or more"),  # ValueError traceback from ssvep_sim.jfpm
        (["--calib-blocks", "0"], "argument --calib-blocks: must be 1 or more"),  # ZeroDivisionError
        (["--ft-steps", "-1"], "argument --ft-steps: must be 1 or more"),  # taken
        (["--snrs", "nan"], "argument --snrs: must be a finite number"),  # 64 s of NaN-SNR trials, exit 0
        (["--windows", "nan"], "argument --windows: must be above 0"),  # 'cannot convert float NaN to integer'
        (["--line", "nan"], "argument --line: must be a finite number"),  # taken
        (["--calib-s", "-1"], "--calib-s must be >= 0 s"),  # taken
    ],
)
def test_bench_bci_semi_synthetic_options_are_checked(argv, says, tmp_path, capsys):
    from wavegraph.benchmarks.bci import main

    err = _usage_error(main, ["--only", "semi", "--no-token", *argv, "--png", str(tmp_path / "b.png")], capsys)
    assert says in err, err


class _TinySampler:
    """Stands in for speech_data's corpus and TrainSampler: seeded noise as speech, so a run takes no corpus."""

    speakers, snr_range, low_snr_range, low_snr_prob = ["x"], (0.0, 0.0), (0.0, 0.0), 0.0

    def __init__(self, corpus, **_):
        self.corpus = corpus

    def example(self, rng, n):
        clean = (0.1 * rng.standard_normal(n)).astype("float32")
        return clean + (0.05 * rng.standard_normal(n)).astype("float32"), clean

    def batch(self, rng, n, seconds):
        import numpy as np

        pairs = [self.example(rng, int(seconds * 16000)) for _ in range(n)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


class _TinyCorpus(list):
    def seconds(self):
        return 1.0


def test_train_enhancer_stops_when_it_diverges_and_keeps_the_last_good_weights(tmp_path, monkeypatch, capsys):
    """--lr 1e6 (or a loss weight of nan): NaN weights were saved over --out at the next evaluation (a file the
    loader then refuses), and the run died on the VAD cross-entropy's 'all elements of input should be between 0
    and 1' traceback. Loss weights that are not finite numbers >= 0 are usage errors."""
    import numpy as np
    from wavegraph.models import checkpoint as ckpt
    from wavegraph.models import speech_data as sd
    from wavegraph.models import train_enhancer

    monkeypatch.setattr(sd, "load_corpus", lambda **_: _TinyCorpus([0]))
    monkeypatch.setattr(sd, "TrainSampler", _TinySampler)
    monkeypatch.setattr(sd, "corpus_digest", lambda c: "tiny")
    rng = np.random.default_rng(0)
    noisy, clean = _TinySampler(None).example(rng, 8000)
    monkeypatch.setattr(train_enhancer, "validation_set", lambda _: [sd.Mixture(noisy, clean, 0.0, "", "", "v")])
    out = tmp_path / "e.safetensors"
    small = ["--d-model", "8", "--n-layers", "1", "--batch", "1", "--seconds", "0.5", "--pool", "0"]
    argv = [*small, "--heldout-per-snr", "0", "--eval-every", "1", "--out", str(out)]
    assert train_enhancer.main([*argv, "--steps", "1", "--lr", "1e-3"]) == 0  # a good run first
    good = out.read_bytes()
    capsys.readouterr()
    assert train_enhancer.main([*argv, "--steps", "3", "--lr", "1e6"]) == 1
    err = capsys.readouterr().err
    assert "the training diverged at step 1" in err and "nothing was saved" in err and "a lower --lr" in err, err
    assert out.read_bytes() == good
    ckpt.load(out)  # finite weights: they load
    assert "--sisdr-weight nan: a finite number >= 0" in _usage_error(
        train_enhancer.main, [*argv, "--sisdr-weight", "nan"], capsys
    )


def _calibration_fif(path):
    """A 40 s, 3-channel 250 Hz calibration run: 16 markers of 2 s, '8' and '10' (Hz) in turn."""
    import mne
    import numpy as np

    fs, rng = 250, np.random.default_rng(0)
    t = np.arange(40 * fs) / fs
    x = rng.standard_normal((3, t.size)) * 1e-6
    onsets = [1 + k * 2.4 for k in range(16)]
    for k, s in enumerate(onsets):
        on = (t >= s) & (t < s + 2)
        x[:, on] += 2e-6 * np.sin(2 * np.pi * (8.0, 10.0)[k % 2] * t[on])
    raw = mne.io.RawArray(x, mne.create_info(["O1", "Oz", "O2"], fs, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations(onsets, [2.0] * 16, ["8", "10"] * 8))
    raw.save(path, verbose="error")
    return path


def test_a_training_that_diverged_writes_no_weights(tmp_path, monkeypatch, capsys):
    """train ssvep --lr 1e12 and train tokenizer --lr 1e12 wrote NaN weights (the loader refuses them), exit 0:
    'held-out accuracy 0.500 ... wrote s.safetensors'. checkpoint.save / ssvep_dnn.save refuse NaN weights."""
    import numpy as np
    import torch
    from wavegraph.benchmarks import tokenizer
    from wavegraph.benchmarks.train_ssvep import main as train_ssvep
    from wavegraph.models import checkpoint as ckpt
    from wavegraph.models.mamba import MambaConfig, MambaStack

    rec = _calibration_fif(tmp_path / "calib_raw.fif")
    out = tmp_path / "s.safetensors"
    argv = [str(rec), "--freqs", "8", "10", "--no-init", "--steps", "2", "--shifts", "0", "--lr", "1e12"]
    assert train_ssvep([*argv, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"train ssvep: the training diverged, not saving {out}: tensor '" in err and "a lower --lr" in err, err
    assert not out.exists() and not out.with_suffix(".json").exists()

    rng = np.random.default_rng(0)
    monkeypatch.setattr(tokenizer, "recordings", lambda held_out=False: [("r", rng.standard_normal((2, 60000)))])
    out = tmp_path / "t.safetensors"
    argv = ["--steps", "3", "--batch", "2", "--frames", "2", "--lr", "1e12", "--out", str(out)]
    assert tokenizer.train_main(argv) == 1
    assert "train tokenizer: the training diverged at step" in capsys.readouterr().err
    assert not out.exists()

    model = MambaStack(MambaConfig(d_in=4, d_model=8, n_layers=1))
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    with pytest.raises(ckpt.CheckpointError, match=r"not saving .*m.safetensors: tensor '.*' holds \d+ NaN"):
        ckpt.save(model, tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("keep", [0, 100000], ids=["empty", "cut-short"])
def test_an_empty_or_cut_short_weights_file_says_what_it_is_and_the_fix(keep, tmp_path):
    """It said only safetensors' 'Error while deserializing header: header too small' (or 'incomplete metadata,
    file not fully covered'): neither that the file is empty or cut short, nor what to do."""
    import shutil

    from wavegraph.models import checkpoint as ckpt

    path = tmp_path / "e.safetensors"
    path.write_bytes((SHIPPED / "enhancer.safetensors").read_bytes()[:keep])
    shutil.copy(SHIPPED / "enhancer.json", tmp_path / "e.json")
    said = "it is empty (0 bytes)" if keep == 0 else "it is cut short or damaged (100000 bytes"
    with pytest.raises(ckpt.CheckpointError, match=rf"cannot read weights .*e.safetensors: {re.escape(said)}") as e:
        ckpt.load(path)
    assert "copy it again (a copy or a save that did not finish?), or train it again" in str(e.value)


def test_a_save_that_fails_half_way_keeps_the_weights_that_were_there(tmp_path, monkeypatch):
    """checkpoint.save (train enhancer saves at every evaluation) and ssvep_dnn.save wrote in place: a full disk or a
    run stopped while saving left a cut-short file where the last good weights were."""
    import errno

    from wavegraph.models import checkpoint as ckpt
    from wavegraph.models.mamba import MambaConfig, MambaStack

    path = tmp_path / "m.safetensors"
    ckpt.save(MambaStack(MambaConfig(d_in=4, d_model=8, n_layers=1)), path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    write_bytes = Path.write_bytes

    def full_disk(self, data):
        write_bytes(self, data[:100])  # some of it written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match="No space left"):
        ckpt.save(MambaStack(MambaConfig(d_in=4, d_model=16, n_layers=1)), path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # as it was, nothing left beside it
    ckpt.load(path)


def test_train_tokenizer_removes_its_snapshot_once_the_weights_are_written(tmp_path, monkeypatch, capsys):
    """OUT.partial.safetensors (a snapshot every 200 steps) stayed beside the weights after the run: with the
    default --out, in the package's models/weights/, where the wheel's package data (weights/*.safetensors)
    would take it."""
    import numpy as np
    from wavegraph.benchmarks import tokenizer

    rng = np.random.default_rng(0)
    monkeypatch.setattr(tokenizer, "recordings", lambda held_out=False: [("r", rng.standard_normal((2, 60000)))])
    monkeypatch.setattr(tokenizer, "evaluate", lambda *a, **k: {})
    monkeypatch.setattr(tokenizer, "SNAPSHOT_EVERY", 1)
    out = tmp_path / "tok.safetensors"
    assert tokenizer.train_main(["--steps", "2", "--batch", "2", "--frames", "2", "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tok.json", "tok.safetensors"]


@pytest.mark.parametrize("what", ["text", "folder", "missing"])
def test_train_ssvep_and_bench_bci_say_what_the_recording_path_is(what, tmp_path, capsys):
    """A .txt (notes beside the recording) was MNE's bare AssertionError traceback (it reads .txt as BOXY); a
    folder was MNE's 'Unsupported file type ()'; a missing file 'fname does not exist'."""
    from wavegraph.benchmarks.bci import main as bench_bci
    from wavegraph.benchmarks.train_ssvep import main as train_ssvep

    path = {"text": tmp_path / "notes.txt", "folder": tmp_path, "missing": tmp_path / "typo_raw.fif"}[what]
    if what == "text":
        path.write_text("subject 1, 8 and 10 Hz\n")
    says = {
        "text": f"{path} cannot be read as a recording (MNE: AssertionError: not the format MNE reads .txt files as)",
        "folder": f"{path} is a folder; fix: give a recording file in it",
        "missing": f"no such file {path}; fix: give the recording's path",
    }[what]
    assert train_ssvep([str(path), "--freqs", "8", "10", "--out", str(tmp_path / "s.safetensors")]) == 2
    assert says in capsys.readouterr().err
    assert bench_bci(["--data", str(path), "--no-token", "--png", str(tmp_path / "b.png")]) == 2
    assert says in capsys.readouterr().err


def test_train_tokenizer_report_is_not_written_over_the_models_config(tmp_path, monkeypatch, capsys):
    """--out tok.safetensors --report tok.json: the report replaced the model's config at the end, and the
    checkpoint no longer loaded ('is not a wavegraph-model config')."""
    import numpy as np
    from wavegraph.benchmarks import tokenizer
    from wavegraph.models import checkpoint as ckpt

    out = tmp_path / "tok.safetensors"
    err = _usage_error(
        tokenizer.train_main, ["--steps", "1", "--out", str(out), "--report", str(out.with_suffix(".json"))], capsys
    )
    assert f"is the name of the model's config (--out {out}); give it another name, e.g. " in err, err
    rng = np.random.default_rng(0)
    monkeypatch.setattr(tokenizer, "recordings", lambda held_out=False: [("r", rng.standard_normal((2, 60000)))])
    monkeypatch.setattr(tokenizer, "evaluate", lambda *a, **k: {})
    report = out.with_suffix(".report.json")
    assert (
        tokenizer.train_main(
            ["--steps", "1", "--batch", "2", "--frames", "2", "--out", str(out), "--report", str(report)]
        )
        == 0
    )
    ckpt.load(out)
    assert "train" in report.read_text()


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--log", "{tmp}/c.csv", "--plot", "{tmp}/c.csv"], "--plot {tmp}/c.csv is the file of --log too"),
        (["--log", "{tmp}/e.safetensors"], "--log {tmp}/e.safetensors is the file of --out too"),
        (["--log", "{tmp}/c.csv", "--plot", "{tmp}/e.json"], "--plot {tmp}/e.json is the file of --out's config too"),
    ],
)
def test_train_enhancer_outputs_that_would_overwrite_each_other(argv, says, tmp_path, capsys):
    """--plot c.csv --log c.csv: the PNG went over the training curve it was drawn from; --log e.safetensors: the
    weights saved at each evaluation went over the curve (and the curve over them)."""
    from wavegraph.models.train_enhancer import main

    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    err = _usage_error(main, ["--steps", "1", *argv, "--out", str(tmp_path / "e.safetensors")], capsys)
    assert says.replace("{tmp}", str(tmp_path)) in err and "name them apart" in err, err


def test_bench_tokenizer_json_is_not_written_over_the_weights_config(tmp_path, capsys):
    """bench tokenizer --weights tok.safetensors --json tok.json wrote the report over the model's config: the
    weights it had just measured no longer loaded."""
    import shutil

    from wavegraph.benchmarks.tokenizer import bench_main

    for name in ("eeg_tokenizer.safetensors", "eeg_tokenizer.json"):
        shutil.copy(SHIPPED / name, tmp_path / name)
    weights, config = tmp_path / "eeg_tokenizer.safetensors", tmp_path / "eeg_tokenizer.json"
    before = config.read_bytes()
    err = _usage_error(bench_main, ["--weights", str(weights), "--json", str(config)], capsys)
    assert f"--json {config} is the config of --weights {weights}; give another name" in err, err
    assert config.read_bytes() == before


def test_bench_enhance_json_is_not_written_over_the_checkpoint_config_or_the_png(tmp_path, capsys):
    """--checkpoint e.safetensors --json e.json: the figures went over the weights' config after the run (they no
    longer loaded); --png r.png --json r.png: the JSON over the plot."""
    import shutil

    from wavegraph.benchmarks.enhance import main

    for name in ("enhancer.safetensors", "enhancer.json"):
        shutil.copy(SHIPPED / name, tmp_path / name)
    config = tmp_path / "enhancer.json"
    argv = ["--methods", "ours", "--checkpoint", str(tmp_path / "enhancer.safetensors"), "--json", str(config)]
    err = _usage_error(main, [*argv, "--png", str(tmp_path / "p.png")], capsys)
    assert f"--json {config} is the file of --checkpoint's config; give the figures another name" in err, err
    same = str(tmp_path / "r.png")  # (a name --png takes: r.json is refused as no picture format)
    err = _usage_error(main, ["--methods", "noisy", "--png", same, "--json", same], capsys)
    assert f"--json {same} is the file of --png" in err, err
    assert (SHIPPED / "enhancer.json").read_bytes() == config.read_bytes()


def test_a_data_cache_that_cannot_be_written_is_said_with_the_fix(tmp_path, monkeypatch, capsys):
    """WAVEGRAPH_DATA naming a file (or a read-only or full disk): `wavegraph train tokenizer` (bench bci, batch,
    ...) died on NotADirectoryError from the data set fetch, a traceback naming no fix."""
    from wavegraph.pipeline import datasets
    from wavegraph.pipeline.cli import main

    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("x")
    monkeypatch.setenv("WAVEGRAPH_DATA", str(not_a_folder))
    with pytest.raises(datasets.DatasetError, match=r"cannot write data set 'eegmmidb-s001r02' into the data cache"):
        datasets.fetch("eegmmidb-s001r02")
    assert main(["train", "tokenizer", "--steps", "1", "--out", str(tmp_path / "t.safetensors")]) == 1
    err = capsys.readouterr().err
    assert (
        f"wavegraph train tokenizer: cannot write data set 'eegmmidb-s001r02' into the data cache {not_a_folder}" in err
    )
    assert f"fix: set WAVEGRAPH_DATA (now '{not_a_folder}') to a writable folder" in err and "Traceback" not in err


def test_speech_data_that_cannot_be_read_or_cached_is_said_not_a_traceback(tmp_path, monkeypatch, capsys):
    """train enhancer / bench enhance with WAVEGRAPH_DATA naming a file died on NotADirectoryError after decoding the
    voices; missing voices or music (speech_data's DataError: 'run scripts/system_deps.sh') were tracebacks too."""
    from wavegraph.benchmarks import enhance
    from wavegraph.models import speech_data as sd
    from wavegraph.models import train_enhancer

    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("x")
    monkeypatch.setenv("WAVEGRAPH_DATA", str(not_a_folder))
    with pytest.raises(sd.DataError, match=r"cannot write the decoded speech cache .*\(Not a directory\); fix: set "):
        sd._save_cache(sd.cache_root() / "v.npz", ["a"], [np.zeros(160, np.float32)])

    def missing(*a, **k):
        raise sd.DataError("no G.722 prompts under /usr/share/asterisk/sounds; run scripts/system_deps.sh as root")

    monkeypatch.setattr(sd, "load_corpus", missing)
    argv = ["--steps", "1", "--d-model", "8", "--n-layers", "1", "--out", str(tmp_path / "e.safetensors")]
    assert train_enhancer.main(argv) == 1
    assert "train enhancer: no G.722 prompts under" in capsys.readouterr().err
    monkeypatch.setattr(enhance, "heldout_mixtures", missing)
    assert enhance.main(["--methods", "noisy", "--png", str(tmp_path / "p.png")]) == 1
    assert "bench enhance: no G.722 prompts under" in capsys.readouterr().err


def test_train_enhancer_init_of_another_model_says_what_it_holds(tmp_path, capsys):
    """--init of the tokenizer's weights was 'is not an enhancer checkpoint' (exit 1, no fix); of an SSVEP DNN's,
    'unknown model kind 'ssvep_dnn'', a kind the package knows and ships."""
    from wavegraph.models.train_enhancer import main

    out = ["--steps", "1", "--out", str(tmp_path / "e.safetensors")]
    err = _usage_error(main, ["--init", str(SHIPPED / "eeg_tokenizer.safetensors"), *out], capsys)
    assert "holds EEGTokenizer weights, not an enhancer's; give weights written by `wavegraph train enhancer`" in err
    err = _usage_error(main, ["--init", str(SHIPPED / "ssvep_dnn_8f_160hz_1000ms.safetensors"), *out], capsys)
    assert "an SSVEP DNN checkpoint (`wavegraph train ssvep`), not one of the models this loads" in err, err
    assert "give it to ssvep_decoder (method: dnn)" in err


def test_train_ssvep_a_window_of_one_sample_or_a_channel_twice(tmp_path, capsys):
    """--window 0.004 at 250 Hz (one sample) was the model config's ValueError traceback after the recording was
    read; --channels O1 O1 trained a model on O1 twice."""
    from wavegraph.benchmarks.train_ssvep import main

    rec = _calibration_fif(tmp_path / "calib_raw.fif")
    argv = [str(rec), "--freqs", "8", "10", "--no-init", "--steps", "1", "--shifts", "0"]
    assert main([*argv, "--window", "0.004", "--out", str(tmp_path / "s.safetensors")]) == 2
    assert "must be >= 2, got 1; fix: a longer --window (at least 0.008 s at 250 Hz)" in capsys.readouterr().err
    err = _usage_error(main, [*argv, "--channels", "O1", "O1", "--out", str(tmp_path / "s.safetensors")], capsys)
    assert "--channels O1 O1: give each channel once" in err
    assert not (tmp_path / "s.safetensors").exists()
