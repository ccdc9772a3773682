"""What a graph checks of a node class (a user's `type: mymod:Class` above all) before it runs: a class the
runtime cannot drive (a node with no process(), a source with no read(), ports written as text) was accepted
by `validate` and then failed mid-run with a bare NotImplementedError, or ran and gave nothing (a Node with
no inputs is never called), exit 0."""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import math
import numbers
import os
import sys

from .node import Node, NodeParams, Source
from .spec import StreamSpec


def _where(cls: type) -> str:
    """`Doubler (mynode.py)`: the class and the file it is written in."""
    try:
        path = inspect.getsourcefile(cls) or ""
    except TypeError:
        path = ""
    return f"{cls.__name__} ({os.path.basename(path)})" if path else cls.__name__


def class_problem(node: Node) -> tuple[str, str] | None:
    """(what is wrong, the fix) for a node the runtime could not run as written, or None."""
    cls = type(node)
    if not all(name in vars(node) for name in ("params", "counters", "in_specs")):  # was AttributeError: 'params'
        return (
            f"class {_where(cls)}: its __init__ does not call Node's, so the node has no params, counters or specs",
            "call super().__init__(**params) first in __init__ (its parameters are then in self.params)",
        )
    for which in ("inputs", "outputs"):
        ports = getattr(node, which)
        if isinstance(ports, str):  # `inputs = "in"`: the ports 'i' and 'n'
            return (
                f"class {_where(cls)} has {which} = {ports!r}, text, not a tuple of port names",
                f"write {which} = ({ports!r},) (a tuple: the comma counts)",
            )
        if not isinstance(ports, (tuple, list)) or not all(isinstance(p, str) and p for p in ports):
            return (
                f"class {_where(cls)} has {which} = {ports!r}, not a tuple of port names",
                f"write {which} = ('in',) or a tuple of the names (() for none)",
            )
        unusable = [p for p in ports if "." in p or p != p.strip() or not p.isprintable()]
        if unusable:  # `out.x`: no edge could name it (`my.out.x` is refused as no node.port)
            return (
                f"class {_where(cls)} has the port {unusable[0]!r}, which no edge can name (an edge end is node.port)",
                "name its ports with letters, digits and _ (no '.'), e.g. 'out_x'",
            )
        twice = [p for i, p in enumerate(ports) if p in ports[:i]]
        if twice:  # ('in', 'in'): one port, said twice
            return (f"class {_where(cls)} lists the port {twice[0]!r} twice in {which}", "list each port once")
    if isinstance(node, Source):
        missing = [m for m in ("configure", "read") if getattr(cls, m) is getattr(Source, m)]
        if missing:
            said = " and ".join(f"{m}()" for m in missing)
            return (
                f"class {_where(cls)} is a Source without {said}: the run would fail with NotImplementedError",
                "define configure(self, in_specs) returning {'out': StreamSpec} and read(self) returning "
                "{'out': Chunk} (None at the end of the stream)",
            )
        return _peer_hook_problem(cls)
    if not node.inputs:
        return (
            f"class {_where(cls)} has no inputs but is not a Source: nothing would ever call it and the run would "
            "end with no output",
            "subclass wavegraph.pipeline.node.Source (from wavegraph.pipeline.node import Source) and return "
            "{'out': Chunk} from read(), None at the end",
        )
    if cls.process is Node.process:
        timeflux = " (Timeflux's update() is not called: its work goes in process)" if hasattr(cls, "update") else ""
        return (
            f"class {_where(cls)} defines no process(): the run would fail with NotImplementedError at the first chunk",
            f"define process(self, inputs) returning {{port: Chunk}} for its outputs ({{}} for none yet){timeflux}",
        )
    return _peer_hook_problem(cls)


_SIGNATURES = {"process": "process(self, inputs)", "read": "read(self)", "finish": "finish(self)"}
_SIGNATURES |= {"configure": "configure(self, in_specs)", "open": "open(self)"}
_HOOKS = {"setup": ("LabGraph's", "open"), "initialize": ("ezmsg's", "open"), "cleanup": ("LabGraph's", "close")}
_HOOKS["shutdown"] = ("ezmsg's", "close")


