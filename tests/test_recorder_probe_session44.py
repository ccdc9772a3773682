"""Session 44's probe of the recorder's writers and recovery: the marker log on a full disk (a file-size limit: the same
failed write, without root), a FLAC's and an NPZ's recording date, a FLAC that cannot be written for a size limit."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import soundfile as sf
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec

resource = pytest.importorskip("resource")  # (RLIMIT_FSIZE: POSIX)


def _replay_spec(path) -> StreamSpec:
    src = FileSource(path=str(path))
    spec = src.configure({})["out"]
    src.close()
    return spec


def _run(script: str, tmp_path) -> dict:
    """Run `script` in a child process (a file-size limit there, none here: pytest's own output files stay writable);
    its last line of output is JSON."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_marker_log_that_fills_the_disk_is_said_kept_whole_and_the_recording_still_written(tmp_path):
    """The markers' log (<path>.events.csv) was a line-buffered text file: a write that failed (a full disk; here a
    file-size limit, EFBIG) stopped the run with a bare '[Errno 27] File too large', the log ended in a cut line with
    the rest of it held in the buffer, and close() failed on that buffer before it wrote the recording. Now the log is
    written whole lines at a time (as the spill and the chunk log are), the error says what failed, what is kept and
    the fix, and close() writes the EDF with every marker received."""
    got = _run(
        """
        import json, resource, sys
        from pathlib import Path
        import numpy as np
        from wavegraph.nodes.io.recorder import Recorder
        from wavegraph.pipeline.chunk import Chunk
        from wavegraph.pipeline.spec import StreamSpec
        tmp = Path(sys.argv[1])
        spec = StreamSpec("signal", 100.0, (2,), "float32", ("a", "b"), ("eeg", "eeg"))
        rec = Recorder(path=str(tmp / "m.edf"), events=True)
        rec.configure({"in": spec, "events": StreamSpec("events", 0.0, (3,), labels=((1, "cue " + "x" * 500),))})
        rec.process({"in": Chunk(np.zeros((2, 1000), np.float32), 0.0)})
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, hard))
        error, sent = None, 0
        try:
            for i in range(100):
                sent += 3
                rec.process({"events": Chunk(np.array([[i * 0.05 + 0.01, 0.0, 1]] * 3), 0.0)})
        except OSError as e:
            error = [e.errno, str(e)]
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        log = (tmp / "m.edf.events.csv").read_text()
        close = None
        try:
            rec.close()
        except Exception as e:
            close = repr(e)
        print(json.dumps({"error": error, "sent": sent, "log": log, "close": close}))
        """,
        tmp_path,
    )
    import errno

    import mne

    assert got["error"] is not None and got["error"][0] == errno.EFBIG
    assert "marker log" in got["error"][1] and "ulimit -f" in got["error"][1]  # what failed, and the fix
    assert got["log"].endswith("\n")  # whole lines only: recover reads every one
    assert all(len(line.split(",", 3)) == 4 for line in got["log"].splitlines())
    assert got["close"] is None  # the recording is written
    raw = mne.io.read_raw_edf(tmp_path / "m.edf", verbose="error")
    assert len(raw.annotations) == got["sent"]  # every marker received, those the log could not take too


def test_a_flac_recording_is_dated_and_replays_dated(tmp_path):
    """A FLAC was written without a date, where the same stream's FIF, EDF and WAV hold their first sample's time: its
    replay, and any recording made from it, were undated. Now a Vorbis DATE comment holds it (ISO 8601, UTC, to the
    microsecond: soundfile's `date`), which file_source reads back; a DATE without a time of day (a music file's
    release year) replays undated."""
    spec = StreamSpec(
        "signal", 1000.0, (2,), "float32", ("l", "r"), ("audio", "audio"), meas_date="2021-03-04T05:06:07.25+00:00"
    )
    rec = Recorder(path=str(tmp_path / "a.flac"))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(np.zeros((2, 500), np.float32), 2.0)})
    rec.finish()
    rec.close()
    first = datetime(2021, 3, 4, 5, 6, 9, 250000, tzinfo=UTC)  # meas_date + first t0
    assert datetime.fromisoformat(sf.SoundFile(tmp_path / "a.flac").date) == first
    assert datetime.fromisoformat(_replay_spec(tmp_path / "a.flac").meas_date) == first
    with sf.SoundFile(tmp_path / "song.flac", "w", 1000, 1, "PCM_24", format="FLAC") as f:
        f.date = "2019"
        f.write(np.zeros(100))
    assert _replay_spec(tmp_path / "song.flac").meas_date == ""


def test_an_npz_of_a_live_stream_is_dated_by_the_wall_clock_as_its_fif(tmp_path):
    """A live stream (meas_date unknown) recorded to FIF is dated by the wall clock when its first chunk left the
    source; to NPZ it was stored undated (the spec's meas_date null), its replay too. Now the NPZ's spec holds the date
    of stream time 0, as the FIF's meas_date: meas_date + first_time + the first t0 is that moment."""
    spec = StreamSpec("signal", 100.0, (2,), "float32", ("C3", "C4"), ("eeg", "eeg"))
    before = datetime.now(UTC)
    rec = Recorder(path=str(tmp_path / "live.npz"))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(np.ones((2, 50), np.float32), 1234.5, origin_ns=time.monotonic_ns())})
    rec.finish()
    rec.close()
    after = datetime.now(UTC)
    back = _replay_spec(tmp_path / "live.npz")
    assert back.meas_date
    start = datetime.fromisoformat(back.meas_date) + timedelta(seconds=back.first_time + 1234.5)
    assert before - timedelta(seconds=1) <= start <= after + timedelta(seconds=1)
    dated = StreamSpec("signal", 100.0, (1,), "float32", ("x",), ("eeg",), meas_date="")  # an undated file's replay
    rec = Recorder(path=str(tmp_path / "undated.npz"))
    rec.configure({"in": dated})
    rec.process({"in": Chunk(np.ones((1, 5), np.float32), 0.0)})
    rec.close()
    assert _replay_spec(tmp_path / "undated.npz").meas_date == ""  # kept undated, as MNE keeps one


def test_a_flac_that_a_file_size_limit_stops_is_said_so(tmp_path):
    """A FLAC whose first frames cannot be written at close (a full disk, a quota, a file-size limit): libFLAC's
    failure reached the user as '[Errno None] ... problem with initialization of the flac decoder', and `recover`'s fix
    was for a read-only card. Now the cause: [Errno 27] File too large (ENOSPC on a full disk), the spill kept."""
    got = _run(
        """
        import json, resource, sys
        from pathlib import Path
        import numpy as np
        from wavegraph.nodes.io.recorder import Recorder
        from wavegraph.pipeline.chunk import Chunk
        from wavegraph.pipeline.spec import StreamSpec
        tmp = Path(sys.argv[1])
        spec = StreamSpec("signal", 1000.0, (2,), "float32", ("l", "r"), ("audio", "audio"))
        rec = Recorder(path=str(tmp / "a.flac"))
        rec.configure({"in": spec})
        rec.process({"in": Chunk(np.random.default_rng(0).uniform(-1, 1, (2, 4000)).astype(np.float32), 0.0)})
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
        try:
            rec.close()
            error = None
        except OSError as e:
            error = [e.errno, str(e)]
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        print(json.dumps({"error": error, "spill": (tmp / "a.flac.spill").exists()}))
        """,
        tmp_path,
    )
    import errno

    assert got["error"] is not None and got["error"][0] == errno.EFBIG and "File too large" in got["error"][1]
    assert got["spill"]  # kept for `wavegraph recover`
