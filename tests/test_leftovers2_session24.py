"""Leftovers of earlier reviews (session 24), each replayed as a user runs a graph: small YAML graphs over tiny
files in tmp_path, in one process."""

import csv

import mne
import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.node import NodeParams, Source
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import StreamSpec

RATE = 100.0


def _run(tmp_path, text: str):
    g = tmp_path / "g.yaml"
    g.write_text(text)
    r = run_graph(build_graph(load_config(g)), in_process=True)
    assert r.exit_code == 0, r.failure
    return r


def _fif(tmp_path, name="src_raw.fif", n=500, date=None, n_ch=3):
    info = mne.create_info(["Fz", "Cz", "Pz", "Oz"][:n_ch], RATE, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 1e-5, (n_ch, n)), info, verbose="error")
    raw.set_meas_date(date)
    path = tmp_path / name
    raw.save(path, overwrite=True, verbose="error")
    return path


# --- 1. an undated input stays undated ------------------------------------------------------------------------
REPLAY = """\
nodes:
  - {id: src, type: file_source, params: {path: SRC, chunk_size: 50}}
  - {id: rec, type: recorder, params: {path: OUT, overwrite: true PARAMS}}
edges:
  - {source: src.out, target: rec.in}
"""


def test_an_undated_fif_replayed_to_fif_stays_undated(tmp_path):
    """An undated FIF (MNE's meas_date None) replayed into a FIF recorder was dated with the time of the replay."""
    src = _fif(tmp_path)
    out = tmp_path / "out_raw.fif"
    _run(tmp_path, REPLAY.replace("SRC", str(src)).replace("OUT", str(out)).replace(" PARAMS", ""))
    rec = mne.io.read_raw_fif(out, verbose="error")
    assert rec.info["meas_date"] is None and rec.n_times == 500


def test_a_dated_fif_keeps_its_date_and_a_live_stream_is_still_dated_by_the_wall_clock(tmp_path):
    from datetime import UTC, datetime

    from wavegraph.nodes.io.record_formats import Origin
    from wavegraph.pipeline.spec import signal_spec

    src = _fif(tmp_path, date=1.7e9)
    out = tmp_path / "out_raw.fif"
    _run(tmp_path, REPLAY.replace("SRC", str(src)).replace("OUT", str(out)).replace(" PARAMS", ""))
    assert mne.io.read_raw_fif(out, verbose="error").info["meas_date"] == datetime.fromtimestamp(1.7e9, UTC)
    now = datetime.now(UTC).isoformat()
    live = signal_spec(RATE, ["a"])  # meas_date None: unknown, as a live stream's
    assert Origin.of(live, 0.0, now).meas_date == datetime.fromisoformat(now)
    assert Origin.of(live.evolve(meas_date=""), 0.0, now).meas_date is None  # a file that gives no date


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_an_undated_fif_replayed_into_bids_has_no_acq_time(tmp_path):
    """scans.tsv gave acq_time 1985-01-01 (EDF+'s 'unknown' date, read back as a date); the time of the replay
    before that. mne-bids writes n/a for a recording without meas_date."""
    pytest.importorskip("mne_bids")
    src = _fif(tmp_path)
    params = ", bids_root: BIDS, subject: '01', task: rest".replace("BIDS", str(tmp_path / "bids"))
    _run(tmp_path, REPLAY.replace("SRC", str(src)).replace("OUT", str(tmp_path / "o.edf")).replace(" PARAMS", params))
    scans = next(csv.DictReader(open(tmp_path / "bids/sub-01/sub-01_scans.tsv"), delimiter="\t"))
    assert scans["acq_time"] == "n/a"


# --- 2. channels.tsv low_cutoff / high_cutoff: the graph's filters ---------------------------------------------
FILTERED = """\
nodes:
  - {id: src, type: file_source, params: {path: SRC, chunk_size: 50}}
  - {id: hp, type: highpass, params: {freq: 0.5}}
  - {id: bp, type: bandpass, params: {l_freq: 1.0, h_freq: 40.0}}
  - {id: notch, type: notch, params: {freq: 20.0}}
  - {id: rec, type: recorder, params: {path: OUT, overwrite: true, bids_root: BIDS, subject: '01', task: rest}}
  - {id: fif, type: recorder, params: {path: FIF, overwrite: true}}
edges:
  - {source: src.out, target: hp.in}
  - {source: hp.out, target: bp.in}
  - {source: bp.out, target: notch.in}
  - {source: notch.out, target: rec.in}
  - {source: notch.out, target: fif.in}
"""


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_bids_channels_tsv_and_fif_hold_the_filters_the_graph_applied(tmp_path):
    """channels.tsv said low_cutoff 0.0, high_cutoff 50.0 (0 Hz and the Nyquist) after a 1-40 Hz band-pass; the FIF's
    info['highpass'] / ['lowpass'] too. Now the narrowest edges of the filters upstream, as MNE's filter() sets them."""
    pytest.importorskip("mne_bids")
    src = _fif(tmp_path)
    text = (
        FILTERED.replace("SRC", str(src)).replace("OUT", str(tmp_path / "o.edf")).replace("BIDS", str(tmp_path / "b"))
    )
    _run(tmp_path, text.replace("FIF", str(tmp_path / "o_raw.fif")))
    rows = list(csv.DictReader(open(tmp_path / "b/sub-01/eeg/sub-01_task-rest_channels.tsv"), delimiter="\t"))
    assert [(r["low_cutoff"], r["high_cutoff"]) for r in rows] == [("1.0", "40.0")] * 3
    info = mne.io.read_raw_fif(tmp_path / "o_raw.fif", verbose="error").info
    assert (info["highpass"], info["lowpass"]) == (1.0, 40.0)


