"""State sweep: what the per-node tests leave out of the two core promises.

* State is explicit: a state_dict() taken mid-stream (after 1 sample, inside the first window, later) survives a
  JSON round trip, is a snapshot (the node running on does not change it) and, loaded into a fresh node, continues
  exactly; reset() mid-stream gives a fresh node's output and times.
* Gaps: a chunk flagged gap resets the nodes that document it (model nodes, enhancer, ssvep_decoder), also when
  the flagged chunk holds no samples; apply_mask says what it cannot emit at the end.
"""

import json
import math
import re
from typing import Any

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import StreamSpec, signal_spec

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIG = signal_spec(250.0, ["O1", "Oz", "O2"])
FEAT = StreamSpec("features", 100.0, (6,), "float32")
AUDIO = signal_spec(16000.0, ["mic"], dtype="float32")
SSM = dict(random_init=True, seed=3, d_model=16, n_layers=2, d_state=4, device="cpu")
ENC = dict(random_init=True, seed=3, d_model=16, n_layers=1, n_heads=2, conv_kernel=5, att_context_sizes=[(8, 1)])


def ssvep(**kw):
    return lookup("ssvep_decoder")(freqs=[8.0, 10.0, 12.0], window=0.4, step=0.12, n_bands=2, **kw)


def _stft_frames():
    s = lookup("stft")(n_fft=32, hop=8, window="hann")
    spec = s.configure({"in": SIG})["out"]
    x = np.random.default_rng(1).standard_normal((3, 240))
    return np.concatenate([s.process({"in": Chunk(x)})["out"].data, s.finish()["out"].data]), spec


def _signal(n_ch=3, n=300, seed=0, nan=True):
    x = np.random.default_rng(seed).standard_normal((n_ch, n)) + 2.0
    if nan:
        x[-1, 41] = np.nan  # pending NaN bookkeeping is state too
    return x


# name: (make, data, spec, tolerance)
CASES = {
    "fir": (lambda: lookup("fir")(l_freq=2.0, numtaps=31, nan_policy="propagate"), _signal(), SIG, 1e-10),
    "bandpass_steady": (lambda: lookup("bandpass")(l_freq=2.0, h_freq=40.0, init="steady"), _signal(), SIG, 1e-10),
    "resample": (lambda: lookup("resample")(up=3, down=7, nan_policy="propagate"), _signal(), SIG, 1e-10),
    "running_zscore": (lambda: lookup("running_zscore")(window=0.1), _signal(), SIG, 1e-10),
    "sliding_window": (lambda: lookup("sliding_window")(size=5, hop=13), _signal(), SIG, 1e-10),
    "stft": (lambda: lookup("stft")(n_fft=32, hop=8, nan_policy="propagate"), _signal(), SIG, 1e-10),
    "istft": (lambda: lookup("istft")(n_fft=32, hop=8, window="hann"), *_stft_frames(), 1e-10),
    "bandpower": (lambda: lookup("bandpower")(window=0.5, hop=0.1), _signal(), SIG, 1e-10),
    "ssvep_decoder": (lambda: ssvep(nan_policy="propagate"), _signal(), SIG, 1e-9),
    "mamba": (lambda: lookup("mamba")(**SSM), _signal(6, 70).T.astype(np.float32), FEAT, 1e-5),
    "conformer": (
        lambda: lookup("conformer_encoder")(**ENC),
        _signal(6, 70, nan=False).T.astype(np.float32),
        FEAT,
        1e-5,
    ),
    "highpass": (lambda: lookup("highpass")(freq=1.0), _signal(), SIG, 1e-10),
    "lowpass_ellip": (lambda: lookup("lowpass")(freq=30.0, design="ellip"), _signal(), SIG, 1e-10),
    "notch": (lambda: lookup("notch")(freq=50.0, harmonics=2), _signal(), SIG, 1e-10),
    "filterbank": (lambda: lookup("filterbank")(bands=[(4.0, 20.0), (20.0, 40.0)]), _signal(), SIG, 1e-10),
    "align": (lambda: lookup("align")(delay=0.048), _signal(), SIG, 1e-12),
    "eeg_tokenizer": (lambda: lookup("eeg_tokenizer")(), _signal(3, 700, nan=False), SIG, 1e-5),
    "gla": (
        lambda: lookup("gla")(
            random_init=True, seed=3, d_model=16, n_layers=1, n_heads=2, gate_low_rank=4, chunk_size=8, device="cpu"
        ),
        _signal(6, 70).T.astype(np.float32),
        FEAT,
        1e-5,
    ),
    "enhancer": (
        lambda: lookup("enhancer")(random_init=True, d_model=16, n_layers=1, nan_policy="propagate"),
        (_signal(1, 700) * 0.05).astype(np.float32),
        AUDIO,
        1e-5,
    ),
}


