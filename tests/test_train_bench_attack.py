"""`wavegraph train NAME` and `wavegraph bench NAME` used as a new user would: odd options, output paths that are
folders or cannot be written, checkpoints that are not ours. Each test failed before its fix."""

from __future__ import annotations

from pathlib import Path

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
