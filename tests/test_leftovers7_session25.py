"""Leftovers of session 25 (7): parameters no user means (a fir edge of 1e-300 Hz, power: 1e300, a gain floor or
a buffer or a mains frequency of 1e300) refused at graph build with the range and the fix, a --set's fix written as a
--set, a CSV's unreadable field named by its line and column, and `bench transport --sizes nan`."""

import logging

import pytest
from wavegraph.nodes.dsp.fir import FIR
from wavegraph.pipeline.cli import main
from wavegraph.pipeline.spec import SpecError, signal_spec

SINE = """\
nodes:
  - {id: src, type: sine, params: {duration: 0.5, rate: 16000}}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: sink.in}
"""


def validate(tmp_path, capsys, text: str, *sets: str) -> tuple[int, str]:
    p = tmp_path / "g.yaml"
    p.write_text(text)
    code = main(["validate", str(p), *[a for s in sets for a in ("--set", s)]])
    return code, capsys.readouterr().err


def test_a_fir_edge_no_length_reaches_is_refused_with_the_narrowest_band_and_the_longest_length(caplog):
    # was: a warning asking for 'numtaps: 527999999999999961104155914943252677962759493709562939915113938649...' (300
    # digits) 'or more (... a delay of 1.65e+300 s)', and the filter ran keeping 100 % of DC
    spec = signal_spec(160.0, [f"E{i}" for i in range(64)])
    with caplog.at_level(logging.WARNING, "wavegraph.fir"), pytest.raises(SpecError) as e:
        FIR(l_freq=1e-300).configure({"in": spec})
    said = f"{e.value} fix: {e.value.hint}"
    assert "needs a transition band about 1e-300 Hz wide" in said and "at most 2064887 taps" in said, said
    assert "narrowest transition band is about 0.000256 Hz" in said and "l_freq: 0.000256 or more" in said, said
    assert max(len(w) for w in said.split()) < 40, said  # no number hundreds of digits long
    assert not caplog.records
    with caplog.at_level(logging.WARNING, "wavegraph.fir"):  # an edge a longer filter reaches: still said, and runs
        FIR(l_freq=0.001).configure({"in": spec})
    assert "numtaps: 528001 or more" in caplog.records[0].getMessage()


@pytest.mark.parametrize(
    "node,params,fix",
    [
        ("magnitude", "power: 1e300", "give power > 0 and <= 4"),
        ("apply_mask", "min_gain: 1e300", "give min_gain >= 0 and <= 1"),
        ("audio_output", "max_buffer: 1e300", "give max_buffer > 0 and <= 300"),
        ("recorder", "line_freq: 1e300", "give line_freq > 0 and < 1000"),
    ],
)
def test_a_power_gain_floor_buffer_or_mains_frequency_of_1e300_is_refused_at_build(tmp_path, capsys, node, params, fix):
    # was: validate said OK; magnitude's and apply_mask's outputs were inf, audio_output buffered a whole --speed max
    # replay, and the recorder wrote PowerLineFrequency 1e300
    path = f"path: {tmp_path / 'r.fif'}, " if node == "recorder" else ""
    into = {
        "magnitude": "n.in",
        "apply_mask": "n.in}\n  - {source: st.out, target: m.in}\n  - {source: m.out, target: n.mask",
    }.get(node)
    graph = f"""\
nodes:
  - {{id: src, type: sine, params: {{duration: 0.5, rate: 16000}}}}
  - {{id: st, type: stft}}
  - {{id: n, type: {node}, params: {{{path}{params}}}}}
  - {{id: z, type: null_sink}}
  - {{id: m, type: {"magnitude" if node == "apply_mask" else "null_sink"}}}
edges:
  - {{source: src.out, target: st.in}}
  - {{source: {"st.out" if into else "src.out"}, target: {into or "n.in"}}}
  - {{source: {"n.out" if into else "st.out"}, target: z.in}}
"""
    if node != "apply_mask":  # (a real mask: the stft's magnitude)
        graph += "  - {source: st.out, target: m.in}\n"
    code, err = validate(tmp_path, capsys, graph)
    assert code == 2 and f"g.yaml:4: node 'n' ({node}): parameter '{params.split(':')[0]}' = 1e+300" in err, err
    assert f"fix: {fix}" in err and "Traceback" not in err, err
    ok = {"power": "power: 2", "min_gain": "min_gain: 0.1", "max_buffer": "max_buffer: 2", "line_freq": "line_freq: 50"}
    assert validate(tmp_path, capsys, graph.replace(params, ok[params.split(":")[0]]))[0] == 0


