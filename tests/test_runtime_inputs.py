"""Inputs that gave a traceback, a hang, or were silently accepted (issue 11 §4): each is now exit 2
with one `file:line: message; fix: hint` line from `wavegraph validate`."""

import os
import subprocess
import sys
import tempfile

import pytest
from wavegraph.pipeline.cli import main

GOOD = """\
nodes:
  - id: src
    type: sine
    params: {rate: RATE, channels: CH, freq: 10.0}
  - id: bp
    type: bandpass
    params: {l_freq: LOW, h_freq: 40.0}
  - id: rec
    type: fixture_nodes:Collect
edges:
  - {source: src.out, target: bp.in, queue: QUEUE}
  - {source: bp.out, target: rec.in}
"""


def graph(tmp_path, rate="250.0", ch="2", low="1.0", queue="64", extra=""):
    p = tmp_path / "g.yaml"
    p.write_text(GOOD.replace("RATE", rate).replace("CH", ch).replace("LOW", low).replace("QUEUE", queue) + extra)
    return p


def one_error(path, capsys) -> str:
    code = main(["validate", str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"{path}:") and "; fix: " in err[0], err[0]
    return err[0]


def test_the_good_graph_validates(tmp_path, capsys):
    assert main(["validate", str(graph(tmp_path))]) == 0
    assert main(["validate", str(graph(tmp_path, rate="25e1"))]) == 0  # 25e1 is a number (YAML 1.2)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"rate": "1e400"}, "parameter 'rate' = inf"),
        ({"low": "true"}, "parameter 'l_freq' = True is a boolean, not a number"),
        ({"low": "'1.0'"}, "parameter 'l_freq' = '1.0' is text, not a number"),
        ({"queue": "100000000000000000000"}, "must be an integer from 1 to 1000000"),
        ({"ch": "100000000"}, "100000000 channels; at most 65536"),
    ],
)
def test_bad_values_are_one_error_line(tmp_path, capsys, kwargs, words):
    assert words in one_error(graph(tmp_path, **kwargs), capsys)


def test_duplicate_keys_are_an_error(tmp_path, capsys):
    p = graph(tmp_path)
    p.write_text(p.read_text().replace("h_freq: 40.0}", "h_freq: 40.0, l_freq: 2.0}"))
    assert "duplicate key 'l_freq'" in one_error(p, capsys)


def test_invalid_utf8_names_the_line(tmp_path, capsys):
    p = graph(tmp_path)
    p.write_bytes(p.read_bytes().replace(b"id: bp", b"id: b\xff"))
    assert one_error(p, capsys).startswith(f"{p}:5: the file is not UTF-8")


