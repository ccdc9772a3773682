"""The CURVE key files a graph names (`security:`, the graph's and each group's), checked when the graph is built
(`wavegraph validate`, `run`, the API's build) rather than when a worker opens its first tcp edge: an unreadable or
malformed file, a public half where the secret one is needed, and, with per-process keys, a `NAME.key` beside a
`NAME.key_secret` that is missing or holds another pair's key. Each problem names the file's line, the process and
the fix (pipeline/curve.py has the rules; docs/multihost.md the set-up).

What is checked is what this host holds. A key file that is not on this machine is a note, not a problem: a
deployment's secret keys are not on every machine that validates its graph, and a group on another host (`host:`,
`--ray`'s `on:`) needs its files there; a process that runs here and lacks one fails at its start, saying so.
An environment variable (WAVEGRAPH_SERVER_KEY, ...) wins over the YAML on the host where it is set: here, the file
it names is checked instead. Notes of `validate` (key_notes) also say a secret key file that others may read (ssh
refuses such a private key; zmq reads it; `wavegraph keys` writes mode 600) and two groups given the same key pair
(either can pose as the other: per-process keys are to keep them apart)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from .curve import ENV, public_path

_MAKE = "`wavegraph keys NAME` writes NAME.key and NAME.key_secret"


def _make(path: str) -> str:
    """The command that makes the pair a key file's name asks for."""
    stem = path.removesuffix("_secret").removesuffix(".key") if path.endswith((".key", ".key_secret")) else path
    return f"`wavegraph keys {stem}` (writes {os.path.basename(stem)}.key and {os.path.basename(stem)}.key_secret)"


def _resolve(path: str, base_dir: str) -> str:
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(base_dir, path))


def _secret_of(named: str) -> str:
    return named + "_secret" if named.endswith(".key") else named


def _read(path: str) -> tuple[bytes | None, bool, str, str]:
    """(public key, holds a secret key, why unusable, fix) of a key file ("" when usable)."""
    import zmq.auth

    if not os.path.lexists(path):
        return None, False, "no such file", f"correct the path, or make the pair with {_make(path)}"
    if os.path.islink(path) and not os.path.exists(path):
        return None, False, f"is a broken link (to {os.readlink(path)})", "link it to the key file, or name the file"
    if os.path.isdir(path):
        return None, False, "is a folder, not a key file", f"name a key file in it ({_MAKE})"
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        return None, False, f"cannot be read ({e.strerror or e})", "give the user that runs the graph read access to it"
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (ValueError, OSError, UnicodeDecodeError) as e:
        return None, False, f"is not a CURVE key file ({e})", f"name a key file, or make one with {_make(path)}"
    return public, secret is not None, "", ""


def _all_placed(config) -> bool:
    """Every process group is placed by --ray (`on:`): the driver runs none of them."""
    return bool(config.placement) and set(config.processes) <= set(config.placement)


def _where(group: str | None) -> str:
    return f"process '{group}': " if group else ""


def _edges_in(config) -> dict[str, list[str]]:
    """group -> the edges it receives from another group (its receivers bind with its server_key)."""
    group_of = {n: g for g, ns in config.processes.items() for n in ns}
    out: dict[str, list[str]] = {}
    for e in config.edges:
        src, dst = group_of.get(e.source_node), group_of.get(e.target_node)
        if src and dst and src != dst:
            out.setdefault(dst, []).append(str(e))
    return out


def _entries(config, doc, line_of) -> Iterator[tuple[str | None, str, str, int, str]]:
    """(group or None, field, path as named, line, where it came from) of every key file named."""
    env = {k: os.environ.get(v, "") for k, v in ENV.items()}
    raw_groups = doc.get("processes") if isinstance(doc.get("processes"), dict) else {}
    sections = [(None, config.security, doc.get("security"))]
    sections += [(g, s, (raw_groups.get(g) or {}).get("security")) for g, s in config.process_security.items()]
    for group, sec, raw in sections:
        for key, value in sec.items():
            line = line_of(raw, key)
            if env[key]:  # wins over the YAML on this host
                for path in env[key].split(os.pathsep) if key == "clients" else [env[key]]:
                    yield group, key, path, line, f" ({ENV[key]}, which wins over this line here)"
                continue
            for path in value if key == "clients" else [value]:
                yield group, key, path, line, ""