def test_a_files_filters_are_kept_and_narrowed_and_a_lower_rate_bounds_the_lowpass(tmp_path):
    from wavegraph.nodes.dsp.filters import Lowpass
    from wavegraph.nodes.dsp.fir import FIR
    from wavegraph.nodes.io.file_source import FileSource

    raw = mne.io.read_raw_fif(_fif(tmp_path), preload=True, verbose="error").filter(0.1, 30.0, verbose="error")
    raw.save(tmp_path / "f_raw.fif", overwrite=True, verbose="error")
    spec = FileSource(path=str(tmp_path / "f_raw.fif")).configure({})["out"]
    assert spec.passband() == pytest.approx((0.1, 30.0))  # MNE's info of the file (a replay wrote 0 and 50 Hz)
    assert Lowpass(freq=20.0).configure({"in": spec})["out"].passband() == pytest.approx((0.1, 20.0))
    assert FIR(l_freq=1.0, numtaps=51).configure({"in": spec})["out"].passband() == pytest.approx((1.0, 30.0))
    assert FIR(l_freq=20.0, h_freq=10.0, numtaps=51).configure({"in": spec})["out"].passband() == pytest.approx(
        (0.1, 30.0)
    )  # stop
    assert spec.evolve(rate=40.0).passband() == pytest.approx(
        (0.1, 20.0)
    )  # resampled down: at most the new Nyquist, as MNE's


# --- 3. a marker sent with the EEG's last chunk is recorded -------------------------------------------------------
class _InFlightParams(NodeParams):
    path: str
    chunk_s: float = 0.5  # the EEG replay's chunks
    polls: int = 5  # reads a marker takes to arrive once sent (on its way through the network)


class InFlightMarkers(Source):
    """A marker inlet beside the EEG (lsl_inlet with ends_with_others and wait: 0, as configs/bci_ssvep.yaml has it):
    the file's markers, each sent with the EEG chunk that holds it and there `polls` reads later."""

    Params = _InFlightParams
    live = True
    ends_with_others = True

    def configure(self, in_specs):
        ann = mne.read_annotations(self.params.path)
        self.marks = [(float(o), i + 1) for i, o in enumerate(ann.onset)]
        self.reads, self.sent = 0, []
        labels = tuple((i + 1, str(d)) for i, d in enumerate(ann.description))
        self.out_specs = {"out": StreamSpec("events", 0.0, (3,), "float64", labels=labels)}
        return self.out_specs

    def read(self):
        self.reads += 1  # read r follows the EEG's chunk r - 1 (the sources are read in turn)
        lo, hi = (self.reads - 1) * self.params.chunk_s, self.reads * self.params.chunk_s
        self.sent += [(self.reads, o, c) for o, c in self.marks if lo <= o < hi]
        here = [(o, 0.0, c) for r, o, c in self.sent if self.reads >= r + self.params.polls]
        self.sent = [x for x in self.sent if self.reads < x[0] + self.params.polls]
        return {"out": Chunk(np.array(here, dtype=np.float64), t0=here[0][0])} if here else {}


MARKED = """\
nodes:
  - {id: src, type: file_source, params: {path: SRC, chunk_size: 50}}
  - {id: mk, type: test_leftovers2_session24:InFlightMarkers, params: {path: SRC}}
  - {id: rec, type: recorder, params: {path: OUT, overwrite: true, events: true}}
edges:
  - {source: src.out, target: rec.in}
  - {source: mk.out, target: rec.events}
"""