def _feed(node, x, spec, sizes, start=0, shift=0.0, gap_at=None, outs=None):
    """Feed x[start:] in chunks of `sizes` (time axis of the spec); collect (t0, data) per output port."""
    outs = {} if outs is None else outs
    pos = start
    for n in sizes:
        piece = x[..., pos : pos + n] if spec.kind == "signal" else x[pos : pos + n]
        c = Chunk(np.ascontiguousarray(piece), t0=pos / spec.rate + shift, gap=pos == gap_at)
        for port, o in node.process({"in": c}).items():
            outs.setdefault(port, []).append((o.t0, o.data))
        pos += n
    return outs


def _finish(node, outs):
    for port, o in node.finish().items():
        outs.setdefault(port, []).append((o.t0, o.data))
    return outs


def _result(node, outs):
    """Per port: the data concatenated along its time axis, and the time of every row/sample (regular ports)."""
    res = {}
    for port, items in outs.items():
        spec = node.out_specs[port]
        axis = 0 if spec.kind == "events" else spec.time_axis
        data = np.concatenate([d for _, d in items], axis=axis)
        times = None
        if spec.rate:
            times = np.concatenate([t0 + np.arange(d.shape[axis]) / spec.rate for t0, d in items])
        res[port] = (data, times)
    return res


def _assert_same(got, want, tol, what):
    assert set(got) == set(want), f"{what}: ports {sorted(got)} != {sorted(want)}"
    for port, (data, times) in want.items():
        np.testing.assert_allclose(got[port][0], data, rtol=tol, atol=tol, err_msg=f"{what}: '{port}'")
        if times is not None:
            np.testing.assert_allclose(got[port][1], times, rtol=0, atol=1e-9, err_msg=f"{what}: '{port}' times")


def _json(state: dict) -> Any:
    """A JSON round trip that keeps array dtypes and shapes (as a runtime persisting node state would)."""

    def enc(v):
        if isinstance(v, dict):
            return {k: enc(x) for k, x in v.items()}
        if isinstance(v, np.ndarray):
            return {"array": v.tolist(), "dtype": v.dtype.str, "shape": list(v.shape)}
        return v.item() if isinstance(v, np.generic) else v

    def dec(v):
        if isinstance(v, dict) and "array" in v:
            return np.array(v["array"], dtype=v["dtype"]).reshape(v["shape"])
        return {k: dec(x) for k, x in v.items()} if isinstance(v, dict) else v

    return dec(json.loads(json.dumps(enc(state))))


