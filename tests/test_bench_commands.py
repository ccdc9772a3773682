"""The benchmark commands exactly as docs/benchmarks.md and README.md tell a reviewer to run them."""

from __future__ import annotations

import json
import runpy
import sys

import pytest
from conftest import ROOT


def _run_script(monkeypatch, name: str, *argv: str) -> None:
    """`python benchmarks/NAME.py ARGV...` in this process: the file run as __main__, outside any package."""
    path = ROOT / "benchmarks" / name
    monkeypatch.setattr(sys, "argv", [str(path), *argv])
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as e:
        assert e.code in (0, None), f"benchmarks/{name} exited {e.code}"


def test_nodes_script_draws_its_png(monkeypatch, tmp_path, capsys):
    # docs: `.venv/bin/python benchmarks/nodes.py` (+ `--png PATH`, docs/monitor.md); its `from .figures import
    # bars` failed with "attempted relative import with no known parent package" after the whole run
    png = tmp_path / "nodes.png"
    _run_script(monkeypatch, "nodes.py", "--seconds", "0.05", "--repeats", "1", "--png", str(png))
    assert "chain" in capsys.readouterr().out
    assert png.stat().st_size > 1000


@pytest.mark.usefixtures("one_torch_thread")
def test_kernels_script_draws_its_png(monkeypatch, tmp_path, capsys):
    # docs: `.venv/bin/python benchmarks/kernels.py --repeats 10` (+ `--png PATH`): the same relative import
    png = tmp_path / "kernels.png"
    _run_script(
        monkeypatch,
        "kernels.py",
        "--device",
        "cpu",
        "--repeats",
        "1",
        "--skip",
        "ref-chunked",
        "ref-seq",
        "--png",
        str(png),
    )
    assert "gla_step" in capsys.readouterr().out
    assert png.stat().st_size > 1000


def _main(module: str):
    import importlib

    mod = importlib.import_module(f"wavegraph.benchmarks.{module}")
    return getattr(mod, "bench_transport" if module == "transport" else "main")


# the cheapest run of each command that reaches its output, so that before the check the run ended in a traceback
OUTPUTS = [
    ("transport", ["--transports", "ipc", "--sizes", "64", "--iters", "100", "--no-throughput"], "--json"),
    ("transport", ["--transports", "ipc", "--sizes", "64", "--iters", "100", "--no-throughput"], "--png"),
    ("nodes", ["--seconds", "0.05", "--repeats", "1"], "--png"),
    ("pacing", ["--seconds", "0.1"], "--png"),
    ("kernels", ["--device", "cpu", "--repeats", "1", "--skip", "ref", "ref-chunked", "ref-seq"], "--png"),
    ("monitor", ["--seconds", "10", "--mode", "one", "--repeat", "0"], "--json"),
    ("batch", ["--files", "1", "--no-ray"], "--json"),
    ("soak", ["--hours", "0.0003", "--formats", "npz", "--no-verify"], "--json"),
    ("soak", ["--hours", "0.0003", "--formats", "npz", "--no-verify"], "--png"),
    ("bci_live", ["--epochs", "1", "--speed", "4"], "--json"),
    ("enhance_validation", ["models/weights/enhancer.safetensors", "--snrs", "5", "--per-snr", "1"], "--json"),
    ("peers_ezmsg", ["--sizes", "64", "--blocks", "1", "--lat-n", "5", "--no-hotpath"], "--json"),
    ("peers_timeflux", ["--sizes", "64", "--blocks", "1", "--lat-n", "5"], "--json"),
    ("peers_sigproc", ["--sizes", "10", "--seconds", "0.1", "--repeats", "1"], "--json"),
    ("peers_mnelsl", ["--seconds", "9"], "--json"),
]


