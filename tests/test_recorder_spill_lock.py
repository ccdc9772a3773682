"""A second process recording to a path whose spill a live recorder holds is refused before it touches
the live session's crash-recovery logs (it truncated <path>.chunks.csv and <path>.events.csv first: a
later recover() then kept only the chunks logged after that, 100 of 400 samples here)."""

import subprocess
import sys

import mne
import numpy as np
import pytest
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.nodes.io.recover import recover
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec

SPEC = "StreamSpec('signal', 100.0, (2,), 'float64', ('a', 'b'), ('eeg', 'eeg'), 'V')"

SECOND = """
import sys
import numpy as np
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec
rec = Recorder(path=sys.argv[1], overwrite=True, events=True)
rec.configure({{"in": {spec}, "events": StreamSpec("events", 0.0, (3,), "float64")}})
for port, chunk in (("events", Chunk(np.array([[0.5, 0.0, 9.0]]), t0=0.5)), ("in", Chunk(np.ones((2, 100)), t0=0.0))):
    try:
        rec.process({{port: chunk}})
    except OSError as e:
        print("REFUSED", port, e)
"""


def test_a_refused_second_recorder_leaves_the_live_logs_alone(tmp_path):
    path = tmp_path / "live_raw.fif"
    rec = Recorder(path=str(path), events=True)
    rec.configure({"in": eval(SPEC), "events": StreamSpec("events", 0.0, (3,), "float64")})
    rec.process({"events": Chunk(np.array([[0.2, 0.0, 1.0]]), t0=0.2)})
    for k in range(3):
        rec.process({"in": Chunk(np.full((2, 100), float(k)), t0=float(k))})
    logs = [path.with_name(path.name + tail) for tail in (".chunks.csv", ".events.csv")]
    before = [p.read_bytes() for p in logs]
    out = subprocess.run(
        [sys.executable, "-c", SECOND.format(spec=SPEC), str(path)], capture_output=True, text=True, timeout=120
    )
    assert out.stdout.count("REFUSED") == 2, out.stdout + out.stderr
    assert [p.read_bytes() for p in logs] == before  # truncated (then zero-filled) before
    rec.process({"in": Chunk(np.full((2, 100), 3.0), t0=3.0)})
    rec._file.close()  # the process dies: the system closes its files
    rec._chunks.close()
    rec._events_file.close()  # pyright: ignore[reportOptionalMemberAccess]
    rec._closed = True
    raw = mne.io.read_raw_fif(recover(path), verbose="error")
    assert raw.n_times == 400 and raw.first_samp == 0
    np.testing.assert_array_equal(raw.get_data()[0], np.repeat(np.arange(4.0), 100))
    assert [a["description"] for a in raw.annotations] == ["1"]


def test_markers_before_the_first_sample_keep_a_second_recorder_off_the_logs(tmp_path):
    """A session that has had markers but no sample yet holds the (empty) spill's lock too: a second recorder to
    the same path is refused before it truncates the session's events log (it overwrote it, then took the path
    on its first sample). A process killed in that state leaves an empty spill without a header, which does not
    block the next run; a clean close removes it."""
    path = tmp_path / "live_raw.fif"
    rec = Recorder(path=str(path), events=True)
    rec.configure({"in": eval(SPEC), "events": StreamSpec("events", 0.0, (3,), "float64")})
    rec.process({"events": Chunk(np.array([[0.2, 0.0, 1.0]]), t0=0.2)})
    log = path.with_name(path.name + ".events.csv")
    before = log.read_bytes()
    out = subprocess.run(
        [sys.executable, "-c", SECOND.format(spec=SPEC), str(path)], capture_output=True, text=True, timeout=120
    )
    assert out.stdout.count("REFUSED") == 2, out.stdout + out.stderr
    assert log.read_bytes() == before
    rec._events_file.close()  # pyright: ignore[reportOptionalMemberAccess]  # the process dies
    rec._spill.close()  # pyright: ignore[reportOptionalMemberAccess]
    rec._closed = True
    again = Recorder(path=str(path), events=True)  # no overwrite: the empty spill holds no recording, but the log
    with pytest.raises(SpecError, match="events.csv holds the markers of an earlier run"):  # holds the killed run's
        again.configure({"in": eval(SPEC), "events": StreamSpec("events", 0.0, (3,), "float64")})  # marker (session 28)
    log.rename(tmp_path / "earlier.events.csv")  # the fix it names: moved away
    again.configure({"in": eval(SPEC), "events": StreamSpec("events", 0.0, (3,), "float64")})
    again.process({"events": Chunk(np.array([[0.2, 0.0, 1.0]]), t0=0.2)})
    again.close()  # no sample came
    assert not path.with_name(path.name + ".spill").exists()
