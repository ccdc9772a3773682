"""Two test 'hosts': network namespaces joined by a veth pair (you are root), removed afterwards. Used by the
multi-host tests (CURVE edges, placement over hosts)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import uuid

from conftest import need


def ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)


@contextlib.contextmanager
def veth_hosts(subnet: str, prefix: str = "wg"):
    """Namespaces A (`subnet`.1) and B (`subnet`.2), e.g. subnet '10.231.7', joined by a veth pair, loopback up in
    each; yields {'a': name, 'b': name, 'link_b': B's end of the pair}. Skips (fails under CI=true) where `ip` is
    missing or `ip netns add` is refused."""
    need(shutil.which("ip"), "the `ip` tool (iproute2) is not installed")
    tag = uuid.uuid4().hex[:6]
    a, b = f"{prefix}a{tag}", f"{prefix}b{tag}"
    made = []
    try:
        for ns in (a, b):
            r = ip("netns", "add", ns)
            need(r.returncode == 0, f"`ip netns add` is not permitted here: {r.stderr.strip()}")
            made.append(ns)
        for c in (
            ("link", "add", f"va{tag}", "type", "veth", "peer", "name", f"vb{tag}"),
            ("link", "set", f"va{tag}", "netns", a),
            ("link", "set", f"vb{tag}", "netns", b),
            ("-n", a, "addr", "add", f"{subnet}.1/24", "dev", f"va{tag}"),
            ("-n", b, "addr", "add", f"{subnet}.2/24", "dev", f"vb{tag}"),
            ("-n", a, "link", "set", f"va{tag}", "up"),
            ("-n", b, "link", "set", f"vb{tag}", "up"),
            ("-n", a, "link", "set", "lo", "up"),
            ("-n", b, "link", "set", "lo", "up"),
        ):
            r = ip(*c)
            assert r.returncode == 0, f"ip {' '.join(c)}: {r.stderr}"
        yield {"a": a, "b": b, "link_b": f"vb{tag}"}
    finally:
        for ns in made:
            ip("netns", "del", ns)  # removes its end of the veth pair, and so the pair
