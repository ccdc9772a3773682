"""Copies of the shipped graphs edited the ways a user of Timeflux or ezmsg gets their own YAML wrong: each said by
`wavegraph validate` as `file:line: what; fix: how` (exit 2), at the line an editor shows, with a fix that works."""

from peer_hints import problems as validate
from wavegraph.pipeline.cli import main

GRAPH = """\
name: t
nodes:
  - id: src
    type: sine
    params: {freq: 10.0, rate: 250.0, duration: 0.2}
  - id: bp
    type: bandpass
    params: {l_freq: 1.0, h_freq: 40.0}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: bp.in}
  - {source: bp.out, target: sink.in}
"""


def test_a_unicode_line_break_an_editor_does_not_show_is_said_at_its_line(tmp_path, monkeypatch, capsys):
    # U+2028 in a comment pasted from a web page, U+0085 (an ellipsis of a cp1252 file read as Latin-1): YAML reads
    # each as a line break. Was 'g.yaml:2: could not find expected ':'; fix: fix the YAML syntax' (the rest of the
    # comment read as a key, on a line the editor does not have), or, where the file still parsed, every later
    # problem one line below the line the editor shows
    for char, name in (("\u2028", "LINE SEPARATOR"), ("\x85", "NEXT LINE"), ("\u2029", "PARAGRAPH SEPARATOR")):
        text = GRAPH.replace("name: t\n", f"name: t  # from the wiki{char}see there\n")
        err = validate(tmp_path, monkeypatch, capsys, text)
        assert len(err) == 1 and err[0].startswith("g.yaml:1: invalid YAML: column 25 holds U+"), err
        assert name in err[0] and "line break" in err[0] and "fix: replace it with a space" in err[0], err
        assert validate(tmp_path, monkeypatch, capsys, text.replace(char, " ")) == []
        # where it leaves the YAML valid (at the end of a comment), a later problem was said a line too far
        text = GRAPH.replace("name: t\n", f"name: t  # from the wiki{char}\n").replace("l_freq", "lfreq")
        err = validate(tmp_path, monkeypatch, capsys, text)
        assert len(err) == 1 and err[0].startswith("g.yaml:1: invalid YAML: column 25 holds U+"), err


def test_a_no_break_space_pasted_into_the_yaml_syntax_is_said_with_its_line_and_column(tmp_path, monkeypatch, capsys):
    # indentation or the space after a ':' copied from a web page as U+00A0 (or U+3000): YAML reads it as text.
    # Was 'mapping values are not allowed here; fix: a value holding ': ' must be quoted' at the line below,
    # 'expected <block end>, but found '?'', or 'could not find expected ':'; fix: fix the YAML syntax'
    cases = (
        ("  - id: bp", "\u00a0\u00a0- id: bp", 6, 1, "NO-BREAK SPACE"),
        ("    type: bandpass", "  \u00a0\u00a0type: bandpass", 7, 3, "NO-BREAK SPACE"),
        ("    type: bandpass", "    type:\u00a0bandpass", 7, 10, "NO-BREAK SPACE"),
        ("    type: bandpass", "    type:\u3000bandpass", 7, 10, "IDEOGRAPHIC SPACE"),
    )
    for old, new, line, column, name in cases:
        err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace(old, new))
        assert len(err) == 1, err
        assert err[0].startswith(f"g.yaml:{line}: invalid YAML: column {column} holds U+"), err
        assert name in err[0] and "fix: replace it with a plain space" in err[0], err
        assert validate(tmp_path, monkeypatch, capsys, GRAPH.replace(old, old)) == []


