"""CURVE (encryption and authentication) on tcp edges between hosts, with pyzmq's CURVE and ZAP.

Keys are made by `wavegraph keys NAME` (NAME.key: the public key; NAME.key_secret: both keys, mode 600),
the same files as zmq.auth.create_certificates. A graph names the files, never the keys:

    security:
      server_key: keys/server.key_secret   # receivers (CURVE servers) bind with it; a sender-only host
                                           # may name keys/server.key (the public half) instead
      client_key: keys/client.key_secret   # senders (CURVE clients) connect with it
      clients: [keys/client.key]           # public keys a receiver accepts (default: client_key's)

Each path may instead come from the environment of the host the process runs on (WAVEGRAPH_SERVER_KEY,
WAVEGRAPH_CLIENT_KEY, WAVEGRAPH_CLIENT_KEYS separated by os.pathsep); an environment variable wins over
the YAML. A relative path is relative to the graph file's folder. The plan that reaches a worker holds
paths only: a secret key never leaves its host.

Per-process keys: a `processes:` entry may have its own `security:` with the same fields; its process
then binds its receivers with its own server_key, connects its senders with its own client_key and
accepts its own `clients` (default: the client_keys of the processes that send to it; the graph's
`clients` is not passed down). A sender finds a receiving process's public key in NAME.key beside the
NAME.key_secret that process names (or in the file named, when it is a public one; server_key and
client_key must be named NAME.key_secret or NAME.key): the plan names, per edge, the receiving process's
server key and, per process, the client keys of its senders, public halves only. The graph's own
`security:` stays required: the parent's control socket uses its server_key, and accepts every
process's client_key and the graph's `clients`.

Rules: with `security:` every tcp edge is CURVE (both ends, the same rule); ipc edges never are. Without
it, a tcp edge whose receiver binds (or whose sender connects to) an address that is not loopback is
refused before any socket is opened. A receiver accepts a client only if its public key is listed: a
refused handshake is counted per edge (`rx_refused_peers` in the summary: a client key not listed, refused by the
ZAP handler; a sender holding another server key or none, which libzmq refuses before the ZAP handler is asked, is
counted by the receiver's socket monitor, pipeline.receiver) and no frame from that peer reaches the graph. A sender whose peer does not hold the server's secret key never completes its
handshake, so it sends nothing to an impostor.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import zmq
import zmq.auth

if TYPE_CHECKING:  # imported when a CURVE server starts (_start_auth): it imports asyncio and ssl, ~30 ms of every
    from zmq.auth.thread import ThreadAuthenticator  # worker's and command's start-up, most of which use no CURVE

ENV = {"server_key": "WAVEGRAPH_SERVER_KEY", "client_key": "WAVEGRAPH_CLIENT_KEY", "clients": "WAVEGRAPH_CLIENT_KEYS"}
FIELDS = tuple(ENV)
# A CURVE sender that has not completed its handshake after this many seconds was refused.
HANDSHAKE_S = float(os.environ.get("WAVEGRAPH_CURVE_HANDSHAKE_S", "10"))
_Z85_KEY = re.compile(r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")


class KeyFileError(RuntimeError):
    """A key file that cannot be used (missing, not a key, a secret needed but only the public half)."""


def make_keys(name: str) -> tuple[str, str]:
    """Write NAME.key (public) and NAME.key_secret (public and secret, mode 600); refuse to overwrite."""
    folder, base = os.path.split(os.path.abspath(name))
    public, secret = os.path.join(folder, f"{base}.key"), os.path.join(folder, f"{base}.key_secret")
    for path in (public, secret):
        if os.path.exists(path):
            raise FileExistsError(f"{path} exists; remove it first or choose another NAME")
    os.makedirs(folder, exist_ok=True)
    old = os.umask(0o077)  # the secret file is never readable by others, not even for a moment
    try:
        public, secret = zmq.auth.create_certificates(folder, base)
    finally:
        os.umask(old)
    os.chmod(secret, 0o600)
    os.chmod(public, 0o644)
    return public, secret


def looks_like_key(value: str) -> bool:
    """A z85 CURVE key (40 characters) or a certificate's text written into the YAML itself."""
    text = value.strip()
    return (bool(_Z85_KEY.match(text)) and not os.path.exists(text)) or "curve" in text and "-----" in text


