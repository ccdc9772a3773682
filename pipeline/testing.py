"""The shared streaming-equals-offline harness.

    assert_streaming_equivalent(lambda: MyNode(**params), x, spec)

feeds `x` to a fresh node whole, then to fresh nodes in several chunkings (all size 1 over a prefix,
uneven random sizes, a prime size), concatenates what each run emits on every output port along the
port's time axis (including what `finish()` flushes), and asserts the runs agree within the stated
tolerance, in dtype, and in timing: on regular outputs every chunk's t0 is the whole run's first t0
plus its sample offset / rate. Every stateful node in the project is tested with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .chunk import Chunk
from .executor import _not_outputs
from .node import Node
from .node_class import specs_problem
from .spec import StreamSpec


def split_sizes(n: int, rng: np.random.Generator, max_size: int) -> list[int]:
    """Uneven random chunk sizes in [1, max_size] that add up to n."""
    sizes = []
    while n > 0:
        s = int(min(n, rng.integers(1, max(2, max_size) + 1)))
        sizes.append(s)
        n -= s
    return sizes


def default_chunkings(n: int, seed: int = 0, ones_prefix: int = 200) -> list[list[int]]:
    """Size-1 chunks over a prefix then the rest, two uneven random splits, and a prime size."""
    rng = np.random.default_rng(seed)
    k = min(n, ones_prefix)
    chunkings = [[1] * k + ([n - k] if n > k else [])]
    chunkings.append(split_sizes(n, rng, max(2, n // 7)))
    chunkings.append(split_sizes(n, rng, 37))
    chunkings.append([7] * (n // 7) + ([n % 7] if n % 7 else []))
    return chunkings


def run_chunked(
    node: Node, x: np.ndarray, spec: StreamSpec, sizes: Sequence[int], port: str = "in"
) -> dict[str, np.ndarray]:
    """Configure `node` with `spec`, feed `x` in chunks of `sizes` and return each output concatenated."""
    return _run(node, x, spec, sizes, port)[0]


def _run(node: Node, x: np.ndarray, spec: StreamSpec, sizes: Sequence[int], port: str):
    """run_chunked, plus (t0, length) of every output chunk per port and the output specs."""
    x = _signal(x, spec)
    if not all(callable(getattr(node, m, None)) for m in ("configure", "process", "finish_all")) or isinstance(
        node, type
    ):  # make_node returned None, an array, a class: was "... has no attribute 'configure'"
        raise TypeError(
            f"make_node() returned {type(node).__name__}, not a node; pass a function that builds a fresh one, "
            "e.g. lambda: MyNode(**params)"
        )
    out_specs = node.configure({port: spec})
    wrong = (
        (f"configure() returned {type(out_specs).__name__}, not its output specs", "return {port: StreamSpec}")
        if not isinstance(out_specs, dict)
        else specs_problem(node, out_specs)
        if hasattr(node, "outputs")
        else None
    )
    if wrong:  # as a graph says it (graph.configure_node): was "'NoneType' object is not iterable" and the like
        raise TypeError(f"{type(node).__name__}.{wrong[0]}; fix: {wrong[1]}")
    axis = spec.time_axis
    pieces: dict[str, list[np.ndarray]] = {name: [] for name in out_specs}
    times: dict[str, list[tuple[float, int]]] = {name: [] for name in out_specs}

    def keep(outputs, method="process() (or finish())"):
        if outputs.__class__ is not dict or any(  # as the runtime says it (executor._emit): was an AttributeError
            p not in pieces or c is not None and (c.__class__ is not Chunk or not isinstance(c.data, np.ndarray))
            for p, c in outputs.items()
        ):
            raise TypeError(_not_outputs(node, outputs, method))
        for name, c in outputs.items():
            if c is None:  # no output on that port (the runtime skips it too)
                continue
            pieces[name].append(c.data)
            n = c.data.shape[out_specs[name].time_axis] if c.data.ndim else 0
            times[name].append((c.t0, n))

    start = 0
    for i, s in enumerate(sizes):
        idx = [slice(None)] * x.ndim
        idx[axis] = slice(start, start + s)
        data = np.ascontiguousarray(x[tuple(idx)])
        if data.flags.writeable:  # read-only, as the runtime gives a node its inputs (the executor's _send): a node
            data = data.view()  # writing into its input wrote into the caller's x (the later runs got other data)
            data.setflags(write=False)  # and passed here, failing only in a graph
        keep(node.process({port: Chunk(data, t0=start / spec.rate if spec.rate else 0.0, seq=i)}))
        start += s
    assert start == x.shape[axis], f"chunk sizes add up to {start}, signal has {x.shape[axis]}"
    tails = node.finish_all()
    if not isinstance(tails, list):
        raise TypeError(f"{type(node).__name__}.finish_all() returned {type(tails).__name__}; return a list of outputs")
    for tail in tails:
        keep(tail, "finish()")
    result = {}
    for name, parts in pieces.items():
        out_axis = out_specs[name].time_axis
        if parts:
            result[name] = np.concatenate(parts, axis=out_axis)
        else:
            result[name] = np.zeros(out_specs[name].chunk_shape(0), dtype=out_specs[name].dtype)
    return result, times, out_specs


def _signal(x, spec: StreamSpec) -> np.ndarray:
    """`x` as an array of the spec's chunk shape with samples along its time axis, or a ValueError saying what to pass:
    (samples, channels) for a (channels, samples) spec was cut along its channels, so the runs compared 2 'samples'
    of 1000 'channels' and passed, as did an x without samples (nothing compared)."""
    x = np.asarray(x)  # a list of rows: was "'list' object has no attribute 'shape'"
    lead = x.shape[:-1] if spec.kind == "signal" else x.shape[1:]
    if x.ndim != len(spec.shape) + 1 or lead != tuple(spec.shape):
        want = (
            "("
            + ", ".join(
                [*map(str, spec.shape), "samples"] if spec.kind == "signal" else ["frames", *map(str, spec.shape)]
            )
            + ")"
        )
        fix = "pass x.T" if x.ndim == 2 and x.shape[::-1][:-1] == tuple(spec.shape) and spec.kind == "signal" else ""
        raise ValueError(
            f"x has shape {x.shape}, but the spec's {spec.kind} chunks are {want}; "
            + (fix or f"pass x shaped {want}, or a spec of x's shape")
        )
    if x.shape[spec.time_axis] == 0:
        raise ValueError(
            f"x of shape {x.shape} holds no samples: nothing would be compared; pass a signal with samples"
        )
    return x


def _check_times(times, whole_times, out_specs, label) -> None:
    """Every chunk of a regular output starts at the whole run's first t0 plus its offset / rate."""
    for name, items in times.items():
        spec = out_specs[name]
        first = next((t0 for t0, n in whole_times.get(name, ()) if n), None)
        if not spec.rate or spec.kind == "events" or first is None:
            continue
        offset = 0
        for t0, n in items:
            if n:
                want = first + offset / spec.rate
                assert abs(t0 - want) <= 1e-9 * max(1.0, abs(want)), (
                    f"{label}: output '{name}' chunk at sample {offset} has t0 {t0!r}, whole-signal timing gives {want!r}"
                )
            offset += n