def test_max_restarts_without_on_error_restart_is_a_problem_not_ignored(tmp_path, monkeypatch, capsys):
    # `{nodes: [bp], max_restarts: 5}`: the group's process was not restarted at all (on_error stays stop), and
    # validate said OK; the user's restarts were ignored without a word
    err = validate(tmp_path, monkeypatch, capsys, GRAPH + "processes:\n  dsp: {nodes: [bp], max_restarts: 5}\n")
    assert err == [
        "g.yaml:14: process 'dsp': max_restarts is only read with on_error: restart; "
        "fix: add on_error: restart to restart its process when it dies, or remove max_restarts"
    ], err
    # an explicit policy is taken as written: `on_error: stop` alone (refused by 2aaf56c: its own test graph
    # tests/test_multihost_restart.py failed), or beside a max_restarts it makes moot
    for group in ("on_error: restart, max_restarts: 5", "on_error: stop", "on_error: stop, max_restarts: 5"):
        text = GRAPH + f"processes:\n  dsp: {{nodes: [bp], {group}}}\n"
        assert validate(tmp_path, monkeypatch, capsys, text) == [], group


def test_an_edge_end_written_with_another_separator_is_told_node_dot_port(tmp_path, monkeypatch, capsys):
    # ROS's `src/out`, an arrow, C++'s `::`, a space: the fix was 'write source: src/out.out', a node no graph has
    for end in ("src/out", "src->out", "src::out", "src out", "src / out"):
        text = GRAPH.replace("source: src.out,", f"source: '{end}',")
        err = validate(tmp_path, monkeypatch, capsys, text)
        assert err == [f"g.yaml:11: edge source '{end}' must be 'node.port'; fix: write source: src.out"], err
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("target: bp.in", "target: bp/in"))
    assert err == ["g.yaml:11: edge target 'bp/in' must be 'node.port'; fix: write target: bp.in"], err
    # a name no node has before the separator keeps the general fix
    err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("source: src.out,", "source: 'foo/out',"))
    assert err == ["g.yaml:11: edge source 'foo/out' must be 'node.port'; fix: write source: node.port"], err


def test_names_in_braces_as_a_python_set_are_told_to_write_a_list(tmp_path, monkeypatch, capsys):
    # `channels: {O1, O2}` (Python's set, ezmsg's and Timeflux's code): YAML reads a mapping of nulls; the fix was
    # 'give an int | list[str]', and the problem said "= {'O1': None, 'O2': None}: Input should be a valid integer"
    text = GRAPH.replace("duration: 0.2}", "duration: 0.2, channels: {O1, O2}}")
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert len(err) == 1 and err[0].startswith("g.yaml:5: node 'src' (sine): parameter 'channels'"), err
    assert err[0].endswith("fix: write the list in [ ]: channels: [O1, O2] ({ } is a mapping in YAML)"), err
    assert validate(tmp_path, monkeypatch, capsys, text.replace("{O1, O2}", "[O1, O2]")) == []


def test_a_yaml_set_whose_order_python_chooses_is_refused(tmp_path, monkeypatch, capsys):
    # an explicit YAML set (!!set) has no order: the channels came in the order of Python's string hashes, which
    # differs between runs and between a graph's processes; it was taken without a word
    text = GRAPH.replace("duration: 0.2}", "duration: 0.2, channels: {O1, O2}}")
    err = validate(tmp_path, monkeypatch, capsys, text.replace("{O1, O2}", "!!set {O1, O2}"))
    assert len(err) == 1 and err[0].startswith("g.yaml:5: invalid YAML: a set (!!set) has no order"), err
    assert err[0].endswith("fix: write a list: [O1, O2]"), err
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(text.replace("{O1, O2}", "[O1, O2]"))
    assert main(["validate", "g.yaml", "--set", "src.channels=!!set {O1, O2}"]) == 2
    err = capsys.readouterr().err
    assert "a set (!!set) has no order" in err and "fix: write a list: --set 'src.channels=[O1, O2]'" in err, err


def test_a_node_type_under_a_misspelt_or_other_tools_key_is_told_type(tmp_path, monkeypatch, capsys):
    # `typ: bandpass`, `tpye:`, Kubernetes' `kind:`, `class:` alone: the fix was the template
    # "write '- {id: name, type: node_type, params: {...}}'", which does not say which key is wrong
    for key in ("typ", "tpye", "kind", "class", "node_type"):
        err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace("    type: bandpass", f"    {key}: bandpass"))
        assert err == [
            "g.yaml:6: each node needs an 'id' and a 'type' (node 'bp' has none); "
            f"fix: a node's type is written type: write type: bandpass (not {key}:)"
        ], err


