"""Leftovers of earlier sessions' closing notes (session 28 helper): each with the test that failed before its fix."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import need
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import NodeParams, Source
from wavegraph.pipeline.spec import SpecError, StreamSpec

ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison")


def _prompt() -> Path:
    """The smallest Asterisk G.722 prompt of the English voice (skips without it, or without PyAV)."""
    pytest.importorskip("av")
    prompts = sorted(ALLISON.glob("*.g722"), key=lambda p: (p.stat().st_size, p.name)) if ALLISON.is_dir() else []
    need(prompts, "the Asterisk English G.722 prompts are not installed (apt-get install asterisk-core-sounds-en-g722)")
    return next(p for p in prompts if p.stat().st_size > 8000)  # half a second at least


def _whole(path: Path) -> np.ndarray:
    """The file decoded at once, as models/speech_data.py decodes the prompts (PyAV's g722), float32 in [-1, 1]."""
    import av

    with av.open(str(path), format="g722") as c:
        x = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(c.streams.audio[0])])
    assert x.dtype == np.int16
    return x.astype(np.float32) / 32768


def test_file_source_replays_a_g722_prompt_as_pyav_decodes_it_whole():
    """A raw G.722 file (an Asterisk prompt) given to file_source was refused ('.g722 audio is not a format libsndfile
    reads', with an ffmpeg line) though PyAV, installed, decodes it. It replays now: 16 kHz mono float32, every sample
    of the whole file's decoding (2 per byte), in chunks of any size, each chunk at its sample's time."""
    from wavegraph.nodes.io.file_source import FileSource

    path = _prompt()
    whole = _whole(path)
    assert whole.size == 2 * path.stat().st_size
    for chunk in (1600, 997):
        src = FileSource(path=str(path), chunk_size=chunk)
        spec = src.configure({})["out"]
        assert (spec.rate, spec.shape, spec.dtype, spec.channel_types) == (16000.0, (1,), "float32", ("audio",))
        assert src.duration_seconds == whole.size / 16000
        got, times = [], []
        while (out := src.read()) is not None:
            got.append(out["out"].data)
            times.append(out["out"].t0)
        src.close()
        np.testing.assert_array_equal(np.concatenate(got, axis=1)[0], whole)
        assert times == [k * chunk / 16000 for k in range(len(got))]


def test_the_g722_reader_gives_the_same_samples_read_in_pieces_skipping_and_going_back():
    """G.722 is ADPCM (each sample depends on all before): samples read in uneven pieces, after a skip ahead and after
    going back (the decoder starts again from the file's start) are those of the whole decoding, float64 too."""
    from wavegraph.nodes.io.telephony_reader import open_telephony

    path = _prompt()
    whole = _whole(path).astype(np.float64)
    r = open_telephony(path, "float64")
    pieces, at = [], 0
    for n in (1, 2, 333, 1024, 4095, 7, 10**6):
        pieces.append(r.get([0], at, min(at + n, r.n_times)))
        at = min(at + n, r.n_times)
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1)[0], whole)
    np.testing.assert_array_equal(r.get([0], 100, 5000)[0], whole[100:5000])  # back: decoded again
    np.testing.assert_array_equal(r.get([0], 8000, 8100)[0], whole[8000:8100])  # ahead: the skipped ones decoded
    r.close()


