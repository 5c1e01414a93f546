"""What a command handler sees of the daemon: a narrow interface, not the server.

Handlers (:mod:`ptpd.daemon.commands` and the modules it gathers) take a :class:`Context`
and the :class:`Request` they answer. The server (:class:`ptpd.daemon.server.Daemon`)
provides the context and dispatches to the handlers; handlers never import the server,
so the two do not import each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ptpd.camera import Camera, Progress
from ptpd.daemon.config import Config
from ptpd.daemon.inflight import Control
from ptpd.daemon.link import CameraLink
from ptpd.daemon.publisher import EventPublisher

if TYPE_CHECKING:
    from ptpd.daemon.jobs.engine import JobEngine
    from ptpd.daemon.lease import Leases

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Request:
    """Who asked: the request id and the client's identity (for progress topics and logs),
    the request's :class:`~ptpd.daemon.inflight.Control` (its deadline, and whether it
    was asked to stop), and the control lease token it carried."""

    id: int | str
    identity: bytes = b""
    control: Control = field(default_factory=Control)
    lease: str | None = None


class Context(Protocol):
    """The parts of the daemon a command handler may use."""

    #: the configuration the daemon runs with
    config: Config
    #: the camera: its queue (``call``), connection state and cached state
    link: CameraLink
    #: the event socket (``event.*``, ``progress.*``, ... topics)
    events: EventPublisher
    #: the jobs (``job.*`` commands)
    jobs: JobEngine
    #: the control lease (``lock``, ``unlock``)
    leases: Leases

    def status(self) -> dict[str, Any]:
        """What ``status`` answers (and the heartbeat carries)."""
        ...

    def progress_reporter(self, request: Request, handle: int) -> Progress:
        """A callback that publishes a transfer's progress for ``request``."""
        ...

    def reply_room(self, request: Request) -> None:
        """Raise ``camera_busy`` when ``request``'s client (or all of them) left too many
        bytes of replies unread to be given more (:mod:`ptpd.daemon.unsent`)."""
        ...

    async def sim_fault(self, action: str, options: dict[str, Any]) -> Any:
        """``sim.fault``: the embedded simulator's fault control."""
        ...

    async def sim_shutter(self, count: int) -> list[int]:
        """``sim.shutter``: press the embedded simulated body's shutter button."""
        ...

    def cancel(self, request: Request, rid: Any) -> str:
        """``cancel`` of the request ``rid`` that ``request``'s client sent: what became
        of it (``queued``, ``running``, ``done``, ``unknown``)."""
        ...


#: A command handler: (context, checked arguments, request) -> result.
Handler = Callable[[Context, dict[str, Any], Request], Awaitable[Any]]


def camera_timeout(ctx: Context, transactions: int = 1) -> float:
    """Seconds a camera command of about ``transactions`` transactions may take."""
    return ctx.config.timeout * 3 * transactions + 5.0


async def on_camera(
    ctx: Context, request: Request, name: str, fn: Callable[[Camera], Awaitable[T]], transactions: int = 1
) -> T:
    """Run ``fn(camera)`` for ``request`` in the camera queue: not started if the request
    was stopped or its deadline passed meanwhile (see :mod:`ptpd.daemon.inflight`)."""
    return await ctx.link.call(name, fn, camera_timeout(ctx, transactions), control=request.control)