def test_a_marker_sent_with_the_eegs_last_chunk_is_recorded(tmp_path):
    """A marker inlet that ends with the EEG (ends_with_others) was read once, at once, when the EEG ended: the marker
    sent with the EEG's last chunk, still on its way, was lost (live: an EEG inlet of duration 3 s beside a marker
    inlet, a marker every 0.5 s: the one at 2.99 s never recorded). Now it is read until nothing more comes."""
    src = _fif(tmp_path)  # 5 s at 100 Hz: 10 chunks of 0.5 s
    raw = mne.io.read_raw_fif(src, preload=True, verbose="error")
    raw.set_annotations(mne.Annotations([0.45, 2.45, 4.7], [0, 0, 0], ["a", "b", "last"]))
    raw.save(src, overwrite=True, verbose="error")
    out = tmp_path / "m_raw.fif"
    _run(tmp_path, MARKED.replace("SRC", str(src)).replace("OUT", str(out)))
    notes = mne.io.read_raw_fif(out, verbose="error").annotations
    assert list(notes.description) == ["a", "b", "last"]  # (was a, b)
    np.testing.assert_allclose(notes.onset, [0.45, 2.45, 4.7])


# --- 5. U+2028 inside a quoted YAML value is the value's ---------------------------------------------------------
YAML5 = """\
name: NAME
nodes:
  - {id: src, type: sine, params: {freq: 10.0, rate: 250.0, duration: 0.2}}
  - id: bp
    type: bandpass
    params: {l_freq: 1.0, h_freq: 40.0}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: bp.in}
  - {source: bp.out, target: sink.in}
"""


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85"])
def test_a_unicode_line_break_inside_quotes_is_the_values_own(tmp_path, monkeypatch, capsys, char):
    """Inside quotes YAML reads U+2028 (U+2029) as part of the value, U+0085 as a folded space; it was refused as a
    stray line break.
    Later problems are still said at the editor's line; outside quotes the clear error stays."""
    from peer_hints import problems
    from wavegraph.pipeline.config import load_config

    kept = " " if char == "\x85" else char  # PyYAML folds U+0085 (NEL) to a space, keeps the others
    for quoted, value in ((f'"a{char}b \\" c"', f'a{kept}b " c'), (f"'a{char}b '' \\ c'", f"a{kept}b ' \\ c")):
        text = YAML5.replace("NAME", quoted)
        assert problems(tmp_path, monkeypatch, capsys, text) == []
        assert load_config(tmp_path / "g.yaml").name == value
        err = problems(tmp_path, monkeypatch, capsys, text.replace("l_freq", "lfreq"))
        assert len(err) == 1 and err[0].startswith("g.yaml:6:") and "lfreq" in err[0], err  # not line 7
    err = problems(tmp_path, monkeypatch, capsys, YAML5.replace("NAME", f"a{char}b"))
    assert len(err) == 1 and err[0].startswith("g.yaml:1: invalid YAML: column 8 holds U+"), err


# --- 4. align after the enhancer keeps the input's time base after a gap ------------------------------------------
ENHANCE = """\
nodes:
  - {id: src, type: file_source, params: {path: SRC, chunk_size: 1600}}
  - {id: enhancer, type: enhancer, params: {random_init: true, d_model: 16}}
  - {id: align, type: align}
  - {id: rec, type: recorder, params: {path: OUT, overwrite: true}}
edges:
  - {source: src.out, target: enhancer.in}
  - {source: enhancer.out, target: align.in}
  - {source: align.out, target: rec.in}
"""


@pytest.mark.usefixtures("one_torch_thread")
def test_align_after_the_enhancer_drops_the_delay_again_after_a_gap(tmp_path):
    """A 16 kHz file with a skip (BAD_ACQ_SKIP 0.5-0.6 s): the enhancer's reset at the gap adds its delay again, and
    align had dropped it only once, so the output after the gap started 319 samples (the warm-up) before the input's
    0.6 s, inside the gap. Now every output time is one of the input's, and the segment after the gap starts at 0.6."""
    fs = 16000
    x = np.random.default_rng(0).uniform(-0.1, 0.1, (1, fs))
    raw = mne.io.RawArray(x, mne.create_info(["ch0"], fs, "misc"), verbose="error")
    raw.set_annotations(mne.Annotations([0.5], [0.1], ["BAD_ACQ_SKIP"]))
    raw.save(tmp_path / "gap_raw.fif", verbose="error")
    out = tmp_path / "e.csv"
    _run(tmp_path, ENHANCE.replace("SRC", str(tmp_path / "gap_raw.fif")).replace("OUT", str(out)))
    t = np.round(np.loadtxt(out, delimiter=",", skiprows=1, usecols=0) * fs).astype(int)
    after = t[t >= 0.5 * fs]
    assert after[0] == int(0.6 * fs) and after[-1] == fs - 1  # (was 9281: 0.58 s)
    assert set(t) <= set(range(int(0.5 * fs))) | set(range(int(0.6 * fs), fs))
    assert len(after) == int(0.4 * fs)  # the segment after the gap whole: its warm-up dropped, its tail flushed