@pytest.mark.parametrize(("module", "argv", "option"), OUTPUTS, ids=[f"{m}{o}" for m, _, o in OUTPUTS])
def test_an_unwritable_output_is_refused_before_the_run(module, argv, option, tmp_path, capsys):
    # `--json`/`--png` naming a folder (or a path that cannot be made) failed with IsADirectoryError /
    # FileNotFoundError after the whole benchmark had run, its figures lost; now exit 2 before anything runs
    with pytest.raises(SystemExit) as e:
        _main(module)([*argv, option, str(tmp_path)])
    assert e.value.code == 2
    assert f"{option} {tmp_path}: cannot write (it is a folder)" in capsys.readouterr().err


BAD_OPTIONS = [
    ("transport", ["--transports", "ipc", "--sizes", "0", "--no-throughput"], "--sizes: payload size 0"),
    ("nodes", ["--seconds", "0"], "--seconds must be at least one chunk"),
    ("nodes", ["--seconds", "0.05", "--repeats", "0"], "--repeats at least 1"),
    ("pacing", ["--seconds", "0"], "--seconds must span at least two chunks"),
    ("pacing", ["--seconds", "0.2", "--chunk-ms", "0.5"], "--chunk-ms must be a whole number of ms >= 1"),
]


@pytest.mark.parametrize(("module", "argv", "says"), BAD_OPTIONS, ids=[f"{m} {' '.join(a)}" for m, a, _ in BAD_OPTIONS])
def test_a_bad_option_value_is_refused_naming_it(module, argv, says, capsys):
    # were tracebacks: memoryview cast (--sizes 0), "need at least one array to concatenate" (nodes --seconds 0),
    # IndexError (--repeats 0, pacing --seconds 0), pacing's temporary graph file's chunk_size = 0 (--chunk-ms 0.5)
    with pytest.raises(SystemExit) as e:
        _main(module)(argv)
    assert e.value.code == 2
    assert says in capsys.readouterr().err


PEERS = [
    ("peers_ezmsg", ["--sizes", "64", "--blocks", "1", "--lat-n", "5", "--no-hotpath"], ["ezmsg", "ezmsg.core"], ""),
    ("peers_timeflux", ["--sizes", "64", "--blocks", "1", "--lat-n", "5"], ["timeflux"], ""),
    ("peers_sigproc", ["--sizes", "10", "--seconds", "0.1", "--repeats", "1"], ["ezmsg", "ezmsg.sigproc"], ""),
    ("peers_mnelsl", ["--seconds", "9"], ["mne_lsl"], "mnelsl"),
]


@pytest.mark.parametrize(("module", "argv", "hidden", "venv"), PEERS, ids=[p[0] for p in PEERS])
def test_a_peer_benchmark_without_its_peer_says_what_to_install(module, argv, hidden, venv, monkeypatch):
    # run with the project's .venv (the peers live in .venv-peers / .venv-mnelsl): were AttributeError
    # ('NoneType' object has no attribute '__version__'), ModuleNotFoundError and PackageNotFoundError tracebacks
    import importlib

    mod = importlib.import_module(f"wavegraph.benchmarks.{module}")
    if module == "peers_ezmsg":
        monkeypatch.setattr(mod, "ez", None)  # as its module-level `import ezmsg.core` leaves it without ezmsg
    for name in hidden:
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    with pytest.raises(SystemExit) as e:
        mod.main(argv)
    message = str(e.value.code)
    script = f"benchmarks/{module}.py"
    assert f"cannot import {hidden[-1]}" in message and "bash benchmarks/peers_setup.sh" in message
    assert f".venv-{venv or 'peers'}/bin/python {script}" in message


def test_peers_mnelsl_refuses_a_settle_past_its_window(capsys):
    # `peers_mnelsl.py --seconds 2` (a short run of the docs' command) kept the default --settle 8: after the
    # whole run, ValueError "zero-size array to reduction operation maximum"; now exit 2 before it, naming both
    from wavegraph.benchmarks.peers_mnelsl import main

    with pytest.raises(SystemExit) as e:
        main(["--seconds", "2"])
    assert e.value.code == 2
    assert "--settle 8" in capsys.readouterr().err