def parse_security(file: str, raw, problems: list, line_of) -> dict:
    """Check the top-level `security:` mapping; returns {field: path or [paths]} (paths as written)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(
            (
                file,
                line_of(raw),
                "'security' must be a mapping of key files",
                "write security: {server_key: keys/server.key_secret, client_key: keys/client.key_secret}",
            )
        )
        return {}
    out: dict = {}
    for key, value in raw.items():
        line = line_of(raw, key)
        if key not in FIELDS:
            problems.append((file, line, f"security: unknown key '{key}'", f"use {', '.join(FIELDS)}"))
            continue
        values = value if key == "clients" else [value]
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            problems.append(
                (
                    file,
                    line,
                    f"security: {key} must name {'key files' if key == 'clients' else 'a key file'}",
                    f"write {key}: {'[keys/client.key]' if key == 'clients' else 'keys/NAME.key_secret'}",
                )
            )
            continue
        if any(looks_like_key(v) for v in values):
            problems.append(
                (
                    file,
                    line,
                    f"security: {key} holds a key itself; keys never go in the graph file",
                    "make a key pair with `wavegraph keys NAME` and name its file (NAME.key_secret), or set "
                    f"{ENV[key]} to the file's path",
                )
            )
            continue
        if key != "clients" and not value.endswith((".key_secret", ".key")):
            # a sender finds a receiver's public key in NAME.key beside its NAME.key_secret (public_path):
            # under any other name, the senders' plans would name the receiver's secret file
            problems.append(
                (
                    file,
                    line,
                    f"security: {key} {value} is not named NAME.key_secret (or NAME.key, its public half)",
                    "name it NAME.key_secret, with NAME.key beside it; `wavegraph keys` makes both",
                )
            )
            continue
        out[key] = list(values) if key == "clients" else value
    return out


def public_path(path: str) -> str:
    """The public half's file of a key pair named by either file (`wavegraph keys` writes both; the
    config refuses other names: parse_security)."""
    if not path.endswith((".key_secret", ".key")):
        raise KeyFileError(f"{path}: a key file is named NAME.key_secret (or NAME.key, the public half)")
    return path[: -len("_secret")] if path.endswith(".key_secret") else path


def process_security(security: dict, per_process: dict, group: str, incoming: dict, outgoing: dict) -> dict:
    """The key paths process `group` needs: the graph's `security:` overridden by its own (per_process:
    group -> its `security:`), plus, with per-process keys, `peers` (edge -> the public key file of the
    process that receives it; "control" -> the parent's) and `senders` (the public client key files of
    the processes that send to it: whom its receivers accept unless `clients` is given). `incoming`:
    edge -> sending group, `outgoing`: edge -> receiving group."""
    if not per_process:
        return dict(security)

    def of(g: str) -> dict:
        return {**security, **per_process.get(g, {})}

    # the graph's `clients` is for the parent's control socket (parent_security), never a group's:
    # it would replace the senders each receiver accepts
    out = {k: v for k, v in security.items() if k != "clients"} | per_process.get(group, {})
    out["peers"] = {e: public_path(of(g)["server_key"]) for e, g in outgoing.items() if "server_key" in of(g)}
    if "server_key" in security:  # the parent's sockets: control, and the live monitor's hub
        out["peers"]["control"] = out["peers"]["monitor"] = public_path(security["server_key"])
    out["senders"] = sorted({public_path(of(g)["client_key"]) for g in incoming.values() if "client_key" in of(g)})
    return out


def parent_security(security: dict, per_process: dict) -> dict:
    """The parent's keys (its control socket): the graph's, accepting every process's client key and
    the graph's `clients` (which, with per-process keys, no process's receivers use)."""
    if not per_process:
        return dict(security)
    clients = {public_path(s["client_key"]) for s in per_process.values() if "client_key" in s}
    if "client_key" in security:
        clients.add(public_path(security["client_key"]))
    clients.update(security.get("clients", []))
    return {**{k: v for k, v in security.items() if k != "clients"}, "senders": sorted(clients)}


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_host(endpoint: str) -> str | None:
    """The host of a tcp:// endpoint; None for ipc:// and inproc://."""
    scheme, _, rest = endpoint.partition("://")
    return rest.rpartition(":")[0] if scheme == "tcp" else None


def _resolve(path: str, base_dir: str) -> str:
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.join(base_dir, path)


_SAID_OPEN: set[str] = set()  # secret key files said to be open to others, once per process


