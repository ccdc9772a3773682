"""A notebook user replaying recordings through graphs from Python (session 43 probe): each test failed before its fix."""

from __future__ import annotations

import numpy as np
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node

SWEEP = """name: sweep
nodes:
  - {id: src, type: sine, params: {rate: 100.0, channels: 2, duration: 2.0, chunk_size: 10, freq: [5.0, 30.0]}}
  - {id: bp, type: bandpass, params: {l_freq: 1.0, h_freq: 40.0}}
edges:
  - {source: src.out, target: bp.in}
"""


def test_from_yaml_takes_numpy_numbers_as_overrides_as_a_sweep_gives_them(tmp_path):
    # for h in np.arange(20, 45, 5): from_yaml(..., {"bp.h_freq": h}) was refused: "'20' is text, not a number;
    # fix: write it without quotes" (json.dumps(default=str) wrote np.int64 as a string); a list of them as ['60']
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP)
    plain = GraphBuilder.from_yaml(path, {"src.chunk_size": 7, "bp.h_freq": 20}).run(capture=["bp.out"])["bp.out"]
    overrides = {"src.chunk_size": np.int64(7), "bp.h_freq": np.arange(20, 45, 5)[0], "src.freq": np.array([5.0, 30.0])}
    got = GraphBuilder.from_yaml(path, overrides).run(capture=["bp.out"])["bp.out"]
    np.testing.assert_array_equal(got.data, plain.data)


def test_numpy_numbers_as_parameters_run_in_worker_processes_as_in_one(tmp_path):
    # in_process=False refused np.int64 (chunk_size=n from numpy) and np.float32 as "cannot be sent to its worker: ...
    # give the parameter as text, numbers or lists", where in one process the same code ran
    def graph(path):
        g = GraphBuilder()
        src = g.add(
            "sine", rate=np.float32(100.0), channels=np.int64(2), duration=np.float64(1.0), chunk_size=np.int64(10)
        )
        bp = g.add("bandpass", src, l_freq=np.float32(1.0), h_freq=[np.int64(40)][0])
        g.add("recorder", bp, path=path, overwrite=np.bool_(True))
        return g

    graph(tmp_path / "one.npz").run()
    graph(tmp_path / "many.npz").run(in_process=False)
    np.testing.assert_array_equal(np.load(tmp_path / "many.npz")["data"], np.load(tmp_path / "one.npz")["data"])


def _replay(node) -> np.ndarray:
    node.configure({})
    chunks = []
    while (out := node.read()) is not None:
        chunks.append(out["out"].data)
    return np.concatenate(chunks, axis=1)


def test_a_replay_source_configured_again_by_hand_replays_from_the_start():
    # a notebook cell run twice (configure, read to the end; configure, read): the second replay began where the first
    # ended and gave nothing, silently; configure() starts a fresh stream (docs/nodes.md), as a sine's does
    from wavegraph.nodes.io.array_source import ArraySource

    x = np.arange(20.0).reshape(2, 10)
    node = ArraySource(data=x, rate=10.0, chunk_size=4)
    np.testing.assert_array_equal(_replay(node), x)
    np.testing.assert_array_equal(_replay(node), x)


class Accumulates(Node):
    """A running sum returned in a buffer of its own, filled again at the next chunk (a recorder has written it then)."""

    def configure(self, in_specs):
        self.total = None
        return super().configure(in_specs)

    def process(self, inputs):
        x = inputs["in"].data
        if self.total is None:
            self.total = np.zeros_like(x)
        self.total += x
        return {"out": Chunk(self.total, t0=inputs["in"].t0)}


def test_a_capture_keeps_what_a_node_sent_though_it_fills_the_same_array_again(tmp_path):
    # the capture kept the node's array itself: every chunk came back as the last one's values ([4, 4, 4, ...]), where
    # the recorder beside it wrote 0, 1, 2, 3, 4 ("the captured arrays are the ones a recorder would have written")
    g = GraphBuilder()
    src = g.add("array_source", data=np.ones((1, 10)), rate=10.0, chunk_size=2)
    acc = g.add(f"{__name__}:Accumulates", src)
    g.add("recorder", acc, path=tmp_path / "acc.npz")
    got = g.run(capture=[acc])[f"{acc}.out"].data
    np.testing.assert_array_equal(got, np.load(tmp_path / "acc.npz")["data"])
    np.testing.assert_array_equal(got, [[1, 1, 2, 2, 3, 3, 4, 4, 5, 5]])


