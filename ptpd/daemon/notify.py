"""sd_notify: readiness, watchdog, status and stopping messages to systemd (``Type=notify``).

The protocol is one datagram of ``KEY=VALUE`` lines to the AF_UNIX socket named by
``$NOTIFY_SOCKET`` (a leading ``@`` means the Linux abstract namespace). Without that
variable every call is a no-op, so the daemon runs the same under a shell.

``STATUS=`` (what ``systemctl status`` shows) follows the camera link: the notifier sits on
the link's event stream (:meth:`Notifier.follow`) and turns each ``status.connection``
event into one line (:func:`connection_status`), e.g. ``connected to X-T1`` or
``reconnecting in 2 s: connection refused``.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Callable
from typing import Any

from ptpd.bus import ConnectionState, Topic

log = logging.getLogger(__name__)

#: the tail the camera link puts on a failed attempt's detail (ptpd.daemon.link)
_RETRY = re.compile(r"^(?P<why>.*); retrying in (?P<delay>[0-9.]+) ?s$")


def connection_status(state: str, detail: str) -> str | None:
    """The ``STATUS=`` line for a ``status.connection`` event; None leaves the last one up.

    A retry's "connecting" (``attempt N``) is None: between attempts "reconnecting in 2 s:
    why" stays, rather than flickering once per attempt.
    """
    if state == ConnectionState.CONNECTED:
        return f"connected to {detail}" if detail else "connected to the camera"
    if state == ConnectionState.CONNECTING:
        return None if detail else "connecting to the camera"
    if state == ConnectionState.PAIRING:
        return f"pairing: {detail}" if detail else "pairing: accept ptpd on the camera"
    if state == ConnectionState.DISCONNECTED:
        m = _RETRY.match(detail)
        if m:
            return f"reconnecting in {float(m['delay']):g} s: {m['why']}"
        return f"disconnected: {detail}" if detail else "disconnected"
    if state == ConnectionState.STOPPING:
        return "stopping"
    return f"{state}: {detail}" if detail else state


class Notifier:
    """Sends sd_notify messages; silent when not started by systemd."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        addr = env.get("NOTIFY_SOCKET", "")
        self._addr: str | bytes | None = None
        if addr:
            self._addr = "\0" + addr[1:] if addr.startswith("@") else addr
        self.watchdog_interval: float | None = None
        self._status = ""
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            # systemd wants a ping well inside the limit; half is what sd_watchdog_enabled(3) advises
            self.watchdog_interval = int(usec) / 1e6 / 2

    @property
    def enabled(self) -> bool:
        return self._addr is not None

    def notify(self, message: str) -> bool:
        """Send one message (``"READY=1"``, ``"WATCHDOG=1"``, ...); False if it could not go."""
        if self._addr is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.connect(self._addr)
                s.sendall(message.encode())
            return True
        except OSError as exc:
            log.warning("sd_notify %s failed: %s", message.split("\n", 1)[0], exc)
            return False

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def status(self, status: str) -> bool:
        return self.notify(f"STATUS={status}")

    def follow(self, publish: Callable[[str, dict[str, Any]], int]) -> Callable[[str, dict[str, Any]], int]:
        """``publish`` (the camera link's event sink) that also puts each change of the
        connection state into ``STATUS=``; ``publish`` itself when not under systemd."""
        if self._addr is None:
            return publish

        def publish_and_tell(topic: str, data: dict[str, Any]) -> int:
            if topic == Topic.CONNECTION:
                text = connection_status(str(data.get("state", "")), str(data.get("detail", "")))
                if text is not None and text != self._status:
                    self._status = text
                    self.status(text)
            return publish(topic, data)

        return publish_and_tell

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")