def _load(path: str, what: str, secret: bool, env: str = "", remote: bool = False) -> tuple[bytes, bytes | None]:
    if not os.path.exists(path):  # (zmq said 'Invalid certificate file'; a remote host's file is only seen there)
        raise KeyFileError(
            f"{what}: {path} is not on this host; fix: copy the key file here at that path (a plan names paths, "
            "never keys)" + (f", or set {env} to where it is on this host" if env else "") + " (docs/multihost.md)"
        )
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as e:
        raise KeyFileError(f"{what}: cannot read key file {path}: {e}") from None
    if secret and secret_key is not None and remote and path not in _SAID_OPEN and os.stat(path).st_mode & 0o077:
        _SAID_OPEN.add(path)  # (the parent's host: the run says it once, pipeline.key_checks.key_notes)
        logging.getLogger("wavegraph.curve").warning(
            "%s: %s is a secret key that other users of this host may read (mode %o): any of them can pose as this "
            "process; fix: chmod 600 %s",
            what,
            path,
            os.stat(path).st_mode & 0o777,
            path,
        )
    if secret and secret_key is None:
        raise KeyFileError(
            f"{what}: {path} holds only a public key; this host needs the secret one ({Path(path).stem}.key_secret)"
        )
    return public, secret_key


class EdgeSecurity:
    """The keys of one worker and, once a receiver needs it, a ZAP authenticator on its zmq.Context."""

    def __init__(self, security: dict, base_dir: str, where: str = ""):
        self.where = where or "this process"
        self.paths: dict = {}
        for key in FIELDS:
            env = os.environ.get(ENV[key])
            if env:
                self.paths[key] = env.split(os.pathsep) if key == "clients" else env
            elif key in security:
                self.paths[key] = security[key]
        self.security = security  # as given (the monitor's hub takes the parent's)
        self.peers: dict[str, str] = dict(security.get("peers", {}))  # per-process keys: edge -> public key file
        self.senders: list[str] = list(security.get("senders", []))  # ... the client keys sending to us
        self.base_dir = base_dir
        self.enabled = bool(security) or any(os.environ.get(v) for v in ENV.values())
        self.refused: dict[str, int] = {}  # edge -> handshakes refused
        self.remote = False  # on another host than the parent's: says what the parent's checks could not see
        self._auth: ThreadAuthenticator | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_plan(cls, plan) -> EdgeSecurity:
        """The keys of a worker, from its WorkerPlan."""
        import socket

        security = cls(plan.security, os.path.dirname(os.path.abspath(plan.file)), f"process '{plan.group}'")
        security.remote = bool(plan.parent_host) and plan.parent_host != socket.gethostname()
        return security

    def _key(self, key: str, secret: bool) -> tuple[bytes, bytes | None]:
        if key not in self.paths:
            raise KeyFileError(f"{self.where}: a CURVE edge needs security.{key} (or {ENV[key]})")
        path = _resolve(self.paths[key], self.base_dir)
        return _load(path, f"{self.where}: security.{key}", secret, ENV[key], self.remote)

    def allowed(self) -> set[bytes]:
        paths = self.paths.get("clients") or self.senders or None
        if paths is None:
            return {self._key("client_key", False)[0]}
        return {_load(_resolve(p, self.base_dir), f"{self.where}: security.clients", False)[0] for p in paths}

    def hook(self, endpoint: str, edge: str, ctx: zmq.Context, server: bool):
        """What the transport calls on an edge's socket before bind/connect (None: nothing to do).
        Raises when a tcp endpoint off this host would be opened without CURVE."""
        host = endpoint_host(endpoint)
        if host is None:
            return None
        if not self.enabled:
            if not is_loopback(host):
                raise KeyFileError(
                    f"{self.where}: edge {edge} would cross hosts ({endpoint}) without encryption; "
                    "add security: {server_key: ..., client_key: ...} to the graph "
                    "(make keys with `wavegraph keys NAME`)"
                )
            return None
        if server:
            public, secret = self._key("server_key", True)
            self._start_auth(ctx, edge, self.allowed())
            path = _resolve(self.paths["server_key"], self.base_dir)
            # what the receiver's warning names when libzmq refuses a sender before the ZAP handler (EdgeReceiver)
            note = (
                f"the sender must hold this receiver's server key, {public_path(path)} (the public half of "
                f"security.server_key {path} of {self.where}): copy that file to the sending host at the path its "
                "graph names (security.server_key, or the receiving process's with per-process keys; "
                "WAVEGRAPH_SERVER_KEY there wins), and run it with the graph's security: section (docs/multihost.md)"
            )

            def setup(sock: zmq.Socket, bind: bool, endpoint: str) -> str | None:
                sock.curve_server = True
                sock.curve_publickey, sock.curve_secretkey = public, secret
                sock.zap_domain = edge.encode()
                return note
        else:
            if edge in self.peers:  # per-process keys: the receiving process's own server key
                path = _resolve(self.peers[edge], self.base_dir)
                server_public = _load(path, f"{self.where}: the server key of edge {edge}'s receiver", False)[0]
            else:
                server_public = self._key("server_key", False)[0]
                path = _resolve(self.paths["server_key"], self.base_dir)
            public, secret = self._key("client_key", True)
            client = _resolve(self.paths["client_key"], self.base_dir)
            # what a send without a timeout says when the receiver refuses this sender (EdgeSender._wait_room)
            note = (
                f"this sender ({self.where}) holds the server key {path} and the client key {client}: the receiver "
                "must bind with that server key's secret half (its security.server_key) and accept this client key's "
                "public half (security.clients, or its default) (docs/multihost.md)"
            )

            def setup(sock: zmq.Socket, bind: bool, endpoint: str) -> str | None:
                sock.curve_serverkey = server_public
                sock.curve_publickey, sock.curve_secretkey = public, secret
                return note

        return setup

    def check_handshake(self, edge: str, endpoint: str, waited_s: float) -> None:
        """Raise when a CURVE sender has waited HANDSHAKE_S for its handshake: its key was refused (or
        the receiver holds another server key), and the run would otherwise wait at its start forever."""
        if self.enabled and endpoint_host(endpoint) is not None and waited_s > HANDSHAKE_S:
            raise KeyFileError(
                f"{self.where}: edge {edge}: no CURVE handshake with {endpoint} in {HANDSHAKE_S:.0f} s: "
                "the receiver does not accept this process's client_key (security.clients), or "
                "this process's server_key is not the receiver's"
            )

    def _start_auth(self, ctx: zmq.Context, edge: str, allowed: set[bytes]) -> None:
        with self._lock:
            if self._auth is None:
                from zmq.auth.thread import ThreadAuthenticator

                self._auth = ThreadAuthenticator(ctx, log=_quiet_log())
                self._auth.start()
            self._auth.configure_curve_callback(domain=edge, credentials_provider=_Allowed(self, allowed))

    def stop(self) -> None:
        if self._auth is not None:
            self._auth.stop()
            self._auth = None