def assert_streaming_equivalent(
    make_node: Callable[[], Node],
    x: np.ndarray,
    spec: StreamSpec,
    chunkings: Sequence[Sequence[int]] | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    port: str = "in",
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Assert that chunked runs equal one whole-signal run; return the whole-signal outputs.

    make_node: builds a fresh node each call (so no state leaks between runs).
    rtol/atol: the stated floating-point tolerance (numpy.testing.assert_allclose semantics); integer
               outputs (tokens) must be identical.
    """
    if not callable(make_node) or isinstance(
        make_node, Node
    ):  # a node, not a maker: was "'Gain' object is not callable"
        raise TypeError(
            f"make_node is {type(make_node).__name__}; pass a function that builds a fresh node each call, e.g. "
            f"lambda: {type(make_node).__name__}(...) (one node fed every chunking would carry its state across runs)"
        )
    x = _signal(x, spec)
    n = x.shape[spec.time_axis]
    first = make_node()
    whole, whole_times, _ = _run(first, x, spec, [n], port)
    made = [first]
    for sizes in chunkings or default_chunkings(n, seed):
        node = make_node()
        if any(
            node is m for m in made
        ):  # lambda: node: every run continued the first's stream, unless configure() reset it
            raise TypeError(
                "make_node() returned the same node twice; it must build a fresh one each call, e.g. "
                f"lambda: {type(node).__name__}(...), so no state leaks between the runs compared"
            )
        made.append(node)
        got, times, out_specs = _run(node, x, spec, sizes, port)
        _check_times(times, whole_times, out_specs, f"chunk sizes {list(sizes[:8])}{'...' if len(sizes) > 8 else ''}")
        for name, ref in whole.items():
            label = f"output '{name}' with chunk sizes {list(sizes[:8])}{'...' if len(sizes) > 8 else ''}"
            assert got[name].shape == ref.shape, f"{label}: shape {got[name].shape} != whole-signal {ref.shape}"
            assert got[name].dtype == ref.dtype, f"{label}: dtype {got[name].dtype} != whole-signal {ref.dtype}"
            if np.issubdtype(ref.dtype, np.integer):
                np.testing.assert_array_equal(got[name], ref, err_msg=label)
            else:
                np.testing.assert_allclose(got[name], ref, rtol=rtol, atol=atol, err_msg=label)
    return whole