def _peer_hook_problem(cls: type) -> tuple[str, str] | None:
    """A class of one's own with LabGraph's setup() or ezmsg's initialize() (or their cleanup/shutdown), which the
    runtime never calls: validate said OK, and the run failed at the first chunk ('object has no attribute k', the
    attribute setup() was to make). Not when a base class has the method (SignalNode's setup(spec) is called) or
    the class calls it itself (a helper of that name)."""
    if cls.__module__.partition(".")[0] == "wavegraph":
        return None
    for name in ("process", "read", "finish", "configure", "open"):  # ezmsg's async def / async generators
        method = vars(cls).get(name)
        kind = (
            "async"
            if inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)
            else "a generator"
            if inspect.isgeneratorfunction(method)
            else ""
        )
        if kind:
            once = "None at the end of the stream" if name == "read" else "{} for none yet"
            return (
                f"class {_where(cls)}: {name}() is {kind} (ezmsg's and LabGraph's way), which wavegraph calls as a "
                "plain function: the run would fail at its first call",
                f"write a plain def {_SIGNATURES[name]} that returns"
                + (" one {port: Chunk} per call (" + once + ")" if name in ("process", "read", "finish") else "")
                + " (no async, no yield)",
            )
    for name, (whose, ours) in _HOOKS.items():
        if not callable(vars(cls).get(name)) or any(name in vars(base) for base in cls.__mro__[1:]):
            continue
        if f".{name}(" in _own_source(cls):  # self.setup() in its own code or a base's of one's own: a helper
            continue
        when = "once where the node runs, before the first chunk" if ours == "open" else "once at the end of the run"
        plain = " (a plain def: nothing awaits it)" if inspect.iscoroutinefunction(vars(cls)[name]) else ""
        return (
            f"class {_where(cls)} defines {name}(), {whose} hook, which wavegraph never calls: its work is not done",
            f"rename it {ours}(self){plain}: wavegraph calls {ours}() {when}",
        )
    return None


def _own_source(cls: type) -> str:
    """The source of `cls` and of its bases of one's own (a base's open() may call the subclass's setup(), as a
    template method does), not wavegraph's nor the standard library's."""
    parts = []
    for c in cls.__mro__:
        top = c.__module__.partition(".")[0]
        if top == "wavegraph" or top in sys.stdlib_module_names or top == "builtins":
            continue
        try:
            parts.append(inspect.getsource(c))
        except (OSError, TypeError):
            pass
    return "\n".join(parts)


def not_a_node_reason(value: object, attr: str, module_name: str) -> str:
    """Why `module:attr` is no node class (None: the module has no `attr`), and how to make it one (the hint of
    an UnknownNodeType)."""
    module = sys.modules.get(module_name)
    where = os.path.basename(getattr(module, "__file__", "") or "") or f"module '{module_name}'"
    if value is None:  # `mynode:Dobuler`: was "module 'mynode' has no attribute 'Dobuler'", and no fix
        names = [
            n
            for n, v in vars(module).items()
            if isinstance(v, type) and issubclass(v, Node) and v.__module__ == module_name  # not an imported Node
        ]
        close = difflib.get_close_matches(attr, names, n=1, cutoff=0.5)
        said = f"did you mean {module_name}:{close[0]}?" if close else ""
        said = said or (
            f"its node classes: {', '.join(names)}"
            if names
            else f"it defines no node class: write `class {attr}(Node):` there"
        )
        return f"module '{module_name}' has no attribute '{attr}'; {said}"
    if isinstance(value, type):
        return (
            f"'{attr}' in {where} is a plain class, not a wavegraph node: write "
            f"`class {attr}(Node):` (from wavegraph.pipeline.node import Node, NodeParams; a source: Source, "
            "with read()), its parameters as fields of a nested `class Params(NodeParams)`"
        )
    return f"'{attr}' in {where} is not a class but a value of type {type(value).__name__}: name a class, e.g. mymod:MyNode"