def test_a_hop_far_longer_than_the_window_reserves_no_room_for_the_samples_it_skips(tmp_path, monkeypatch, capsys):
    # `sliding_window: {size: 10, hop: 1000000000}` and `bandpower: {hop: 1e6}` passed validate, then the run failed
    # at the first chunk: the framer reserved size + hop samples, which it skips ('Unable to allocate 14.9 GiB',
    # 3.73 GiB for bandpower; 'Maximum allowed dimension exceeded' for hop: 1e30). It holds about a window now
    import numpy as np
    from wavegraph.nodes.dsp.bandpower import Bandpower
    from wavegraph.nodes.dsp.windows import SlidingWindow
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    spec = signal_spec(250.0, ["a", "b"])
    x = np.random.default_rng(0).standard_normal((2, 600))
    for node, frames in ((SlidingWindow(size=10, hop=10**9), 1), (Bandpower(window=1.0, hop=1e6), 1)):
        node.configure({"in": spec})
        got = [node.process({"in": Chunk(x[:, i : i + 25], t0=i / 250.0)}) for i in range(0, 600, 25)]
        assert sum(len(out["out"].data) for out in got if "out" in out) == frames
        room = node.framer.room.array
        assert room is not None
        assert room.nbytes < 1 << 20, room.shape
    # and the graph runs
    text = GRAPH.replace("type: bandpass", "type: sliding_window").replace(
        "{l_freq: 1.0, h_freq: 40.0}", "{size: 10, hop: 1000000000000000000000000000000}"
    )
    assert validate(tmp_path, monkeypatch, capsys, text) == []
    assert main(["run", "g.yaml", "--in-process", "--no-status"]) == 0


def test_an_eeg_sim_event_rate_above_one_per_sample_is_refused_at_validate(tmp_path, monkeypatch, capsys):
    # `blink_rate: 1e308` (or emg_rate) passed validate; the run failed with numpy's traceback 'lam value too
    # large', and rates of 1e8 drew that many events per second of signal (GBs per chunk)
    text = "nodes:\n  - {id: sim, type: eeg_sim, params: {duration: 0.2, RATE}}\n  - {id: r, type: null_sink}\n"
    text += "edges:\n  - {source: sim.out, target: r.in}\n"
    for name in ("blink_rate", "emg_rate"):
        err = validate(tmp_path, monkeypatch, capsys, text.replace("RATE", f"{name}: 1e308"))
        assert err == [
            f"g.yaml:2: node 'sim' (eeg_sim): eeg_sim {name} 1e+308 per second is above one per sample (250 Hz); "
            f"fix: a few a minute are lifelike: e.g. {name}: 0.2"
        ], err
        assert validate(tmp_path, monkeypatch, capsys, text.replace("RATE", f"{name}: 250")) == []


def test_a_queue_or_policy_on_an_edge_inside_one_process_is_noted_by_validate(tmp_path, monkeypatch, capsys):
    # `policy: drop_oldest, queue: 2` (a view that must never slow the graph, as in Timeflux or ezmsg) on an edge
    # whose ends share a process: the edge is in memory, nothing is queued or dropped; validate said only OK
    monkeypatch.chdir(tmp_path)
    text = GRAPH.replace("target: sink.in}", "target: sink.in, policy: drop_oldest, queue: 2}")
    (tmp_path / "g.yaml").write_text(text)
    assert main(["validate", "g.yaml"]) == 0
    out = capsys.readouterr().out
    assert (
        "  edge bp.out -> sink.in (line 12): policy: drop_oldest, queue: 2 apply between processes only, and both "
        "ends run in process 'main' (in memory: nothing is queued or dropped); fix: place 'sink' in a process of "
        "its own (processes: {sink: [sink]}), or remove them"
    ) in out.splitlines(), out
    # the same edge between two processes is not noted
    (tmp_path / "g.yaml").write_text(text + "processes:\n  view: [sink]\n")
    assert main(["validate", "g.yaml"]) == 0
    assert "apply between processes only" not in capsys.readouterr().out


