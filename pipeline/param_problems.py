"""A node's parameters checked before it is made, and pydantic's errors about them, as graph problems
(pipeline.graph.make_node): each names the parameter, its line, its value (cut short) and the fix."""

from __future__ import annotations

import difflib
import json
import math
import reprlib
from collections.abc import Mapping
from types import NoneType, UnionType
from typing import Any, Literal, Union, get_args, get_origin

from .config import NodeConfig
from .node import Node
from .yaml_lines import lookalikes


class _Shown(reprlib.Repr):
    """reprlib, cut short also inside the YAML reader's list and dict subclasses (LineList, LineDict)."""

    def repr1(self, x, level):
        if isinstance(x, list):
            return self.repr_list(x, level)
        if isinstance(x, dict):
            return self.repr_dict(x, level)
        return super().repr1(x, level)


_SHOW = _Shown()
_SHOW.maxlevel, _SHOW.maxlist, _SHOW.maxtuple, _SHOW.maxdict, _SHOW.maxset = 2, 6, 6, 6, 6
_SHOW.maxstring, _SHOW.maxother = 80, 80


_TAG_WORDS = ("float", "int", "str", "bool", "bytes", "none", "list", "dict", "tuple", "set", "frozenset", "any")
_TAG_PREFIXES = ("function-", "lax-or-strict", "json-or-python", "is-instance", "literal", "union", "nullable")


def _item_path(rest: tuple, field: Any) -> list:
    """The list positions and mapping keys in a pydantic error's loc after the parameter's name, without the type tags
    pydantic puts there for a union ('float', 'list[float]', 'function-after[...]'); keys only where the parameter
    holds a mapping (bands: {alpha: null} was said as 'bands' is null)."""
    mapping = field is not None and ("dict[" in str(field.annotation) or "Mapping[" in str(field.annotation))
    out = []
    for x in rest:
        if isinstance(x, int):
            out.append(x)
        elif mapping and isinstance(x, str) and not ("[" in x or x in _TAG_WORDS or x.startswith(_TAG_PREFIXES)):
            out.append(x)
    return out


def shown(value: Any) -> str:
    """A parameter's value as an error message shows it: repr, cut short (a 64-value list, or a YAML alias
    bomb, whose full repr would be megabytes, or never end)."""
    return _SHOW.repr(value)


PYTHON = "<python>"  # the `file` of a graph built with GraphBuilder: its fixes are keyword arguments, not YAML lines


def _write(file: str, name: str, value: str) -> str:
    """`name: value` as a graph file's line, or `name=value` as GraphBuilder.add takes it (YAML's null: None), or
    `--set ID.name=value` where `file` is '--set ID' (the value came from --set: was the YAML line's form)."""
    if file.startswith("--set "):
        return f"{file}.{name}={value}"
    return f"{name}={'None' if value == 'null' else value}" if file == PYTHON else f"{name}: {value}"


def _fix_form(nc: NodeConfig, name: str, file: str) -> str:
    """The `file` _write writes a parameter's fix for: '--set ID' for one given by --set, else `file`."""
    return f"--set {nc.id}" if name in nc.overridden and file != PYTHON else file


def near_name(name: str, names: list[str]) -> str | None:
    """The name `name` was meant to be: one equal but for its case (RATE: rate), else difflib's closest, compared
    in lower case as node types are (registry.node_class: BANDPASS, FileSource)."""
    same = [n for n in names if n.lower() == name.lower()]
    close = same or difflib.get_close_matches(name.lower(), names, n=1)
    return close[0] if close else None


def _set(nc: NodeConfig, name: str) -> str:
    """' (from --set)' for a parameter given on the command line: the file's line shows another value."""
    return " (from --set)" if name in nc.overridden else ""


def _set_text_as_typed(nc: NodeConfig, cls: type[Node]) -> None:
    """A text parameter given by --set takes the text as typed where YAML read something else: a file name holding
    ': ' (a mapping) or starting with '- ' (a list), `rec.subject=01` (the number 1), `yes` (true)."""
    fields = getattr(getattr(cls, "Params", None), "model_fields", {})
    for name, text in nc.set_text.items():
        value = nc.params.get(name)
        if name in fields and fields[name].annotation in (str, str | None) and not isinstance(value, (str, NoneType)):
            nc.params[name] = text


def _number_types(annotation) -> set:
    """{int, float} members of a parameter's type, unless it also takes text or a bool."""
    args = set(get_args(annotation)) if get_args(annotation) else {annotation}
    if args & {str, bool}:
        return set()
    return args & {int, float}