def _csv_at(path, rate: float, n: int, digits: int | None, start: float = 12.0):
    t = start + np.arange(n) / rate
    rows = "".join(f"{ti:.{digits}f},{np.sin(i):.6f}\n" if digits else f"{float(ti)!r},0.5\n" for i, ti in enumerate(t))
    path.write_text("t,Cz\n" + rows)
    return path


def test_a_csv_whose_times_are_rounded_replays_at_its_rate_not_the_rounded_steps(tmp_path):
    # a 256 Hz table with its times written to the ms (pandas float_format='%.3f'; the timestamp error's fix: name it t)
    # steps 0.004 s and 0.003 s: it replayed at 250 Hz, said as 'stamped off its nominal rate (its clock runs fast)'
    for rate in (256.0, 128.0, 512.0):
        g = GraphBuilder()
        src = g.add("file_source", path=_csv_at(tmp_path / f"r{rate:g}.csv", rate, 2560, 3), chunk_size=64)
        assert g.run(capture=[src])[f"{src}.out"].spec.rate == rate
    for rate in (250.0, 1000.0):  # Unix times (time.time(), BrainFlow's), every digit: was 250.0032, 1000.07 Hz
        g = GraphBuilder()
        src = g.add("file_source", path=_csv_at(tmp_path / f"unix{rate:g}.csv", rate, 5000, None, 1.7e9))
        assert g.run(capture=[src])[f"{src}.out"].spec.rate == rate
    g = GraphBuilder()  # times written whole are read as before: 1000/3 Hz
    src = g.add("file_source", path=_csv_at(tmp_path / "third.csv", 1000 / 3, 300, 12))
    assert g.run(capture=[src])[f"{src}.out"].spec.rate == 1000 / 3


def test_an_xdf_stream_asked_by_name_that_declares_no_rate_gets_the_way_to_replay_it(tmp_path):
    # LabRecorder beside an amplifier's EEG recorded Timeflux's EEG, which its lsl Send publishes at rate 0: asked for by
    # name, it was refused with "set `stream` to a stream listed without a note", which it can never be
    import pytest
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf
    from wavegraph.pipeline.config import GraphError

    t = 100.0 + np.arange(500) / 250.0
    path = write_xdf(
        tmp_path / "two.xdf",
        [
            XdfStream("amp", "EEG", 250.0, np.zeros((500, 2)), t, labels=["C3", "C4"]),
            XdfStream("timeflux", "EEG", 0.0, np.ones((500, 3)), t, labels=["Fz", "Cz", "Pz"]),
        ],
    )
    g = GraphBuilder()
    g.add("file_source", path=path, stream="timeflux")
    with pytest.raises(GraphError, match=r"'timeflux' declares no rate .* at 250 samples/s: load it .*array_source"):
        g.run()


def test_a_file_name_read_from_a_list_with_its_line_end_is_said_so(tmp_path):
    # paths = open("files.txt").readlines(): "no such file: .../rec.npz\n; fix: did you mean .../rec.npz?", the same
    # path as it prints, the line end unseen
    import pytest
    from wavegraph.pipeline.config import GraphError

    g = GraphBuilder()
    g.add("recorder", g.add("sine", rate=100.0, duration=0.1), path=tmp_path / "rec.npz")
    g.run()
    g = GraphBuilder()
    g.add("file_source", path=f"{tmp_path / 'rec.npz'}\n")
    with pytest.raises(GraphError, match=r"rec.npz\\n'.*line end around it; fix: give .*rec.npz \(.*line.strip\(\)\)"):
        g.run()


def test_a_raw_in_memory_undated_by_its_user_is_not_said_a_file_to_mend(caplog):
    # raw.set_meas_date(None) (anonymising) on an EDF read with MNE, replayed by array_source: the replay warned that the
    # EDF's date field '12.08.09' is 'not a date' and gave a dd command to patch a copy of the file on disk
    import mne
    from conftest import dataset

    raw = mne.io.read_raw_edf(dataset("eegmmidb-s001r02"), preload=False, verbose="error")
    raw.set_meas_date(None)
    g = GraphBuilder()
    src = g.add("array_source", data=raw, chunk_size=160)
    assert g.run(capture=[src])[f"{src}.out"].spec.meas_date == ""
    assert "date field" not in caplog.text