def test_a_single_node_or_edge_written_without_its_dash_gets_the_dash_to_add(tmp_path, monkeypatch, capsys):
    # `nodes:` then `id: src` / `type: sine` (the '- ' forgotten, as one node looks): the fix was
    # "write one '- ' entry per node, its id inside: '- {id: id, type: src}'", a node no one meant
    text = "nodes:\n  id: src\n  type: sine\n  params: {duration: 0.2}\n"
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert err == [
        "g.yaml:1: 'nodes' must be a non-empty list; fix: a node is an item of the list: put '- ' before its "
        "first key: - {id: src, type: sine, params: {duration: 0.2}}"
    ], err
    # and the node is still checked (its parameters), as the edges of one edge written so, which said its
    # target unconnected
    err = validate(tmp_path, monkeypatch, capsys, text.replace("duration", "durration"))
    assert len(err) == 2 and "unknown parameter 'durration'" in err[1], err
    text = GRAPH.replace("  - {source: src.out, target: bp.in}\n  - {source: bp.out, target: sink.in}\n", "")
    err = validate(tmp_path, monkeypatch, capsys, text + "  - {source: src.out, target: bp.in}\n")
    assert err == [
        "g.yaml:9: node 'sink' (null_sink): input 'in' is not connected; fix: add an edge with target: sink.in"
    ]
    err = validate(
        tmp_path, monkeypatch, capsys, GRAPH.split("edges:")[0] + "edges:\n  source: src.out\n  target: bp.in\n"
    )
    assert err[0] == (
        "g.yaml:10: 'edges' must be a list; fix: an edge is an item of the list: put '- ' before its first key: "
        "- {source: src.out, target: bp.in}"
    ), err
    assert len(err) == 2 and "'sink'" in err[1], err  # bp.in is fed: only the sink is said unconnected


def test_a_process_member_that_is_no_node_id_is_said_as_written(tmp_path, monkeypatch, capsys):
    # a node's entry pasted into a group (`dsp: [{id: bp, type: bandpass}]`, or `dsp: *nodes`), a nested list, an
    # empty name: each was "process 'dsp' names unknown node 'null'", a node no one wrote
    cases = (
        ("[{id: bp, type: bandpass}]", "item 1 is a mapping, not a node id; fix: write its id: dsp: [bp]"),
        ("[[bp]]", "item 1 is a list, not a node id; fix: write the ids in one list: dsp: [bp]"),
        ("[bp, '']", "item 2 is empty, not a node id; fix: write node ids: dsp: [bp]"),
        ("[bp, null]", "item 2 is null (no value), not a node id; fix: write node ids: dsp: [bp]"),
    )
    for members, said in cases:
        err = validate(tmp_path, monkeypatch, capsys, GRAPH + f"processes:\n  dsp: {members}\n")
        assert err == [f"g.yaml:14: process 'dsp': {said}"], err


def test_an_edge_written_as_an_alias_is_said_at_the_line_of_the_alias(tmp_path, monkeypatch, capsys):
    # `- *e` twice under edges: was 'g.yaml:1: edge src.out -> bp.in is written twice (first at line 1); fix: delete
    # this line', the line of the anchor, which holds no edge to delete
    text = "x-e: &e {source: src.out, target: bp.in}\n" + GRAPH.replace(
        "  - {source: src.out, target: bp.in}\n", "  - *e\n  - *e\n"
    )
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert err == ["g.yaml:13: edge src.out -> bp.in is written twice (first at line 12); fix: delete this line"], err


