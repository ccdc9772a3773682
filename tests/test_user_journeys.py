"""A new user's journey through README.md and docs/*.md, on real files: each defect found by following the docs
literally, with the fix's regression test (each fails before its fix)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from wavegraph.pipeline.cli import main as cli


@pytest.mark.parametrize(
    "argv, expect",
    [(["batch", "--help"], "--inputs"), (["keys", "--help"], "NAME.key"), (["recover", "--help"], "wavegraph recover")],
)
def test_subcommand_help_reaches_its_own_parser(argv, expect, capsys):
    # `wavegraph batch --help` (and plot/recover/keys with an option first) was "unrecognized arguments"
    with pytest.raises(SystemExit) as e:
        cli(argv)
    assert e.value.code == 0
    assert expect in capsys.readouterr().out


def test_bench_and_train_without_a_name_list_their_commands(capsys):
    assert cli(["bench", "--help"]) == 0
    listed = capsys.readouterr().out
    assert "enhance" in listed and "transport" in listed
    assert cli(["train"]) == 2
    assert "ssvep" in capsys.readouterr().err


def _fif(path, seconds: float, rate: float, onsets: list[float]):
    import mne

    rng = np.random.default_rng(0)
    info = mne.create_info(["Fz", "Cz", "Pz"], rate, "eeg")
    raw = mne.io.RawArray(rng.standard_normal((3, int(seconds * rate))) * 1e-5, info, verbose=False)
    raw.set_annotations(mne.Annotations(onsets, [0.0] * len(onsets), [f"m{i}" for i in range(len(onsets))]))
    raw.save(path, verbose=False)
    return path


def _svg_texts(path) -> list[str]:
    return re.findall(r"<!-- (.*?) -->", path.read_text())


def test_plot_markers_past_the_drawn_span(tmp_path):
    # A 100 s recording with a marker at 5 s and one at 90 s: plot draws the first 30 s, and the marker at 90 s
    # stretched the time axis to 90 s (the traces squeezed into its first third)
    rec = _fif(tmp_path / "long_raw.fif", 100.0, 100.0, [5.0, 90.0])
    out = tmp_path / "long.svg"
    assert cli(["plot", str(rec), "-o", str(out)]) == 0
    texts = _svg_texts(out)
    ticks = [float(t) for t in texts[: texts.index("s")]]  # the time axis' tick labels come first
    assert max(ticks) <= 30 and "m0" in texts and "m1" not in texts
    assert any("first 30 s of 100 s" in t for t in texts)


def test_plot_with_its_option_first(tmp_path):
    # `wavegraph plot -o x.png REC` was refused by the top-level parser ("unrecognized arguments: -o")
    rec = _fif(tmp_path / "short_raw.fif", 2.0, 100.0, [])
    assert cli(["plot", "-o", str(tmp_path / "x.png"), str(rec)]) == 0
    assert (tmp_path / "x.png").stat().st_size > 0


def test_bench_bci_leaves_out_a_marker_at_the_end_of_the_recording(tmp_path, capsys):
    # An EDF's closing "Recording ends" mapped to a frequency (--marker 'Recording ends=10', as on pyedflib's
    # test_generator.edf) marks no sample: the 10 Hz "trial" was empty, so every scored window was 8 Hz and the
    # table reported chance 0.50 and accuracy 1.000 for a one-class run. Now it is left out, said, and the run
    # refused as one of a single frequency.
    import mne

    fs = 256.0
    t = np.arange(int(20 * fs)) / fs
    rng = np.random.default_rng(1)
    x = np.sin(2 * np.pi * 8 * t) * 1e-5 + rng.standard_normal((4, t.size)) * 1e-6
    raw = mne.io.RawArray(x, mne.create_info(["O1", "Oz", "O2", "POz"], fs, "eeg"), verbose=False)
    raw.set_annotations(mne.Annotations([0.0, 20.0], [0.0, 0.0], ["8", "10"]))
    path = tmp_path / "end_raw.fif"
    raw.save(path, verbose=False)
    out = ["--png", str(tmp_path / "b.png"), "--json", str(tmp_path / "b.json")]
    assert cli(["bench", "bci", "--data", str(path), "--only", "real", "--windows", "1", *out]) == 2
    err = capsys.readouterr().err
    assert "outside the recording" in err and "one frequency (8 Hz)" in err


def test_ssvep_decoder_names_the_streams_spelling_of_its_channels():
    # configs/bci_ssvep_replay.yaml on PhysioNet's EEGMMIDB EDF (names padded with dots: 'O1..', 'Po7.'): the
    # error listed 64 names and no way to write the fix; it now names the matching channels in the stream's
    # spelling, ready to paste, and says that null takes every channel
    from wavegraph.nodes.models.ssvep import SSVEPDecoder
    from wavegraph.pipeline.spec import SpecError, signal_spec

    node = SSVEPDecoder(method="fbcca", freqs=[6.0, 7.5], window=1.0, channels=["O1", "Oz", "O2", "POz"])
    with pytest.raises(SpecError) as e:
        node.configure({"in": signal_spec(160.0, ["Fc5.", "Cz..", "O1..", "Oz..", "O2..", "Poz."])})
    assert "O1.., Oz.., O2.., Poz." in str(e.value.hint) and "null" in str(e.value.hint)


def test_every_node_type_and_parameter_is_in_docs_nodes_md():
    # `wavegraph nodes` listed `monitor` (and lsl_inlet's marker_duration and wait, the flat dims of
    # conformer_encoder / mamba / gla) with no word in docs/nodes.md
    from pathlib import Path

    from wavegraph.pipeline.registry import catalogue, lookup

    doc = (Path(__file__).parent.parent / "docs" / "nodes.md").read_text()
    missing = []
    for name in sorted(catalogue()):
        if f"`{name}`" not in doc and f"type: {name}`" not in doc:
            missing.append(name)
        params = getattr(lookup(name), "Params", None)
        for key in params.model_fields if params else ():
            if f"`{key}`" not in doc and f"`{key}:" not in doc:
                missing.append(f"{name}.{key}")
    assert not missing


def test_bench_pacing_runs_from_the_cli(capsys):
    # docs/monitor.md: `wavegraph bench transport|nodes|kernels|pacing --png PATH`; pacing's graph named
    # `__main__:StampSink`, which exists only for `python benchmarks/pacing.py`: "unknown type" from the CLI
    assert cli(["bench", "pacing", "--seconds", "0.3"]) == 0
    assert "drift:" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", ["_raw.fif", ".edf"])
def test_a_marker_at_the_recordings_end_is_recorded_as_mne_keeps_it(tmp_path, suffix, caplog):
    # pyedflib's test_generator.edf ends with "Recording ends" at exactly n / rate (600.000 s): MNE keeps it, and
    # file_source replays it; the recorder left it out ("1 of 2 markers fall outside the recording ... as MNE
    # does"), so a replay recorded to FIF/EDF lost it
    import mne
    from wavegraph.pipeline.api import GraphBuilder

    rate, n = 200.0, 1000
    raw = mne.io.RawArray(np.random.default_rng(2).standard_normal((2, n)) * 1e-5, mne.create_info(2, rate, "eeg"))
    raw.set_annotations(mne.Annotations([0.0, n / rate], [0.0, 0.0], ["Recording starts", "Recording ends"]))
    src_path = tmp_path / "src_raw.fif"
    raw.save(src_path, verbose=False)
    assert list(mne.io.read_raw_fif(src_path, verbose=False).annotations.onset) == [0.0, n / rate]  # MNE keeps it
    g = GraphBuilder()
    src = g.add("file_source", path=str(src_path))
    rec = g.add("recorder", src, path=str(tmp_path / f"rec{suffix}"), events=True)
    g.connect(f"{src}.events", f"{rec}.events")
    g.run()
    back = mne.io.read_raw(tmp_path / f"rec{suffix}", verbose=False).annotations
    assert list(back.description) == ["Recording starts", "Recording ends"]
    assert back.onset[1] - back.onset[0] == pytest.approx(n / rate)
    assert "outside the recording" not in caplog.text


def test_bench_monitor_refuses_a_run_too_short_to_measure(capsys):
    # `wavegraph bench monitor --seconds 2` measured between 5 s after the start and 2 s before the end, i.e. a
    # negative span: it printed "the monitor costs -394.4 % of one core" after a minute of work
    with pytest.raises(SystemExit) as e:
        cli(["bench", "monitor", "--seconds", "2"])
    assert e.value.code == 2
    assert "no steady part" in capsys.readouterr().err


def test_bench_soak_too_short_to_judge_says_so(capsys):
    # a soak shorter than its warm-up printed an empty table and "soak: targets NOT met" (exit 1), as if the
    # memory had grown; now it says that nothing was judged and how to get a judgement (exit 2)
    assert cli(["bench", "soak", "--hours", "0.001", "--formats", "csv", "--no-verify"]) == 2
    assert "not judged" in capsys.readouterr().out


def test_bench_soak_samples_the_run_while_it_lives_and_stops_with_it(tmp_path):
    # sample_rss waits for the run between samples (it slept `every` s, also past the run's end)
    import subprocess
    import sys

    pytest.importorskip("psutil")
    from wavegraph.benchmarks.soak import sample_rss

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.0)"])
    ended, curves = sample_rss(proc, 0.2, tmp_path)
    assert proc.poll() == 0 and ended is None  # ended: no chunk log grew (there is none)
    assert len(curves["parent"]) >= 2, curves  # sampled more than once while it ran


def test_stim_channel_of_voltages_is_refused_not_silently_empty(tmp_path):
    # pyedflib's test_generator.edf has a `pulse` channel (0 / 100 uV, read in V): `stim_channel: pulse` gave no
    # event and no word (mne.find_events reads 1e-4 as code 0)
    import mne
    from wavegraph.pipeline.api import GraphBuilder
    from wavegraph.pipeline.config import GraphError

    rate = 200.0
    pulse = (np.arange(2000) % 200 < 20) * 1e-4
    x = np.vstack([np.random.default_rng(3).standard_normal(2000) * 1e-5, pulse])
    raw = mne.io.RawArray(x, mne.create_info(["Cz", "pulse"], rate, "eeg"), verbose=False)
    path = tmp_path / "pulse_raw.fif"
    raw.save(path, verbose=False)
    g = GraphBuilder()
    g.add("file_source", path=str(path), stim_channel="pulse")
    with pytest.raises(GraphError, match="holds no integer codes"):
        g.run()
    raw.apply_function(lambda v: (v > 5e-5) * 1.0, picks="pulse")  # the fix the error gives: codes
    g = GraphBuilder()
    src = g.add("array_source", data=raw, stim_channel="pulse")
    assert len(g.run(capture=[f"{src}.events"])[f"{src}.events"].data) == 10