def test_a_raw_in_memory_picked_from_an_edf_in_uv_keeps_the_scaling_to_volts(tmp_path):
    # an EDF whose EEG is in 'UV' (MNE reads it unscaled, as volts): file_source and array_source of the whole Raw scale
    # it to volts; of raw.pick(2 channels) the file's units were matched by position (64 against 2): not scaled, 46 V
    import mne
    from conftest import dataset

    head = bytearray(dataset("eegmmidb-s001r02").read_bytes())
    n = int(head[252:256])
    at = 256 + n * 96  # each signal's unit, 8 bytes, after its label (16) and transducer (80)
    for i in range(n):
        if head[at + 8 * i : at + 8 * i + 8].strip() == b"uV":
            head[at + 8 * i : at + 8 * i + 8] = b"UV      "
    path = tmp_path / "uv.edf"
    path.write_bytes(bytes(head))
    g = GraphBuilder()
    src = g.add("file_source", path=path, picks=["C3..", "Fc5."], chunk_size=160)
    want = g.run(capture=[src])[f"{src}.out"].data
    raw = (
        mne.io.read_raw_edf(path, preload=False, verbose="error").pick(["C3..", "Fc5."]).rename_channels({"C3..": "C3"})
    )
    g = GraphBuilder()
    src = g.add("array_source", data=raw, chunk_size=160)
    got = g.run(capture=[src])[f"{src}.out"].data
    assert np.abs(want).max() < 1e-3  # volts
    np.testing.assert_array_equal(got, want)


def test_a_node_added_without_an_id_gets_one_no_other_node_has():
    # g.add("notch", ...) after a node given id="notch2" was refused: "node id 'notch2' is used twice; fix: pass another
    # id=", though no id was passed (the id made was the type and the node count)
    g = GraphBuilder()
    src = g.add("sine", rate=100.0, duration=0.2, id="src")
    first = g.add("notch", src, freq=25.0, id="notch2")
    second = g.add("notch", first, freq=20.0)
    assert second not in (src, first)
    assert g.run(capture=[second])[f"{second}.out"].data.shape == (1, 20)


def test_from_yaml_takes_overrides_as_pairs_and_says_what_is_no_override(tmp_path):
    # from_yaml(path, {...}.items()) or [("bp.h_freq", 20)] was "AttributeError: 'tuple' object has no attribute
    # 'partition'", overrides=None "TypeError: 'NoneType' object is not iterable"
    import pytest
    from wavegraph.pipeline.config import GraphError

    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP)
    want = GraphBuilder.from_yaml(path, {"bp.h_freq": 20}).run(capture=["bp.out"])["bp.out"].data
    got = GraphBuilder.from_yaml(path, [("bp.h_freq", 20)]).run(capture=["bp.out"])["bp.out"].data
    np.testing.assert_array_equal(got, want)
    assert [n.params for n in GraphBuilder.from_yaml(path, None).nodes] == [
        n.params for n in GraphBuilder.from_yaml(path).nodes
    ]
    with pytest.raises(GraphError, match=r"override 3 is not text; fix: pass texts \['node.param=value'"):
        GraphBuilder.from_yaml(path, ["bp.h_freq=20", 3])


def test_from_yaml_overrides_keep_nan_infinities_and_number_like_texts():
    """Review: the overrides went through JSON, whose NaN and Infinity YAML reads back as the texts 'NaN' and
    'Infinity' (refused as 'text, not a number'); a value keeps its kind now, and a text that looks like a number to
    the graph file's reader ('1e3') stays text."""
    import math

    from wavegraph.pipeline.api import _yaml_text
    from wavegraph.pipeline.set_overrides import parse_set

    values = [math.nan, [1.0, -math.inf, math.inf], "1e3", ["1e3", 2], {"a": "take #2.wav"}, None, True, "中"]
    got = [v for _, _, v in parse_set([f"n.p={_yaml_text(v)}" for v in values])]
    assert math.isnan(got[0]) and got[1] == [1.0, -math.inf, math.inf]
    assert got[2:] == values[2:]
