"""Review of session 33. Below: speed perturbation's factors (628ff72, 7e890f1). Here (2e758a2): file_source's `stim_channel` naming a channel the recording lacks is said at the
line of `stim_channel`, as docs/architecture.md and the commit say, for every reader that takes it: 2e758a2 did so
for a recorder's table only, and a FIF (MNE's formats: EDF, BDF, BrainVision, ...) or an XDF still said it at the
node's line."""

import numpy as np
import pytest
from peer_hints import problems as validate

GRAPH = """\
name: stim
nodes:
  - id: eeg
    type: file_source
    params:
      path: PATH
      stim_channel: XX9
  - id: sink
    type: null_sink
edges:
  - {source: eeg.out, target: sink.in}
"""
STIM_LINE = 7


def _fif(folder) -> str:
    mne = pytest.importorskip("mne")
    info = mne.create_info(["O1", "O2", "STI 014"], 250.0, ["eeg", "eeg", "stim"])
    x = np.zeros((3, 500))
    x[2, 100:110] = 1
    mne.io.RawArray(x, info, verbose="error").save(folder / "r_raw.fif", overwrite=True, verbose="error")
    return "r_raw.fif"


def _xdf(folder) -> str:
    from wavegraph.nodes.io.xdf import XdfStream, write_xdf

    t = 100.0 + np.arange(500) / 250.0
    x = np.zeros((500, 3))
    x[100:110, 2] = 1
    write_xdf(folder / "r.xdf", [XdfStream("amp", "EEG", 250.0, x, t, "double64", ["O1", "O2", "TRIG"], "EEG")])
    return "r.xdf"


def _table(folder) -> str:
    (folder / "t.csv").write_text("t,O1,O2,STI\n0,0,0,0\n0.004,0,0,1\n0.008,0,0,0\n")
    return "t.csv"


@pytest.mark.parametrize("make", [_fif, _xdf, _table], ids=["fif", "xdf", "table"])
def test_a_stim_channel_the_recording_lacks_is_said_at_the_stim_channel_line(make, tmp_path, monkeypatch, capsys):
    text = GRAPH.replace("PATH", make(tmp_path))
    assert text.splitlines()[STIM_LINE - 1].strip() == "stim_channel: XX9"
    errs = validate(tmp_path, monkeypatch, capsys, text)
    assert len(errs) == 1 and "no stim channel 'XX9'" in errs[0], errs
    assert errs[0].startswith(f"g.yaml:{STIM_LINE}: "), errs


# Review of 628ff72/7e890f1: the factor drawn is rounded to the 1/SPEED_STEPS grid, and the rounding took it out of
# --speed-range when the range is narrower than a grid step (0.77-0.79 played some examples at 0.8).


def _speech_corpus():
    from wavegraph.models import speech_data as sd

    t = np.arange(16000) / sd.SR
    voice = (0.1 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    return sd.Corpus([voice, voice], ["real_a", "espeak:en+f2"], ["u0", "u1"])


def test_every_speed_factor_used_lies_in_the_range_asked(monkeypatch):
    from wavegraph.models import speech_data as sd

    used = []
    monkeypatch.setattr(sd, "speed_perturb", lambda x, f, real=sd.speed_perturb: used.append(f) or real(x, f))
    for lo, hi in ((0.77, 0.79), (0.75, 0.9), (1.01, 1.03), (0.5, 2.0)):
        sampler = sd.TrainSampler(_speech_corpus(), real_fraction=1.0, speed_prob=1.0, speed_range=(lo, hi))
        rng = np.random.default_rng(4)
        used.clear()
        for _ in range(60):
            assert all(len(a) == 4000 for a in sampler.parts(rng, 4000))
        assert used and all(lo <= f <= hi for f in used), (lo, hi, sorted(set(used)))


def test_a_speed_range_that_holds_no_factor_of_the_grid_is_refused(capsys):
    from wavegraph.models import speech_data as sd
    from wavegraph.models import train_enhancer

    sampler = sd.TrainSampler(_speech_corpus(), real_fraction=1.0, speed_prob=1.0, speed_range=(0.76, 0.77))
    with pytest.raises(ValueError, match="speed range"):
        sampler.parts(np.random.default_rng(0), 4000)
    with pytest.raises(SystemExit):
        train_enhancer.main(["--speed-range", "0.76", "0.77", "--steps", "1", "--out", "/nonexistent/x.safetensors"])
    assert "--speed-range 0.76 0.77" in capsys.readouterr().err


def test_the_stage_33_range_draws_the_factors_it_drew_before(monkeypatch):
    """--speed-range 0.75 0.9 (stages 33a/33b): each factor is the uniform draw rounded to the grid, as 7e890f1 drew
    it, with no other draw of the rng: those runs reproduce bit for bit."""
    from wavegraph.models import speech_data as sd

    used, drawn = [], []
    monkeypatch.setattr(sd, "speed_perturb", lambda x, f, real=sd.speed_perturb: used.append(f) or real(x, f))

    class Recorded:
        def __init__(self, rng):
            self.rng = rng

        def uniform(self, *a):
            v = self.rng.uniform(*a)
            if a == (0.75, 0.9):
                drawn.append(v)
            return v

        def __getattr__(self, name):
            return getattr(self.rng, name)

    sampler = sd.TrainSampler(_speech_corpus(), real_fraction=1.0, speed_prob=0.5, speed_range=(0.75, 0.9))
    rng = Recorded(np.random.default_rng(9))
    for _ in range(80):
        sampler.parts(rng, 4000)
    assert len(used) == len(drawn) > 10
    assert used == [round(u * sd.SPEED_STEPS) / sd.SPEED_STEPS for u in drawn]
