import contextlib
import json
import os
import signal
import threading

# Before anything imports triton: run the Triton kernels through the interpreter on this CPU-only box, so
# that `pytest tests/test_kernels_triton.py` needs no environment variable. A GPU run sets TRITON_INTERPRET=0.
os.environ.setdefault("TRITON_INTERPRET", "1")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# Fixture nodes (tests/fixture_nodes.py) are loaded by dotted path, also by worker processes.
sys.path.insert(0, str(TESTS))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)


# `make test` runs the suite in two passes. First every test not marked `realtime`, under pytest-xdist on two workers
# (`-n 2 --dist loadfile`: each file is one unit of work, so that its module-scoped fixtures start once). Then the
# `realtime` tests, one after another with nothing beside them: the files below, which share what is machine-wide
# (LSL discovery on loopback: a stream by type or a fixed name such as 'stimulus' resolves another test's; Ray's
# /tmp/ray and its current cluster; chromium) or run at real-time pace against a clock or deadline (JACK's dummy
# device, LSL outlets, the signals to five runs at once that must each end within 5 s). Beside a CPU-bound worker they
# miss their deadlines, so `make test` never runs them under xdist (a plain `pytest -n 2` would: use `-m "not realtime"`).
# A file not listed here may mark its own such tests with @pytest.mark.realtime; the files below also mark the tests
# that need it, but stay listed whole: moved to the parallel pass, their worker processes (batch pools, multi-process
# runs) took the other xdist worker's cores and the suite was no faster (session 46).
REALTIME_PREFIXES = ("test_live_", "test_lsl_", "test_multihost_ray", "test_monitor_")
REALTIME_FILES = {
    # LSL outlets or inlets on loopback, JACK servers (tests/test_live_audio.py's `jack` fixture)
    "test_bci_live",
    "test_bench_commands",
    "test_cli_leftovers_session20",
    "test_docs_walk_session31",
    "test_inputs_attack4",
    "test_inputs_attack9",
    "test_inputs_attack_session25",
    "test_leftovers2_session25",
    "test_leftovers3_session24",
    "test_leftovers_session20",
    "test_nodes_features",
    "test_peer_users2_session21",
    "test_recorder_chunk_times",
    "test_replay_files_session22",
    "test_review_session23",
    "test_runtime_leftovers_session20",
    "test_speech_graphs",
    "test_validate_offline",
    # Ray clusters on 127.0.0.1 (and `ray start`), or an address checked against them
    "test_batch",
    "test_docs_walkthrough_session29",
    "test_ray_address_session30",
    # many worker processes at once, with an upper bound on how long each takes to end
    "test_runtime_signals",
    "test_runtime_multiprocess",
}


def realtime(test_file: str) -> bool:
    stem = Path(test_file).stem
    return stem in REALTIME_FILES or stem.startswith(REALTIME_PREFIXES)


def pytest_configure(config):
    config.addinivalue_line("markers", "realtime: runs alone, after the parallel pass (tests/conftest.py)")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by mark
def pytest_collection_modifyitems(config, items):
    for item in items:
        if realtime(str(item.path)):
            item.add_marker(pytest.mark.realtime)


# Every test starts from the same random state, whatever ran before it in its worker (pytest-xdist hands files to
# workers in no fixed order, so a test drawing from the global generators drew differently from run to run: CI of
# stop 51 failed on one such draw). WAVEGRAPH_TEST_SEED=N runs the suite on other draws, to find a test that passes
# on one draw only (`make test` keeps 0).
TEST_SEED = int(os.environ.get("WAVEGRAPH_TEST_SEED", "0"))


@pytest.fixture(autouse=True)
def _seed_random_generators(request):
    import random
    import zlib

    import numpy as np

    seed = (zlib.crc32(request.node.nodeid.encode()) + TEST_SEED) % 2**32
    random.seed(seed)
    np.random.seed(seed)
    import torch  # (once per process; a test importing it lazily would otherwise draw from where the last left it)

    torch.manual_seed(seed)


