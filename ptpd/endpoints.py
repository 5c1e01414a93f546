"""The daemon's endpoints: where its three sockets are by default, the environment
variables that move them, and how one endpoint's neighbours are named.

Part of the bus contract (:mod:`ptpd.bus` re-exports every name here).
"""

from __future__ import annotations

import os
from typing import NamedTuple

ENV_COMMAND = "PTPD_COMMAND_ENDPOINT"
ENV_EVENT = "PTPD_EVENT_ENDPOINT"
ENV_LIVEVIEW = "PTPD_LIVEVIEW_ENDPOINT"
ENV_RUNTIME = "PTPD_RUNTIME_DIR"
#: the control lease token a client sends with its requests (set by ``ptpctl lock -- CMD``)
ENV_LEASE = "PTPD_LEASE"
#: CURVE keys every client reads when none is passed in: the daemon's public key, and the
#: client's own key pair (files from ``ptpd keys``, or z85 text)
ENV_CURVE_SERVER_KEY = "PTPD_CURVE_SERVER_KEY"
ENV_CURVE_CLIENT_KEY = "PTPD_CURVE_CLIENT_KEY"


def runtime_dir() -> str:
    """Where the default ipc:// sockets live: ``$PTPD_RUNTIME_DIR``, else
    ``$XDG_RUNTIME_DIR/ptpd``, else ``/run/ptpd`` (root) or ``/tmp/ptpd-<uid>``."""
    explicit = os.environ.get(ENV_RUNTIME)
    if explicit:
        return explicit
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return os.path.join(xdg, "ptpd")
    if os.geteuid() == 0:
        return "/run/ptpd"
    return f"/tmp/ptpd-{os.geteuid()}"


class Endpoints(NamedTuple):
    """The three sockets of one daemon."""

    command: str
    event: str
    liveview: str

    def as_dict(self) -> dict[str, str]:
        return {"command": self.command, "event": self.event, "liveview": self.liveview}


def default_endpoints() -> Endpoints:
    """Endpoints from the environment, else ipc:// sockets in :func:`runtime_dir`."""
    base = runtime_dir()
    return Endpoints(
        command=os.environ.get(ENV_COMMAND) or f"ipc://{base}/command",
        event=os.environ.get(ENV_EVENT) or f"ipc://{base}/event",
        liveview=os.environ.get(ENV_LIVEVIEW) or f"ipc://{base}/liveview",
    )


def needs_ipv6(endpoint: str) -> bool:
    """True for a TCP endpoint on an IPv6 address (``tcp://[::1]:5555``): its socket must
    have ``ZMQ_IPV6`` set, on either side, or libzmq refuses it ("No such device")."""
    return endpoint.startswith("tcp://[")


def liveview_endpoint_for(event_endpoint: str) -> str:
    """The live-view endpoint that goes with an event endpoint when only that was given:
    ``ipc://X/event`` -> ``ipc://X/liveview``; ``tcp://H:P`` -> ``tcp://H:P+1``."""
    return _next_endpoint(event_endpoint, "event", "liveview")


def event_endpoint_for(command_endpoint: str) -> str:
    """The event endpoint beside a command endpoint, in the same layout:
    ``ipc://X/command`` -> ``ipc://X/event``; ``tcp://H:P`` -> ``tcp://H:P+1``."""
    return _next_endpoint(command_endpoint, "command", "event")


def _next_endpoint(endpoint: str, name: str, next_name: str) -> str:
    if endpoint.startswith("tcp://"):
        host, _, port = endpoint[6:].rpartition(":")
        if port.isdigit():
            return f"tcp://{host}:{int(port) + 1}"
    if endpoint.endswith("/" + name):
        return endpoint[: -len(name)] + next_name
    return f"{endpoint}.{next_name}"
