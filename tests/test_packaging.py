"""Packaging: one `wavegraph` namespace, a wheel that works from any folder, user modules and plugins.

These run real installs (pip, no network: --no-deps --no-build-isolation) into temporary folders and real
multi-process runs from a folder that holds files named like the project's packages.
"""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = ["wavegraph", "pipeline", "nodes", "models", "kernels", "benchmarks"]

GRAPH = """\
nodes:
  - id: src
    type: sine
    params: {rate: 100.0, channels: 2, freq: 5.0, duration: 2.0, chunk_size: 20}
  - id: proc
    type: TYPE
  - id: rec
    type: recorder
    params: {path: OUT}
edges:
  - {source: src.out, target: proc.in}
  - {source: proc.out, target: rec.in}
processes:
  a: [src]
  b: [proc]
  c: [rec]
"""

USER_NODE = """\
import numpy as np
from wavegraph.pipeline.node import Node


class Double(Node):
    inputs = ("in",)
    outputs = ("out",)

    def configure(self, in_specs):
        return {"out": in_specs["in"]}

    def process(self, inputs):
        c = inputs["in"]
        return {"out": c.with_data(np.asarray(c.data) * 2.0)}
"""

# Files a user may well have in their folder; none of them may shadow wavegraph's packages.
DECOYS = {
    name: "raise RuntimeError('imported the decoy " + name + "')\n"
    for name in ("nodes.py", "pipeline.py", "models.py", "kernels.py")
}


def _decoy_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, text in DECOYS.items():
        (path / name).write_text(text)
    return path


def _run(args, cwd, env_extra=None, timeout=120):
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _graph(tmp: Path, node_type: str, out: Path) -> Path:
    g = tmp / "g.yaml"
    g.write_text(GRAPH.replace("TYPE", node_type).replace("OUT", str(out)))
    return g


def _recorded(path: Path) -> np.ndarray:
    return np.load(path)["data"]


