"""One end of a CURVE edge, run inside a network namespace by tests/test_multihost_curve.py.

python curve_peer.py recv ENDPOINT SECURITY_JSON OUT.npz DEADLINE_S
python curve_peer.py send ENDPOINT SECURITY_JSON OUT.json [CONNECT_WAIT_S]

The receiver ends at end-of-stream, at DEADLINE_S, or once OUT.npz.stop exists (the test writes it when the sender
has exited) and nothing has come for 0.2 s. A sender that never connected tries every chunk without waiting.
"""

import json
import os
import sys
import time

import numpy as np
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.curve import EdgeSecurity
from wavegraph.pipeline.spec import StreamSpec
from wavegraph.pipeline.transport import EdgeReceiver, EdgeSender

SPEC = StreamSpec("signal", 250.0, (4,), "float32")
EDGE = "src.out -> sink.in"


def data() -> np.ndarray:
    return np.random.default_rng(7).standard_normal((4, 2000)).astype(np.float32)


def main() -> int:
    role, endpoint, security = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    sec = EdgeSecurity(security, "/", role)
    import zmq

    ctx = zmq.Context()
    if role == "recv":
        out, deadline = sys.argv[4], time.monotonic() + float(sys.argv[5])
        rx = EdgeReceiver(endpoint, SPEC, context=ctx, name=EDGE, secure=sec.hook(endpoint, EDGE, ctx, server=True))
        print("bound", flush=True)
        parts = []
        while time.monotonic() < deadline:
            chunk = rx.recv(timeout=0.2)
            if chunk is None:
                if os.path.exists(out + ".stop"):  # the sender has exited, and nothing more came
                    break
                continue
            if chunk.eos:
                break
            parts.append(np.array(chunk.data))
        rx.close()
        sec.stop()
        got = np.concatenate(parts, axis=1) if parts else np.zeros((4, 0), np.float32)
        np.savez(out, data=got, refused=sec.refused.get(EDGE, 0), received=rx.counters["received"])
    else:
        tx = EdgeSender(endpoint, SPEC, context=ctx, linger_ms=3000, secure=sec.hook(endpoint, EDGE, ctx, server=False))
        connected = tx.wait_connected(float(sys.argv[5]) if len(sys.argv) > 5 else 10.0)
        x = data()
        queued, wait = 0, 0.2 if connected else 0.0  # refused: each send finds no peer (21 x 0.2 s otherwise)
        for i in range(0, x.shape[1], 100):
            queued += tx.send(Chunk(x[:, i : i + 100], i / 250.0), timeout=wait)
        queued += tx.send(Chunk.end(), timeout=wait)
        tx.close(linger_ms=3000 if connected else 0)
        with open(sys.argv[4], "w") as f:
            json.dump({"connected": connected, "queued": queued}, f)
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
