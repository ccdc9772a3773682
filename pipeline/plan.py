"""What crosses the process boundary of a multi-process run, as typed dataclasses in JSON (never pickle).

The parent writes one `WorkerPlan` per process group: the group's own node configs (id, type, params,
on_error, YAML lines), the edges that touch them, the spec the parent computed on every input and
output, and one receiver per incoming edge (where to bind) and one sender per outgoing edge (where
to connect comes later, from the parent, once the receiver has bound). The worker never reads the
YAML file again.

Control messages go both ways on one ZeroMQ ROUTER (parent) / DEALER (worker, identity = group)
socket, one JSON object each, `{"type": NAME, ...fields}`. A run goes:

    worker -> parent  Ready(group, endpoints)   receivers bound (tcp on port 0: the bound port is here)
    parent -> worker  Start(endpoints)          where each of the worker's senders connects
    worker -> parent  Connected(group)          every sender has finished its handshake
    parent -> worker  Go()                      every edge of the graph is connected: sources start
    parent -> worker  Moved(endpoints)          a restarted process bound its receivers anew: the
                                                senders of those edges reconnect (on_error: restart)
    worker -> parent  Progress(group, t)        replay position, for the progress bar
    worker -> parent  Live(group, stats)        about twice a second when the plan asks (`live`): the
                                                statistics so far (NodeStats.to_dict per node), for
                                                the runner's observer (live monitor, status line)
    worker -> parent  Ended(edge, seq)          the worker sent end-of-stream on a crossing edge
    parent -> worker  Ended(edge, seq)          forwarded to the receiving worker: only then does it
                                                accept that edge's end-of-stream frame (seq must match)
    worker -> parent  StopRequest(group, why)   the worker got a signal: the parent stops the run
    parent -> worker  Stop()                    end the sources; the graph drains by itself
    parent -> worker  Abort()                   the drain deadline passed: stop now, close the nodes
    worker -> parent  Error(group, message)     a node failed (on_error: stop) or set-up failed
    worker -> parent  Stats(group, stats, code) the end: NodeStats per node (NodeStats.to_dict)
    parent -> worker  Release()                 every process has reported: senders may close
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar, dataclass_transform

from .config import EdgeConfig, GraphConfig, NodeConfig


@dataclass(frozen=True)
class ReceiverPlan:
    edge: str  # "src.out -> bp.in"
    target_node: str
    target_port: str
    bind: str  # ipc://PATH, or tcp://HOST:0 (the worker reports the port it got)
    policy: str
    queue: int
    spec: dict  # StreamSpec.to_dict()
    shm: str = ""  # shared-memory edge: its segment name prefix (pipeline.shm); "" for a plain ZeroMQ edge


@dataclass(frozen=True)
class SenderPlan:
    edge: str
    policy: str
    queue: int
    spec: dict
    shm: str = ""  # as ReceiverPlan.shm
    shm_min: int = 0  # payloads from this many bytes go through the ring (smaller ones whole in the lane if they fit)


def _json_ok(value) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


@dataclass
class WorkerPlan:
    group: str
    file: str  # the graph file, for error messages and for finding user modules beside it
    name: str
    transport: str
    speed: float | None
    progress: bool
    control: str  # the parent's ROUTER endpoint
    wavegraph_file: str  # the parent's wavegraph package: the worker must import the same one
    nodes: list[NodeConfig]
    edges: list[EdgeConfig]  # every edge that starts or ends at one of this group's nodes
    in_specs: dict[str, dict[str, dict]]  # node -> port -> StreamSpec.to_dict()
    out_specs: dict[str, dict[str, dict]]  # node -> port -> spec, as the parent configured it
    receivers: list[ReceiverPlan] = field(default_factory=list)
    senders: list[SenderPlan] = field(default_factory=list)
    live: bool = False  # send Live statistics about twice a second (the parent has an observer)
    security: dict = field(default_factory=dict)  # CURVE key file paths (pipeline.curve), never the keys
    heartbeat: float = 0.0  # > 0: send Heartbeat every heartbeat/5 s; the parent calls it lost after this
    monitor: str = ""  # the live monitor hub's tcp endpoint (--monitor under --ray; locally: the environment)
    incarnation: int = 0  # restarts of this group so far (on_error: restart); its shm rings number above
    parent_host: str = ""  # the parent's socket.gethostname(): on that host its configure() warnings are the worker's
    cpus: list[int] = field(default_factory=list)  # `cpus:` of the group: pin the process and its I/O thread
    duration: float | None = None  # the run's `duration` (run --duration): result.run_duration() in the worker

    def config(self) -> GraphConfig:
        """The group's part of the graph, for the Executor."""
        return GraphConfig(
            self.file,
            self.name,
            list(self.nodes),
            list(self.edges),
            {self.group: [n.id for n in self.nodes]},
            {},
            self.transport,
        )

    def to_json(self) -> str:
        # a class of the script or notebook that runs the graph (GraphBuilder's '__main__:MyNode'): the worker, started
        # as python -m wavegraph.pipeline.worker, has another __main__, and failed with "module '__main__' has no
        # attribute 'MyNode'; it defines no node class: write `class MyNode(Node):` there" once the run had begun
        main = next((n for n in self.nodes if n.type.partition(":")[0] == "__main__"), None)
        if main is not None:
            cls = main.type.partition(":")[2]
            raise ValueError(
                f"process '{self.group}': node '{main.id}' ({main.type}) is a class of this script or notebook "
                "(__main__), which its worker process cannot import; run every node in one process "
                f"(GraphBuilder.run(in_process=True), the default), or put the class in a module (mynodes.py beside "
                f"the script, type 'mynodes:{cls}')"
            )
        try:
            return json.dumps(asdict(self))
        except (TypeError, ValueError) as e:  # a YAML value JSON cannot hold (a date, bytes), an array (Python)
            where = next(
                (
                    f"node '{n.id}' ({n.type}) param '{k}' ({type(v).__name__}): "
                    for n in self.nodes
                    for k, v in n.params.items()
                    if not _json_ok(v)
                ),
                "",
            )
            raise ValueError(
                f"process '{self.group}': a node parameter cannot be sent to its worker: {where}{e}; "
                "run every node in one process (GraphBuilder.run(in_process=True), wavegraph run --in-process), "
                "or give the parameter as text, numbers or lists"
            ) from None

    @classmethod
    def from_json(cls, text: str) -> WorkerPlan:
        d = json.loads(text)
        d["nodes"] = [NodeConfig(**n) for n in d["nodes"]]
        d["edges"] = [EdgeConfig(**e) for e in d["edges"]]
        d["receivers"] = [ReceiverPlan(**r) for r in d["receivers"]]
        d["senders"] = [SenderPlan(**s) for s in d["senders"]]
        return cls(**d)


