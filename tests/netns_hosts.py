"""Two "hosts" for a test: network namespaces joined by a veth pair, each with its own address.

Nothing of it exists outside the two namespaces (no address, no route in the test's own
namespace), and everything is removed on :meth:`Hosts.close` (also when making them
fails halfway, or the ``with`` block raises), every command under a timeout. Names carry
the pid of the process that made them, so :func:`sweep` removes what a killed run left
and never touches a live one's.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import subprocess
from collections.abc import Sequence

#: the two hosts' addresses, inside their namespaces only
ADDRESSES = ("10.77.0.1", "10.77.0.2")
PREFIX = 24
TIMEOUT = 10.0
_NAME = re.compile(r"^ptprig(\d+)-\d+-[ab]$")
_counter = itertools.count(1)


def unavailable() -> str | None:
    """Why namespaces cannot be made here (None: they can)."""
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    missing = [c for c in ("ip", "nsenter") if shutil.which(c) is None]
    return f"missing commands: {', '.join(missing)} (iproute2, util-linux)" if missing else None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cp = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=TIMEOUT)
    if check and cp.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {cp.stderr.strip()}")
    return cp


def sweep() -> None:
    """Remove the namespaces of runs whose process is gone."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for line in _ip("netns", "list", check=False).stdout.splitlines():
            name = line.split()[0] if line.strip() else ""
            m = _NAME.match(name)
            if m and not os.path.exists(f"/proc/{m.group(1)}"):
                _ip("netns", "del", name, check=False)


class Hosts:
    """Namespaces ``a`` and ``b`` (:data:`ADDRESSES`), joined by a veth pair."""

    def __init__(self) -> None:
        n, pid = next(_counter), os.getpid()
        self.names = (f"ptprig{pid}-{n}-a", f"ptprig{pid}-{n}-b")
        self.made: list[str] = []

    def __enter__(self) -> Hosts:
        sweep()
        a, b = self.names
        ifa, ifb = (f"prg{os.getpid() % 100000}{x}" for x in "ab")
        try:
            for ns in self.names:
                _ip("netns", "add", ns)
                self.made.append(ns)
            _ip("link", "add", ifa, "netns", a, "type", "veth", "peer", "name", ifb, "netns", b)
            for ns, dev, addr in ((a, ifa, ADDRESSES[0]), (b, ifb, ADDRESSES[1])):
                _ip("-n", ns, "addr", "add", f"{addr}/{PREFIX}", "dev", dev)
                _ip("-n", ns, "link", "set", "lo", "up")
                _ip("-n", ns, "link", "set", dev, "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove both namespaces (the veth pair goes with them). Never raises."""
        for ns in reversed(self.made):
            with contextlib.suppress(OSError, subprocess.SubprocessError, RuntimeError):
                _ip("netns", "del", ns, check=False)
        self.made.clear()

    def run_in(self, host: int, args: Sequence[str]) -> list[str]:
        """``args`` wrapped to run in host ``host``'s namespace (0: a, 1: b); ``nsenter``
        execs it, so the pid is the command's own."""
        return ["nsenter", f"--net=/run/netns/{self.names[host]}", "--", *args]