def _unit_of(field) -> str:
    """'seconds' or 'samples', as a parameter's description states its unit ('' for neither): epochs' tmin is
    '(s)', join's max_wait 's of reference time' (their '-200ms' was given 'e.g. tmin: 1.0')."""
    import re

    if field is None:
        return ""
    text = (field.description or "").lower()
    if "samples" in text and "per second" not in text and "int" in str(field.annotation):
        return "samples"
    said = ("second" in text and "per second" not in text) or re.search(r"\(s[),]|\(s of\b|\bmany s of\b|^s of\b", text)
    return "seconds" if said else ""


def _as_number_hint(
    name: str, value, node_type: str, example: str = "1.0", file: str = "", seconds: bool | str = False
) -> str:
    """The fix for text where a number goes: the number it spells, when it is one with a decimal comma ('1,5') or a
    unit after it ('40 Hz', '1s'; the units are in `wavegraph nodes TYPE`), else a plain example. For a parameter
    in `seconds`, '10ms' or '2 min' is the number of seconds (was 'e.g. duration: 1.0'); `seconds` 'samples': one that
    counts samples, where '0.5s' is that time at the input's rate (was 'size: 0.5', itself refused)."""
    import re

    text = str(value).strip() if isinstance(value, str) else ""
    typed = text.translate(_TYPOGRAPHIC)  # `“40.0”` (a word processor's quotes), `−1.0` (U+2212): no quotes to remove
    if typed != text and re.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", typed):
        from .yaml_lines import lookalikes

        return f"write {_write(file, name, typed)}{lookalikes(text)}"
    if text.lower().lstrip("+-") in ("nan", "inf", "infinity"):  # written without quotes: "without quotes" misled
        return f"give a finite number (NaN and infinity are not accepted), e.g. {_write(file, name, '1.0')}"
    found = re.fullmatch(
        r"([-+]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?)\s*(hz|khz|s|sec|seconds?|samples?|ms|msec|milliseconds?|min|minutes?)?",
        text,
        re.I,
    )
    if found and (found.group(2) or "," in found.group(1) or text != found.group(1)):
        number, unit = found.group(1).replace(",", "."), (found.group(2) or "").lower()
        if re.fullmatch(r"[-+]?\d{1,3},\d{3}", found.group(1)):  # '1,500': a decimal comma or a thousands separator
            whole = found.group(1).replace(",", "")
            return (
                "write a plain number with a decimal point and no separator: "
                f"{_write(file, name, number)} or {_write(file, name, whole)}"
            )
        scale = {"ms": 1e-3, "msec": 1e-3, "millisecond": 1e-3, "milliseconds": 1e-3, "min": 60.0}
        scale |= {"minute": 60.0, "minutes": 60.0}
        if seconds == "samples" and (unit in scale or unit.startswith("s") and not unit.startswith("sample")):
            time = float(number) * scale.get(unit, 1.0)
            return (
                f"{name} counts samples, not seconds: write {_write(file, name, f'<{time:g} s x the stream rate>')} "
                f"(e.g. {_write(file, name, f'{round(time * 250)}')} at 250 Hz)"
            )
        if unit in scale:  # a time where no time goes (freq: 10ms): no number to give
            if not seconds:
                return f"write a number without quotes, e.g. {_write(file, name, example)}"
            return f"write it as a plain number of seconds: {_write(file, name, f'{float(number) * scale[unit]:g}')}"
        if unit == "khz":
            return f"write it as a plain number of Hz: {_write(file, name, f'{float(number) * 1000:g}')}"
        return (
            f"write a plain number (a decimal point, no unit: `wavegraph nodes {node_type}` has them): "
            f"{_write(file, name, number)}"
        )
    if found:  # '10' quoted (or from a template): the same number, unquoted; was 'e.g. chunk_size: 1.0' for an int
        return f"write it without quotes: {_write(file, name, text)}"
    return f"write a number without quotes, e.g. {_write(file, name, example)}"


_CURLY = "\u201c\u201d\u2018\u2019\u201e\u00ab\u00bb"  # a word processor's quotes, which YAML keeps in the text
_TYPOGRAPHIC = str.maketrans({**dict.fromkeys(_CURLY, ""), "\u2212": "-", "\u2013": "-", "\u2014": "-"})


def _in_curly_quotes(value: Any) -> bool:
    return isinstance(value, str) and len(value) > 1 and value[0] in _CURLY and value[-1] in _CURLY


