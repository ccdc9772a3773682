"""Real-file round 5: a recorder's EDF/BDF trigger channel reads back as its codes (MNE reads a stim channel's digital
values), and the LSL config files put each key in the section liblsl reads it from."""

from __future__ import annotations

import configparser
import importlib.util
import re
from pathlib import Path

import mne
import numpy as np
import pytest
from test_real_files3 import _replay  # pyright: ignore[reportMissingImports]
from test_real_files4 import _rises  # pyright: ignore[reportMissingImports]
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.api import GraphBuilder

RATE = 256
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("ext", ["bdf", "edf"])
def test_a_recorded_trigger_channel_reads_back_as_its_codes(tmp_path, ext):
    """Before: the writer gave an integer channel the physical range [its minimum, minimum + digital range], so a
    trigger channel whose lowest code is not 0 was stored as code - minimum above the digital minimum; MNE reads a BDF
    stim channel's digital values (no offset), so a 'Trigger' of codes 2 and 5 read back as 0 and 3 (MNE and
    file_source alike; mne.find_events found [50, 3], [300, 3] only). Now an integer channel's physical values are its
    digital values (gain 1, no offset) where they fit: both formats read back the codes and MNE's events, and the other
    channels keep their scale (EEG within half a step, integer counts below 0 exact)."""
    n = 2 * RATE
    codes = np.full(n, 2.0)  # a trigger channel that holds its last code (the recording starts while 2 is held)
    codes[50:60] = codes[300:310] = 5
    eeg = np.random.default_rng(5).normal(0, 20e-6, n)
    counts = np.arange(n) % 7 - 3.0  # a misc channel of integers, negative ones included
    g = GraphBuilder()
    data = np.stack([eeg, codes, counts])
    types = ["eeg", "stim", "misc"]
    source = g.add("array_source", data=data, rate=float(RATE), ch_names=["Fp1", "Trigger", "count"], ch_types=types)
    path = tmp_path / f"rec.{ext}"
    g.add("recorder", source, path=path)
    g.run()
    raw = (mne.io.read_raw_bdf if ext == "bdf" else mne.io.read_raw_edf)(path, verbose="error")
    assert raw.get_channel_types() == ["eeg", "stim", "eeg"]  # (MNE: stim by its name 'Trigger', the rest EEG)
    got = np.asarray(raw.get_data(stop=n))
    np.testing.assert_array_equal(got[1], codes)
    events = mne.find_events(  # consecutive=True: every step to a nonzero code
        raw,
        stim_channel="Trigger",
        consecutive=True,  # pyright: ignore[reportArgumentType]  # (mne's stub: a str, its default 'increasing')
        initial_event=True,
        verbose="error",
    )
    assert events[:, [0, 2]].tolist() == _rises(codes.astype(np.int64))  # [0, 2], [50, 5], [60, 2], [300, 5], [310, 2]
    np.testing.assert_array_equal(got[2], counts)
    step = (eeg.max() - eeg.min()) / (2 ** (24 if ext == "bdf" else 16) - 1)
    assert np.abs(got[0] - eeg).max() <= 0.51 * step
    _, replayed = _replay(path)
    np.testing.assert_array_equal(replayed[1], codes)
    np.testing.assert_array_equal(replayed[2], counts)
    src = FileSource(path=str(path))
    src.configure({})
    assert src.reader is not None  # (its events: mne.find_events' default, steps up only)
    ups = [[i, c] for i, c in _rises(codes.astype(np.int64)) if c > (codes[i - 1] if i else 0)]
    assert src.reader.events[:, [0, 3]].astype(int).tolist() == ups
    src.close()


def _liblsl_keys() -> dict[str, set[str]]:
    """{section: keys} liblsl reads, from the installed liblsl binaries themselves (pylsl's and mne-lsl's): its
    api_config.cpp asks its INI tree for 'section.Key', one string literal each ('lab.KnownPeers', 'ports.IPv6')."""
    keys: dict[str, set[str]] = {}
    for package in ("pylsl", "mne_lsl"):
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        for lib in Path(spec.origin).parent.rglob("liblsl*.so*"):
            for section, key in re.findall(rb"\0(ports|multicast|lab|tuning|log)\.([A-Za-z0-9]+)\0", lib.read_bytes()):
                keys.setdefault(section.decode(), set()).add(key.decode())
    return keys


class _CaseKept(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:  # (liblsl's keys are case-sensitive; ConfigParser lowers them)
        return optionstr


def test_the_lsl_config_files_put_each_key_where_liblsl_reads_it():
    """Before: configs/lsl_api.cfg put KnownPeers under [multicast]; liblsl reads it as lab.KnownPeers only, so the
    loopback peer was ignored without a word. Now every key of both config files is one the installed liblsl reads in
    that section, and lsl_api.cfg keeps discovery on loopback (machine scope, 127.0.0.1, no IPv6)."""
    known = _liblsl_keys()
    if not known:
        pytest.skip("no liblsl binary found (pylsl, mne-lsl)")
    assert "KnownPeers" in known["lab"] and "ResolveScope" in known["multicast"]  # (the strings were found)
    read = {}
    for path in (ROOT / "configs" / "lsl_api.cfg", ROOT / "nodes" / "io" / "lsl_default.cfg"):
        cfg = _CaseKept(comment_prefixes=(";",), inline_comment_prefixes=None)
        cfg.read(path)
        ignored = [f"[{s}] {k}" for s in cfg.sections() for k in cfg[s] if k not in known.get(s, set())]
        assert not ignored, f"{path.name}: liblsl ignores {ignored}"
        read[path.name] = {f"{s}.{k}": v for s in cfg.sections() for k, v in cfg[s].items()}
    loopback = {"multicast.ResolveScope": "machine", "multicast.MachineAddresses": "{127.0.0.1}"}
    loopback |= {"lab.KnownPeers": "{127.0.0.1}", "ports.IPv6": "disable", "log.level": "-2"}
    assert read["lsl_api.cfg"] == loopback
    assert read["lsl_default.cfg"] == {"log.level": "-2"}