def test_describe_png_given_a_folder_is_told_to_name_the_picture(tmp_path, monkeypatch, capsys):
    # `describe g.yaml --png out/` (a folder, existing or not, or /): was '--png: out/.png:  is not a picture format
    # matplotlib writes; fix: give a name ending in .png', the folder's name with '.png' after it
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GRAPH)
    (tmp_path / "pics").mkdir()
    for given in ("pics/", "new/"):
        assert main(["describe", "g.yaml", "--png", given]) == 2
        err = capsys.readouterr().err.strip()
        folder = given.rstrip("/")
        assert err == f"--png: {given} is a folder; fix: name the picture in it: --png {folder}/graph.png", err
    assert main(["describe", "g.yaml", "--png", "pics/graph.png"]) == 0
    assert (tmp_path / "pics" / "graph.png").stat().st_size > 0


def test_run_json_given_a_folder_with_its_slash_is_refused_before_the_run(tmp_path, monkeypatch, capsys):
    # `run g.yaml --json results/` (a folder not made yet): the check before the run passed it (it tried the file
    # 'results'), the graph ran, and the summary was lost at the end ('--json results/: cannot write (Is a
    # directory)') with exit code 0
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GRAPH)
    assert main(["run", "g.yaml", "--in-process", "--no-status", "--json", "results/"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "--json: cannot write results/ (it is a folder); fix: choose a file in a writable folder", err
    assert not (tmp_path / "results").exists()


def test_a_summary_that_cannot_be_written_at_the_end_fails_the_exit_code(tmp_path, monkeypatch, capsys):
    # the --json folder removed or the disk full during the run: 'error: --json ...: cannot write' was printed and
    # the exit code was 0, so a script went on without the summary it asked for
    import errno

    from wavegraph.pipeline import cli_run

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GRAPH)
    monkeypatch.setattr(cli_run, "_write_json", full)
    assert main(["run", "g.yaml", "--in-process", "--no-status", "--json", "s.json"]) == 1
    assert "error: --json s.json: cannot write (No space left on device)" in capsys.readouterr().err


def test_a_key_with_no_space_after_its_colon_is_told_the_space(tmp_path, monkeypatch, capsys):
    # `type:sine` (YAML needs 'type: sine'): YAML reads one text, not a key and its value. Was, by where it stood:
    # 'could not find expected ':'; fix: fix the YAML syntax' at the line below, "mapping values are not allowed
    # here; fix: a value holding ': ' must be quoted", the node template, or, for `{rate:250}`, "unknown parameter
    # 'rate:250'; fix: remove it: it is null, and a parameter left out takes its default"
    cases = (
        ("    type: sine\n", "    type:sine\n", 5, "type:sine", "type: sine"),
        ("  - id: src\n", "  - id:src\n", 4, "id:src", "id: src"),
        ("  - {id: sink, type: null_sink}", "  - {id:sink, type: null_sink}", 10, "id:sink", "id: sink"),
        ("duration: 0.2", "duration:0.2", 6, "duration:0.2", "duration: 0.2"),
    )
    base = GRAPH.replace("name: t\n", "name: t\nx-paths: {data: 'dataset:eegmmidb', chans: [EEG:Fz, a:b]}\n")
    assert validate(tmp_path, monkeypatch, capsys, base) == []  # (a text holding ':' is no key)
    for old, new, line, written, meant in cases:
        err = validate(tmp_path, monkeypatch, capsys, base.replace(old, new))
        assert err == [
            f"g.yaml:{line}: invalid YAML: '{written}' has no space after its ':', so YAML reads it as one text, "
            f"not a key and its value; fix: write {meant}"
        ], err


NOTE = " (a ': ' after the key), or # before a note"


def test_common_yaml_slips_are_said_at_the_line_they_are_on_with_what_to_write(tmp_path, monkeypatch, capsys):
    # PyYAML's words were relayed at the line it stopped on: an unclosed quote at the file's end ('found unexpected
    # end of stream; fix: fix the YAML syntax'), a missing ':' on the line below ('could not find expected ':''),
    # a line indented one space too deep ('mapping values are not allowed here; fix: a value holding ': ' must be
    # quoted'), a '-' without its space ('expected <block end>, but found '?''), a '{' not closed on its line
    # ("expected ',' or '}', but got ':'; fix: quote a value holding ':' inside { }")
    cases = (
        (
            "{l_freq: 1.0,",
            "{l_freq: '1.0,",
            8,
            "the ' opened at column 22 is not closed (YAML read the rest of the file into it)",
            "close it: add a ' at the end of the value",
        ),
        ("    type: sine", "    type sine", 4, "'type sine' has no ':' after its key", f"write type: sine{NOTE}"),
        ("    type: sine", "    type = sine", 4, "'type = sine' has no ':' after its key", f"write type: sine{NOTE}"),
        (
            "    type: sine",
            "     type: sine",
            4,
            "this line is indented deeper (5 spaces) than 'id' above (4), so YAML reads it as the rest of that value",
            "indent it as 'id' above: 4 spaces",
        ),
        (
            "  - id: bp",
            "  -id: bp",
            6,
            "'-id: bp' has no space after its '-', so YAML reads '-id' as a key",
            "write - id: bp",
        ),
        (
            "{l_freq: 1.0, h_freq: 40.0}",
            "{l_freq: 1.0, h_freq: 40.0",
            8,
            "the '{' at column 13 is not closed on its line, so YAML read the next line into it",
            "add its '}' at the end of line 8",
        ),
    )
    for old, new, line, said, fix in cases:
        err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace(old, new))
        assert err == [f"g.yaml:{line}: invalid YAML: {said}; fix: {fix}"], err