def _curly(nc: NodeConfig, name: str, value: Any, file: str) -> tuple[str, int, str, str]:
    """The problem of a text in a word processor's quotes (`path: ‘rec.edf’`): YAML keeps them in the text."""
    said = f"node '{nc.id}' ({nc.type}): parameter '{name}' = {shown(value)}{_set(nc, name)} is in a word processor's "
    said += f"quotes ({value[0]} {value[-1]}), which YAML reads as part of the text"
    fix = f"write {_write(file, name, repr(value[1:-1]))} (plain quotes), or no quotes"
    return (file, nc.param_lines.get(name, nc.line), said, fix)


def _number_problems(nc: NodeConfig, cls: type[Node], file: str) -> dict:
    """YAML `true` or a quoted '1.0' where a number is needed: pydantic would read them as 1 and 1.0."""
    fields = getattr(getattr(cls, "Params", None), "model_fields", {})
    problems = {}
    for name, value in nc.params.items():
        field = fields.get(name)
        words = (
            [w for a in get_args(field.annotation) if get_origin(a) is Literal for w in get_args(a)] if field else []
        )
        if isinstance(value, str) and value in words:  # a word a number's type takes too: align's `delay: auto` was
            continue  # refused as 'text, not a number'
        if field is not None and isinstance(value, (bool, str)) and _number_types(field.annotation):
            what = "a boolean" if isinstance(value, bool) else "text"
            hint = _as_number_hint(
                name,
                value,
                nc.type,
                "1" if _number_types(field.annotation) == {int} else "1.0",
                _fix_form(nc, name, file),
                "samples" if _unit_of(field) == "samples" else _unit_of(field) == "seconds",
            )
            names = _names_fix(name, value, field.annotation, file)
            problems[name] = (
                file,
                nc.param_lines.get(name, nc.line),
                f"node '{nc.id}' ({nc.type}): parameter '{name}' = {shown(value)}{_set(nc, name)} is {what}, not a "
                + ("count or a list of names" if names else "number"),
                names or hint,
            )
        elif field is not None and file != PYTHON and _in_curly_quotes(value):
            problems[name] = _curly(nc, name, value, file)
        elif field is not None and (
            wrong := _out_of_range(name, value, field, str(nc.set_text.get(name, "")), _fix_form(nc, name, file))
        ):
            problems[name] = (
                file,
                nc.param_lines.get(name, nc.line),
                f"node '{nc.id}' ({nc.type}): parameter '{name}' = {_number_shown(value)}{_set(nc, name)} {wrong[0]}",
                wrong[1],
            )
        elif field is not None and isinstance(value, (list, dict)) and (at := _nonfinite_item(value, field.annotation)):
            problems[name] = (
                file,
                nc.param_lines.get(name, nc.line),
                f"node '{nc.id}' ({nc.type}): parameter '{name}'{at[0]} = {at[1]}{_set(nc, name)} is "
                + ("NaN, not a number" if "nan" in at[1].lower() else "infinite"),
                "give a finite number there (NaN and infinity are not accepted)",
            )
    return problems


_NONFINITE_TEXT = {"nan", ".nan", "inf", ".inf", "infinity"}  # what pydantic reads as a float NaN or infinity


def _takes_floats_only(annotation) -> bool:
    """A type holding floats and no text or Any (list[float], dict[str, tuple[float, float]]): its NaN is no value."""
    args = get_args(annotation)[1:] if get_origin(annotation) is dict else get_args(annotation)  # a mapping's values
    if not args:
        return annotation is float
    if any(a in (str, Any) for a in args):
        return False
    inner = [a for a in args if a not in (NoneType, Ellipsis, int)]
    return any(_takes_floats_only(a) for a in inner) and all(
        a is float or get_args(a) or get_origin(a) for a in inner if a is not float
    )


def _nonfinite_item(value, annotation) -> tuple[str, str] | None:
    """('[1]' or "['alpha'][1]", the item as written) of the first NaN or infinity inside a list or mapping of
    floats (`freq: [10, .nan]`, `[10, nan]` passed validate, and the sine's second channel was NaN: the check of
    NaN and infinity looked at single numbers only); None when there is none or the type takes text."""
    if not _takes_floats_only(annotation):
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        where = f"[{key!r}]" if isinstance(value, dict) else f"[{key}]"
        if isinstance(item, (list, tuple, dict)):
            if found := _nonfinite_item(item, float):
                return where + found[0], found[1]
        elif isinstance(item, float) and not math.isfinite(item):
            return where, f"{item}"
        elif isinstance(item, str) and item.strip().lower().lstrip("+-") in _NONFINITE_TEXT:
            return where, repr(item)
    return None