def test_a_number_quoted_in_a_set_gets_its_fix_as_a_set(tmp_path, capsys):
    # was: "fix: write it without quotes: rate: 300" (the graph file's form, for a value typed on the command line)
    code, err = validate(tmp_path, capsys, SINE, 'src.rate="300"')
    assert code == 2 and "parameter 'rate' = '300' (from --set) is text, not a number" in err, err
    assert "fix: write it without quotes: --set src.rate=300" in err, err
    code, err = validate(tmp_path, capsys, SINE, "src.duration=1e400")  # the range's fix too
    assert "fix: give duration >= 0, e.g. --set src.duration=10.0; for no limit, write --set src.duration=null" in err
    code, err = validate(tmp_path, capsys, SINE.replace("duration: 0.5", "duration: '0.5'"))  # the file's: as before
    assert "fix: write it without quotes: duration: 0.5" in err, err


def test_a_parameter_set_in_another_case_gets_did_you_mean(tmp_path, capsys):
    # was: "unknown parameter 'RATE' (from --set); fix: parameters are: rate, channels, chunk_size, duration, ..."
    code, err = validate(tmp_path, capsys, SINE, "src.RATE=1")
    assert code == 2 and "unknown parameter 'RATE' (from --set); fix: did you mean 'rate'?" in err, err
    code, err = validate(tmp_path, capsys, SINE.replace("duration: 0.5", "Chunk_Size: 4"))
    assert "unknown parameter 'Chunk_Size'; fix: did you mean 'chunk_size'?" in err, err


@pytest.mark.parametrize(
    "rows,said",
    [
        ("0.0,1,2\n0.01,3,\n", "r.csv:3: a row is not numbers: column 'C4' is empty"),
        ("0.0,1,2\n\n0.01,3,4\n0.02,x y,6\n", "r.csv:5: a row is not numbers: column 'C3' is 'x y', not a number"),
        ("0.0,1,2\n0.01,3\n", "r.csv:3: 2 values under a header of 3 columns (t,C3,C4)"),
    ],
)
def test_a_csv_field_that_is_no_number_is_named_by_its_line_and_column(tmp_path, capsys, rows, said):
    # was: "cannot read r.csv: could not convert string '' to float64 at row 1, column 3." (numpy's count)
    (tmp_path / "r.csv").write_text("t,C3,C4\n" + rows)
    graph = SINE.replace(
        "type: sine, params: {duration: 0.5, rate: 16000}", f"type: file_source, params: {{path: {tmp_path / 'r.csv'}}}"
    )
    code, err = validate(tmp_path, capsys, graph)
    assert code == 2 and said in err and "row 1" not in err and "Traceback" not in err, err
    assert "fix: " in err


@pytest.mark.parametrize(
    "sizes,said",
    [
        ("nan", "--sizes: 'nan' is not a whole number of bytes; give payload sizes in bytes, multiples of 64"),
        ("64,1e3", "--sizes: '1e3' is not a whole number of bytes"),
        ("640000000000000", "--sizes: 640000000000000 bytes is more than 256 MiB a payload"),
        ("100", "payload size 100 is not a positive multiple of 64 bytes; e.g. --sizes 64,8192,65536,1048576"),
    ],
)
def test_bench_transport_sizes_that_are_no_byte_count_are_a_usage_error_with_the_fix(capsys, sizes, said):
    # was: "--sizes: invalid literal for int() with base 10: 'nan'", no fix; 6.4e14 bytes was a payload to make
    from wavegraph.benchmarks.transport import bench_transport

    with pytest.raises(SystemExit) as e:
        bench_transport(["--sizes", sizes])
    err = capsys.readouterr().err
    assert e.value.code == 2 and said in err and "invalid literal" not in err, err