# --- control messages ----------------------------------------------------------------------------
MESSAGES: dict[str, type] = {}
_M = TypeVar("_M")


@dataclass_transform(frozen_default=True)
def message(cls: type[_M]) -> type[_M]:
    """Register a control message dataclass under its class name."""
    MESSAGES[cls.__name__] = cls
    return dataclass(frozen=True)(cls)


@message
class Ready:
    group: str
    endpoints: dict  # edge -> the endpoint its receiver is bound to


@message
class Start:
    endpoints: dict  # edge -> where this worker's sender connects


@message
class Moved:
    endpoints: dict  # edge -> the new endpoint of its receiver (a restarted process)


@message
class Connected:
    group: str


@message
class Go:
    pass


@message
class Progress:
    group: str
    t: float


@message
class Live:
    group: str
    stats: dict  # node id -> NodeStats.to_dict(), counts so far


@message
class Ended:
    edge: str
    seq: int  # of the end-of-stream frame its sender sent; SENDER_GONE: the sender died without one


SENDER_GONE = -1  # Ended.seq from the parent when the edge's process died: the receiver ends the edge with what came


@message
class StopRequest:
    group: str
    why: str


@message
class Stop:
    pass


@message
class Abort:
    pass


@message
class Error:
    group: str
    message: str


@message
class Stats:
    group: str
    stats: dict  # node id -> NodeStats.to_dict()
    code: int


@message
class Release:
    pass


@message
class Closing:  # worker -> parent: its graph has ended, it is closing its nodes (recorders finalise their files)
    group: str


@message
class Heartbeat:  # worker -> parent, when the plan asks (another host): silence means the host is gone
    group: str


@message
class ClockProbe:  # parent -> worker: the parent's wall and monotonic clocks (ns), for the offsets (pipeline.clock)
    t0: int
    m0: int


@message
class ClockReply:  # worker -> parent, at once: the probe's stamps and the worker's clocks on receipt
    group: str
    t0: int
    t1: int
    m0: int
    m1: int


@message
class Clocks:  # parent -> worker, before Go and after each clock burst: ns to add to origin_ns per edge
    shifts: dict  # edge -> (receiver's monotonic clock - sender's), so that latency spans hosts
    rates: dict  # edge -> how fast that shift changes (ns per ns, the clocks' relative drift), from now on


class BadMessage(ValueError):
    pass


def encode(msg: Any) -> bytes:
    return json.dumps({"type": type(msg).__name__, **asdict(msg)}).encode()


def decode(data: bytes) -> Any:
    """A control message from its JSON; BadMessage when it is not one."""
    try:
        d = json.loads(data)
        cls = MESSAGES[d.pop("type")]
        names = {f.name for f in fields(cls)}
        if set(d) != names:
            raise BadMessage(f"{cls.__name__}: fields {sorted(d)}, expected {sorted(names)}")
        return cls(**d)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise BadMessage(f"not a control message: {e}") from None
