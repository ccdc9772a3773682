"""The bench bci report: per-process results join into one table only when they were run alike."""

import copy
import json
from pathlib import Path

import pytest
from wavegraph.benchmarks.bci_report import merge, tables

SHIPPED = Path(__file__).resolve().parents[1] / "docs" / "bci_bench.json"


def _split_by_background(res: dict) -> list[dict]:
    parts = []
    for bg in res["semi"]["backgrounds"]:
        semi = copy.deepcopy(res["semi"])
        semi["backgrounds"] = [bg]
        semi["segments_s"] = {k: v for k, v in semi["segments_s"].items() if k == bg}
        semi["cells"] = [c for c in semi["cells"] if c["background"] == bg]
        parts.append({"command": f"part {bg}", "semi": semi})
    return parts


def test_parts_of_the_shipped_run_merge_back_into_its_table():
    res = json.loads(SHIPPED.read_text())
    parts = _split_by_background(res)
    assert len(parts) >= 2
    merged = merge(parts[::-1])  # order of the files does not matter
    key = lambda c: (c["background"], c["decoder"], c["window_s"], c["snr_db"])  # noqa: E731
    assert sorted(merged["semi"]["cells"], key=key) == sorted(res["semi"]["cells"], key=key)
    assert sorted(merged["semi"]["backgrounds"]) == sorted(res["semi"]["backgrounds"])
    assert tables(merged).count("Semi-synthetic on") == len(parts)


def test_parts_run_with_other_settings_are_refused():
    parts = _split_by_background(json.loads(SHIPPED.read_text()))
    parts[1]["semi"]["snrs_db"] = [-15.0]
    with pytest.raises(ValueError, match="snrs_db"):
        merge(parts)


def test_a_re_run_of_some_windows_updates_those_cells_and_says_where_each_came_from():
    """--merge --update: a re-run of the windows a stage-2 change touches replaces those cells of the last full run
    (other stage-2 settings allowed, the same trials required); every cell names its file."""
    full = json.loads(SHIPPED.read_text())
    rerun = copy.deepcopy(full["semi"])
    rerun["cells"] = [dict(c, accuracy=0.5) for c in rerun["cells"] if c["window_s"] == 1.0]
    rerun["fine_tune_steps"] = 1  # another stage-2 setting: refused by a plain merge, fine for an update
    with pytest.raises(ValueError, match="fine_tune_steps"):
        merge([full, {"command": "re-run", "semi": rerun}])
    out = merge([full, {"command": "re-run 1 s", "semi": rerun}], update=True)
    assert len(out["semi"]["cells"]) == len(full["semi"]["cells"])
    assert out["semi"]["fine_tune_steps"] == 1 and out["commands"][1] == "re-run 1 s"
    for c in out["semi"]["cells"]:
        assert c["run"] == (1 if c["window_s"] == 1.0 else 0)
        assert (c["accuracy"] == 0.5) == (c["window_s"] == 1.0)
    rerun["snrs_db"] = [-15.0]  # other trials: never one table
    with pytest.raises(ValueError, match="other trials"):
        merge([full, {"command": "re-run", "semi": rerun}], update=True)
    rerun["snrs_db"] = full["semi"]["snrs_db"]
    rerun["calib_trial_s"] = 123.0  # other calibration trials (another length): other DNN cells, never one table
    with pytest.raises(ValueError, match="calib_trial_s"):
        merge([full, {"command": "re-run", "semi": rerun}], update=True)


def test_the_table_names_the_calibration_length_and_the_latency_jitter():
    res = json.loads(SHIPPED.read_text())
    res["semi"].update(calib_trial_s=5.0, fine_tune_latency_jitter_s=0.00625)
    res["semi"]["fine_tune_latency_jitter_windows_s"] = [0.8, 1.5]
    line = next(x for x in tables(res).splitlines() if "DNN calibration" in x)
    assert "trials per test subject of 5 s" in line and "latency jitter +-6.25 ms at 0.8-1.5 s" in line
    res["semi"].update(calib_trial_s=None, fine_tune_latency_jitter_s=0.0)  # a run without them says nothing
    line = next(x for x in tables(res).splitlines() if "DNN calibration" in x)
    assert " of " not in line.split(",")[0] and "latency jitter" not in line
