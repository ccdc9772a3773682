"""GraphBuilder.stop() while the graph was still being built (a model node loading its weights, an amplifier being
resolved) returned False and stopped nothing: the run that followed went on for ever in its thread."""

import threading

import numpy as np
from wavegraph.pipeline.api import GraphBuilder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Source
from wavegraph.pipeline.spec import signal_spec

CONFIGURING, GO = threading.Event(), threading.Event()


class SlowToStart(Source):
    """A live source that never ends and whose configure() takes until GO (a model or a device loading)."""

    live = True

    def configure(self, in_specs):
        CONFIGURING.set()
        assert GO.wait(10)
        self.i = 0
        return {"out": signal_spec(100.0, ["a"])}

    def read(self):
        self.i += 1
        return {"out": Chunk(np.zeros((1, 10)), t0=(self.i - 1) / 10)}


def test_a_stop_while_the_graph_is_built_ends_the_run_that_follows():
    CONFIGURING.clear()
    GO.clear()
    g = GraphBuilder()
    g.add(f"{__name__}:SlowToStart", id="src")
    t = threading.Thread(target=lambda: g.run(capture=["src"]), daemon=True)
    t.start()
    assert CONFIGURING.wait(10)
    assert g.stop() is True  # was False: the run was not registered until its graph was built
    GO.set()
    t.join(10)
    assert not t.is_alive()