def test_a_json_graph_with_a_comment_is_told_yaml_comments_start_with_hash(tmp_path, monkeypatch, capsys):
    # a JSON graph with `// ...` (JSONC, as VS Code's settings): was "g.yaml:3: expected ',' or '}', but got ':';
    # fix: quote a value holding ':' inside { }: path: 'C:\\data'", the line after the comment
    text = '{\n  // the source\n  "nodes": [{"id": "src", "type": "sine"}]\n}\n'
    for comment in ("// the source", "/* the source */"):
        err = validate(tmp_path, monkeypatch, capsys, text.replace("// the source", comment))
        assert err == [
            f"g.yaml:2: invalid YAML: '{comment}' is a comment in JSONC, not in YAML or JSON; "
            "fix: start it with # (YAML reads JSON, and its comments), or remove it"
        ], err
    assert validate(tmp_path, monkeypatch, capsys, text.replace("// the source", "# the source")) == []


def test_edges_written_as_arrows_or_pairs_get_their_own_ends_and_no_unconnected_noise(tmp_path, monkeypatch, capsys):
    # `edges: src.out -> bp.in` (one text), `edges: {src.out: bp.in, ...}` (a mapping of pairs), `- src.out: bp.in`:
    # each was told the generic "write '- {source: a.out, target: b.in}'", and the inputs they feed were then
    # said unconnected too
    head = GRAPH.split("edges:")[0]
    one = "'- {source: src.out, target: bp.in}', '- {source: bp.out, target: sink.in}'"
    for edges in ("edges: src.out -> bp.in; bp.out -> sink.in\n", "edges:\n  src.out: bp.in\n  bp.out: sink.in\n"):
        err = validate(tmp_path, monkeypatch, capsys, head + edges)
        assert err == [f"g.yaml:10: 'edges' must be a list; fix: write one item per edge: {one}"], err
    err = validate(
        tmp_path, monkeypatch, capsys, head + "edges:\n  - src.out: bp.in\n  - {source: bp.out, target: sink.in}\n"
    )
    assert err == ["g.yaml:11: each edge needs 'source' and 'target'; fix: write '- {source: src.out, target: bp.in}'"]


