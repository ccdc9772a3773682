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
