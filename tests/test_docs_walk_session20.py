"""Session 20's walk of README.md and docs/*.md as a new user: what the docs promise, held to it."""

import textwrap

import pytest
from wavegraph.pipeline.config import GraphError, load_config


def test_a_variable_inside_a_flow_mapping_gets_the_set_fix(tmp_path):
    """docs/yaml.md: "`${VAR}` in a value is not expanded: it is a problem with its line, whose fix is the `--set` to
    type in the shell". In the flow style the docs and configs/ use (`params: {path: ${DATA}/rec.edf}`) YAML reads
    the `{` of `${DATA}` as a mapping and fails first: the error said only 'check this line's quotes and commas'."""
    (tmp_path / "g.yaml").write_text(
        textwrap.dedent("""\
        nodes:
          - {id: src, type: file_source, params: {path: ${DATA}/rec.edf, chunk_size: 16}}
          - {id: sink, type: null_sink}
        edges:
          - {source: src.out, target: sink.in}
        """)
    )
    with pytest.raises(GraphError) as e:
        load_config(tmp_path / "g.yaml")
    said = str(e.value)
    assert "g.yaml:2:" in said
    assert "does not expand" in said and "${DATA}" in said
    assert '--set "src.path=${DATA}/rec.edf"' in said


def test_a_saved_checkpoint_is_as_readable_as_its_json(tmp_path):
    """docs/multihost.md: keep a model's weights at the same path on the machine that runs it ("a shared folder, or a
    copy"); docs/models.md: `models.checkpoint.save` writes the weights and their JSON. safetensors wrote the
    weights file with mode 0600 whatever the umask (its JSON 0644): `wavegraph train ssvep --out subject01.safetensors`
    gave a checkpoint that no other account (a Ray worker's, the stimulus PC's) could read."""
    import os
    import stat

    from wavegraph.models import checkpoint
    from wavegraph.models.mamba import MambaConfig, MambaStack

    old = os.umask(0o022)
    try:
        cpath = checkpoint.save(MambaStack(MambaConfig(d_model=8, n_layers=1)), tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    weights = stat.S_IMODE(os.stat(tmp_path / "m.safetensors").st_mode)
    assert weights == stat.S_IMODE(os.stat(cpath).st_mode) == 0o644
    checkpoint.load(tmp_path / "m.safetensors")


def test_the_ssvep_dnn_decides_without_torch_s_padding_warning():
    """docs/bci.md: `wavegraph train ssvep ...` and the online run of configs/bci_ssvep_dnn.yaml. Both printed torch's
    "UserWarning: Using padding='same' with even kernel lengths and odd dilation may require a zero-padded copy of the
    input be created" with a line of torch's source (the DNN's [1 x 10] conv), in training and on the first decision
    of every process: noise a user takes for an error. The conv pads explicitly now, with the same numbers."""
    import warnings

    import torch
    from torch import nn
    from wavegraph.models.ssvep_dnn import SSVEPDNN, SSVEPDNNConfig

    torch.manual_seed(0)
    cfg = SSVEPDNNConfig(rate=250.0, channels=["O1", "Oz", "O2"], freqs=[6.0, 7.5], n_samples=50, n_filters=8)
    model = SSVEPDNN(cfg).eval()
    x = torch.randn(2, len(cfg.bands), 3, 50)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        y = model(x)
    assert not [w for w in seen if "padding" in str(w.message)], [str(w.message) for w in seen]
    same = nn.Conv2d(8, 8, (1, 10), padding="same")  # what the layer was: its output, bit for bit
    same.load_state_dict(model.temporal.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = x / (x.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt() + 1e-20)
        h = torch.relu(model.down(model.spatial(model.combine(h))))
        # the same numbers to float32 rounding: bit for bit on some CPUs, 1.5e-7 of the scale on an AMD EPYC VM (the
        # zero-padded copy runs another conv kernel)
        torch.testing.assert_close(model.fc(same(h).flatten(1)), y, rtol=1e-5, atol=1e-6 * float(y.abs().max()))


def test_a_checkpoint_set_on_a_random_init_model_node_says_to_drop_random_init(tmp_path):
    """configs/eeg_tokens.yaml: "point them at trained weights with `--set enc.checkpoint=PATH`". Typed as written,
    that graph's `random_init: true` stays, and the error said 'give exactly one of `checkpoint: <path>` or
    `random_init: true` (tests only); fix: `wavegraph nodes conformer_encoder` lists its parameters': not which one
    to drop."""
    from wavegraph.models import checkpoint
    from wavegraph.models.mamba import MambaConfig, MambaStack
    from wavegraph.pipeline.graph import build_graph

    checkpoint.save(MambaStack(MambaConfig(d_model=8, n_layers=1)), tmp_path / "ssm.safetensors")
    (tmp_path / "g.yaml").write_text(
        textwrap.dedent("""\
        nodes:
          - {id: src, type: eeg_sim, params: {channels: 8, duration: 1.0}}
          - {id: ssm, type: mamba, params: {random_init: true, seed: 0}}
          - {id: sink, type: null_sink}
        edges:
          - {source: src.out, target: ssm.in}
          - {source: ssm.out, target: sink.in}
        """)
    )
    ckpt = f"ssm.checkpoint={tmp_path / 'ssm.safetensors'}"
    with pytest.raises(GraphError) as e:
        build_graph(load_config(tmp_path / "g.yaml", [ckpt]))
    said = str(e.value)
    assert "g.yaml:3:" in said and "exactly one of" in said
    assert "fix: to load the checkpoint, drop random_init (or random_init: false)" in said
    with pytest.raises(GraphError) as e:
        build_graph(load_config(tmp_path / "g.yaml", ["ssm.random_init=false"]))
    assert "fix: give checkpoint: <path>" in str(e.value)


def test_a_node_whose_package_is_missing_says_what_to_install(tmp_path):
    """pyproject.toml makes torch an extra (`wavegraph[torch]`) and docs/multihost.md installs `wavegraph[ray]` on
    every machine: there the model nodes (enhancer, eeg_tokenizer, mamba, ...) failed with 'configure() failed:
    ModuleNotFoundError: No module named 'torch'; fix: check its params and inputs; if they are right, this is a bug
    in the node'. A node whose configure() imports a package that is not installed now names the package and the
    pip line: wavegraph's extra where it has one."""
    (tmp_path / "needs_pkgs.py").write_text(
        textwrap.dedent("""\
        from wavegraph.pipeline.node import Source


        class NeedsTorch(Source):
            def configure(self, in_specs):
                raise ModuleNotFoundError("No module named 'torch'", name="torch")

            def read(self):
                return None


        class NeedsOther(Source):
            def configure(self, in_specs):
                import wavegraph_walk20_no_such_pkg.sub  # noqa: F401

            def read(self):
                return None
        """)
    )
    (tmp_path / "g.yaml").write_text(
        textwrap.dedent("""\
        nodes:
          - {id: model, type: "needs_pkgs:NeedsTorch"}
          - {id: other, type: "needs_pkgs:NeedsOther"}
        """)
    )
    from wavegraph.pipeline.graph import build_graph

    with pytest.raises(GraphError) as e:
        build_graph(load_config(tmp_path / "g.yaml"))
    said = str(e.value)
    assert "g.yaml:2: node 'model' (needs_pkgs:NeedsTorch): needs the Python package 'torch'" in said
    assert "fix: pip install 'wavegraph[torch]'" in said
    assert (
        "g.yaml:3: node 'other' (needs_pkgs:NeedsOther): needs the Python package 'wavegraph_walk20_no_such_pkg'"
        in said
    )
    assert "fix: pip install wavegraph_walk20_no_such_pkg" in said
    assert "bug in the node" not in said


def test_a_train_or_bench_command_without_torch_says_what_to_install(monkeypatch, capsys):
    """docs/bci.md's `wavegraph train ssvep ...` (and `wavegraph bench models`) on an install without the torch
    extra ended in a traceback, 'ModuleNotFoundError: No module named 'torch''. Now one line with the pip fix."""
    from wavegraph.pipeline import cli

    def needs_torch(argv):
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    class EntryPoint:
        def load(self):
            return needs_torch

    monkeypatch.setattr(cli, "_commands", lambda: {"train.ssvep": EntryPoint()})
    assert cli.main(["train", "ssvep", "calib01_raw.fif"]) == 1
    err = capsys.readouterr().err
    assert "wavegraph train ssvep: needs the Python package 'torch'" in err
    assert "fix: pip install 'wavegraph[torch]'" in err


def test_the_data_set_list_keeps_its_columns(capsys):
    """docs/yaml.md: `wavegraph datasets list` names the packaged recordings for `dataset:NAME`.
    Names longer than 20 characters (pyedflib-generator-edf, bsn-eeg-closed-open-eyes) pushed their package and
    description out of line with the others'."""
    from wavegraph.pipeline.datasets import DATASETS, main

    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(DATASETS)
    starts = {line.index(ds.requirement) for line, ds in zip(lines, DATASETS.values(), strict=True)}
    assert len(starts) == 1, lines
    assert all(line.split()[0] == ds.name for line, ds in zip(lines, DATASETS.values(), strict=True))


def test_the_monitor_url_off_loopback_is_one_a_remote_browser_can_use(monkeypatch):
    """docs/monitor.md: binding anything but loopback (`--monitor-host 0.0.0.0`) prints the URL with its token,
    `http://host:port/?token=...`, to open from another machine. The host shown was the address the machine's name
    resolves to, which on Debian/Ubuntu (and here) is 127.0.1.1 or 127.0.0.1 (/etc/hosts): a URL no other machine
    can open. A loopback answer now gives way to the address of the interface the machine reaches others by."""
    pytest.importorskip("bokeh")
    import socket

    from wavegraph.pipeline import monitor_server
    from wavegraph.pipeline.monitor import MonitorHub

    monkeypatch.setattr(socket, "gethostbyname", lambda name: "127.0.1.1")
    monkeypatch.setattr(monitor_server, "_route_address", lambda: "192.0.2.7")
    url, stop = monitor_server.start_server(MonitorHub(), host="0.0.0.0", port=0)
    try:
        assert url.startswith("http://192.0.2.7:") and "?token=" in url
    finally:
        stop()
    monkeypatch.setattr(monitor_server, "_route_address", lambda: None)  # no network: loopback still shown
    assert monitor_server.address_for_others() == "127.0.1.1"


def test_plot_of_a_64_channel_recording_says_it_draws_the_first_32(tmp_path, monkeypatch):
    """README: `wavegraph plot out/default_raw.fif` draws the recording's traces and spectrum. The recording has 64
    channels; the picture held Fc5 .. F3, the first 32, and its title said only 'first 30 s of 61 s': the other 32
    channels were left out unsaid. The title now says which channels it holds."""
    import numpy as np
    from matplotlib.figure import Figure
    from wavegraph.nodes.io import plot as plot_mod
    from wavegraph.pipeline.api import GraphBuilder

    g = GraphBuilder()
    src = g.add("array_source", data=np.random.default_rng(0).normal(size=(40, 500)), rate=100.0, ch_types="eeg")
    g.add("recorder", src, path=tmp_path / "x_raw.fif")
    g.run()
    titles = []
    draw = Figure.savefig
    monkeypatch.setattr(
        Figure, "savefig", lambda fig, *a, **k: (titles.extend(ax.get_title() for ax in fig.axes), draw(fig, *a, **k))
    )
    plot_mod.plot(tmp_path / "x_raw.fif", tmp_path / "x.png")
    assert (tmp_path / "x.png").stat().st_size > 0
    assert any("first 32 of 40 channels" in t for t in titles), titles


def test_validate_says_a_restarted_group_holding_a_recorder_is_not_restarted(tmp_path, capsys):
    """docs/yaml.md (`processes`): `on_error: restart` restarts a group's process that dies, "not a group that holds a
    recorder ... the run fails naming the file to `wavegraph recover`; keep recorders out of such groups". validate,
    which checks the placement, said 'OK' of such a group: the restart asked for was learnt only when a process
    died. It now says so beside the OK (a note: the graph runs)."""
    from wavegraph.pipeline import cli

    (tmp_path / "g.yaml").write_text(
        textwrap.dedent(f"""\
        nodes:
          - {{id: src, type: sine, params: {{duration: 1.0}}}}
          - {{id: rec, type: recorder, params: {{path: {tmp_path / "x.npz"}}}}}
        edges:
          - {{source: src.out, target: rec.in}}
        processes:
          acq: [src]
          store: {{nodes: [rec], on_error: restart}}
        """)
    )
    assert cli.main(["validate", str(tmp_path / "g.yaml")]) == 0
    out = capsys.readouterr().out
    assert "OK (2 nodes, 1 edge, 2 processes)" in out
    assert "process 'store': on_error: restart, but it holds the recorder 'rec'" in out
    assert "fix: keep recorders out of groups with on_error: restart" in out
