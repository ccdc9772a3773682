"""Leftovers of session 25 (6): CURVE key files checked when the graph is built (not when a worker opens its first
tcp edge), and the mistakes a new user makes with `wavegraph bench enhance` and `wavegraph train enhancer`."""

import os
import shutil

import pytest
from wavegraph.pipeline.cli import main
from wavegraph.pipeline.config import GraphError, load_config
from wavegraph.pipeline.curve import make_keys

GRAPH = """\
nodes:
  - {id: src, type: sine, params: {duration: 0.5}}
  - {id: sink, type: null_sink}
edges:
  - {source: src.out, target: sink.in}
transport: tcp
processes:
  a: A
  b: B
security:
  server_key: SERVER
  client_key: CLIENT
"""


@pytest.fixture
def keys(tmp_path):
    for name in ("server", "client", "a_client", "b_server", "b_client"):
        make_keys(str(tmp_path / "keys" / name))
    return tmp_path / "keys"


def graph(tmp_path, server="keys/server.key_secret", client="keys/client.key_secret", a="[src]", b="[sink]"):
    p = tmp_path / "g.yaml"
    p.write_text(GRAPH.replace("SERVER", server).replace("CLIENT", client).replace("A", a).replace("B", b))
    return p


def validate(p, capsys) -> tuple[int, str, str]:
    code = main(["validate", str(p)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_key_file_not_on_this_machine_is_a_note_of_validate_with_the_fix(tmp_path, keys, capsys):
    # was: `validate` said OK with no word; `run` failed in process 'b' with KeyFileError's traceback ("Invalid
    # certificate file"). A deployment's secret keys are not on every machine that validates its graph (a CI, a
    # colleague's laptop; a group on another host needs them there), so it is a note naming the file and the fix; a
    # file that is there but no key, or a public half where the secret is needed, stays a graph error (below)
    p = graph(tmp_path, server="keys/nothere.key_secret")
    code, out, err = validate(p, capsys)
    assert code == 0 and "OK" in out, err
    assert f"security: server_key keys/nothere.key_secret ({keys}/nothere.key_secret) is not on this machine" in out
    assert f"copy the pair from where it was made, or for a new deployment make one with `wavegraph keys {keys}/" in out
    assert "not on this machine" not in validate(graph(tmp_path), capsys)[1]  # the same graph with the file there


def test_a_ray_driver_that_runs_no_group_takes_the_clients_public_key(tmp_path, keys, monkeypatch):
    # docs/multihost.md: under --ray with every group placed, the driver only reads the client's public half
    # (WAVEGRAPH_CLIENT_KEY=client.key); the build demanded the secret ("holds only a public key")
    placed = "{nodes: [NODE], on: {resources: {amp: 1}}}"
    a, b = placed.replace("NODE", "src"), placed.replace("NODE", "sink")
    monkeypatch.setenv("WAVEGRAPH_CLIENT_KEY", str(keys / "client.key"))
    assert load_config(graph(tmp_path, a=a, b=b)).placement
    with pytest.raises(GraphError, match="client_key .*holds only a public key"):  # a group runs on the driver
        load_config(graph(tmp_path, a=a))


def test_a_public_key_where_the_secret_is_needed_is_a_graph_error(tmp_path, keys):
    with pytest.raises(GraphError) as e:  # b receives src.out -> sink.in: it binds with the server's secret key
        load_config(graph(tmp_path, server="keys/server.key"))
    said = str(e.value)
    assert ":11: security: server_key keys/server.key" in said and "holds only a public key" in said
    assert "edge src.out -> sink.in is received with it" in said and "fix: name keys/server.key_secret" in said
    with pytest.raises(GraphError, match=r":12: security: client_key keys/client.key .*holds only a public key"):
        load_config(graph(tmp_path, client="keys/client.key"))
    # a .key_secret that holds only the public half (a copy of the wrong file)
    shutil.copy(keys / "client.key", keys / "copied.key_secret")
    with pytest.raises(GraphError, match="client_key keys/copied.key_secret .*holds only a public key"):
        load_config(graph(tmp_path, client="keys/copied.key_secret"))


def test_a_file_that_is_no_key_is_a_graph_error(tmp_path, keys):
    (keys / "text.key_secret").write_text("not a key\n")
    with pytest.raises(GraphError, match=r":11: security: server_key keys/text.key_secret .*is not a CURVE key file"):
        load_config(graph(tmp_path, server="keys/text.key_secret"))
    (keys / "dir.key_secret").mkdir()
    with pytest.raises(GraphError, match=r"server_key keys/dir.key_secret .*is a folder, not a key file"):
        load_config(graph(tmp_path, server="keys/dir.key_secret"))


def test_the_file_an_environment_variable_names_is_checked_instead(tmp_path, keys, monkeypatch):
    monkeypatch.setenv("WAVEGRAPH_CLIENT_KEY", str(tmp_path / "gone.key_secret"))
    with pytest.raises(GraphError, match=r":12: security: client_key .*gone.key_secret \(WAVEGRAPH_CLIENT_KEY"):
        load_config(graph(tmp_path))
    monkeypatch.setenv("WAVEGRAPH_SERVER_KEY", str(keys / "server.key_secret"))  # the YAML's is not used here
    monkeypatch.setenv("WAVEGRAPH_CLIENT_KEY", str(keys / "client.key_secret"))
    assert load_config(graph(tmp_path, server="keys/elsewhere.key_secret")).security


def test_a_public_half_beside_a_groups_secret_that_is_missing_or_of_another_pair(tmp_path, keys):
    # per-process keys: the other processes (and the parent) read a group's public key from NAME.key beside it
    a = "{nodes: [src], security: {client_key: keys/a_client.key_secret}}"
    b = "{nodes: [sink], security: {server_key: keys/b_server.key_secret, client_key: keys/b_client.key_secret}}"
    assert load_config(graph(tmp_path, a=a, b=b)).process_security
    shutil.copy(keys / "b_client.key", keys / "a_client.key")  # the wrong public file copied over
    with pytest.raises(
        GraphError, match=r":8: process 'a': security: client_key .*a_client.key beside it holds another"
    ):
        load_config(graph(tmp_path, a=a, b=b))
    os.remove(keys / "a_client.key")
    with pytest.raises(GraphError, match=r"process 'a': .*its public half .*a_client.key: no such file"):
        load_config(graph(tmp_path, a=a, b=b))


def test_validate_notes_an_open_secret_key_a_shared_pair_and_a_placed_groups_key_elsewhere(tmp_path, keys, capsys):
    os.chmod(keys / "server.key_secret", 0o644)
    code, out, _ = validate(graph(tmp_path), capsys)
    assert code == 0
    assert "security: server_key keys/server.key_secret is a secret key that other users may read (mode 644)" in out
    assert f"fix: chmod 600 {keys}/server.key_secret" in out
    os.chmod(keys / "server.key_secret", 0o600)
    a = "{nodes: [src], security: {client_key: keys/b_client.key_secret}}"  # b's client pair given to a too
    b = "{nodes: [sink], security: {server_key: keys/b_server.key_secret, client_key: keys/b_client.key_secret}}"
    code, out, _ = validate(graph(tmp_path, a=a, b=b), capsys)
    assert code == 0 and "is a secret key that other users may read" not in out
    assert "one key pair is the client_key of process 'a' and the client_key of process 'b'" in out
    # a group placed by --ray may hold its keys on its own machine: checked there, said here
    b = "{nodes: [sink], on: {resources: {amp: 1}}, security: {server_key: /elsewhere/b.key_secret}}"
    code, out, _ = validate(graph(tmp_path, b=b), capsys)
    assert code == 0
    assert "process 'b': security: server_key /elsewhere/b.key_secret is not on this machine" in out


def test_a_key_file_gone_where_the_worker_runs_fails_the_run_with_the_fix_and_no_traceback(tmp_path, keys):
    # the build checks what the parent's host holds; a worker on another host (or a file removed since) reads it
    # there: was "cannot read key file ...: Invalid certificate file" and the worker's traceback in the failure
    from wavegraph.pipeline.graph import build_graph
    from wavegraph.pipeline.runner import run_graph

    built = build_graph(load_config(graph(tmp_path)))
    os.remove(keys / "server.key_secret")
    r = run_graph(built, in_process=False)
    assert r.exit_code == 1 and r.failure is not None
    assert f"process 'b': security.server_key: {keys}/server.key_secret is not on this host" in r.failure
    assert "fix: copy the key file here at that path" in r.failure and "set WAVEGRAPH_SERVER_KEY" in r.failure
    assert "Traceback" not in r.failure


def _speech_like(path, seed=0, seconds=1.2):
    """Harmonics of 150 Hz gated at 3 Hz: PESQ-WB finds utterances in it (a second is enough for it and STOI)."""
    import numpy as np
    import soundfile as sf

    t = np.arange(int(16000 * seconds)) / 16000
    x = sum(0.05 * np.sin(2 * np.pi * 150 * k * t) for k in range(1, 20)) * (np.sin(2 * np.pi * 3 * t + seed) > 0)
    sf.write(path, x.astype(np.float32), 16000)


def _hum(path, seconds=2.0):
    """A modulated tone with a noise floor and no pause: PESQ-WB detects no utterance in it (pesq raises)."""
    import numpy as np
    import soundfile as sf

    t = np.arange(int(16000 * seconds)) / 16000
    x = 0.3 * np.sin(2 * np.pi * 200 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    x += 0.05 * np.random.default_rng(0).standard_normal(len(t))
    sf.write(path, x.astype(np.float32), 16000)


def bench(argv, capsys) -> tuple[int, str, str]:
    from wavegraph.benchmarks.enhance import main as bench_main

    try:
        code = bench_main(argv)
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return int(code or 0), out.out, out.err


def test_bench_enhance_says_which_pesq_it_could_not_take_and_marks_the_mean_over_fewer(tmp_path, capsys):
    # was: the hum's NaN PESQ-WB was left out of the mean unsaid (the '5 dB' figure was the speech file's alone),
    # a mean of none printed 'nan' after numpy's 'Mean of empty slice' warning, and --json held NaN (not JSON)
    import json

    pytest.importorskip("pesq")  # (the enhance extra: `make test` installs the test extra, without it)

    (tmp_path / "clean").mkdir()
    _speech_like(tmp_path / "clean" / "a.wav")
    _hum(tmp_path / "clean" / "b.wav")
    out_json = tmp_path / "r.json"
    argv = ["--clean", str(tmp_path / "clean"), "--snrs", "5", "--methods", "noisy", "--all-cores"]
    code, out, err = bench([*argv, "--png", str(tmp_path / "p.png"), "--json", str(out_json)], capsys)
    assert code == 0, err
    assert "noisy input: no PESQ-WB for mixture b.wav/pink at 5 dB (pesq: No utterances detected)" in err
    row = next(line for line in out.splitlines() if line.startswith("| noisy input |"))
    assert row.split("|")[2].strip().split(" / ")[0].endswith("*")  # PESQ-WB over 1 of the 2 mixtures
    assert "* a mean over fewer mixtures than the others" in out and "Mean of empty slice" not in err
    result = json.loads(out_json.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in --json"))
    (rec,) = [r for r in result["records"] if r["metric"] == "pesq_wb" and r["snr"] == 5.0]
    assert (rec["n"], rec["of"]) == (1, 2)
    # the hum alone: no PESQ-WB at all is '-', not 'nan'; STOI and SI-SDR are still there
    os.remove(tmp_path / "clean" / "a.wav")
    code, out, err = bench([*argv, "--png", str(tmp_path / "p.png"), "--json", str(out_json)], capsys)
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("| noisy input |"))
    assert row.split("|")[2].strip().startswith("- / 0.") and "nan" not in out
    result = json.loads(out_json.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in --json"))
    assert result["mixtures"][0]["scores"]["noisy"]["pesq_wb"] is None


def test_bench_enhance_refuses_an_snr_it_cannot_mix_and_an_snr_given_twice(tmp_path, capsys):
    # --snrs 1e6: was an OverflowError traceback from the mixing (10 ** (snr / 10)), after the files were read;
    # --snrs 5 5: every file was mixed twice at 5 dB and the two averaged under one column
    (tmp_path / "clean").mkdir()
    _speech_like(tmp_path / "clean" / "a.wav")
    argv = ["--clean", str(tmp_path / "clean"), "--methods", "noisy", "--png", str(tmp_path / "p.png"), "--snrs"]
    code, _, err = bench([*argv, "1e6"], capsys)
    assert code == 2 and "argument --snrs: an SNR in dB from -100 to 100, got '1e6'" in err
    assert "Traceback" not in err and "OverflowError" not in err
    code, _, err = bench([*argv, "5", "5"], capsys)
    assert code == 2 and "--snrs 5 5: an SNR given twice; give each once" in err


def test_train_enhancer_refuses_an_snr_range_it_cannot_mix(capsys):
    # was taken, and an OverflowError traceback once the corpus was read and the first examples mixed
    from wavegraph.models import train_enhancer_args as tr

    for bad in (["0", "1e6"], ["-5000", "0"]):
        ap = tr.parser("")
        with pytest.raises(SystemExit) as e:
            tr.check_args(ap, ap.parse_args(["--snr-range", *bad]))
        assert e.value.code == 2
        assert (
            f"--snr-range {float(bad[0]):g} {float(bad[1]):g}: SNRs in dB from -100 to 100" in capsys.readouterr().err
        )
    ap = tr.parser("")
    with pytest.raises(SystemExit):
        tr.check_args(ap, ap.parse_args(["--low-snr-range", "-1000", "5"]))
    ap = tr.parser("")
    tr.check_args(ap, ap.parse_args(["--snr-range", "-100", "100"]))  # the limits themselves are taken


def test_train_enhancer_refuses_a_stop_after_past_its_steps(capsys):
    # --stop-after 2000 --steps 1500: taken, never reached, and the whole schedule ran without a word
    from wavegraph.models import train_enhancer_args as tr

    ap = tr.parser("")
    with pytest.raises(SystemExit) as e:
        tr.check_args(ap, ap.parse_args(["--steps", "1500", "--stop-after", "2000"]))
    assert e.value.code == 2
    assert "--stop-after 2000 is past --steps 1500, so it would never stop the run" in capsys.readouterr().err
    ap = tr.parser("")
    tr.check_args(ap, ap.parse_args(["--steps", "1500", "--stop-after", "1500"]))  # its last step is one


def test_bench_enhance_refuses_a_png_name_matplotlib_cannot_write_before_it_runs(tmp_path, capsys, monkeypatch):
    # --png table.txt: was matplotlib's ValueError traceback after every method had run (and no --json written);
    # --png plot: matplotlib wrote plot.png and the bench said 'plot: plot'
    (tmp_path / "clean").mkdir()
    _speech_like(tmp_path / "clean" / "a.wav")
    monkeypatch.chdir(tmp_path)
    argv = ["--clean", "clean", "--snrs", "5", "--methods", "noisy", "--all-cores", "--png"]
    code, _, err = bench([*argv, "table.txt"], capsys)
    assert code == 2 and "--png table.txt: .txt is not a picture format (.png, .pdf" in err
    assert "mixture" not in err  # refused before any file was read
    pytest.importorskip("pesq")  # (the run's metrics; the enhance extra)
    code, out, err = bench([*argv, "plot"], capsys)
    assert code == 0, err
    assert "plot: plot.png" in out and (tmp_path / "plot.png").is_file()


def test_wavegraph_keys_given_a_key_files_name_makes_that_file(tmp_path, capsys):
    # `wavegraph keys keys/server.key_secret` (the name the graph writes) wrote server.key_secret.key_secret and
    # server.key_secret.key, and the graph's keys/server.key_secret was still not there
    assert main(["keys", str(tmp_path / "server.key_secret")]) == 0
    assert main(["keys", str(tmp_path / "client.key")]) == 0
    names = ["client.key", "client.key_secret", "server.key", "server.key_secret"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert "NAME is the pair's name without .key_secret" in capsys.readouterr().err
    assert load_config(graph(tmp_path, server=str(tmp_path / "server.key_secret"), client="client.key_secret"))


@pytest.mark.parametrize(
    "bad, said",
    [
        (["--snrs", "1e6"], "argument --snrs: an SNR in dB from -100 to 100"),
        (["--snrs", "nan"], "argument --snrs: must be a finite number"),
        (["--snrs", "5", "--per-snr", "0"], "argument --per-snr: must be above 0"),
    ],
)
def test_enhance_validation_refuses_an_snr_it_cannot_mix_and_no_mixtures(tmp_path, capsys, bad, said):
    # were taken: the weights were loaded and the validation set built, then NaN mixtures, an OverflowError, or
    # an empty set scored (the weights here do not exist: before, that was the error said)
    from wavegraph.benchmarks.enhance_validation import main as validation_main

    with pytest.raises(SystemExit) as e:
        validation_main([str(tmp_path / "nope.safetensors"), *bad])
    assert e.value.code == 2 and said in capsys.readouterr().err


def test_an_open_secret_key_is_said_by_run_and_by_a_worker_on_another_host(tmp_path, keys, capsys, caplog):
    # was said nowhere: zmq reads a secret key file that every user of the host may read (ssh refuses one)
    import logging
    from types import SimpleNamespace

    from wavegraph.pipeline.curve import EdgeSecurity

    os.chmod(keys / "server.key_secret", 0o644)
    p = graph(tmp_path)
    assert main(["run", str(p)]) == 0
    err = capsys.readouterr().err
    assert "note: security: server_key keys/server.key_secret is a secret key that other users may read" in err
    # a worker on another host than the parent's (--ray, host:) says it of its own file, once
    security = {"server_key": str(keys / "server.key_secret"), "client_key": str(keys / "client.key_secret")}
    plan = SimpleNamespace(security=security, file=str(p), group="b", parent_host="not-" + os.uname().nodename)
    with caplog.at_level(logging.WARNING, logger="wavegraph.curve"):
        EdgeSecurity.for_plan(plan)._key("server_key", True)
        EdgeSecurity.for_plan(plan)._key("server_key", True)
    said = [r.getMessage() for r in caplog.records if "other users of this host may read" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("process 'b': security.server_key: ")
    assert f"fix: chmod 600 {keys}/server.key_secret" in said[0]
    plan.parent_host = os.uname().nodename  # on the parent's host the run said it: the worker does not
    caplog.clear()
    os.chmod(keys / "client.key_secret", 0o640)
    EdgeSecurity.for_plan(plan)._key("client_key", True)
    assert not caplog.records


def test_a_ray_graphs_own_server_key_must_be_the_secret_the_drivers_control_socket_binds_with(tmp_path, keys):
    # every receiving group has its own server key, so no edge uses the graph's; under --ray the parent's control
    # socket still binds with it: a public half failed there, at the start of the run
    a = "{nodes: [src], on: {resources: {amp: 1}}, security: {client_key: keys/a_client.key_secret}}"
    b = "{nodes: [sink], security: {server_key: keys/b_server.key_secret, client_key: keys/b_client.key_secret}}"
    with pytest.raises(GraphError, match=r":11: security: server_key keys/server.key .*under --ray the parent's"):
        load_config(graph(tmp_path, server="keys/server.key", a=a, b=b))
    assert load_config(graph(tmp_path, a=a, b=b)).placement  # its secret half: taken