def test_peers_mnelsl_analysis_with_nothing_settled_is_no_crash():
    # the window check above relies on the consumer's first sample coming early; a late one left nothing to compare
    import numpy as np
    from wavegraph.benchmarks.peers_mnelsl import PUSH, analyse

    rate, n = 100.0, 400
    x = np.zeros((2, n), dtype=np.float32)
    pushed = np.arange(0, n, PUSH) / rate
    rec = {
        "ts": np.arange(n) / rate,  # per sample
        "arrival": pushed + 0.001,  # per block of PUSH samples
        "n": np.full(len(pushed), PUSH),
        "cpu": np.linspace(0.0, 0.1, len(pushed)),
        "data": x.astype(np.float64),
        "sos": np.zeros((2, 6)),
    }
    prod = {"t0": 0.0, "pushed": pushed}
    out = analyse(rec, prod, x, rate, seconds=2.0, settle=3.5, mne=True)
    assert np.isnan(out["max_err_rel"]) and out["lost"] == 0


def test_gpu_check_on_a_machine_without_cuda_stops_after_saying_so(tmp_path):
    # docs: `PEERS_SRC=.whl OUT=/tmp/gpu bash benchmarks/gpu_check.sh`; without a GPU, an AssertionError, then four
    # more steps each failing with its own traceback ("Torch not compiled with CUDA enabled", argparse errors)
    import os
    import subprocess

    if os.path.exists("/dev/nvidia0"):  # (not torch.cuda here: importing torch alone takes a second)
        pytest.skip("a CUDA machine runs the whole script")
    fake = tmp_path / "fake" / "torch"  # torch as a CPU-only build answers, without the second its import takes
    (fake / "cuda").mkdir(parents=True)
    (fake / "__init__.py").write_text("from . import cuda, version\n__version__ = '2.13.0+cpu'\n")
    (fake / "cuda" / "__init__.py").write_text("def is_available():\n    return False\n")
    (fake / "version.py").write_text("cuda = None\n")
    env = {"PATH": "/usr/bin:/bin", "OUT": str(tmp_path), "PY": sys.executable, "PYTHONPATH": str(fake.parent)}
    p = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 1
    assert "no CUDA device visible" in p.stdout and "Traceback" not in p.stdout + p.stderr
    assert "=== tests" not in p.stdout and "gpu_check.sh is for a CUDA machine" in p.stderr


@pytest.mark.parametrize("content", [None, "{"], ids=["missing", "not-json"])
def test_bench_bci_merge_names_the_file_it_cannot_read(tmp_path, capsys, content):
    # docs: `wavegraph bench bci --merge *-a.json *-b.json *-c.json --json ...`; a glob that matched nothing reached
    # the command as '*-a.json': FileNotFoundError traceback; a cut file said only "Expecting property name ..."
    from wavegraph.benchmarks.bci import main

    path = tmp_path / "x-a.json"
    if content is not None:
        path.write_text(content)
    assert main(["--merge", str(path), "--json", str(tmp_path / "all.json"), "--png", str(tmp_path / "all.png")]) == 2
    err = capsys.readouterr().err
    assert f"--merge {path}: " in err and "give the --json files of earlier runs" in err


def _validation(argv: list[str], capsys) -> str:
    from wavegraph.benchmarks.enhance_validation import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    return capsys.readouterr().err


