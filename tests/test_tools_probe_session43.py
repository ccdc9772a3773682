"""The tools around `run` under odd input (session 43): an empty path or list typed as '' (a shell variable that was
unset), a value that is not a number, a monitor URL whose token is not ASCII. Each is a usage error (exit 2) said
before anything runs, never a traceback, a silently dropped option, or hours of the wrong benchmark."""

import http.client
import subprocess

import numpy as np
import pytest
from wavegraph.pipeline.cli import main

EMPTY = "is empty (a shell variable that was unset or empty expands to nothing)"


def _usage_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2, argv
    return capsys.readouterr().err


@pytest.fixture
def no_child_runs(monkeypatch):
    """A benchmark that got past its argument checks would start its run: it fails the test instead."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"the benchmark started a run: {args[0] if args else kwargs}")

    monkeypatch.setattr(subprocess, "Popen", refuse)


def test_a_monitor_token_that_is_not_ascii_is_refused_as_a_wrong_one():
    # `?token=%FF` (not UTF-8) and `?token=%C3%A9` (not ASCII, which compare_digest refuses in a str) were a 500 and
    # a traceback ("Uncaught exception GET /?token=...") in the terminal of the run, not the page's refusal.
    pytest.importorskip("bokeh")
    from wavegraph.pipeline.monitor import MonitorHub
    from wavegraph.pipeline.monitor_server import start_server

    url, stop = start_server(MonitorHub(), "127.0.0.1", 0, token="sekret")
    port = int(url.split(":")[2].split("/")[0])
    try:
        for query in ("?token=%FF", "?token=%C3%A9", "?token=wrong", "?token=sekret"):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/" + query)
            response = conn.getresponse()
            response.read()
            conn.close()
            assert response.status == 200, (query, response.status)
    finally:
        stop()


def test_datasets_fetch_all_among_names_and_unknown_names_before_any_fetch(monkeypatch, capsys):
    from wavegraph.pipeline import datasets

    fetched = []
    monkeypatch.setattr(datasets, "fetch", lambda name, root=None: fetched.append(name) or f"/x/{name}")
    # 'all', as the help offers it, with another name: was "unknown data set 'all'"
    assert datasets.main(["fetch", "all", "eegmmidb-s001r02"]) == 0
    assert fetched == sorted(datasets.DATASETS)
    fetched.clear()
    # a misspelt name after a good one: the good one was fetched first, then the error, without the name meant
    assert datasets.main(["fetch", "eegmmidb-s001r02", "eegmmidb-s001r0"]) == 1
    assert fetched == []
    assert "did you mean 'eegmmidb-s001r02'?" in capsys.readouterr().err
    assert datasets.main(["fetch", "all", "nope"]) == 1 and fetched == []  # (all of them, 'nope' unsaid)
    assert "unknown data set 'nope'" in capsys.readouterr().err


def test_datasets_fetch_root_empty_is_a_usage_error(monkeypatch, capsys, tmp_path):
    # `--root "$DIR"` with DIR unset was Path(''): the data set was written into the current folder without a word
    from wavegraph.pipeline import datasets

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets, "fetch", lambda name, root=None: pytest.fail(f"fetched {name} into {root!r}"))
    with pytest.raises(SystemExit) as e:
        datasets.main(["fetch", "eegmmidb-s001r02", "--root", ""])
    assert e.value.code == 2 and f"argument --root: {EMPTY}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_plot_and_recover_of_an_empty_path_are_usage_errors(tmp_path, monkeypatch, capsys):
    import soundfile as sf

    monkeypatch.chdir(tmp_path)
    sf.write(tmp_path / "a.wav", np.zeros((800, 1)), 8000)
    # `plot ''`: was Path.with_name's ValueError traceback
    assert f"argument recording: {EMPTY}" in _usage_error(["plot", ""], capsys)
    # `plot a.wav -o ''`: -o was dropped, the PNG written beside the recording
    assert f"argument -o/--out: {EMPTY}" in _usage_error(["plot", "a.wav", "-o", ""], capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]
    # `recover ''`: was the current folder: every spill under it recovered, exit 0
    assert f"argument paths: {EMPTY}" in _usage_error(["recover", ""], capsys)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--transports", ""], "--transports: use ipc, shm and/or tcp, got ''"),  # measured nothing, exit 0
        (["--mbytes", "nan"], "--mbytes must be positive (finite)"),  # 100 messages, said as throughput
        (["--json", ""], f"--json: {EMPTY}"),  # dropped: no file after the run
        (["--png", ""], f"--png: {EMPTY}"),
    ],
)
def test_bench_transport_refuses_empty_and_nan_options(argv, said, capsys):
    assert said in _usage_error(["bench", "transport", *argv], capsys)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--formats", ""], "--formats '': give a comma list of raw.fif,npz,edf,bdf,wav,csv"),  # 2 h of no recorder
        (["--formats", "fif"], "--formats 'fif': give a comma list"),  # the child's graph error, exit 1
        (["--out", ""], f"--out: {EMPTY}"),  # the current folder
        (["--json", ""], f"--json: {EMPTY}"),  # dropped
        (["--png", ""], f"--png: {EMPTY}"),
    ],
)
def test_bench_soak_refuses_its_options_before_the_run(argv, said, capsys, no_child_runs):
    pytest.importorskip("psutil")
    assert said in _usage_error(["bench", "soak", *argv], capsys)


@pytest.mark.parametrize("option", ["--json", "--png", "--checkpoint", "--clean", "--noise"])
def test_bench_enhance_refuses_an_empty_path(option, capsys):
    # each was taken as not given and the benchmark ran; `--png ''` failed at its end, after minutes of scoring
    assert f"{option}: {EMPTY}" in _usage_error(["bench", "enhance", option, ""], capsys)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--data", ""], f"--data: {EMPTY}"),  # was "stimulus frequency 202 Hz must be > 0 and below Nyquist"
        (["--token-decoder", ""], f"--token-decoder: {EMPTY}"),  # ran
        (["--json", ""], f"argument --json: {EMPTY}"),  # was "--json .: cannot write (it is a folder)"
        (["--png", "table.txt"], "--png table.txt: .txt is not a picture format"),  # matplotlib's error at the end
    ],
)
def test_bench_bci_refuses_empty_paths_and_a_png_of_another_format(argv, said, capsys):
    assert said in _usage_error(["bench", "bci", *argv], capsys)


@pytest.mark.parametrize("option", ["--init", "--out", "--log"])
def test_train_enhancer_refuses_an_empty_path(option, capsys):
    # `--init ''` was "ValueError: PosixPath('.') has an empty name" (a traceback); `--out ''` said `--out .`
    assert f"argument {option}: {EMPTY}" in _usage_error(["train", "enhancer", option, ""], capsys)
