"""XDF replay: a LabRecorder-like file written with nodes/io/xdf.py from the real EEGMMIDB recording
(EEG in microvolts on the amplifier's clock, with a break), a 50 Hz sensor on a third clock, and a
marker stream, each with its clock offsets; pyxdf reads it, file_source replays every stream on the
recorder's clock, and a graph joins and epochs them."""

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.xdf import XdfStream, write_xdf
from wavegraph.pipeline.config import load_config
from wavegraph.pipeline.graph import build_graph
from wavegraph.pipeline.runner import run_graph
from wavegraph.pipeline.spec import SpecError

mne = pytest.importorskip("mne")
pyxdf = pytest.importorskip("pyxdf")
EEG_OFFSET, AUX_OFFSET = -0.25, 3.5  # device clock + offset = recorder clock
T_EEG = 1000.0  # recorder-clock time of the first EEG sample
RATE = 160.0
BREAK = 5.0  # seconds missing after 10 s of EEG
MARKERS = [(1.0, "left"), (2.5, "right"), (4.0, "left"), (12.0 + BREAK, "right"), (14.5 + BREAK, "7")]


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    from wavegraph.pipeline.datasets import fetch

    raw = mne.io.read_raw_edf(fetch("eegmmidb-s001r02"), preload=True, verbose="error")
    x = raw.get_data()[:, : int(20 * RATE)]  # 20 s, V
    n = x.shape[1]
    local = T_EEG - EEG_OFFSET + np.arange(n) / RATE  # the amplifier's own clock ...
    local[n // 2 :] += BREAK  # ... with 5 s missing after 10 s
    aux_t = np.arange(int(30 * 50.0)) / 50.0 + T_EEG - 1.0  # recorder time, 50 Hz, from 1 s before the EEG
    aux = np.sin(2 * np.pi * 0.5 * aux_t)[:, None]
    path = write_xdf(
        tmp_path_factory.mktemp("xdf") / "session.xdf",
        [
            XdfStream(
                "amp",
                "EEG",
                RATE,
                (x * 1e6).T,
                local,
                "double64",
                [c.strip(".") for c in raw.ch_names],
                "EEG",
                "microvolts",
                [(t, EEG_OFFSET) for t in local[::400]],
            ),
            XdfStream("markers", "Markers", 0.0, [m for _, m in MARKERS], [T_EEG + t for t, _ in MARKERS], "string"),
            XdfStream(
                "sensor",
                "Misc",
                50.0,
                aux,
                aux_t - AUX_OFFSET,
                "double64",
                ["slow"],
                "misc",
                "",
                [(t - AUX_OFFSET, AUX_OFFSET) for t in aux_t[::100]],
            ),
        ],
    )
    return path, x


def test_pyxdf_reads_the_written_file_with_its_clock_offsets(recording):
    path, x = recording
    streams, header = pyxdf.load_xdf(str(path), dejitter_timestamps=False)
    by_name = {s["info"]["name"][0]: s for s in streams}
    eeg = by_name["amp"]
    np.testing.assert_allclose(eeg["time_series"].T * 1e-6, x, rtol=1e-12)
    assert eeg["clock_values"][0] == EEG_OFFSET
    np.testing.assert_allclose(eeg["time_stamps"][:5], T_EEG + np.arange(5) / RATE, atol=1e-9)  # synchronised
    assert [v[0] for v in by_name["markers"]["time_series"]] == [m for _, m in MARKERS]


def test_file_source_replays_one_stream_with_markers_breaks_and_clock_offsets(recording):
    path, x = recording
    src = FileSource(path=str(path), stream="amp", chunk_size=64)
    specs = src.configure({})
    out, ev = specs["out"], specs["events"]
    assert out.rate == RATE and out.shape == (64,) and out.units == "V" and out.channel_names[0] == "Fc5"
    assert set(out.channel_types) == {"eeg"}
    assert dict(ev.labels) == {7: "7", 8: "left", 9: "right"}  # "7" is code 7, as lsl_inlet reads it live
    chunks, events = [], []
    while (r := src.read()) is not None:
        chunks.append(r["out"])
        if "events" in r:
            events.append(r["events"].data)
    data = np.concatenate([c.data for c in chunks], axis=1)
    np.testing.assert_allclose(data, x, rtol=1e-12, atol=1e-18)  # microvolts back to volts
    zero = T_EEG - 1.0  # the sensor's first sample is the file's earliest timestamp
    starts = np.cumsum([0] + [c.data.shape[1] for c in chunks[:-1]])
    want = T_EEG - zero + starts / RATE + np.where(starts >= x.shape[1] // 2, BREAK, 0.0)
    np.testing.assert_allclose([c.t0 for c in chunks], want, atol=1e-6)  # on the recorder's clock
    assert [c.t0 for c in chunks if c.gap] == pytest.approx([T_EEG - zero + 10.0 + BREAK])
    assert all(
        c.data.shape[1] == 64 or c.gap or chunks[i + 1].gap or i == len(chunks) - 1 for i, c in enumerate(chunks)
    )  # chunks do not straddle the break
    rows = np.concatenate(events)
    np.testing.assert_allclose(rows[:, 0], [T_EEG - zero + t for t, _ in MARKERS], atol=1e-9)
    assert [dict(ev.labels)[int(c)] for c in rows[:, 2]] == [m for _, m in MARKERS]
    with pytest.raises(SpecError, match="'amp' \\(type EEG.*'sensor'"):
        FileSource(path=str(path), stream="nope").configure({})


def test_xdf_graph_joins_streams_and_epochs_markers(recording, tmp_path):
    """Two file_sources on the same file share its clock: join puts the 50 Hz sensor on the EEG grid
    (values at the right recorder times despite both clock offsets), epochs cuts around the markers."""
    path, x = recording
    yaml = tmp_path / "xdf.yaml"
    yaml.write_text(f"""
name: xdf-replay
nodes:
  - {{id: eeg, type: file_source, params: {{path: "{path}", stream: EEG, picks: [O1, Oz, O2], chunk_size: 16}}}}
  - {{id: aux, type: file_source, params: {{path: "{path}", stream: sensor, chunk_size: 10}}}}
  - {{id: join, type: join, params: {{inputs: [eeg, aux]}}}}
  - {{id: ep, type: epochs, params: {{tmin: -0.5, tmax: 1.0, baseline: [null, 0.0], max_delay: 60.0}}}}
  - {{id: rec, type: recorder, params: {{path: joined.npz}}}}
  - {{id: recep, type: recorder, params: {{path: epochs.npz}}}}
  - {{id: recev, type: recorder, params: {{path: epoch_events.csv}}}}
edges:
  - {{source: eeg.out, target: join.eeg}}
  - {{source: aux.out, target: join.aux}}
  - {{source: join.out, target: rec.in}}
  - {{source: join.out, target: ep.in}}
  - {{source: eeg.events, target: ep.events}}
  - {{source: ep.out, target: recep.in}}
  - {{source: ep.events, target: recev.in}}
processes:
  a: [eeg]
  b: [aux]
  c: [join, ep, rec, recep, recev]
""")
    # One process, then three: the same files. (Flat out across processes, a worker drains one input's
    # queue before the next, so the signal can run many seconds ahead of the markers: max_delay 60 s.)
    for mode in ("in", "multi"):
        d = tmp_path / mode
        r = run_graph(
            build_graph(
                load_config(
                    yaml,
                    [
                        f"rec.path={d / 'joined.npz'}",
                        f"recep.path={d / 'epochs.npz'}",
                        f"recev.path={d / 'epoch_events.csv'}",
                    ],
                )
            ),
            in_process=mode == "in",
        )
        assert r.exit_code == 0, r.failure
        assert not r.stats["ep"]["counters"] and not r.stats["join"]["counters"], (mode, r.stats["ep"], r.stats["join"])
    for name in ("joined.npz", "epochs.npz"):
        np.testing.assert_array_equal(
            np.load(tmp_path / "in" / name)["data"], np.load(tmp_path / "multi" / name)["data"]
        )
    assert (tmp_path / "in" / "epoch_events.csv").read_text() == (tmp_path / "multi" / "epoch_events.csv").read_text()
    tmp_path = tmp_path / "multi"
    joined = np.load(tmp_path / "joined.npz")["data"]
    assert joined.shape == (4, x.shape[1])
    t_rec = T_EEG + np.arange(x.shape[1]) / RATE + np.where(np.arange(x.shape[1]) >= x.shape[1] // 2, BREAK, 0.0)
    np.testing.assert_allclose(joined[3], np.sin(2 * np.pi * 0.5 * t_rec), atol=2e-3)  # linear interp. of 50 Hz
    epochs = np.load(tmp_path / "epochs.npz")["data"]
    assert epochs.shape == (5, 4, int(1.5 * RATE) + 1), (r.stats["ep"]["counters"], r.stats["join"]["counters"])
    rows = np.loadtxt(tmp_path / "epoch_events.csv", delimiter=",", skiprows=1, usecols=(0, 2))
    assert rows.shape == (5, 2)
    # Offline: mne.Epochs on the joined signal of the first segment, markers at their sample.
    seg = x.shape[1] // 2
    # the sensor as the stream types it (misc): mne.Epochs, and epochs, baseline-correct the EEG only
    info = mne.create_info(["O1", "Oz", "O2", "slow"], RATE, ["eeg", "eeg", "eeg", "misc"])  # pyright: ignore[reportArgumentType]
    raw = mne.io.RawArray(joined[:, :seg], info, verbose="error")
    ev = np.array([[int(round(t * RATE)), 0, 1] for t, _ in MARKERS[:3]])
    ref = mne.Epochs(raw, ev, tmin=-0.5, tmax=1.0, baseline=(None, 0.0), preload=True, verbose="error").get_data(
        copy=True
    )
    np.testing.assert_allclose(epochs[:3], ref, rtol=1e-10, atol=1e-15)
    # After the break: the same on the second segment (the join and the epochs re-anchor at the gap).
    raw2 = mne.io.RawArray(joined[:, seg:], info, verbose="error")
    ev2 = np.array([[int(round((t - 10.0 - BREAK) * RATE)), 0, 1] for t, _ in MARKERS[3:]])
    ref2 = mne.Epochs(raw2, ev2, tmin=-0.5, tmax=1.0, baseline=(None, 0.0), preload=True, verbose="error").get_data(
        copy=True
    )
    np.testing.assert_allclose(epochs[3:], ref2, rtol=1e-10, atol=1e-15)


def test_every_spelling_of_microvolts_is_scaled_to_volts():
    """Amplifier apps write the micro sign (U+00B5) or the Greek mu (U+03BC); "\u03bcV" was left unscaled, a
    million times too large, in the XDF replay and in lsl_inlet (both use nodes/io/units.py)."""
    from wavegraph.nodes.io.units import to_volts

    scale, unit = to_volts(["\u00b5V", "\u03bcV", "uV", "microvolts", "mV", "V"])
    np.testing.assert_array_equal(scale, [1e-6, 1e-6, 1e-6, 1e-6, 1e-3, 1.0])
    assert unit == "V"
    scale, unit = to_volts(["\u03bcV", "g"])  # an accelerometer beside it: not a voltage, no shared unit
    np.testing.assert_array_equal(scale, [1e-6, 1.0])
    assert unit == ""


def test_a_file_without_clock_offsets_gets_one_clear_message_or_none(recording, tmp_path, caplog):
    # pyxdf logged "Stream k: Segments and clock-segments differ" once per stream of such a file (and whenever a
    # break is shorter than its clock-segment threshold); now one wavegraph line, only when streams may come from
    # different computers
    import logging

    _, x = recording
    t = 50.0 + np.arange(800) / RATE
    labels = ["Fc5", "Fc3", "Fc1", "Fcz"]

    def warnings_for(name: str, hostname: str, markers: bool = True) -> list[str]:
        streams = [XdfStream("amp", "EEG", RATE, x[:4, :800].T * 1e6, t, labels=labels, unit="uV", hostname=hostname)]
        if markers:
            streams.append(XdfStream("mk", "Markers", 0.0, ["1", "2"], [50.5, 52.0], "string", hostname=hostname))
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            FileSource(path=str(write_xdf(tmp_path / name, streams))).configure({})
        return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]

    (said,) = warnings_for("two_hosts_unknown.xdf", "")
    assert said.startswith("file_source: two_hosts_unknown.xdf: streams 'amp', 'mk' carry no clock offsets")
    assert warnings_for("one_computer.xdf", "lab-pc") == []  # one computer's streams share its clock
    assert warnings_for("one_stream.xdf", "", markers=False) == []  # nothing to align