def test_enhance_validation_reads_against_before_scoring(tmp_path, capsys):
    # docs/speech.md: `enhance_validation CANDIDATE --snrs ... --per-snr 24 --floors 0.03 --per-mixture --against
    # BASE.json`: a missing BASE, one scored at another floor or on other mixtures were a FileNotFoundError /
    # KeyError / "scored on different mixtures" ValueError traceback after the whole scoring
    weights = str(ROOT / "models" / "weights" / "enhancer.safetensors")
    cmd = [weights, "--snrs", "5", "--per-snr", "1", "--floors", "0.03", "--per-mixture", "--against"]
    assert "--against " + str(tmp_path / "no.json") + ": No such file" in _validation(
        [*cmd, str(tmp_path / "no.json")], capsys
    )
    base = tmp_path / "base.json"
    base.write_text(json.dumps({"snrs": [5.0], "per_snr": 1, "floors": {"0.02": {"mixtures": []}}}))
    assert "no per-mixture figures at floor 0.03" in _validation([*cmd, str(base)], capsys)
    base.write_text(json.dumps({"snrs": [0.0], "per_snr": 1, "floors": {"0.03": {"mixtures": []}}}))
    assert "scored on other mixtures" in _validation([*cmd, str(base)], capsys)


def test_enhance_validation_names_missing_weights_without_a_traceback(tmp_path, capsys):
    missing = tmp_path / "stage16.safetensors"
    assert f"{missing}: no model config" in _validation([str(missing), "--snrs", "5", "--per-snr", "1"], capsys)


def test_ssvep_dev_carry_export_makes_its_folder(tmp_path, monkeypatch, capsys):
    # docs: `python -m wavegraph.benchmarks.ssvep_dev_carry export .devrun/ssvep_inputs.npz` on a fresh clone (no
    # .devrun/): FileNotFoundError from np.savez after reading both recordings; `run` of a missing file likewise
    import numpy as np
    from wavegraph.benchmarks import ssvep_dev_carry as carry
    from wavegraph.benchmarks import ssvep_sim as sim

    def tiny(name, channels=sim.CHANNELS):  # the two real recordings take seconds to read: their shape is enough
        return sim.Background(name, np.ones((2, 8)), 160.0, ["O1", "O2"], 1e-12, {"eval": [0, 8]})

    monkeypatch.setattr(sim, "load_background", tiny)
    monkeypatch.setattr(sim, "_positions", lambda: {"O1": np.zeros(3), "O2": np.ones(3)})
    path = tmp_path / ".devrun" / "ssvep_inputs.npz"
    assert carry.main(["export", str(path)]) == 0
    carry.install(str(path))  # what `run` does with it: the same backgrounds back
    assert sim.load_background is not tiny  # read from the exported file now, not from the stand-in
    assert sim.load_background("ssvepy-epochs").channels == ["O1", "O2"]
    assert carry.main(["run", str(tmp_path / "none.npz"), "{}"]) == 2
    assert "no such file; make it with `export" in capsys.readouterr().err


def test_ssvep_dev_refuses_a_misspelt_variant_before_building_anything(capsys):
    # a typo'd setting was a TypeError from fine_tune after the backgrounds, subjects and FBCCA's scores
    from wavegraph.benchmarks.ssvep_dev import main

    for variant, says in (('{"averge": 0.5}', "unknown setting(s) averge; known: average"), ("{", "is not JSON")):
        with pytest.raises(SystemExit) as e:
            main([variant, "--subjects", "1", "--eval-blocks", "1"])
        assert e.value.code == 2
        assert says in capsys.readouterr().err


def test_ssvep_dev_takes_every_variant_the_docs_run():
    import argparse

    from wavegraph.benchmarks.ssvep_dev import _variants
    from wavegraph.models import ssvep_dnn as dnn

    doc = (ROOT / "docs" / "benchmarks.md").read_text()
    texts = ["{}", '{"average": 0.5}', '{"mixup": 0.5}', '{"ensemble": 3}', '{"steps": 1200}', '{"p2": 0.95}']
    texts += ['{"calib_s": 2.14, "latency_jitter": 0}', '{"latency_jitter": 1, "latency_jitter_from": 0.75}']
    assert all(t in doc for t in texts)
    assert [list(kw) for kw in _variants(argparse.ArgumentParser(), texts, dnn.fine_tune, dnn.fit)][-1] == [
        "latency_jitter",
        "latency_jitter_from",
    ]