def params_class_problem(cls: type) -> tuple[str, str] | None:
    """A class whose `Params` is no NodeParams: a pydantic BaseModel of its own ignored a misspelt parameter
    (`kk: 3` for k: the default ran); a dataclass failed the build with a traceback ('Params' object is not
    iterable)."""
    params = getattr(cls, "Params", NodeParams)
    if isinstance(params, type) and issubclass(params, NodeParams):
        return None
    what = (
        "a pydantic BaseModel"
        if hasattr(params, "model_fields")
        else "a dataclass"
        if hasattr(params, "__dataclass_fields__")
        else f"{params!r}"
    )
    return (
        f"class {_where(cls)} has Params = {what}, not a NodeParams: its parameters would not be checked "
        "(a misspelt one ignored)",
        "write class Params(NodeParams): with its fields (from wavegraph.pipeline.node import NodeParams)",
    )


def specs_problem(node: Node, out: dict) -> tuple[str, str] | None:
    """What configure() returned that is not {output port: StreamSpec} for every output: a port of another name
    (was said as only the missing one), a value that is no StreamSpec (was AttributeError: 'int' object has no
    attribute 'rate', a traceback)."""
    outputs = tuple(node.outputs)
    missing = [p for p in outputs if p not in out]
    extra = [str(p) for p in out if p not in outputs]
    if missing or extra:
        said = [f"gave no spec for {', '.join(repr(p) for p in missing)}"] if missing else []
        said += [f"a spec for {', '.join(repr(p) for p in extra)}, which is no output"] if extra else []
        return f"configure() {' and '.join(said)}", f"return a spec for each of its outputs ({', '.join(outputs)})"
    for port, spec in out.items():
        if not isinstance(spec, StreamSpec):
            return (
                f"configure() returned {type(spec).__name__} for output '{port}', not a StreamSpec",
                "return {'" + str(port) + "': a StreamSpec}, e.g. signal_spec(rate, ch_names) from "
                "wavegraph.pipeline.spec, or an input's spec (in_specs['in'])",
            )
    return None


def type_path_fix(type_name: str, dirs: list[str]) -> str:
    """The `type:` to write for a class of one's own named as a file or by a dotted name ("" when it is not
    one): `ns.py:B`, `./ns:B` and `sub/ns:B` failed to import with Python's words ("No module named 'ns.py'",
    "the 'package' argument is required"), `ns.B` was taken for an unknown built-in type."""
    module, colon, attr = type_name.partition(":")
    if not colon:
        module, _, attr = type_name.rpartition(".")
        top = module.partition(".")[0]
        if not (module and attr and top.isidentifier()):
            return ""
        here = any(os.path.exists(os.path.join(d, f"{top}.py")) or os.path.isdir(os.path.join(d, top)) for d in dirs)
        try:
            here = here or importlib.util.find_spec(top) is not None
        except (ImportError, ValueError):
            pass
        return f"a class of your own is named module:Class: write type: {module}:{attr}" if here else ""
    dotted = module.strip()
    while dotted.startswith(("./", ".\\")):
        dotted = dotted[2:]
    if dotted.endswith(".py"):
        dotted = dotted[:-3]
    dotted = dotted.replace("/", ".").replace("\\", ".").strip(".")
    if dotted == module and (dotted or not attr):  # a module name as Python writes it (`ns:` lists its classes)
        return ""
    what = f"write type: {dotted}:{attr}" if dotted else f"write type: MODULE:{attr}, MODULE the file holding {attr}"
    return (
        f"{what} (the module's Python name: no .py, no folder path; it is looked for beside the graph file, "
        "then in the current folder)"
    )


def latency_problem(node: Node) -> tuple[str, str] | None:
    """A latency_samples no path can add up: text crashed `describe` (TypeError: unsupported operand type(s) for
    /: 'str' and 'float'), NaN or a negative count printed nan ms or a path faster than its own input."""
    n = node.latency_samples
    if isinstance(n, numbers.Real) and not isinstance(n, bool) and math.isfinite(n) and n >= 0:
        return None
    return (
        f"configure() left latency_samples = {n!r}, not a count of samples",
        "set self.latency_samples to the samples of delay or lookahead it adds, a whole number >= 0 (0: none)",
    )