def key_file_problems(config, doc, line_of) -> list[tuple[str, int, str, str]]:
    """Problems with the key files `config` names that this host can see (module docstring)."""
    if not config.security:
        return []
    base = os.path.dirname(os.path.abspath(config.file))
    receives = _edges_in(config)
    own_server = {g for g, s in config.process_security.items() if "server_key" in s}
    problems: list[tuple[str, int, str, str]] = []
    said: set[tuple] = set()
    for group, key, named, line, source in _entries(config, doc, line_of):
        path = _resolve(named, base)
        _, has_secret, why, fix = _read(path)
        shown = named + source + (f" ({path})" if path != named else "")
        if why:
            if "no such file" in why and not source:  # (a variable set on this host names a file for this host)
                continue  # on the host that runs it, maybe (a deployment's secrets are not on every machine): a note
            if (group, key, path) not in said:
                said.add((group, key, path))
                problems.append((config.file, line, f"{_where(group)}security: {key} {shown}: {why}", fix))
            continue
        if key == "client_key" and not has_secret and not (group is None and _all_placed(config)):
            # (every group placed by --ray: the driver only reads the client's public half, curve.allowed)
            problems.append(
                (
                    config.file,
                    line,
                    f"{_where(group)}security: client_key {shown} holds only a public key; a process connects "
                    "(its senders, and to the parent's control socket) with its client's secret key",
                    f"name {_secret_of(named)}, the secret half of that pair ({_MAKE})",
                )
            )
        if key == "server_key" and not has_secret:
            users = [group] if group else [g for g in config.processes if g not in own_server]
            edges = [f"edge {e} is received" for g in users for e in receives.get(g, [])]
            if not group and config.placement:  # a graph for --ray: the driver's control socket binds with it
                edges.append("under --ray the parent's control socket binds")
            if edges:
                problems.append(
                    (
                        config.file,
                        line,
                        f"{_where(group)}security: server_key {shown} holds only a public key, and {edges[0]} "
                        "with it (a CURVE server binds with the server's secret key)",
                        f"name {_secret_of(named)}, the secret half of that pair ({_MAKE}); the public "
                        "NAME.key is for a host that only sends",
                    )
                )
        if config.process_security and key in ("server_key", "client_key") and named.endswith(".key_secret"):
            # the others find this group's public key in NAME.key beside it (pipeline.curve.public_path)
            half = public_path(path)
            mine, _, why, _ = _read(half)
            theirs = _read(path)[0]
            if why and not (group in config.placement and "no such file" in why):  # (its secret is here)
                problems.append(
                    (
                        config.file,
                        line,
                        f"{_where(group)}security: {key} {shown}: its public half {half}: {why}; the other processes "
                        "(and the parent) read this process's public key from it",
                        f"copy NAME.key beside NAME.key_secret ({_MAKE})",
                    )
                )
            elif not why and mine != theirs:
                problems.append(
                    (
                        config.file,
                        line,
                        f"{_where(group)}security: {key} {shown}: {half} beside it holds another pair's public key, "
                        "so no peer would complete a CURVE handshake with this process",
                        f"put the NAME.key of the same pair beside it ({_MAKE})",
                    )
                )
    return problems


def key_notes(config) -> list[str]:
    """What `validate` adds about the key files: those of a group placed by --ray that are not on this host
    (checked where it runs), secret key files others may read, and groups that share a key pair."""
    if not config.security:
        return []
    base = os.path.dirname(os.path.abspath(config.file))
    notes: list[str] = []
    pairs: dict[bytes, list[str]] = {}
    sections = [(None, config.security)] + list(config.process_security.items())
    for group, sec in sections:
        for key in ("server_key", "client_key"):
            if key not in sec or os.environ.get(ENV[key]):
                continue
            path = _resolve(sec[key], base)
            public, has_secret, why, _ = _read(path)
            if why:
                if "no such file" not in why:
                    continue  # (a graph error: key_file_problems)
                if group in config.placement:
                    notes.append(
                        f"{_where(group)}security: {key} {sec[key]} is not on this machine; it is checked where the "
                        "process runs (--ray places it by its on:), so it must be there at that path"
                    )
                else:
                    notes.append(
                        f"{_where(group)}security: {key} {sec[key]} ({path}) is not on this machine: a process that "
                        "runs here fails without it (at its first tcp edge), one on another host needs it there; fix: copy the "
                        f"pair from where it was made, or for a new deployment make one with {_make(path)}"
                    )
                continue
            if has_secret and os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                notes.append(
                    f"{_where(group)}security: {key} {sec[key]} is a secret key that other users may read (mode "
                    f"{stat.S_IMODE(os.stat(path).st_mode):o}): any of them can pose as this process; "
                    f"fix: chmod 600 {path} (as `wavegraph keys` writes it; ssh refuses a private key so open)"
                )
            if public is not None and has_secret:
                pairs.setdefault(public, []).append(f"{key} of {f'process {group!r}' if group else 'the graph'}")
    for users in pairs.values():
        if len(users) > 1:
            notes.append(
                f"security: one key pair is the {' and the '.join(users)}: whoever holds it can pose as either; "
                f"fix: give each its own pair ({_MAKE})"
            )
    return notes