def _configured(make, spec):
    node = make()
    node.configure({"in": spec})
    return node


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_survives_json_is_a_snapshot_and_reset_equals_fresh(name):
    make, x, spec, tol = CASES[name]
    n = x.shape[-1] if spec.kind == "signal" else x.shape[0]
    ref_node = _configured(make, spec)
    whole = _result(ref_node, _finish(ref_node, _feed(ref_node, x, spec, [n])))
    for split in (1, 3, n // 2 + 1):
        a = _configured(make, spec)
        outs = _feed(a, x, spec, [split])
        saved = a.state_dict()
        _finish(a, _feed(a, x, spec, [n - split], start=split))  # the node runs on: `saved` must not change
        b = _configured(make, spec)
        b.load_state_dict(_json(saved))
        _finish(b, _feed(b, x, spec, [7] * ((n - split) // 7) + [(n - split) % 7], start=split, outs=outs))
        _assert_same(_result(b, outs), whole, tol, f"state after {split} samples, through JSON")
    c = _configured(make, spec)
    _feed(c, x, spec, [n // 3])
    c.reset()
    _assert_same(_result(c, _finish(c, _feed(c, x, spec, [0, 1, n - 1, 0]))), whole, tol, "reset mid-stream")


GAP_RESET = ["ssvep_decoder", "mamba", "conformer", "enhancer"]


@pytest.mark.parametrize("empty", [False, True], ids=["on_data", "on_empty_chunk"])
@pytest.mark.parametrize("name", GAP_RESET)
def test_a_gap_resets_the_nodes_that_say_so(name, empty):
    """After a chunk flagged gap (holding the first samples after it, or none), the output equals a fresh node's
    on the data after the gap, times included. ssvep_decoder ignored the flag on an empty chunk (kept its filter
    state and partial window, and stamped the windows after the jump from the old start time)."""
    make, x, spec, tol = CASES[name]
    n = x.shape[-1] if spec.kind == "signal" else x.shape[0]
    cut, jump = n // 2 + 3, 3.7
    fresh = _configured(make, spec)
    want = _result(fresh, _finish(fresh, _feed(fresh, x, spec, [n - cut], start=cut, shift=jump)))
    node = _configured(make, spec)
    _feed(node, x, spec, [cut])
    outs: dict = {}
    if empty:  # the flag arrives on a chunk with no samples (a bare marker after lost data)
        shape = (*spec.shape, 0) if spec.kind == "signal" else (0, *spec.shape)
        node.process({"in": Chunk(np.zeros(shape, spec.dtype), t0=cut / spec.rate + jump, gap=True)})
    _finish(
        node, _feed(node, x, spec, [5, n - cut - 5], start=cut, shift=jump, gap_at=None if empty else cut, outs=outs)
    )
    _assert_same(_result(node, outs), want, tol, f"after a gap ({'empty chunk' if empty else 'on data'})")


def _apply_mask_after_lost_mask_frames(x):
    """An apply_mask node given mask frames 0-4, 6-7 and 9-10 (5 and 8 lost upstream), then 12 input frames
    `x`: (node, its outputs so far)."""
    spec = StreamSpec("features", 10.0, (2,), "float64")
    node = lookup("apply_mask")()
    node.configure({"in": spec, "mask": spec})
    outs = [node.process({"mask": Chunk(np.full((b - a, 2), 2.0), a / 10)}) for a, b in ((0, 5), (6, 8), (9, 11))]
    outs.append(node.process({"in": Chunk(x, 0.0)}))
    return node, outs


def test_apply_mask_counts_paired_frames_it_cannot_emit_at_the_end():
    """finish() returns one chunk, so paired runs still waiting after a hole cannot all go out; they were counted
    as unmatched (frames that had their partner), now `after_break_at_end`, as join counts them."""
    node, outs = _apply_mask_after_lost_mask_frames(np.ones((12, 2)))
    outs.append(node.finish())
    runs = [(round(o["out"].t0 * 10), o["out"].data.shape[0]) for o in outs if o]
    assert runs == [(0, 5), (6, 2)]
    assert node.counters == {"unmatched_in": 3, "after_break_at_end": 2}  # in 5, 8, 11 had no partner


def test_apply_mask_emits_every_paired_run_at_the_end():
    """The runtime ends a node with finish_all(): the paired runs after a hole go out, one chunk each (they
    were dropped, counted after_break_at_end)."""
    node, outs = _apply_mask_after_lost_mask_frames(np.arange(24.0).reshape(12, 2))
    outs += node.finish_all()
    got = [o["out"] for o in outs if o]
    assert [(round(c.t0 * 10), c.data.shape[0], c.gap) for c in got] == [(0, 5, False), (6, 2, True), (9, 2, True)]
    frames = np.r_[0:5, 6:8, 9:11]
    np.testing.assert_array_equal(np.concatenate([c.data for c in got]), 2.0 * np.arange(24.0).reshape(12, 2)[frames])
    assert node.counters == {"unmatched_in": 3}  # in 5, 8, 11 had no partner; nothing paired is lost


FIRST_T0_CASES = [
    *["resample", "sliding_window", "stft", "bandpower", "ssvep_decoder", "enhancer", "tokenizer"],
    *["mamba", "conformer"],  # the model node latched it too (base_t0)
]


@pytest.mark.parametrize("name", FIRST_T0_CASES)
def test_a_first_chunk_without_a_time_does_not_leave_every_later_time_nan(name):
    """A first chunk with t0 NaN (a source that had no time for it yet) left every later output time NaN: the
    nodes latched the first t0 as their stream start. The start now comes from the first chunk that has a
    time, less the samples before it, so the later output times equal a run whose first chunk had its time."""
    if name == "tokenizer":
        make, x, spec = (lambda: lookup("eeg_tokenizer")()), _signal(3, 1000, nan=False), SIG
    else:
        make, x, spec, _ = CASES[name]
    axis = -1 if spec.kind == "signal" else 0

    def times(first_t0: float) -> list:
        node = _configured(make, spec)
        n, start, got = x.shape[axis], 0, []
        for i, size in enumerate([3, *[97] * (n // 97 + 1)]):
            part = np.take(x, np.arange(start, min(n, start + size)), axis=axis)
            if part.shape[axis]:
                t0 = 5.0 + start / spec.rate
                out = node.process({"in": Chunk(part, t0=first_t0 if i == 0 else t0)})
                got += [(port, c.t0) for port, c in sorted(out.items())] if i else []
            start += size
        return got

    want, got = times(5.0), times(math.nan)
    assert want and [p for p, _ in got] == [p for p, _ in want]
    np.testing.assert_allclose([t for _, t in got], [t for _, t in want], rtol=0, atol=1e-9)


# --- a state only loads where it means the same -----------------------------------------------------------------
EV = StreamSpec("events", 0.0, (3,), "float64", labels=((1, "stim"),))
SIG500 = signal_spec(500.0, ["O1", "Oz", "O2"])
SSVEP_TRIAL = dict(freqs=[8.0, 10.0, 12.0], n_bands=2)
GLA = dict(random_init=True, seed=3, d_model=16, n_layers=1, n_heads=2, gate_low_rank=4, chunk_size=8, device="cpu")

# name: (type, params saved, input specs saved, params loaded, input specs loaded, what the error names)
OTHER_CONFIG = {
    "bandpass_rate": ("bandpass", {"l_freq": 2.0, "h_freq": 40.0}, {"in": SIG500}, None, {"in": SIG}, "rate: saved 500.0, here 250.0"),
    "bandpass_channel_order": ("bandpass", {"l_freq": 2.0, "h_freq": 40.0}, {"in": signal_spec(250.0, ["Oz", "O1", "O2"])}, None, {"in": SIG}, "input 'in' channels: saved ['Oz', 'O1', 'O2'], here ['O1', 'Oz', 'O2']"),
    "notch_rate": ("notch", {"freq": 50.0}, {"in": SIG500}, None, {"in": SIG}, "input 'in' rate: saved 500.0"),
    "fir_rate": ("fir", {"l_freq": 2.0, "numtaps": 31}, {"in": SIG500}, None, {"in": SIG}, "rate: saved 500.0"),
    "filterbank_rate": ("filterbank", {"bands": [[4.0, 20.0]]}, {"in": SIG500}, None, {"in": SIG}, "rate: saved 500.0"),
    "resample_rate": ("resample", {"up": 3, "down": 7}, {"in": SIG500}, None, {"in": SIG}, "rate: saved 500.0"),
    "sliding_window_size": ("sliding_window", {"size": 9, "hop": 13}, {"in": SIG}, {"size": 5, "hop": 13}, {"in": SIG}, "param size: saved 9, here 5"),
    "stft_n_fft": ("stft", {"n_fft": 64, "hop": 8}, {"in": SIG}, {"n_fft": 32, "hop": 8}, {"in": SIG}, "param n_fft: saved 64, here 32"),
    "bandpower_window": ("bandpower", {"window": 0.3, "hop": 0.1}, {"in": SIG}, {"window": 0.5, "hop": 0.1}, {"in": SIG}, "param window: saved 0.3, here 0.5"),
    "ssvep_decoder_window": ("ssvep_decoder", {"freqs": [8.0, 10.0], "window": 0.6, "n_bands": 2}, {"in": SIG}, {"freqs": [8.0, 10.0], "window": 0.4, "n_bands": 2}, {"in": SIG}, "param window: saved 0.6, here 0.4"),
    "align_delay": ("align", {"delay": 0.06}, {"in": SIG}, {"delay": 0.048}, {"in": SIG}, "param delay: saved 0.06, here 0.048"),
    "epochs_tmin": ("epochs", {"tmin": -0.2, "tmax": 0.3}, {"in": SIG, "events": EV}, {"tmin": -0.1, "tmax": 0.3}, {"in": SIG, "events": EV}, "param tmin: saved -0.2, here -0.1"),
    "trial_rate": ("ssvep_trial_decoder", SSVEP_TRIAL, {"in": SIG500, "events": EV}, None, {"in": SIG, "events": EV}, "input 'in' rate: saved 500.0"),
    "join_rate": ("join", {}, {"a": SIG, "b": SIG500}, None, {"a": SIG, "b": SIG}, "input 'b' rate: saved 500.0, here 250.0"),
    "apply_mask_rate": ("apply_mask", {}, {"in": SIG500, "mask": SIG500}, None, {"in": SIG, "mask": SIG}, "input 'mask' rate"),
    "mamba_width": ("mamba", SSM, {"in": FEAT}, None, {"in": StreamSpec("features", 100.0, (4,), "float32")}, "input 'in' shape: saved [6], here [4]"),
    "gla_rate": ("gla", GLA, {"in": FEAT}, None, {"in": StreamSpec("features", 50.0, (6,), "float32")}, "rate: saved 100.0, here 50.0"),
    "conformer_rate": ("conformer_encoder", ENC, {"in": FEAT}, None, {"in": StreamSpec("features", 50.0, (6,), "float32")}, "rate: saved 100.0"),
}  # fmt: skip


def _fed(node, specs):
    """A few chunks into every input of a configured node (so that its buffers hold something)."""
    for port, spec in specs.items():
        if spec.kind == "events":
            node.process({port: Chunk(np.array([[0.2, 0.0, 1.0]]), t0=0.2)})
        elif spec.kind == "signal":
            node.process({port: Chunk(_signal(spec.shape[0], 60, nan=False).astype(spec.dtype), t0=0.0)})
        else:
            node.process({port: Chunk(_signal(spec.shape[0], 9, nan=False).T.astype(spec.dtype), t0=0.0)})
    return node


@pytest.mark.parametrize("name", sorted(OTHER_CONFIG))
def test_a_state_saved_under_another_configuration_is_refused_naming_what_differs(name):
    """A state whose arrays have the same shapes under another configuration (another rate, window length, input
    width) was loaded without a word and gave wrong output (a 500 Hz filter memory run at 250 Hz, a 9-sample window
    buffer cut as 5). It is refused with a ValueError naming what differs; a state of the same configuration,
    through JSON, still loads."""
    kind, saved_params, saved_specs, loaded_params, loaded_specs, said = OTHER_CONFIG[name]
    a = lookup(kind)(**saved_params)
    a.configure(saved_specs)
    state = _fed(a, saved_specs).state_dict()
    b = lookup(kind)(**(saved_params if loaded_params is None else loaded_params))
    b.configure(loaded_specs)
    with pytest.raises(
        ValueError, match=f"{kind} state was saved by a node configured differently: .*{re.escape(said)}"
    ):
        b.load_state_dict(state)
    same = lookup(kind)(**saved_params)
    same.configure(saved_specs)
    same.load_state_dict(_json(state))
    assert _json(same.state_dict()).keys() == state.keys()


# nodes that keep their state themselves (not a declared dataclass): (make, input specs, an array key, a number key)
OWN_STATE = {
    "ssvep_decoder": (lambda: ssvep(), {"in": SIG}, "zi", "k"),
    "ssvep_trial_decoder": (lambda: lookup("ssvep_trial_decoder")(**SSVEP_TRIAL), {"in": SIG, "events": EV}, "pending", "markers_ended"),
    "eeg_tokenizer": (lambda: lookup("eeg_tokenizer")(), {"in": SIG}, "model.prev", "n_out"),
    "mamba": (lambda: lookup("mamba")(**SSM), {"in": FEAT}, "bad_frames", "n_in"),
    "conformer_encoder": (lambda: lookup("conformer_encoder")(**ENC), {"in": FEAT}, "bad_frames", "n_out"),
    "enhancer": (lambda: lookup("enhancer")(random_init=True, d_model=16, n_layers=1), {"in": AUDIO}, "pending", "n_frames"),
}  # fmt: skip


@pytest.mark.parametrize("bad", ["no_keys", "text_array", "none_array", "text_number", "not_a_dict"])
@pytest.mark.parametrize("name", sorted(OWN_STATE))
def test_a_malformed_state_is_refused_at_load_naming_the_node_and_key(name, bad):
    """These nodes read a loaded state themselves: an empty or hand-edited one failed with a bare KeyError 'zi',
    numpy's "could not convert string to float: 'junk'" or torch's "can't convert np.ndarray of type numpy.str_",
    or was taken and failed at the next chunk ("zero-dimensional arrays cannot be concatenated"). Now a KeyError,
    ValueError or TypeError names the node and the key."""
    make, specs, array_key, number_key = OWN_STATE[name]
    a = make()
    a.configure(specs)
    state = _fed(a, specs).state_dict()
    key = {"text_array": array_key, "none_array": array_key, "text_number": number_key}.get(bad)
    broken = {"no_keys": {}, "not_a_dict": list(state)}.get(
        bad, {**state, **({key: None if bad == "none_array" else "junk"} if key else {})}
    )
    b = make()
    b.configure(specs)
    with pytest.raises((KeyError, ValueError, TypeError)) as err:
        b.load_state_dict(broken)  # pyright: ignore[reportArgumentType]
    said = str(err.value)
    assert name in said or type(b).__name__ in said, said
    assert key is None or f"'{key}'" in said, said


# --- several inputs: the state round trip whatever order the inputs arrive in --------------------------------------
def _runs(port, x, cuts, shift=0.0):
    return [(port, Chunk(np.ascontiguousarray(x[:, a:b]), t0=a / 250.0 + shift)) for a, b in zip(cuts, cuts[1:])]


def _arrivals(order, first, second):
    """The two inputs' chunks interleaved: all of one first, all of the other first, or alternating."""
    first, second, out = list(first), list(second), []
    while first or second:
        take = {"first": first or second, "second": second or first}.get(order)
        if take is None:
            take = first if first and (len(first) >= len(second) or not second) else second
        out.append(take.pop(0))
    return out


_X, _Y = _signal(3, 600, seed=1), _signal(3, 600, seed=2, nan=False)
_CUTS_A, _CUTS_B = [0, 1, 13, 50, 200, 377, 450, 600], [0, 7, 64, 128, 301, 512, 600]
_MARKS = [("events", Chunk(np.array([[t, 0.0, 1.0]]), t0=t)) for t in (0.3, 0.9, 1.5, 2.0)]
MULTI = {
    "join": (lambda: lookup("join")(), {"a": SIG, "b": SIG}, _runs("a", _X, _CUTS_A), _runs("b", _Y, _CUTS_B, 0.002)),
    "apply_mask": (lambda: lookup("apply_mask")(activation="sigmoid"), {"in": SIG, "mask": SIG}, _runs("in", _X, _CUTS_A), _runs("mask", _Y, _CUTS_B)),
    "epochs": (lambda: lookup("epochs")(tmin=-0.1, tmax=0.3, baseline=None), {"in": SIG, "events": EV}, _runs("in", _X, _CUTS_A), _MARKS),
    "ssvep_trial_decoder": (lambda: lookup("ssvep_trial_decoder")(window=0.3, **SSVEP_TRIAL), {"in": SIG, "events": EV}, _runs("in", _X, _CUTS_A), _MARKS),
}  # fmt: skip


def _run_events(node, events, outs):
    for port, c in events:
        outs += [(p, o.t0, o.data) for p, o in node.process({port: c}).items()]
    for out in node.finish_all():
        outs += [(p, o.t0, o.data) for p, o in out.items()]
    return outs


def _concat(node, outs):
    """Per port: the data along its time axis (rows for irregular ports) and, for a regular port, each sample's time."""
    res = {}
    for port in sorted({p for p, _, _ in outs}):
        spec, items = node.out_specs[port], [(t0, d) for p, t0, d in outs if p == port]
        axis = spec.time_axis if spec.rate and spec.kind != "events" else 0
        times = [t0 + np.arange(d.shape[axis]) / spec.rate for t0, d in items] if spec.rate else [[]]
        res[port] = (np.concatenate([d for _, d in items], axis=axis), np.concatenate(times))
    return res


@pytest.mark.parametrize("order", ["first", "second", "alternating"])
@pytest.mark.parametrize("name", sorted(MULTI))
def test_a_node_of_several_inputs_resumes_from_its_state_whatever_the_arrival_order(name, order):
    """Stopped after 1, 2, 5 and 9 arrivals (inside a window, a marker waiting for its samples, samples waiting for
    their partner), its state through JSON into a fresh node, the rest fed there == one node over everything; the
    state saved is a snapshot, and reset() mid-stream gives a fresh node's output."""
    make, specs, first, second = MULTI[name]
    events = _arrivals(order, first, second)
    ref = make()
    ref.configure(specs)
    whole = _concat(ref, _run_events(ref, events, []))
    assert whole, f"{name}: no output at all"
    for split in (1, 2, 5, 9):
        a = make()
        a.configure(specs)
        outs = []
        for port, c in events[:split]:
            outs += [(p, o.t0, o.data) for p, o in a.process({port: c}).items()]
        saved = a.state_dict()
        kept = _json(saved)
        _run_events(a, events[split:], [])  # runs on: `saved` must not change
        assert json.dumps(_json(saved), sort_keys=True, default=str) == json.dumps(kept, sort_keys=True, default=str)
        b = make()
        b.configure(specs)
        b.load_state_dict(kept)
        got = _concat(b, _run_events(b, events[split:], outs))
        assert set(got) == set(whole)
        for port, (data, times) in whole.items():
            np.testing.assert_allclose(
                got[port][0], data, rtol=1e-9, atol=1e-12, err_msg=f"{name} after {split}: {port}"
            )
            np.testing.assert_allclose(got[port][1], times, rtol=0, atol=1e-9, err_msg=f"{name} after {split}: times")
    c = make()
    c.configure(specs)
    _run_events(c, events[:5], [])
    c.reset()
    again = _concat(c, _run_events(c, events, []))
    for port, (data, _) in whole.items():
        np.testing.assert_allclose(again[port][0], data, rtol=1e-9, atol=1e-12, err_msg=f"{name} reset: {port}")


def test_a_state_loaded_before_configure_is_refused_not_dropped():
    """align took load_state_dict() before configure() without a word, and configure() then started a fresh
    stream: the state was dropped, the stream resumed from nothing. A load before configure is now refused."""
    a = lookup("align")(delay=0.048)
    a.configure({"in": SIG})
    a.process({"in": Chunk(_signal(3, 5, nan=False), t0=0.0)})  # 5 of the 12 samples to drop
    b = lookup("align")(delay=0.048)
    with pytest.raises(RuntimeError, match=r"load_state_dict\(\) before configure\(\): call node.configure"):
        b.load_state_dict(a.state_dict())
    b.configure({"in": SIG})
    b.load_state_dict(a.state_dict())
    x = _signal(3, 20, seed=4, nan=False)
    np.testing.assert_array_equal(b.process({"in": Chunk(x, t0=0.02)})["out"].data, x[:, 7:])


# a hand-edited or mixed-up state whose parts disagree: (type, params, input specs, field, edit)
DISAGREEING = {
    "running_zscore_ref": ("running_zscore", {"window": 0.1}, {"in": SIG}, "ref", "longer"),
    "resample_count": ("resample", {"up": 3, "down": 7}, {"in": SIG}, "n_out", "negative"),
    "join_data": ("join", {}, {"a": SIG, "b": SIG}, "b_data", "longer"),
    "join_times": ("join", {}, {"a": SIG, "b": SIG}, "b_times", "longer"),
    "apply_mask_in": ("apply_mask", {}, {"in": SIG, "mask": SIG}, "in_idx", "longer"),
    "apply_mask_mask": ("apply_mask", {}, {"in": SIG, "mask": SIG}, "mask_data", "longer"),
    "epochs_times": ("epochs", {"tmin": -0.1, "tmax": 0.3}, {"in": SIG, "events": EV}, "times", "longer"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(DISAGREEING))
def test_a_state_whose_buffers_disagree_is_refused_at_load(name):
    """A buffer's samples and their stamps (join, epochs, apply_mask's frames and frame indices) of different lengths,
    a running_zscore offset of several columns or a negative resample count was taken, and the next chunk failed
    inside numpy ("index 600 is out of bounds", "operands could not be broadcast", "strides is incompatible") or, for
    epochs, ran on. The load is refused, naming the field."""
    kind, params, specs, field, edit = DISAGREEING[name]
    a = lookup(kind)(**params)
    a.configure(specs)
    state = _fed(a, specs).state_dict()
    fresh = lookup(kind)(**params)
    fresh.configure(specs)
    if edit == "negative":
        state[field] = -7
    else:
        axis = list(fresh.state_dict()[field].shape).index(0)
        v = state[field]
        state[field] = (
            np.concatenate([v] * 3, axis=axis)
            if v.shape[axis]
            else np.zeros(tuple(3 if i == axis else n for i, n in enumerate(v.shape)), v.dtype)
        )
    with pytest.raises(ValueError, match=f"'{field}'"):
        fresh.load_state_dict(state)


def _edit(state, path, value):
    state = {k: dict(v) if isinstance(v, dict) else v for k, v in state.items()}
    *outer, key = path.split(".")
    (state[outer[0]] if outer else state)[key] = value(state[outer[0]][key] if outer else state[key])
    return state


SSVEP_EDITS = {
    "buf_longer_than_moved": ("ssvep_decoder", "buf", lambda v: np.concatenate([v, v], axis=-1), "'moved' has shape"),
    "last_of_other_channels": ("ssvep_decoder", "last", lambda v: np.zeros(5), "one 'last' per channel"),
    "start_negative": ("ssvep_trial_decoder", "buf.start", lambda v: -7, "'buf.start' -7"),
    "no_segment": ("ssvep_trial_decoder", "buf.segments", lambda v: np.zeros((0, 2)), "'buf.segments' (first index none)"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SSVEP_EDITS))
def test_an_ssvep_state_whose_parts_disagree_is_refused_at_load(name):
    """ssvep_decoder took a buffer longer than its per-sample 'moved' flags or a 'last' sample of other channels, and
    its next window failed inside numpy ("index 658 is out of bounds", "operands could not be broadcast"); the trial
    decoder took a negative buffer start or no segment for its held samples and its next marker raised a bare
    StopIteration. Each is refused at load, naming the fields."""
    kind, path, value, said = SSVEP_EDITS[name]
    specs = {"in": SIG} if kind == "ssvep_decoder" else {"in": SIG, "events": EV}
    make = ssvep if kind == "ssvep_decoder" else lambda: lookup("ssvep_trial_decoder")(**SSVEP_TRIAL)
    a = make()
    a.configure(specs)
    state = _fed(a, specs).state_dict()
    b = make()
    b.configure(specs)
    with pytest.raises(ValueError, match=re.escape(said)):
        b.load_state_dict(_edit(state, path, value))


@pytest.mark.parametrize("samples", [0, 5000])
def test_a_tokenizer_state_of_a_wrong_sample_count_is_refused_at_load(samples):
    """eeg_tokenizer took a 'model.samples' buffer of any length along its growing axis; one shorter than its history
    failed at the next chunk inside torch ("maximum size for tensor at dimension 1 is 0 but size is 962")."""
    a = lookup("eeg_tokenizer")()
    a.configure({"in": SIG})
    state = _fed(a, {"in": SIG}).state_dict()
    b = lookup("eeg_tokenizer")()
    b.configure({"in": SIG})
    with pytest.raises(ValueError, match=r"'model.samples' holds \d+ samples along axis 1, this tokenizer keeps"):
        b.load_state_dict({**state, "model.samples": np.zeros((3, samples))})


@pytest.mark.parametrize("n_in", [10**9, 5])
def test_a_resample_state_whose_counts_do_not_fit_is_refused_at_load(n_in):
    """A resample state whose n_in ran far ahead of its n_out made the next chunk compute the whole difference at once
    (numpy's 'Unable to allocate 17.5 TiB'); one with n_out beyond what n_in gives was taken too. Refused at
    load, naming both counts; the node keeps its own state."""
    a = lookup("resample")(up=3, down=7)
    a.configure({"in": SIG})
    state = _fed(a, {"in": SIG}).state_dict()
    b = lookup("resample")(up=3, down=7)
    b.configure({"in": SIG})
    with pytest.raises(ValueError, match=rf"state 'n_in' {n_in} and 'n_out' \d+ do not fit"):
        b.load_state_dict({**state, "n_in": n_in})
    assert b.state.n_in == 0  # the refused state was not taken
