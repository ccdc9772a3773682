"""The processing node library: YAML names, cheap imports, strict params, the scipy-kernel fallback."""

import subprocess
import sys

import numpy as np
import pydantic
import pytest
from wavegraph.nodes.dsp.filters import SosFilter
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import signal_spec
from wavegraph.pipeline.testing import run_chunked

TYPES = [
    "bandpass",
    "highpass",
    "lowpass",
    "notch",
    "fir",
    "resample",
    "car",
    "rereference",
    "pick_channels",
    "running_zscore",
    "filterbank",
    "sliding_window",
    "stft",
    "istft",
    "bandpower",
    "sine",
    "noise",
    "chirp",
    "eeg_sim",
]
MODULES = [
    "dsp.filters",
    "dsp.fir",
    "dsp.resample",
    "dsp.channels",
    "dsp.scaling",
    "dsp.filterbank",
    "dsp.windows",
    "dsp.bandpower",
    "sim.synthetic",
    "sim.synthetic_eeg",
    "nanpolicy",
]


@pytest.mark.parametrize("name", TYPES)
def test_registered_and_params_strict(name):
    cls = lookup(name)
    assert cls.type_name == name and cls.__module__.startswith("wavegraph.nodes.")
    with pytest.raises(pydantic.ValidationError):
        cls(not_a_param=1)


def test_modules_import_without_scipy():
    code = (
        "import sys\n"
        + "".join(f"import wavegraph.nodes.{m}\n" for m in MODULES)
        + "bad = [m for m in ('scipy', 'scipy.signal', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_sosfilt_fallback_gives_identical_output(monkeypatch):
    spec = signal_spec(250.0, ["a", "b"])
    x = np.random.default_rng(0).standard_normal((2, 500))
    fast = run_chunked(lookup("bandpass")(l_freq=1.0, h_freq=30.0, init="steady"), x, spec, [37] * 13 + [19])["out"]
    node = lookup("bandpass")(l_freq=1.0, h_freq=30.0, init="steady")
    assert isinstance(node, SosFilter)
    node.configure({"in": spec})
    node._kernel.kernel = None  # as if scipy moved its private kernel
    monkeypatch.setattr(node, "configure", lambda specs: node.out_specs)  # keep the patched kernel
    slow = run_chunked(node, x, spec, [37] * 13 + [19])["out"]
    np.testing.assert_array_equal(slow, fast)


@pytest.mark.parametrize(
    "name,params",
    [
        ("bandpass", dict(l_freq=1.0, h_freq=30.0)),
        ("car", {}),
        ("resample", dict(rate=125.0)),
        ("filterbank", dict(bands=[(4.0, 30.0)])),
        ("stft", dict(n_fft=16, hop=8)),
        ("pick_channels", dict(drop=["a"])),
    ],
)
def test_wrong_channel_count_is_refused_and_empty_chunks_ignored(name, params):
    from wavegraph.pipeline.chunk import Chunk

    node = lookup(name)(**params)
    node.configure({"in": signal_spec(250.0, ["a", "b"])})
    with pytest.raises(ValueError, match="expected"):
        node.process({"in": Chunk(np.zeros((3, 20)))})  # never reaches an unchecked kernel
    assert node.process({"in": Chunk.end()}) == {}
    assert node.process({"in": Chunk(np.zeros((2, 0)))}) == {}


def test_nodes_command_shows_real_help_for_every_type(capsys):
    """`wavegraph nodes TYPE`: no pydantic placeholder for defaults, and the module's text where the class
    docstring points at it."""
    from wavegraph.pipeline.cli import main
    from wavegraph.pipeline.registry import catalogue

    for name in catalogue():
        assert main(["nodes", name]) == 0, name
        out = capsys.readouterr().out
        assert "PydanticUndefined" not in out and "params:" in out, name
        if "module docstring" in out:
            assert len(out.splitlines()) > 8, (name, out)