class _Allowed:
    def __init__(self, owner: EdgeSecurity, keys: set[bytes]):
        self.owner, self.keys = owner, keys

    def callback(self, domain: str, key: bytes) -> bool:
        if key in self.keys:
            return True
        self.owner.refused[domain] = self.owner.refused.get(domain, 0) + 1
        return False


def _quiet_log():
    import logging

    return logging.getLogger("wavegraph.curve")


def keys_main(argv: list[str]) -> int:
    """`wavegraph keys NAME`: write a CURVE key pair."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="wavegraph keys", description="make a CURVE key pair for tcp edges between hosts")
    p.add_argument("name", help="path prefix: writes NAME.key (public, share it) and NAME.key_secret (keep it)")
    args = p.parse_args(argv)
    for suffix in (".key_secret", ".key"):  # `keys k/server.key_secret` wrote server.key_secret.key_secret
        if args.name.endswith(suffix) and args.name[: -len(suffix)].strip("/ "):
            args.name = args.name[: -len(suffix)]
            print(f"wavegraph keys: NAME is the pair's name without {suffix}: making {args.name}", file=sys.stderr)
            break
    base = os.path.basename(args.name)
    # '', '.', 'keys/' or 'keys' that is a folder: the keys were named after it, beside it (keys.key, not keys/...)
    if not base.strip() or base in (".", "..") or os.path.isdir(args.name):
        folder = os.path.isdir(args.name) or base in ("", ".") and args.name.strip()
        example = os.path.join(args.name.strip() if folder else "keys", "gpu")
        print(
            f"error: NAME {args.name!r} is a folder or blank, not a file name; fix: give one, e.g. {example}",
            file=sys.stderr,
        )
        return 2
    try:
        public, secret = make_keys(args.name)
    except (FileExistsError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"public key: {public}\nsecret key: {secret} (mode 600; stays on this host)")
    return 0
