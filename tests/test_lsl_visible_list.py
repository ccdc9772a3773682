"""lsl_inlet's "no LSL stream ... within T s; visible streams: ..." listed only what the short wait had seen when it
saw anything: with resolve_timeout 0.3 on a busy machine, one discovery wave in, the stream the user meant (a typo
of its name) could be missing from the list (test_live_lsl failed so in a CI run). One full wave more is merged."""

import os
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
import lsl_loopback  # noqa: E402 (tests/lsl_loopback.py: configs/lsl_api.cfg, the clock probes closer)

os.environ["LSLAPICFG"] = lsl_loopback.config()  # loopback only, before pylsl is first imported

import pylsl  # noqa: E402
import pytest  # noqa: E402
from wavegraph.nodes.io import lsl  # noqa: E402
from wavegraph.pipeline.spec import SpecError  # noqa: E402


def test_the_visible_streams_are_all_listed_when_the_wait_saw_only_some(monkeypatch):
    names = [f"{k}-{uuid.uuid4().hex[:8]}" for k in ("seen", "missed")]
    outlets = [pylsl.StreamOutlet(pylsl.StreamInfo(n, "EEG", 1, 10.0, pylsl.cf_float32, n)) for n in names]
    first = pylsl.resolve_bypred(f"name='{names[0]}'", timeout=5.0)
    assert first and len(outlets) == 2

    def partial_wait(pylsl_mod, pred, timeout, seen):  # one wave in: only the first outlet seen
        seen.extend(first)
        return []

    monkeypatch.setattr(lsl, "resolve", partial_wait)
    with pytest.raises(SpecError) as e:
        lsl.LslInlet(name="no-such-stream", resolve_timeout=0.3).configure({})
    assert f"'{names[0]}'" in str(e.value) and f"'{names[1]}'" in str(e.value)