def _names_fix(name: str, value: Any, annotation: Any, file: str) -> str:
    """The fix for a name written where a count or a list of names goes (`channels: C3`, `channels: 'C3, C4'`): the
    list, even of one name. Was "write a number without quotes, e.g. channels: 1". "" for other parameters or values
    (a number quoted, '4', keeps the number's fix)."""
    import re

    takes_names = any(get_origin(a) is list and get_args(a) == (str,) for a in get_args(annotation))
    if not takes_names or not isinstance(value, str) or re.fullmatch(r"\s*[-+]?[\d.,]+(\s*\w*)\s*", value):
        return ""
    names = [n for n in re.split(r"[,;\s]+", value.strip()) if n]
    if file == PYTHON:
        return f"pass a list, even of one name: {name}={names!r}"
    said = ", ".join(n if re.fullmatch(r"[A-Za-z_][\w.\-]*", n) else json.dumps(n) for n in names)
    return f"write a list, even of one name: {name}: [{said}]"


def _braced_names(value: Any, field: Any) -> str:
    """`channels: {O1, O2}` (a Python set, written as in ezmsg's or Timeflux's code), which YAML reads as a mapping of
    nulls, for a parameter that takes a list: the names as the list to write ('O1, O2'); "" otherwise."""
    if not isinstance(value, dict) or not value or any(v is not None for v in value.values()):
        return ""
    annotation = getattr(field, "annotation", None)
    if not any(get_origin(a) is list for a in (annotation, *get_args(annotation))):
        return ""
    return ", ".join(map(str, value))


def _number_shown(value) -> str:
    """A number as a problem shows it: %g, or its digits cut short for an int too large for a float (`rate: 1` and
    400 zeros raised OverflowError out of validate)."""
    try:
        return f"{value:g}"
    except OverflowError:
        return shown(value)


MAX_INT = 2**63 - 1  # the largest float pydantic makes an int of ('exceeded maximum size' above it)
MAX_RATE = 1e9  # Hz: a `rate` above this is no signal's (a source at 1e20 Hz ran on for ever, 25 samples a chunk)


def _out_of_range(name: str, value: Any, field, written: str = "", file: str = "") -> tuple[str, str] | None:
    """(what is wrong, the fix) for a number no node can use, said before pydantic's words ('Input should be greater
    than 0' for NaN; 'Unable to parse input string as an integer, exceeded maximum size' for chunk_size: 1e20)."""
    kinds = _number_types(field.annotation)
    if not kinds or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    bounds = _bounds(field)
    example = field.default if isinstance(field.default, (int, float)) and not isinstance(field.default, bool) else None
    fix = (f"give {name} {bounds}" if bounds else "give a finite number") + (
        f", e.g. {_write(file, name, str(example))}" if example is not None else ""
    )
    if isinstance(value, float) and math.isnan(value):
        return "is NaN, not a number", fix
    if isinstance(value, float) and math.isinf(value):
        endless = NoneType in get_args(field.annotation)
        what = (
            "is infinite" if not written or "inf" in written.lower() else f"is infinite ({written} is beyond 1.8e308)"
        )
        return what, fix + (f"; for no limit, write {_write(file, name, 'null')}" if endless else "")
    if kinds == {int} and isinstance(value, float) and abs(value) > MAX_INT:  # 1e20 where a count goes
        return "is too large for a whole number (at most 2**63 - 1, about 9.2e18)", fix
    if name == "rate" and value > MAX_RATE:
        return (
            f"Hz is above {MAX_RATE:g} Hz",
            f"a rate is samples per second: e.g. {_write(file, 'rate', '250')} (EEG) or {_write(file, 'rate', '16000')} (speech)",
        )
    return None


def _param_problems(nc: NodeConfig, cls: type[Node], errors: list, file: str) -> list[tuple[str, int, str, str]]:
    """One line per parameter for the errors inside it (a list's items, a union's branches): the first, and how
    many more, so a 64-value list of the wrong type is one problem, not 64."""
    out: list[tuple[str, int, str, str]] = []
    inner: dict[str, list[int]] = {}  # parameter -> [its line's index in out, errors not shown]
    short: set[tuple] = set()  # tuples given too few values: one problem however many values are missing
    for err in errors:
        if err["type"] == "missing" and len(err["loc"]) > 1:
            if err["loc"][:-1] in short:
                continue
            short.add(err["loc"][:-1])
        if len(err["loc"]) > 1:
            name = str(err["loc"][0])
            if name in inner:
                inner[name][1] += 1
                continue
            inner[name] = [len(out), 0]
        out.append(_param_problem(nc, cls, err, file))
    for name, (i, more) in inner.items():
        if more and not out[i][2].endswith(_NULL):  # (null fails each branch of a union: one mistake)
            f, line, message, hint = out[i]
            out[i] = (f, line, f"{message} (and {more} more in '{name}')", hint)
    return out