def test_with_data_exists():
    from wavegraph.pipeline.chunk import Chunk

    c = Chunk(np.ones((1, 3)), t0=1.5, seq=7, gap=True)
    d = c.with_data(np.zeros((1, 3)))
    assert (d.t0, d.seq, d.gap) == (1.5, 7, True) and not d.data.any()


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the sources and install it (no deps: they are in this venv) into a folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    shutil.copy(ROOT / "pyproject.toml", src)
    for d in PACKAGE_DIRS:
        shutil.copytree(ROOT / d, src / d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp / "dist"
    r = _run(
        ["-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(src)], tmp, timeout=300
    )
    assert r.returncode == 0, r.stderr
    wheels = list(dist.glob("wavegraph-*.whl"))
    assert len(wheels) == 1
    site = tmp / "site"
    r = _run(["-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheels[0])], tmp, timeout=300)
    assert r.returncode == 0, r.stderr
    return site


def test_wheel_holds_only_the_wavegraph_namespace(wheel_site):
    top = sorted(p.name for p in wheel_site.iterdir() if not p.name.endswith(".dist-info") and p.name != "bin")
    assert top == ["wavegraph"]
    for sub in ("pipeline", "nodes", "models", "kernels", "benchmarks"):
        assert (wheel_site / "wavegraph" / sub / "__init__.py").exists(), sub
    for data in (
        "models/weights/enhancer.safetensors",
        "models/weights/enhancer.json",
        "models/weights/eeg_tokenizer.safetensors",
        "nodes/io/lsl_default.cfg",
    ):
        assert (wheel_site / "wavegraph" / data).exists(), data


def test_wheel_runs_a_graph_from_a_folder_with_decoys(wheel_site, tmp_path):
    """Multi-process run from a folder holding nodes.py/pipeline.py/models.py; the workers import the wheel."""
    user = _decoy_folder(tmp_path / "user")
    (user / "mymod.py").write_text(USER_NODE)
    out = tmp_path / "out.npz"
    g = _graph(user, "mymod:Double", out)
    env = {"PYTHONPATH": str(wheel_site)}
    r = _run(["-m", "wavegraph.pipeline.cli", "run", str(g)], user, env)
    assert r.returncode == 0, r.stdout + r.stderr
    y = _recorded(out)
    t = np.arange(200) / 100.0
    np.testing.assert_allclose(y[0], 2 * np.sin(2 * np.pi * 5.0 * t), atol=1e-12)
    r = _run(["-c", "import wavegraph, sys; print(wavegraph.__file__)"], tmp_path, env)
    assert r.stdout.strip().startswith(str(wheel_site)), r.stdout
    r = _run(["-m", "wavegraph.pipeline.cli", "--version"], tmp_path, env)
    assert r.returncode == 0 and r.stdout.startswith("wavegraph ")


def test_user_module_beside_the_yaml_is_found_by_the_workers(tmp_path):
    """`type: mymod:Double` with mymod.py beside the YAML file, run from another folder that holds decoys."""
    graph_dir = tmp_path / "graphs"
    graph_dir.mkdir()
    (graph_dir / "mymod.py").write_text(USER_NODE)
    out = tmp_path / "out.npz"
    g = _graph(graph_dir, "mymod:Double", out)
    elsewhere = _decoy_folder(tmp_path / "elsewhere")
    r = _run(["-m", "wavegraph.pipeline.cli", "run", str(g)], elsewhere)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _recorded(out).shape == (2, 200)


def test_user_module_in_the_current_folder(tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "mymod2.py").write_text(USER_NODE)
    graph_dir = tmp_path / "graphs"
    graph_dir.mkdir()
    out = tmp_path / "out.npz"
    g = _graph(graph_dir, "mymod2:Double", out)
    r = _run(["-m", "wavegraph.pipeline.cli", "run", str(g)], cwd)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _recorded(out).shape == (2, 200)


def _install_plugin(tmp_path: Path, package: str, init_text: str, entry_points: dict[str, str]) -> Path:
    """pip-install a one-module package declaring `wavegraph.nodes` entry points into a folder; returns it."""
    pkg = tmp_path / "plugin"
    (pkg / package).mkdir(parents=True)
    (pkg / package / "__init__.py").write_text(init_text)
    eps = "\n".join(f'{name} = "{value}"' for name, value in entry_points.items())
    (pkg / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{package.replace("_", "-")}"\nversion = "0.0.1"\n\n'
        f'[project.entry-points."wavegraph.nodes"]\n{eps}\n\n[tool.setuptools]\npackages = ["{package}"]\n'
    )
    site = tmp_path / "site"
    r = _run(
        ["-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q", "--target", str(site), str(pkg)],
        tmp_path,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return site


def test_plugin_package_registers_a_node_type(tmp_path):
    """A third-party package installed with pip declares `wavegraph.nodes` entry points; graphs use its type."""
    site = _install_plugin(tmp_path, "wg_demo_plugin", USER_NODE, {"demo_double": "wg_demo_plugin:Double"})
    env = {"PYTHONPATH": str(site)}
    r = _run(["-m", "wavegraph.pipeline.cli", "nodes"], tmp_path, env)
    assert r.returncode == 0 and "demo_double" in r.stdout and "wg_demo_plugin:Double" in r.stdout
    r = _run(["-m", "wavegraph.pipeline.cli", "nodes", "demo_double"], tmp_path, env)
    assert r.returncode == 0 and "inputs: in; outputs: out" in r.stdout
    out = tmp_path / "out.npz"
    r = _run(["-m", "wavegraph.pipeline.cli", "run", str(_graph(tmp_path, "demo_double", out))], tmp_path, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _recorded(out).shape == (2, 200)
    r = _run(["-m", "wavegraph.pipeline.cli", "validate", str(_graph(tmp_path, "demo_doubel", out))], tmp_path, env)
    assert r.returncode == 2 and "did you mean 'demo_double'" in r.stderr


def test_listing_and_running_import_only_what_is_used(tmp_path):
    """`wavegraph nodes` imports no node module and no torch; a filter graph imports only its node modules."""
    code = textwrap.dedent("""\
        import sys, contextlib, io
        from wavegraph.pipeline.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["nodes"]) == 0
        loaded = sorted(m for m in sys.modules if m.startswith("wavegraph.nodes.") or m == "torch")
        assert loaded == [], loaded
        from wavegraph.pipeline.config import load_config
        from wavegraph.pipeline.graph import build_graph
        build_graph(load_config(sys.argv[1]))
        loaded = sorted(m for m in sys.modules if m.startswith("wavegraph.nodes.") or m.startswith("wavegraph.models")
                        or m == "torch")
        used = {"wavegraph.nodes.dsp.filters", "wavegraph.nodes.io.recorder", "wavegraph.nodes.sim.synthetic",
                "wavegraph.nodes.io.record_formats",  # the recorder's formats (numpy only; mne when writing FIF)
                "wavegraph.nodes.io.record_target",  # and which format a path names (numpy only)
                "wavegraph.nodes.io.column_labels",  # and a CSV header's column labels (the spec only)
                "wavegraph.nodes.io.edf_writer",  # its EDF/BDF writer (numpy only)
                "wavegraph.nodes.io.chunk_times",  # and where its markers go (numpy only)
                "wavegraph.nodes.io.marker_codes",  # and the gap's marker names (re only)
                "wavegraph.nodes.io.run_names",  # and the next free run's name (re only)
                "wavegraph.nodes.io.record_notes",  # and what it says a format loses (logging only)
                "wavegraph.nodes.io.wav_bext",  # and a WAV's start date, its bext chunk (stdlib only)
                "wavegraph.nodes.io.whole_writes",  # and its whole-chunk writes (stdlib only)
                "wavegraph.nodes.io.finalise",  # and its spill -> target conversion (numpy only at import)
                "wavegraph.nodes.io.marker_log",  # and its markers log, written whole lines at a time (numpy only)
                "wavegraph.nodes.io.record_failures",  # and what it says when a write fails (stdlib only)
                "wavegraph.nodes.io.links"}  # and its path's links, written through (stdlib only)
        assert used <= set(loaded), loaded
        unused = [m for m in loaded if m.count(".") == 3 and m not in used and not m.endswith(("nanpolicy", "signal"))]
        assert unused == [] and "torch" not in loaded and not any("models" in m for m in loaded), loaded
        """)
    g = _graph(tmp_path, "lowpass", tmp_path / "out.npz")
    g.write_text(g.read_text().replace("type: lowpass", "type: lowpass\n    params: {freq: 10.0}"))
    r = _run(["-c", code, str(g)], tmp_path)
    assert r.returncode == 0, r.stderr


def test_a_broken_plugin_breaks_only_itself(tmp_path):
    """A plugin whose catalogue fails to import, or whose class module raises, leaves every other type usable."""
    entry_points = {
        "broken_catalogue": "wg_broken_plugin:NODES",
        "broken_node": "wg_broken_plugin:Node",
        "bandpass": "wg_broken_plugin:Bandpass",
    }
    site = _install_plugin(tmp_path, "wg_broken_plugin", "raise ImportError('this plugin is broken')\n", entry_points)
    env = {"PYTHONPATH": str(site)}
    r = _run(["-m", "wavegraph.pipeline.cli", "nodes"], tmp_path, env)
    assert r.returncode == 0 and "broken_node" in r.stdout and "lowpass" in r.stdout
    assert "left out" in r.stderr and "registered twice" in r.stderr
    assert "wavegraph.nodes.dsp.filters:Bandpass" in r.stdout  # the built-in keeps its name
    out = tmp_path / "out.npz"
    r = _run(
        ["-m", "wavegraph.pipeline.cli", "run", str(_graph(tmp_path, "lowpass", out)), "--set", "proc.freq=10"],
        tmp_path,
        env,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run(["-m", "wavegraph.pipeline.cli", "validate", str(_graph(tmp_path, "broken_node", out))], tmp_path, env)
    assert r.returncode == 2 and "this plugin is broken" in r.stderr
