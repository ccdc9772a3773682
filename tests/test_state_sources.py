"""A source's state (file_source's read position, array_source's, a synthetic source's sample count) carried no
saved_config, so a position saved while replaying one recording was loaded into a source of another recording
without a word, and the replay resumed mid-file. It now carries the source's configuration, as every node with
inputs does (pipeline/state_config.py), and a state saved under another one is refused, naming what differs."""

import numpy as np
import pytest
from wavegraph.nodes.io.array_source import ArraySource
from wavegraph.nodes.io.file_source import FileSource


def _npz(path, seed):
    import json

    data = np.random.default_rng(seed).standard_normal((2, 500))
    spec = {"kind": "signal", "rate": 100.0, "shape": [2], "dtype": "float64", "channel_names": ["C3", "C4"]}
    np.savez(path, data=data, spec=json.dumps(spec), t0=0.0)
    return data


def _read_all(node):
    out = []
    while (c := node.read()) is not None:
        if "out" in c and c["out"].data.size:
            out.append(c["out"].data)
        if any(ch.eos for ch in c.values()):
            break
    return np.concatenate(out, axis=1)


def test_a_file_position_is_refused_by_a_source_of_another_file_and_resumes_in_its_own(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    data = _npz(a, 0)
    _npz(b, 1)
    first = FileSource(path=str(a), chunk_size=100)
    first.configure({})
    for _ in range(2):
        first.read()
    state = first.state_dict()
    assert state["saved_config"]["params"]["path"] == str(a)

    other = FileSource(path=str(b), chunk_size=100)
    other.configure({})
    with pytest.raises(ValueError, match=r"param path: saved '.*a\.npz', here '.*b\.npz'"):
        other.load_state_dict(state)

    same = FileSource(path=str(a), chunk_size=100)
    same.configure({})
    same.load_state_dict(state)
    np.testing.assert_array_equal(_read_all(same), data[:, 200:])


def test_an_array_source_state_belongs_to_its_array(tmp_path):
    x, y = np.zeros((1, 300)), np.ones((1, 300))
    src = ArraySource(data=x, rate=100.0, chunk_size=50)
    src.configure({})
    src.read()
    state = src.state_dict()
    assert state["saved_config"]["params"]["data"]["array"] == [1, 300]
    other = ArraySource(data=y, rate=100.0, chunk_size=50)
    other.configure({})
    with pytest.raises(ValueError, match="param data"):
        other.load_state_dict(state)
    again = ArraySource(data=x.copy(), rate=100.0, chunk_size=50)
    again.configure({})
    again.load_state_dict(state)  # the same data: loads