def test_kernels_sweep_on_the_cpu_outside_the_interpreter_is_refused(tmp_path, monkeypatch, capsys):
    # `benchmarks/kernels.py --sweep best.json` without a GPU: "RuntimeError: 0 active drivers" for every config,
    # then a best.json of nulls and exit 0
    from wavegraph.benchmarks.kernels import main

    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(SystemExit) as e:
        main(["--device", "cpu", "--repeats", "1", "--sweep", str(tmp_path / "best.json")])
    assert e.value.code == 2
    assert "--sweep times the Triton kernels, which need a CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "best.json").exists()


def test_kernels_tuned_names_a_file_it_cannot_read(tmp_path, monkeypatch, capsys):
    from wavegraph.benchmarks.kernels import main

    monkeypatch.setenv("TRITON_INTERPRET", "1")
    with pytest.raises(SystemExit) as e:
        main(["--device", "cpu", "--tuned", str(tmp_path / "best.json")])
    assert e.value.code == 2
    assert f"--tuned {tmp_path / 'best.json'}: No such file" in capsys.readouterr().err


def test_bench_bci_without_png_draws_into_the_ignored_out_folder(tmp_path, monkeypatch):
    # docs: `wavegraph bench bci ... --json out/bci_token.json` and `--data RECORDING.fif`, run from the repository
    # root, left an untracked bench_bci.png in the working tree (`git status` dirty); now out/bench_bci.png
    import subprocess

    from wavegraph.benchmarks.bci import main

    run = json.loads((ROOT / "docs" / "bci_bench_m8.json").read_text())
    one = run["semi"]["cells"][0]  # one cell's table and plot: the whole one takes seconds to draw
    run["semi"]["cells"] = [
        c for c in run["semi"]["cells"] if (c["window_s"], c["snr_db"]) == (one["window_s"], one["snr_db"])
    ]
    run["semi"]["snrs_db"] = [one["snr_db"]]
    merged = tmp_path / "run.json"
    merged.write_text(json.dumps(run))
    monkeypatch.chdir(tmp_path)
    assert main(["--merge", str(merged)]) == 0
    assert (tmp_path / "out" / "bench_bci.png").stat().st_size > 1000
    assert not (tmp_path / "bench_bci.png").exists()
    ignored = subprocess.run(["git", "check-ignore", "-q", "out/bench_bci.png"], cwd=ROOT)
    assert ignored.returncode == 0  # out/ is git-ignored in the repository


@pytest.mark.parametrize("name", ["nodes", "pacing", "kernels", "models"])
def test_a_bench_command_names_itself_in_its_usage_and_errors(name, monkeypatch, capsys):
    # `wavegraph bench nodes --help` printed "usage: wavegraph [-h] [--seconds SECONDS] ..." and its errors began
    # "wavegraph: error:" (argparse took the program's name): a command that does not exist
    from wavegraph.pipeline.cli import main as cli

    monkeypatch.setattr(sys, "argv", [str(ROOT / ".venv" / "bin" / "wavegraph"), "bench", name, "--bogus"])
    with pytest.raises(SystemExit) as e:
        cli(["bench", name, "--bogus"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: wavegraph bench {name} ") and f"wavegraph bench {name}: error: unrecognized" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--epochs", "0"], "--epochs must be 1 to 16"),
        (["--epochs", "99"], "--epochs must be 1 to 16"),
        (["--speed", "0"], "--speed must be above 0"),
        (["--dnn", "--blocks", "0"], "--blocks must be at least 1"),
    ],
    ids=["epochs0", "epochs99", "speed0", "blocks0"],
)
def test_bench_bci_live_refuses_values_it_cannot_play(argv, says, capsys):
    # docs: `wavegraph bench bci-live --epochs 4 --speed 1`; --epochs 0 and --dnn --blocks 0 were ValueError
    # tracebacks, --speed 0 a ZeroDivisionError in the feeder thread and then 'None', --epochs 99 played 16
    from wavegraph.benchmarks.bci_live import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert says in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "argv", "says"),
    [
        (None, [], "No such file or directory"),
        ('{"latency": {}}', [], "not a --json of bench soak"),
        ("{", [], "not JSON"),
        (None, ["--hours", "-1"], "--hours and --every must be above 0"),
        (None, ["--every", "0"], "--hours and --every must be above 0"),
    ],
    ids=["missing", "other-json", "cut", "hours", "every"],
)
def test_bench_soak_rejudge_and_its_lengths_are_checked(content, argv, says, tmp_path, capsys):
    # `wavegraph bench soak --rejudge soak.json`: a missing file, another bench's JSON or a cut one were tracebacks;
    # --hours -1 failed in the child on a temporary graph file, --every 0 sampled in a busy loop
    from wavegraph.benchmarks.soak import main

    saved = tmp_path / "soak.json"
    if content is not None:
        saved.write_text(content)
    with pytest.raises(SystemExit) as e:
        main(argv or ["--rejudge", str(saved)])
    assert e.value.code == 2
    assert says in capsys.readouterr().err


