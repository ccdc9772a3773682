"""`null_sink`: takes any stream and keeps nothing: the end of a branch whose output is not needed (a benchmark's
last node, a path tried before its recorder exists). The run's summary shows what it received (chunks in); it
counts the samples (or frames) too, `samples`."""

from __future__ import annotations

from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import NodeParams, Sink
from wavegraph.pipeline.spec import StreamSpec


class NullSink(Sink[NodeParams]):
    """Discards every chunk, counting its samples."""

    Params = NodeParams

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        self.axis = self.require_input(in_specs).time_axis
        return {}

    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        self.count("samples", inputs["in"].n_times(self.axis))
        return {}
