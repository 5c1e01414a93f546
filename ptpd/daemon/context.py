"""What a command handler sees of the daemon: a narrow interface, not the server.

Handlers (:mod:`ptpd.daemon.commands` and the modules it gathers) take a :class:`Context`
and the :class:`Request` they answer. The server (:class:`ptpd.daemon.server.Daemon`)
provides the context and dispatches to the handlers; handlers never import the server,
so the two do not import each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ptpd.camera import Progress
from ptpd.daemon.config import Config
from ptpd.daemon.link import CameraLink
from ptpd.daemon.publisher import EventPublisher


@dataclass(frozen=True, slots=True)
class Request:
    """Who asked: the request id and the client's identity (for progress topics and logs)."""

    id: int | str
    identity: bytes = b""


class Context(Protocol):
    """The parts of the daemon a command handler may use."""

    #: the configuration the daemon runs with
    config: Config
    #: the camera: its queue (``call``), connection state and cached state
    link: CameraLink
    #: the event socket (``event.*``, ``progress.*``, ... topics)
    events: EventPublisher

    def status(self) -> dict[str, Any]:
        """What ``status`` answers (and the heartbeat carries)."""
        ...

    def progress_reporter(self, request: Request, handle: int) -> Progress:
        """A callback that publishes a transfer's progress for ``request``."""
        ...

    async def sim_fault(self, action: str, options: dict[str, Any]) -> Any:
        """``sim.fault``: the embedded simulator's fault control."""
        ...


#: A command handler: (context, checked arguments, request) -> result.
Handler = Callable[[Context, dict[str, Any], Request], Awaitable[Any]]


def camera_timeout(ctx: Context, transactions: int = 1) -> float:
    """Seconds a camera command of about ``transactions`` transactions may take."""
    return ctx.config.timeout * 3 * transactions + 5.0