def _param_problem(nc: NodeConfig, cls: type[Node], err: Mapping[str, Any], file: str) -> tuple[str, int, str, str]:
    if not err["loc"]:  # a check across parameters (a model validator): was "parameter '' = {...}; fix: give a ?"
        said, _, fix = str(err["msg"]).removeprefix("Value error, ").partition("; ")
        fix = fix.replace("--set NODE.", f"--set {nc.id}.") or f"`wavegraph nodes {nc.type}` lists its parameters"
        return (file, nc.line, f"node '{nc.id}' ({nc.type}): {said}", fix)
    name = str(err["loc"][0])
    fields = cls.Params.model_fields
    line = nc.param_lines.get(name, nc.line)
    if err["type"] == "missing" and len(err["loc"]) > 1 and (short := _too_short(nc, err, fields.get(name), file)):
        return (file, line, *short)
    if err["type"] == "missing" and name in nc.merged_params:  # `<<: *filt` gave it, the node's own params: replaced
        return (
            file,
            nc.line,
            f"node '{nc.id}' ({nc.type}): missing parameter '{name}': the node's own params: replaced the params its "
            f"<<: merge gave ({name}: {shown(nc.merged_params[name])}), whole (YAML merges keys one level deep)",
            f"anchor the params themselves (x-{nc.type}: &{nc.type} {{{name}: ...}}) and merge them inside: "
            f"params: {{<<: *{nc.type}, ...}}, or add {name} to this node's params",
        )
    if err["type"] == "missing":
        return (
            file,
            nc.line,
            f"node '{nc.id}' ({nc.type}): missing parameter '{name}'",
            f"pass {name}=<{type_label(fields[name].annotation)}>"
            if file == PYTHON
            else f"add params: {{{name}: <{type_label(fields[name].annotation)}>}}",
        )
    if err["type"] == "extra_forbidden":
        close = near_name(name, list(fields))  # --set src.RATE=1: was the list of all parameters
        hint = f"did you mean '{close}'?" if close else f"parameters are: {', '.join(fields) or 'none'}"
        head = name.partition(".")[0]
        if head in fields and head != name and name in nc.overridden:  # --set src.freq.1=3: was "did you mean 'freq'"
            want = type_label(fields[head].annotation)
            hint = f"--set gives a whole parameter: --set '{nc.id}.{head}=VALUE', VALUE a {want}" + (
                f" (or write {head} in the graph file: then --set {nc.id}.{name}=... sets that entry)"
                if "dict" in want
                else ""
            )
        if name in ("id", "type", "on_error") and name not in fields:  # --set src.type=noise: not 'dtype'
            hint = f"a node's {name} is no parameter: change it in the graph file ({name}: ... beside params)"
        if name == "params" and name not in fields:  # --set src.params={rate: 5}: one --set a parameter
            first = next(iter(fields), "name")
            hint = f"give each parameter its own --set: --set {nc.id}.{first}=VALUE (parameters: {', '.join(fields)})"
        if file == PYTHON and name in ("type", "params") and name not in fields:  # g.add(T, params={...}): not --set
            hint = (
                f"pass them as keywords: g.add('{nc.type}', *inputs, **params) (parameters: {', '.join(fields)})"
                if name == "params"
                else "a node's type is add()'s first argument: add another node for another type"
            )
        said = f"node '{nc.id}' ({nc.type}): unknown parameter '{name}'{lookalikes(name)}{_set(nc, name)}"
        return (file, line, said, hint)
    want = type_label(fields[name].annotation) if name in fields else "?"
    # which item of a list or key of a mapping (pydantic's loc past the name; not its type tags such as 'float')
    item = "".join(f"[{x!r}]" if isinstance(x, str) else f"[{x}]" for x in _item_path(err["loc"][1:], fields.get(name)))
    hint = f"give {'an' if want[:1] in ('a', 'e', 'i', 'o', 'u') else 'a'} {want}"
    msg = str(err["msg"])
    if err["type"] == "value_error" and "; fix: " in msg:  # a parameter's own validator: its words, then its fix
        msg, _, hint = msg.removeprefix("Value error, ").partition("; fix: ")
    elif file != PYTHON and not item and (names := _braced_names(err.get("input"), fields.get(name))):
        hint = f"write the list in [ ]: {_write(file, name, f'[{names}]')} ({{ }} is a mapping in YAML)"
    elif err["type"] == "list_type" and isinstance(err.get("input"), (str, int, float)):  # `picks: Cz`: one item
        item_text = repr(err["input"]) if file == PYTHON else err["input"]
        hint = f"write a list, even of one item: {_write(file, name, f'[{item_text}]')}"
    elif err["type"] in _BOUND_ERRORS and name in fields and _bounds(fields[name]):  # not "give an int", which it is
        hint = f"give {name} {_bounds(fields[name])}"
    if err.get("input") is None and not item and name in fields:  # `rate:` with nothing after it: YAML's null
        default = fields[name].get_default(call_default_factory=True)  # (a factory's: it printed PydanticUndefined)
        leave = "leave it out" if file == PYTHON else "remove the line"
        keep = "" if fields[name].is_required() else f", or {leave} for its default ({default!r})"
        said = f"node '{nc.id}' ({nc.type}): parameter '{name}'{_set(nc, name)} is {_NULL[file == PYTHON]}"
        return (file, line, said, f"{hint}{keep}")
    return (
        file,
        line,
        f"node '{nc.id}' ({nc.type}): parameter '{name}'{item} = {shown(err.get('input'))}{_set(nc, name)}: {msg}",
        hint,
    )


