"""tests/conftest.py's `need`: a missing data set or device skips a local run and fails a CI=true run."""

import pytest
from conftest import need


def test_need_skips_locally_fails_under_ci_and_passes_when_met(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no amplifier"):
        need(False, "no amplifier")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and no amplifier"):
        need(False, "no amplifier")
    need(True, "never raised")
