"""Review of session 26's helper commits (helper 181): each with the test that failed before its fix."""

from __future__ import annotations

import pytest


def test_train_enhancer_takes_more_threads_than_cpus_and_says_so_refusing_only_an_absurd_count(capsys):
    """`--threads N` above this machine's CPUs was refused (exit 2), where torch.set_num_threads runs it (taking
    turns): a count set for another machine, or a container whose CPU quota its affinity does not show. It is taken
    now, said in one stderr line; only a count no machine runs (past 1024, or the CPUs if more) is refused."""
    from wavegraph.models import train_enhancer as tr
    from wavegraph.models.cli_args import MAX_THREADS, usable_cpus

    cpus = usable_cpus()
    ap = tr._parser()
    args = ap.parse_args(["--threads", str(cpus + 1)])
    tr._check(ap, args)
    assert args.threads == cpus + 1
    err = capsys.readouterr().err
    assert f"--threads {cpus + 1} is more than the {cpus} CPUs" in err and "torch runs them" in err
    tr._check(ap, ap.parse_args(["--threads", str(cpus)]))
    assert capsys.readouterr().err == ""  # (as many as the CPUs: nothing to say)
    too_many = max(MAX_THREADS, cpus) + 1
    with pytest.raises(SystemExit) as e:
        ap.parse_args(["--threads", str(too_many)])
    assert e.value.code == 2
    assert f"give 1..{too_many - 1}" in capsys.readouterr().err


def test_brainflow_lookup_given_on_python_3_11_still_finds_a_package_by_its_name():
    """import_brainflow gives BrainFlow's modules the package-relative lookup of Python 3.12 (its 3.11 wheel asked
    pkg_resources, gone from setuptools 81). It replaced `files` with name.rpartition('.')[0] for every name: a BrainFlow
    asking for its package ('brainflow', as a release may) got files('') ('Empty module name'), broken where it
    worked. Now the original lookup is tried first, and a module's name alone falls back to its package."""
    pytest.importorskip("brainflow")
    import importlib.resources

    import brainflow.board_shim as shim
    from wavegraph.nodes.io.brainflow_source import import_brainflow

    import_brainflow()
    import_brainflow()  # (twice: the same lookup, not one wrapped in another)
    lib = importlib.resources.files("brainflow").joinpath("lib")
    assert str(shim.files("brainflow").joinpath("lib")) == str(lib)
    assert str(shim.files("brainflow.board_shim").joinpath("lib")) == str(lib)  # a module: its package's
    assert shim.BoardShim.get_sampling_rate(int(shim.BoardIds.SYNTHETIC_BOARD.value)) == 250
