"""Review of session 33 (2e758a2): file_source's `stim_channel` naming a channel the recording lacks is said at the
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
