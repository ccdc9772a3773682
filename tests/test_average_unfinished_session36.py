"""A trainer's mid-run saves say so (`training` in the JSON), and average_weights refuses them unless told: session 36
once averaged two runs' step-1,000 files, taken for their ends."""

import json

import torch
from wavegraph.models import checkpoint as ckpt
from wavegraph.models.average_weights import main as average_main
from wavegraph.models.enhancer import Enhancer, EnhancerConfig


def _small(seed: int) -> Enhancer:
    torch.manual_seed(seed)
    return Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1)).eval()


def test_the_trainer_marks_its_evaluation_saves_unfinished_and_its_last_save_final(tmp_path, monkeypatch):
    from wavegraph.models import train_enhancer

    ckpt.save(_small(0), tmp_path / "init.safetensors")
    seen = []
    real_save = ckpt.save

    def recording_save(model, path, training=None):
        seen.append(training)
        return real_save(model, path, training=training)

    monkeypatch.setattr(ckpt, "save", recording_save)
    out = tmp_path / "run.safetensors"
    argv = ["--init", str(tmp_path / "init.safetensors"), "--steps", "2", "--batch", "1", "--seconds", "1"]
    argv += ["--pool", "0", "--synthetic", "2", "--heldout-per-snr", "0", "--eval-every", "1", "--threads", "1"]
    assert train_enhancer.main([*argv, "--out", str(out)]) == 0
    assert seen == [
        {"step": 1, "steps": 2, "final": False},
        {"step": 2, "steps": 2, "final": False},
        {"step": 2, "steps": 2, "final": True},
    ]
    assert json.loads(ckpt.config_path(out).read_text())["training"] == {"step": 2, "steps": 2, "final": True}
    assert isinstance(ckpt.load(out), Enhancer)  # the extra key does not stop it loading


def test_an_unfinished_save_is_refused_naming_its_step_and_allowed_on_request(tmp_path, capsys):
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    ckpt.save(_small(1), a, training={"step": 1000, "steps": 1500, "final": False})
    ckpt.save(_small(2), b, training={"step": 1500, "steps": 1500, "final": True})
    out = tmp_path / "ab.safetensors"
    assert average_main([str(a), str(b), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "a.safetensors holds step 1000 of 1500" in err and "--allow-unfinished" in err
    assert not out.exists()
    assert average_main([str(a), str(b), "--out", str(out), "--allow-unfinished"]) == 0
    meta = json.loads(ckpt.config_path(out).read_text())
    assert "training" not in meta  # an average is no run's state
    assert isinstance(ckpt.load(out), Enhancer)


def test_finished_saves_and_saves_without_a_training_record_average(tmp_path):
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    ckpt.save(_small(1), a, training={"step": 1500, "steps": 1500, "final": True})
    ckpt.save(_small(2), b)  # as every checkpoint saved before session 36
    assert average_main([str(a), str(b), "--out", str(tmp_path / "ab.safetensors")]) == 0