def test_yaml_nested_very_deep(tmp_path, capsys):
    p = tmp_path / "g.yaml"
    p.write_text("nodes: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deeply" in one_error(p, capsys)


@pytest.mark.parametrize(
    "host, words", [("no-such-host.invalid", "cannot be resolved"), ("192.0.2.1", "is not an address of this machine")]
)
def test_a_host_that_cannot_be_used_is_refused_at_validate(tmp_path, capsys, host, words):
    p = graph(tmp_path, extra=f"processes:\n  a: [src]\n  b: {{nodes: [bp, rec], host: {host}}}\n")
    assert words in one_error(p, capsys)


def test_stft_size_is_bounded(tmp_path, capsys):
    p = graph(tmp_path)
    p.write_text(
        p.read_text().replace(
            "type: bandpass\n    params: {l_freq: 1.0, h_freq: 40.0}", "type: stft\n    params: {n_fft: 1099511627776}"
        )
    )
    assert "n_fft" in one_error(p, capsys)


def test_car_on_one_channel_is_refused(tmp_path, capsys):
    p = graph(tmp_path, ch="1")
    p.write_text(p.read_text().replace("type: bandpass\n    params: {l_freq: 1.0, h_freq: 40.0}", "type: car"))
    assert "car on a single channel" in one_error(p, capsys)


def test_a_node_whose_configure_or_close_raises_is_named(tmp_path, capsys):
    (tmp_path / "badnodes.py").write_text(
        "from wavegraph.pipeline.node import Node\n"
        "class BadConfigure(Node):\n"
        "    def configure(self, in_specs):\n        raise KeyError('oops')\n"
        "    def process(self, inputs):\n        return {}\n"  # (a node without process() is refused first, 3b68bbf)
        "class BadClose(Node):\n"
        "    def close(self):\n        raise RuntimeError('stuck')\n"
        "    def process(self, inputs):\n        return {}\n"
    )
    p = graph(tmp_path)
    p.write_text(p.read_text().replace("type: fixture_nodes:Collect", "type: badnodes:BadConfigure"))
    assert "node 'rec' (badnodes:BadConfigure): configure() failed: KeyError" in one_error(p, capsys)
    p.write_text(p.read_text().replace("badnodes:BadConfigure", "badnodes:BadClose"))
    assert "node 'rec' (badnodes:BadClose): close() failed: RuntimeError: stuck" in one_error(p, capsys)


def test_speed_nan_is_a_usage_error(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "wavegraph.pipeline.cli", "run", str(graph(tmp_path)), "--speed", "nan"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "--speed must be a positive number" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_long_tmpdir_falls_back_to_a_short_run_folder(long_tmpdir):
    from wavegraph.pipeline import worker_plans
    from wavegraph.pipeline.endpoints import MAX_IPC_PATH

    run_dir = worker_plans.make_run_dir()
    try:
        assert len(os.path.join(run_dir, "control.ipc")) <= MAX_IPC_PATH
        assert run_dir.startswith("/tmp/wg-")
    finally:
        os.rmdir(run_dir)


def test_a_long_tmpdir_gives_ipc_endpoints_that_bind(long_tmpdir, monkeypatch):
    """ipc_endpoint() (the transport API, `bench transport`) falls back to /tmp like the run folder does:
    before, a long TMPDIR gave an address zmq refused to bind ("longer than 107 characters")."""
    import zmq
    from wavegraph.pipeline.endpoints import MAX_IPC_PATH, ipc_endpoint

    endpoint = ipc_endpoint("a-rather-long-edge-name-that-is-cut-at-32")
    path = endpoint.removeprefix("ipc://")
    assert len(path) <= MAX_IPC_PATH and path.startswith("/tmp/wg-")
    with zmq.Context() as ctx, ctx.socket(zmq.PULL) as s:
        s.setsockopt(zmq.LINGER, 0)
        s.bind(endpoint)
    if os.path.exists(path):  # (libzmq may have removed it on close)
        os.unlink(path)
    short = tempfile.mkdtemp(prefix="wgt-", dir="/tmp")  # a short one is kept
    monkeypatch.setattr("tempfile.tempdir", short)
    try:
        assert ipc_endpoint().startswith(f"ipc://{short}/wg-")
    finally:
        os.rmdir(short)


def test_run_folders_of_killed_parents_are_removed_by_the_next_run(tmp_path, monkeypatch):
    from wavegraph.pipeline import worker_plans

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs
    stale = tmp_path / f"wg-{dead.pid}-abcdefgh"
    stale.mkdir()
    (stale / "control.ipc").write_text("")
    alive = tmp_path / f"wg-{os.getpid()}-ijklmnop"
    alive.mkdir()
    run_dir = worker_plans.make_run_dir()
    assert not stale.exists() and alive.exists() and os.path.isdir(run_dir)


def test_one_mistake_gives_one_line(tmp_path, capsys):
    p = graph(tmp_path)  # a misspelt port: not also "input 'in' is not connected"
    p.write_text(p.read_text().replace("target: bp.in,", "target: bp.inn,"))
    assert "node 'bp' has no input port 'inn'" in one_error(p, capsys)
    p = graph(tmp_path)  # a bad parameter in an anchor that 3 nodes use: one line naming them
    text = p.read_text().replace(
        "params: {rate: 250.0, channels: 2, freq: 10.0}", "params: &s {rate: 250.0, channels: 2, freq: 10.0, bogus: 1}"
    )
    text = text.replace(
        "  - id: bp", "  - {id: s2, type: sine, params: *s}\n  - {id: s3, type: sine, params: *s}\n  - id: bp"
    )
    p.write_text(text)
    code = main(["validate", str(p)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and [line for line in err if "bogus" in line] == [
        f"{p}:4: nodes 'src', 's2', 's3' (sine): unknown parameter 'bogus'; fix: parameters are: "
        "rate, channels, chunk_size, duration, seed, dtype, freq, amplitude, phase"
    ]


def test_resample_to_a_rate_just_off_says_the_rate_it_got(tmp_path, capsys):
    p = graph(tmp_path, rate="1000.0")
    p.write_text(
        p.read_text().replace(
            "type: bandpass\n    params: {l_freq: 1.0, h_freq: 40.0}", "type: resample\n    params: {rate: 999.9999}"
        )
    )
    assert "resampling 1000 -> 999.9999 Hz" in one_error(p, capsys)


def test_an_unwritable_recorder_path_fails_validate_not_run(tmp_path, capsys):
    p = graph(tmp_path)  # /proc refuses new files even to root, whom os.access would let through
    p.write_text(
        p.read_text().replace("type: fixture_nodes:Collect", "type: recorder\n    params: {path: /proc/x.npz}")
    )
    assert "/proc is not a writable folder" in one_error(p, capsys)