def test_a_word_processors_quotes_or_minus_sign_in_a_value_are_said(tmp_path, monkeypatch, capsys):
    # a graph pasted from a word processor or a web page: `h_freq: “40.0”` and `l_freq: −1.0` (U+2212) were told
    # "is text, not a number; fix: write a number without quotes, e.g. h_freq: 1.0" (there are no quotes to
    # remove, and the example is another number); `path: ‘out.csv’` reached the recorder as a file name with
    # those quotes ("cannot tell the format of '‘out.csv’'")
    cases = (
        ("h_freq: 40.0", "h_freq: \u201c40.0\u201d", 8, "write h_freq: 40.0 (it holds LEFT DOUBLE QUOTATION MARK"),
        ("l_freq: 1.0", "l_freq: \u22121.0", 8, "write l_freq: -1.0 (it holds MINUS SIGN"),
    )
    for old, new, line, fix in cases:
        err = validate(tmp_path, monkeypatch, capsys, GRAPH.replace(old, new))
        assert len(err) == 1 and err[0].startswith(f"g.yaml:{line}: node 'bp' (bandpass): parameter"), err
        assert err[0].partition("; fix: ")[2].startswith(fix), err
    text = GRAPH.replace("{id: sink, type: null_sink}", "{id: sink, type: recorder, params: {path: \u2018o.csv\u2019}}")
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert err == [
        "g.yaml:9: node 'sink' (recorder): parameter 'path' = '\u2018o.csv\u2019' is in a word processor's quotes "
        "(\u2018 \u2019), which YAML reads as part of the text; fix: write path: 'o.csv' (plain quotes), or no quotes"
    ], err


def test_a_note_without_its_hash_is_not_told_to_become_a_key(tmp_path, monkeypatch, capsys):
    # `    the source of the test` (a comment without its #): the fix for a key without its ':' made it 'write the:
    # source of the test'; a text of several words is told the form and the '#'
    text = GRAPH.replace("    type: sine\n", "    type: sine\n    the source of the test\n")
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert err == [
        f"g.yaml:5: invalid YAML: 'the source of the test' has no ':' after its key; fix: write key: value{NOTE}"
    ]


def test_an_empty_list_item_left_by_a_deleted_entry_is_told_to_remove_its_line(tmp_path, monkeypatch, capsys):
    # a '-' left alone after a node or an edge was deleted: was the template of a whole entry ("each node needs an
    # 'id' and a 'type'; fix: write '- {id: name, type: node_type, params: {...}}'")
    text = GRAPH.replace("  - {id: sink", "  -\n  - {id: sink").replace("edges:\n", "edges:\n  -\n")
    err = validate(tmp_path, monkeypatch, capsys, text)
    assert err == [
        "g.yaml:9: each node needs an 'id' and a 'type'; fix: the item is empty (a '-' with nothing after it): "
        "remove the line, or write the node after its '-'",
        "g.yaml:12: each edge needs 'source' and 'target'; fix: the item is empty (a '-' with nothing after it): "
        "remove the line, or write the edge after its '-'",
    ], err


def test_a_ray_node_ip_that_is_no_address_is_a_problem_at_its_line(tmp_path, monkeypatch, capsys):
    # `on: {node_ip: 300.1.1.1}` (or a host name, which Ray's node:IP resource never holds) passed validate; under
    # --ray the group's actor waited for a node that cannot exist until the start timed out
    for ip in ("300.1.1.1", "gpu-box", "10.0.0"):
        text = GRAPH + f"processes:\n  dsp: {{nodes: [bp], on: {{node_ip: {ip}}}}}\n"
        err = validate(tmp_path, monkeypatch, capsys, text)
        assert err == [
            f"g.yaml:14: process 'dsp': on.node_ip '{ip}' is no IP address; "
            "fix: write node_ip: 10.0.0.2 (as `ray status` lists the node)"
        ], err
    assert (
        validate(tmp_path, monkeypatch, capsys, GRAPH + "processes:\n  dsp: {nodes: [bp], on: {node_ip: 10.0.0.2}}\n")
        == []
    )


def test_a_set_on_a_node_whose_entry_was_refused_is_not_said_to_name_no_node(tmp_path, monkeypatch, capsys):
    # `--set src.freq=12` where the entry of src was refused (typ: sine): the run said, beside the entry's problem,
    # "--set: no node 'src' to override; fix: use one of: bp, sink", though src is in the file
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GRAPH.replace("    type: sine", "    typ: sine"))
    assert main(["validate", "g.yaml", "--set", "src.freq=12"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("g.yaml:3: each node needs an 'id' and a 'type'"), err
