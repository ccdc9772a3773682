"""`train enhancer --snr-adapt` writes the shipped SNR-adaptive floor into a new model's saved config: a model
trained from scratch in one command is then used at inference as the shipped one is (its settings were set by hand in
the shipped chain's JSON). Training itself runs without the floor either way."""

import json
from pathlib import Path

from wavegraph.models import checkpoint as ckpt
from wavegraph.models import train_enhancer

SHIPPED = Path(train_enhancer.__file__).parent / "weights" / "enhancer.json"
KEYS = ("snr_adapt", "snr_low", "snr_high", "low_snr_floor", "low_snr_postfilter", "snr_tau", "snr_from_bin")


def _train(tmp_path, *extra: str) -> dict:
    out = tmp_path / "m.safetensors"
    argv = ["--core", "gla", "--d-model", "16", "--n-layers", "1", "--steps", "1", "--batch", "1", "--seconds", "1"]
    argv += ["--pool", "0", "--synthetic", "2", "--heldout-per-snr", "0", "--eval-every", "1", "--threads", "1"]
    assert train_enhancer.main([*argv, "--mask-floor", "0.03", *extra, "--out", str(out)]) == 0
    return json.loads(ckpt.config_path(out).read_text())["config"]


def test_a_new_model_trained_with_snr_adapt_saves_the_shipped_settings(tmp_path):
    shipped = json.loads(SHIPPED.read_text())["config"]
    cfg = _train(tmp_path, "--snr-adapt")
    assert {k: cfg[k] for k in KEYS} == {k: shipped[k] for k in KEYS}
    assert cfg["mask_floor"] == shipped["mask_floor"] == 0.03


def test_without_the_flag_a_new_model_saves_no_adaptive_floor(tmp_path):
    assert _train(tmp_path)["snr_adapt"] is False


def test_the_one_command_weights_are_the_shipped_architecture_with_its_inference_settings():
    """models/weights/enhancer_one_hour.* (docs/speech.md "One command"): the same config as the shipped model, so
    the node runs it as it runs the default, and a finished run's record."""
    one = json.loads((SHIPPED.parent / "enhancer_one_hour.json").read_text())
    assert one["config"] == json.loads(SHIPPED.read_text())["config"]
    assert one["training"] == {"step": 8000, "steps": 8000, "final": True}
    model = ckpt.load(SHIPPED.parent / "enhancer_one_hour.safetensors")
    assert sum(p.numel() for p in model.parameters()) == 540_146


def test_with_init_the_flag_replaces_the_configs_own_settings(tmp_path):
    from wavegraph.models.enhancer import Enhancer, EnhancerConfig

    cfg = EnhancerConfig(core="gla", d_model=16, n_layers=1, snr_adapt=True, low_snr_floor=0.2, snr_low=-9.0)
    ckpt.save(Enhancer(cfg).eval(), tmp_path / "init.safetensors")
    shipped = json.loads(SHIPPED.read_text())["config"]
    saved = _train(tmp_path, "--init", str(tmp_path / "init.safetensors"), "--snr-adapt")
    assert {k: saved[k] for k in KEYS} == {k: shipped[k] for k in KEYS}


def test_the_flag_changes_the_saved_config_and_not_the_weights(tmp_path):
    from safetensors.torch import load_file

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _train(tmp_path / "a", "--snr-adapt")
    _train(tmp_path / "b")
    a, b = (load_file(str(tmp_path / d / "m.safetensors")) for d in "ab")
    assert a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)


def test_the_flag_without_a_floor_is_refused(tmp_path, capsys):
    argv = ["--core", "gla", "--d-model", "16", "--n-layers", "1", "--steps", "1", "--synthetic", "2", "--snr-adapt"]
    try:
        train_enhancer.main([*argv, "--out", str(tmp_path / "m.safetensors")])
    except SystemExit as e:
        assert e.code == 2
    else:
        raise AssertionError("--snr-adapt with --mask-floor 0 was accepted")
    assert "--mask-floor above 0" in capsys.readouterr().err