def need(condition: object, reason: str) -> None:
    """Skip the calling test unless `condition` holds; under CI=true a missing data set or device is an
    error instead, so that a run without them cannot pass."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def dataset(name: str) -> Path:
    """A real data set fetched (or cached) by pipeline/datasets.py; `need`s it when it cannot be had."""
    from wavegraph.pipeline.datasets import DatasetError, fetch

    try:
        return fetch(name)
    except DatasetError as e:  # only when PyPI cannot be reached and nothing is cached
        need(False, f"data set {name} unavailable: {e}")
        raise


@pytest.fixture
def socket_tmpdir(monkeypatch):
    """A new short folder under /tmp, made the temp dir, for a test that looks for a run's ipc:// sockets in it.
    (Under pytest-xdist tmp_path is too long for a unix socket path, so the runtime would put them in /tmp.)"""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="wgt-", dir="/tmp"))
    monkeypatch.setattr("tempfile.tempdir", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def long_tmpdir(tmp_path, monkeypatch):
    """A temp dir too long for a unix socket path in it (over 120 bytes), made the temp dir."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr("tempfile.tempdir", str(deep))
    return deep


def run_enhance_bench(tmp_path, methods: list[str], per_snr: int) -> dict:
    """`wavegraph bench enhance` at 5 dB on `per_snr` held-out mixtures, all cores; its --json as a dict."""
    from wavegraph.benchmarks import enhance

    out = tmp_path / "b.json"
    argv = ["--snrs", "5", "--per-snr", str(per_snr), "--methods", *methods, "ours", "--all-cores"]
    assert enhance.main([*argv, "--json", str(out), "--png", str(tmp_path / "b.png")]) == 0
    return json.loads(out.read_text())


@pytest.fixture(scope="session")
def edf_path() -> Path:
    """PhysioNet EEGMMIDB S001R02 (EDF, 64 channels, 160 Hz, with annotations)."""
    return dataset("eegmmidb-s001r02")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models on a shared 2-core box: one intra-op thread avoids OpenMP oversubscription (10x slowdowns).
    Use with `pytestmark = pytest.mark.usefixtures("one_torch_thread")`."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, driven by selenium (never a downloaded browser): one for the session, shared by
    the monitor's browser tests (tests/test_monitor_*.py; a module's own took 0.3-1.5 s to start here). A test that
    changes it (CPU throttling, the script timeout) sets it back."""
    import shutil

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    need(chromium and chromedriver, "Debian's chromium and chromium-driver are not installed (scripts/system_deps.sh)")
    webdriver = pytest.importorskip("selenium.webdriver")
    pytest.importorskip("bokeh")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1700",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(chromedriver), options=opts)
    driver.set_script_timeout(30)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def shm_dir(tmp_path, monkeypatch):
    """A private shared-memory segment folder (tmpfs when /dev/shm is there), inherited by worker processes.
    Use with `pytestmark = pytest.mark.usefixtures("shm_dir")`."""
    from wavegraph.pipeline import shm

    base = "/dev/shm" if os.path.isdir("/dev/shm") else str(tmp_path)
    d = os.path.join(base, f"wgtest-{os.getpid()}-{tmp_path.name}")
    os.makedirs(d)
    monkeypatch.setenv(shm.SHM_DIR_ENV, d)
    yield d
    for name in os.listdir(d):
        os.unlink(os.path.join(d, name))
    os.rmdir(d)


def wavegraph_cli(*args: str, cwd: str | os.PathLike | None = None):
    """`wavegraph ARGS` (pipeline.cli.main, as `python -m wavegraph.pipeline.cli ARGS` runs it) in this process, from
    `cwd`, its stdout and stderr captured: a subprocess.CompletedProcess with the exit code. For commands whose process
    is not what a test checks (validate, describe, nodes): a new interpreter imported numpy, scipy and mne again, 1-2 s
    of CPU per call. What a log record says goes to pytest's log capture here, not to stderr."""
    import io
    import subprocess

    from wavegraph.pipeline.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd or os.getcwd()), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse's errors (2), --help and --version (0), as the interpreter exits
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return subprocess.CompletedProcess(["wavegraph", *args], code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def ctrl_c_when(flag: Path):
    """Ctrl-C (SIGINT to this process) as soon as `flag` exists (a worker inside configure() writes it), and never
    once the block has ended (that would be pytest's own Ctrl-C)."""
    ended = threading.Event()

    def ctrl_c():
        while not flag.exists() and not ended.wait(0.02):
            pass
        if not ended.is_set():
            os.kill(os.getpid(), signal.SIGINT)

    stopper = threading.Thread(target=ctrl_c)
    stopper.start()
    try:
        yield
    finally:
        ended.set()
        stopper.join()