def _too_short(nc: NodeConfig, err: Mapping[str, Any], field: Any, file: str) -> tuple[str, str] | None:
    """A tuple given too few values (`baseline: [0.1]`, `bands: [[8, 12], [30]]`): pydantic says its missing position
    'Field required', which was said as "missing parameter 'baseline'" though it is there. (message, fix), or None
    where the parameter holds no tuple of one length."""
    name, given = str(err["loc"][0]), err.get("input")
    if field is None:
        return None
    lengths = {len(get_args(t)) for t in _tuples_in(field.annotation)}
    if len(lengths) != 1 or not isinstance(err["loc"][-1], int) or not isinstance(given, (list, tuple)):
        return None
    tup = _tuples_in(field.annotation)[0]
    item = "".join(f"[{x}]" for x in _item_path(err["loc"][1:-1], field))  # (the tuple's place in a list of them)
    n = len(get_args(tup))
    values = [json.dumps(v) if file != PYTHON else repr(v) for v in given]
    example = f"[{', '.join(values + [f'<{type_label(a)}>' for a in get_args(tup)[len(given) :]])}]"
    said = f"node '{nc.id}' ({nc.type}): parameter '{name}'{item} = {shown(given)}{_set(nc, name)}: "
    said += f"{len(given)} value{'s' * (len(given) != 1)} where it takes {n} (a {type_label(tup)})"
    return said, f"give all {n}: " + (_write(file, name, example) if not item else f"{name}{item}: {example}")


def _tuples_in(annotation: Any) -> list:
    """The fixed-length tuple types inside a parameter's type (tuple[float, float] in list[tuple[float, float]])."""
    if get_origin(annotation) is tuple and Ellipsis not in get_args(annotation):
        return [annotation]
    return [t for a in get_args(annotation) for t in _tuples_in(a)]


_NULL = ("null (no value)", "None")  # a graph file's empty value; Python's
_BOUND_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
_OPERATORS = {"Gt": ">", "Ge": ">=", "Lt": "<", "Le": "<="}  # annotated_types' bounds (Field(gt=...), ...)


def _bounds(field) -> str:
    """A parameter's bounds as text, e.g. '>= 1 and <= 20' (empty when it has none)."""
    ops = [
        (_OPERATORS[type(m).__name__], getattr(m, type(m).__name__.lower()))
        for m in field.metadata
        if type(m).__name__ in _OPERATORS
    ]
    return " and ".join(f"{op} {bound}" for op, bound in ops)


def type_label(annotation) -> str:
    """A short readable name for a parameter's type, e.g. float, list[str] | None, 'zero'|'propagate'."""
    if get_origin(annotation) is Literal:
        return "|".join(repr(a) for a in get_args(annotation))
    if get_origin(annotation) in (Union, UnionType):  # Optional[Literal[...]]: each part by this rule
        return " | ".join("None" if a is type(None) else type_label(a) for a in get_args(annotation))
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")