def test_without_pyav_a_g722_file_is_refused_with_the_ffmpeg_and_the_pip_line(monkeypatch):
    """PyAV is optional (the enhance extra): without it file_source keeps the ffmpeg line and gives the pip line."""
    from wavegraph.nodes.io.file_source import FileSource

    path = _prompt()
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` raises ImportError, as where it is not installed
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    said = str(e.value)
    assert "PyAV, which is not installed" in said and "pip install av" in said
    assert f"ffmpeg -i {path.name} {path.stem}.wav" in said


# --- a marker sent with the EEG's last chunk, stamped after its last sample ------------------------------------------
class _LateParams(NodeParams):
    at: list[float]  # the markers' times (s), each sent once the EEG's chunk of that time has been read
    chunk_s: float = 0.5  # the EEG replay's chunks


class LateMarkers(Source):
    """A marker inlet beside the EEG (lsl_inlet, ends_with_others): each marker arrives with the EEG chunk of its time;
    one stamped after the EEG's last sample (a stimulus app's last marker, pushed as the last chunk went out, whose
    samples LSL stamps back from the push) arrives once the EEG has ended, in the runtime's last reads."""

    Params = _LateParams
    live = True
    ends_with_others = True

    def configure(self, in_specs):
        self.reads, self.left = 0, sorted(self.params.at)
        self.out_specs = {"out": StreamSpec("events", 0.0, (3,), "float64", labels=((1, "stim"), (2, "last")))}
        return self.out_specs

    def read(self):
        self.reads += 1  # read r follows the EEG's chunk r - 1 (the sources are read in turn)
        due = [t for t in self.left if t < self.reads * self.params.chunk_s]
        self.left = self.left[len(due) :]
        rows = [(t, 0.0, 2.0 if not self.left and t == due[-1] else 1.0) for t in due]
        return {"out": Chunk(np.array(rows), t0=rows[0][0])} if rows else {}


LATE = """\
nodes:
  - {id: src, type: file_source, params: {path: SRC, chunk_size: 50}}
  - {id: mk, type: test_leftovers_session28:LateMarkers, params: {at: [2.0, 5.2]}}
  - {id: rec, type: recorder, params: {path: OUT, overwrite: true, events: true}}
  - {id: ep, type: epochs, params: {tmin: -0.1, tmax: 0.2}}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: rec.in}
  - {source: mk.out, target: rec.events}
  - {source: src.out, target: ep.in}
  - {source: mk.out, target: ep.events}
  - {source: ep.out, target: sink.in}
"""


def test_a_marker_after_the_eegs_last_sample_is_kept_beside_the_recording(tmp_path, caplog):
    """The recorder wrote the markers into the FIF and deleted its marker log `<path>.events.csv`; a marker stamped
    after the EEG's last sample (sent with its last chunk), which MNE leaves out of a FIF as outside the data, was
    said and lost with the log. The log is kept now when a marker falls outside the recording, and the warning names
    it; epochs counts that marker (outside_data: no samples after it), as before."""
    import logging

    import mne
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    src = tmp_path / "src_raw.fif"  # 5 s at 100 Hz: 10 chunks of 0.5 s
    mne.io.RawArray(np.zeros((1, 500)), mne.create_info(["Cz"], 100.0, "eeg")).save(src, verbose="error")
    out = tmp_path / "rec_raw.fif"
    (g := tmp_path / "g.yaml").write_text(LATE.replace("SRC", str(src)).replace("OUT", str(out)))
    with caplog.at_level(logging.WARNING, "wavegraph.recorder"):
        r = run_graph(build_graph(load_config(g)), in_process=True)
    assert r.exit_code == 0, r.failure
    assert list(mne.io.read_raw_fif(out, verbose="error").annotations.onset) == [2.0]  # as MNE: 5.2 s is outside
    log = out.with_name(out.name + ".events.csv")
    assert log.read_text().splitlines() == ["onset,duration,code,label", "2.0,0.0,1,stim", "5.2,0.0,2,last"]  # (gone)
    assert "1 of 2 markers fall outside the recording" in caplog.text
    assert "every marker is kept in rec_raw.fif.events.csv" in caplog.text
    ep = r.stats["ep"]
    assert (ep["counters"] if isinstance(ep, dict) else ep.counters).get("outside_data") == 1


def test_the_marker_log_goes_once_the_recording_holds_every_marker(tmp_path):
    """A recording that holds all its markers has no log beside it (and a stale one an earlier run left is removed)."""
    import mne
    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    src = tmp_path / "src_raw.fif"
    mne.io.RawArray(np.zeros((1, 500)), mne.create_info(["Cz"], 100.0, "eeg")).save(src, verbose="error")
    out = tmp_path / "rec_raw.fif"
    log = out.with_name(out.name + ".events.csv")
    for at in ("[2.0, 5.2]", "[2.0, 4.99]"):
        text = LATE.replace("SRC", str(src)).replace("OUT", str(out)).replace("[2.0, 5.2]", at)
        (g := tmp_path / "g.yaml").write_text(text)
        assert run_graph(build_graph(load_config(g)), in_process=True).exit_code == 0
    assert list(mne.io.read_raw_fif(out, verbose="error").annotations.onset) == [2.0, 4.99]
    assert not log.exists()