@pytest.mark.parametrize(
    ("module", "argv", "hidden", "says"),
    [
        ("monitor", ["--seconds", "10", "--mode", "one"], "selenium", "selenium (pip install selenium"),
        ("monitor", ["--seconds", "10", "--mode", "one"], "psutil", "psutil (pip install 'wavegraph[soak]')"),
        ("soak", ["--hours", "0.003", "--no-verify"], "psutil", "psutil (pip install 'wavegraph[soak]')"),
    ],
    ids=["monitor-selenium", "monitor-psutil", "soak-psutil"],
)
def test_a_bench_without_an_optional_package_says_what_to_install(module, argv, hidden, says, monkeypatch, capsys):
    # were an ImportError once the run had started (monitor: after the tap and a plain run, with the monitored
    # run's graph left running; soak: with the child run going)
    monkeypatch.setitem(sys.modules, hidden, None)
    with pytest.raises(SystemExit) as e:
        _main(module)(argv)
    assert e.value.code == 2
    assert says in capsys.readouterr().err


def test_bench_monitor_without_chromium_says_what_to_install(tmp_path, monkeypatch, capsys):
    from wavegraph.benchmarks import monitor

    monkeypatch.setenv("PATH", str(tmp_path))  # neither chromium nor chromedriver on it
    monkeypatch.setattr(monitor, "BROWSER_DIRS", ())
    with pytest.raises(SystemExit) as e:
        monitor.main(["--seconds", "10", "--mode", "one"])
    assert e.value.code == 2
    assert (
        "needs chromium to open the page (as root: apt-get install chromium chromium-driver" in capsys.readouterr().err
    )


def test_bench_batch_without_ray_says_so_before_the_local_runs(monkeypatch, capsys):
    # `wavegraph bench batch --files 24` without ray (wavegraph[ray]): an ImportError after the local runs
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(SystemExit) as e:
        _main("batch")(["--files", "1"])
    assert e.value.code == 2
    assert "ray (pip install 'wavegraph[ray]'; or --no-ray" in capsys.readouterr().err


def test_gpu_peers_without_its_arguments_or_files_says_what_to_give(tmp_path):
    # docs: `benchmarks/gpu_peers.sh` says how to fetch the peers' files; run bare it said "$1: unbound variable",
    # with a folder lacking them pip's "fla_core-*.whl is not a valid wheel filename"
    import subprocess

    script = str(ROOT / "benchmarks" / "gpu_peers.sh")
    p = subprocess.run(["bash", script], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and p.stderr.startswith("usage: bash benchmarks/gpu_peers.sh SRC DEST")
    dest = tmp_path / "dest"
    p = subprocess.run(["bash", script, str(tmp_path), str(dest)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and f"no fla_core-*.whl in {tmp_path}" in p.stderr
    assert "pip download --no-deps --no-binary=:all:" in p.stderr and not dest.exists()
