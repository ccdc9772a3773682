"""Session 29's walk of README.md and docs/{yaml,nodes,bci,speech,multihost}.md as a new user, held to what they say."""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_ray_on_a_cluster_that_asks_for_a_token_is_an_error_with_the_fix_not_a_traceback(tmp_path):
    """docs/multihost.md, 5. Run: `wavegraph run bci_multihost.yaml --ray HEAD:6379`. Ray 2.60's `ray start --head`
    turns token authentication on by itself when ~/.ray/auth_token exists (a local `ray.init()` once wrote it, as on
    this machine), while ray.init given an explicit address connects without the token unless RAY_AUTH_MODE=token.
    The run then printed 20 lines of Ray's 'Failed to get cluster ID' and a Python traceback ending in
    'ConnectionError: Failed to connect to Ray cluster at ...'. It is a problem of the run now, naming the address
    and the fix (the head here is started with RAY_AUTH_MODE=token, so the test does not depend on ~/.ray)."""
    pytest.importorskip("ray")
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="wg-ray-", dir="/tmp")  # Ray's sockets under it: at most 107 bytes, so not tmp_path
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    head = subprocess.Popen(
        [str(BIN / "ray"), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
         "--num-cpus", "1", "--include-dashboard=false", "--temp-dir", temp],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        # the head has started all its processes (seconds, up to a minute on a busy machine): `ray start` writes
        # ray_current_cluster then. Its GCS answers sooner, but a head stopped while still starting took 30 s to stop
        deadline = time.monotonic() + 120
        while not os.path.exists(os.path.join(temp, "ray_current_cluster")):
            assert head.poll() is None, "ray start --head failed"
            assert time.monotonic() < deadline, "ray start --head did not write ray_current_cluster within 120 s"
            time.sleep(0.2)
        socket.create_connection(("127.0.0.1", port), timeout=10).close()  # its GCS answers
        (tmp_path / "g.yaml").write_text(
            textwrap.dedent("""\
            nodes:
              - {id: src, type: sine, params: {rate: 100.0, freq: 5.0, duration: 1.0}}
              - {id: sink, type: null_sink}
            edges:
              - {source: src.out, target: sink.in}
            processes: {a: [src], b: [sink]}
            """)
        )
        joined = subprocess.run(
            [str(BIN / "wavegraph"), "run", str(tmp_path / "g.yaml"), "--ray", f"127.0.0.1:{port}", "--no-status"],
            env={**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_ADDRESS": "", "RAY_NUM_REDIS_GET_RETRIES": "3"},
            capture_output=True, text=True, timeout=600, cwd=tmp_path,
        )  # fmt: skip  # ray.init tries the GCS RAY_NUM_REDIS_GET_RETRIES times, 1 s apart (20: 20 s of the same refusal)
    finally:
        # this head and the Ray processes it started (its own session, all in its process group; its temp dir is
        # removed below). On SIGTERM `ray start --block` drained the node (up to 30 s; 0 with
        # RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S=0), then stopped them one by one (3 s): none of it is what is tested
        os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=60)
        shutil.rmtree(temp, ignore_errors=True)
    said = joined.stdout + joined.stderr
    assert joined.returncode == 2, said[-3000:]
    assert "Traceback" not in said, said[-3000:]
    assert f"--ray 127.0.0.1:{port}: could not join the Ray cluster" in said
    assert "RAY_AUTH_MODE=token" in said and "fix:" in said


def test_plot_of_a_graph_file_says_to_run_it_and_names_what_its_recorder_writes(tmp_path, capsys):
    """README: `wavegraph plot out/default_raw.fif` plots a recording. Given the graph file instead (`wavegraph plot
    configs/default.yaml`, the obvious slip next to `wavegraph run configs/default.yaml`), it said 'cannot read
    configs/default.yaml: ValueError: Unsupported file type (.yaml). Consider using a dedicated reader function' and
    the list of every format; it now says that this is a graph file and which recording to plot once it has run."""
    from wavegraph.nodes.io.plot import main

    assert main([str(ROOT / "configs" / "default.yaml"), "-o", str(tmp_path / "x.png")]) == 2
    said = capsys.readouterr().err
    assert "is a graph file, not a recording" in said and "out/default_raw.fif" in said
    assert "ValueError" not in said and not (tmp_path / "x.png").exists()


def test_a_missing_decoder_channel_is_not_said_to_be_spelt_as_the_ones_found():
    """docs/bci.md, 0. Set-up: 'change `decoder.channels` to yours'. A slip in one name (`--set
    'decoder.channels=[O1, Oz, O9]'` on a stream with O1 and Oz but no O9) said "channels ['O9'] are not in the
    stream, which spells 2 of the channels as O1, Oz": the names as typed, told as another spelling. That clause is
    for names the stream spells otherwise ('EEG O1-REF' for O1), and only those are named in it now."""
    from wavegraph.nodes.models.ssvep_channels import missing_channels
    from wavegraph.pipeline.spec import signal_spec

    e = missing_channels(signal_spec(256.0, ["O1", "Oz", "O2", "Pz"]), ["O1", "Oz", "O9"], ["O9"], node_id="decoder")
    assert "which spells" not in str(e) and "channels ['O9'] are not in the stream" in str(e)
    e = missing_channels(signal_spec(256.0, ["EEG O1-REF", "Oz"]), ["O1", "Oz", "O9"], ["O1", "O9"])
    assert "which spells 1 of the channels as EEG O1-REF" in str(e)
