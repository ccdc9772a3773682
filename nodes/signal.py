"""SignalNode: the base of a node with one signal in and one signal out, sample for sample.

A subclass writes the maths only::

    class MyFilter(SignalNode):
        Params = MyParams                     # with a `nan_policy: NanPolicy` field
        def setup(self, spec): ...            # optional: design, checks (SpecError), latency_samples
        def new_state(self): ...              # optional: the declared state (pipeline/state.py)
        def transform(self, x): ...           # (*shape, n) finite, in self.dtype -> output (..., n)

`configure` checks that the input is a regular real-valued signal, picks the working dtype (`self.dtype`:
float32 kept, anything else float64), records `self.lead` (the spec's shape: the axes before time), calls
`setup`, resets the state and returns the output spec (the input's with that dtype, unless `setup` returns
another). `process` casts and shape-checks the chunk, applies the NaN policy (nodes/nanpolicy.py), calls
`transform`, writes NaN at `output_mask(mask)` under `propagate`, and keeps the chunk's t0 (the executor
carries gap, origin and sequence). Empty chunks produce no output. At a gap the runtime calls `end_segment()`,
which resets the state: each segment is processed as if alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, P
from wavegraph.pipeline.spec import StreamSpec

from .nanpolicy import all_finite, chunk_data, float_dtype, sanitize, signal_input


class SignalNode(Node[P]):
    """One signal in, one signal out with the same number of samples per chunk and the same t0."""

    dtype: np.dtype
    lead: tuple[int, ...]

    def setup(self, spec: StreamSpec) -> StreamSpec | None:
        """Design and check at configure time (raise SpecError). Return the output spec when it is not the
        input's (e.g. another shape); None keeps the input spec with the working dtype."""
        return None

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Process one chunk: x is (*self.lead, n), finite, in self.dtype (never modify it: it may be the
        input chunk's own array). Return the output, n samples along the last axis, finite: a non-finite output is
        taken for an overflow of the node's arithmetic (`_overflowed`: state reset, those samples zeroed, counted
        `overflow`, chunk flagged gap), so a node whose values may legitimately be inf (a log of 0) clips them."""
        raise NotImplementedError

    def output_mask(self, mask: np.ndarray | None, n: int) -> np.ndarray | None:
        """Under nan_policy propagate, where the n output samples get NaN given where the input was non-finite
        (None: nowhere). Called on every chunk (mask None when all was finite), so a node with a delay can
        carry a pending mask in its state. The default: the same samples."""
        return mask

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        spec = signal_input(self, in_specs)
        self.dtype = float_dtype(spec)
        self.lead = tuple(spec.shape)
        self._policy = getattr(self.params, "nan_policy", "zero")
        out = self.setup(spec)
        self.reset()
        self.out_specs = {"out": out if out is not None else spec.evolve(dtype=self.dtype.name)}
        return self.out_specs

    def process(self, inputs: dict[str, Chunk]) -> dict[str, Any]:
        try:
            c = inputs["in"]
        except (KeyError, TypeError, IndexError):  # by hand: process(chunk) or {"x": chunk}; was "KeyError: 'in'"
            got = f"{{{', '.join(map(repr, inputs))}: ...}}" if isinstance(inputs, dict) else type(inputs).__name__
            raise TypeError(
                f"{type(self).__name__}.process() takes {{'in': Chunk}}, got {got}; pass {{'in': Chunk(x, t0=seconds)}}"
            ) from None
        x = chunk_data(c, self.lead, self.dtype)
        if x is None:
            return {}
        x, mask = sanitize(self, x, self._policy)
        y = self.transform(x)
        gap = False
        if not all_finite(y):  # finite input, non-finite output: the node's own arithmetic overflowed
            y, gap = self._overflowed(y), True
        mask = self.output_mask(mask, x.shape[-1])
        if mask is not None:
            y[mask] = np.nan
        return {"out": Chunk(y, c.t0, gap=gap)}

    def finish(self) -> dict[str, Any]:
        """The stream is over: the next chunk starts a new one (one node, many files), as after a tail flush. A node
        given a second recording after finish() filtered it on from the first one's state."""
        self.reset()
        return {}

    def end_segment(self, t_next: float | None = None) -> dict[str, Any]:
        """Before a chunk flagged gap: the segment is over, the next starts fresh (a new stream's state), so nothing on
        either side of the gap sees the other (principle 5; as MNE's raw.filter filters each contiguous segment). The
        IIR filters, filterbank and running_zscore held nothing back to emit; they filtered on across the gap, the
        samples after it from the state left by those before (fir overrides this with its flushed tail)."""
        self.reset()
        return {}

    def _overflowed(self, y: np.ndarray) -> np.ndarray:
        """Finite samples near the dtype's limit (a corrupt file's 1e308) overflowed the state (an IIR filter's
        gain above 1): without this, inf in the state made every later output NaN. The state is reset, the
        non-finite outputs are zeroed (NaN under propagate), counted `overflow`, and the chunk flagged gap."""
        bad = ~np.isfinite(y)
        self.count("overflow", int(np.count_nonzero(bad)))
        self.reset()
        y = np.array(y, copy=True)
        y[bad] = np.nan if self._policy == "propagate" else 0.0
        return y
