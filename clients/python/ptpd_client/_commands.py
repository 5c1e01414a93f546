"""The command methods and settings both clients share (in the manner of httpx's
``BaseClient``): each method builds its request and hands it to ``self.request``, which
returns the result (:class:`~ptpd_client.Client`) or an awaitable of it
(:class:`~ptpd_client.AsyncClient`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ptpd import bus

from . import _core
from ._core import EndpointPlan, Timeout

if TYPE_CHECKING:
    from ._camera import CameraInfo, CaptureResult, Download, ObjectInfo, OpResult, StorageInfo
    from ._desc import PropDesc
    from ._props import PropValue
    from ._status import CommandHelp, Pong, Snapshot, Status, Version
    from ._stream_models import Event

#: called with (bytes done, bytes total) while a download runs
ProgressCallback = Callable[[int, int], None]
#: called with each event the daemon publishes about one request while it runs: a
#: ``capture``'s ``event.capture_done`` per shot, ``progress.transfer`` of its downloads
EventCallback = Callable[["Event"], None]

_UNSET: Any = object()


class _BaseClient:
    """Endpoint and timeout handling shared by :class:`Client` and ``AsyncClient``."""

    def __init__(
        self,
        command_endpoint: str | None = None,
        event_endpoint: str | None = None,
        liveview_endpoint: str | None = None,
        *,
        timeout: Timeout | float | None = _core.DEFAULT_TIMEOUT,
        curve_server_key: Any = None,
        curve_client_key: Any = None,
    ) -> None:
        self._plan: EndpointPlan = _core.plan_endpoints(command_endpoint, event_endpoint, liveview_endpoint)
        self._curve = _core.plan_curve(curve_server_key, curve_client_key)
        self.timeout = Timeout.of(timeout)
        self._ids = _core.RequestIds()
        self._learned: tuple[str, str] | None = None
        self._closed = False
        #: the control lease token sent with every request: from :meth:`lock`, or handed
        #: down by a holder (``PTPD_LEASE``, as ``ptpctl lock -- CMD`` does)
        self.lease: str | None = os.environ.get(bus.ENV_LEASE) or None

    @property
    def command_endpoint(self) -> str:
        """Where requests go."""
        return self._plan.command

    def _read_timeout(self, timeout: float | None) -> float | None:
        return self.timeout.read if timeout is _UNSET else timeout

    def _connect_ms(self) -> int | None:
        """How long (ms) to wait for the command socket to take a request."""
        return _core._ms(self.timeout.connect)

    def _new_request(
        self, cmd: str, args: dict[str, Any] | None, timeout: float | None = None
    ) -> tuple[str, list[Any]]:
        """A fresh request id and the request's frames (after the delimiter); ``timeout``
        (the call's) goes with it as its deadline."""
        rid = self._ids.next()
        return rid, _core.request_frames(rid, cmd, args, timeout, self.lease)

    def _unavailable(self) -> Exception:
        from ._errors import DaemonUnavailable

        if self._curve is not None:
            return DaemonUnavailable(
                f"no daemon answers at {self._plan.command} with CURVE (is the server key right, and is this "
                "client's public key among the daemon's allowed clients?)",
                self._plan.command,
            )
        return DaemonUnavailable(f"no daemon answers at {self._plan.command}", self._plan.command)

    def _timed_out(self, cmd: str, read: float | None) -> Exception:
        from ._errors import RequestTimeout

        return RequestTimeout(f"{cmd}: no reply from the daemon within {read:g} s", read)

    def _known_endpoints(self) -> tuple[str, str] | None:
        """(event, live-view) endpoints if given or already learned; ``None``: ask ``version``."""
        if self._plan.event and self._plan.liveview:
            return self._plan.event, self._plan.liveview
        return self._learned

    def _learn_endpoints(self, version_result: Any) -> tuple[str, str]:
        self._learned = _core.learned_endpoints(self._plan, version_result)
        return self._learned


class CommandMethods:
    """One method per bus command; ``request`` is supplied by the client class."""

    timeout: Timeout

    def request(
        self,
        cmd: str,
        args: dict[str, Any] | None = None,
        *,
        timeout: float | None = _UNSET,
        parse: bool = True,
        progress: ProgressCallback | None = None,
        on_event: EventCallback | None = None,
    ) -> Any:  # pragma: no cover
        """The result of ``cmd`` (an awaitable of it in the asyncio client)."""
        raise NotImplementedError

    def ping(self, *, timeout: float | None = _UNSET) -> Pong:
        """Check that the daemon answers."""
        return self.request("ping", timeout=timeout)

    def version(self, *, timeout: float | None = _UNSET) -> Version:
        """Daemon and bus protocol versions and the daemon's endpoints."""
        return self.request("version", timeout=timeout)

    def status(self, *, timeout: float | None = _UNSET) -> Status:
        """Connection state, model, queue depth, subscribers, live-view fps."""
        return self.request("status", timeout=timeout)

    def snapshot(self, *, timeout: float | None = _UNSET) -> Snapshot:
        """All cached state and the event sequence number it reflects."""
        return self.request("snapshot", timeout=timeout)

    def help(self, *, timeout: float | None = _UNSET) -> list[CommandHelp]:
        """The daemon's commands with their arguments."""
        return self.request("help", timeout=timeout)

    def info(self, *, timeout: float | None = _UNSET) -> CameraInfo:
        """Camera model, firmware, operations and properties."""
        return self.request("info", timeout=timeout)

    def properties(self, *, timeout: float | None = _UNSET) -> list[str]:
        """Every property name the camera answers to."""
        return self.request("properties", timeout=timeout)

    def describe(self, prop: str | int, *, timeout: float | None = _UNSET) -> PropDesc:
        """A property's type, access, values and allowed values."""
        return self.request("describe", {"prop": prop}, timeout=timeout)

    def get(self, prop: str | int, *, timeout: float | None = _UNSET) -> PropValue:
        """A property's current value (``.value`` raw, ``.label`` human)."""
        return self.request("get", {"prop": prop}, timeout=timeout)

    def set(self, prop: str | int, value: str | int, *, timeout: float | None = _UNSET) -> PropValue:
        """Set a property from a human label or a raw value; returns the value in force."""
        return self.request("set", {"prop": prop, "value": value}, timeout=timeout)

    def state(self, *, timeout: float | None = _UNSET) -> list[PropValue]:
        """The camera's current settings summary."""
        return self.request("state", timeout=timeout)

    def capture(
        self,
        count: int = 1,
        *,
        download: bool = False,
        preview: bool = False,
        dir: str | None = None,
        keep: bool | None = None,
        at: float | None = None,
        timeout: float | None = _UNSET,
        on_event: EventCallback | None = None,
    ) -> CaptureResult:
        """Release the shutter ``count`` times; with ``download`` each shot carries its bytes.

        ``on_event(event)`` is called as the daemon reports on this capture: an
        ``event.capture_done`` per shot (``{index, count, handle, filename}``) and
        ``progress.transfer`` while a shot downloads (``{handle, done, total}``). Events
        are published, not queued for this client: one sent before the subscription took
        hold is missed, so count shots from the result, not from the events.

        ``at``: release the first shot at that moment of the daemon's clock
        (``ping().clock``), not at once (give a ``timeout`` that covers the wait); each
        shot's ``released`` says when its release went on the wire (see
        :class:`~ptpd_client.Rig` for many cameras at once).
        """
        if timeout is _UNSET and self.timeout.read is not None:
            timeout = self.timeout.read + 2.0 * count  # each shot may take a while
        args = {"count": count, "download": download, "preview": preview, "dir": dir, "keep": keep, "at": at}
        return self.request("capture", args, timeout=timeout, on_event=on_event)

    def liveview_start(self, *, timeout: float | None = _UNSET) -> Any:
        """Keep live view on even with no subscriber."""
        return self.request("liveview.start", timeout=timeout)

    def liveview_stop(self, *, timeout: float | None = _UNSET) -> Any:
        """Drop the request made by :meth:`liveview_start`."""
        return self.request("liveview.stop", timeout=timeout)

    def storage(self, *, timeout: float | None = _UNSET) -> StorageInfo:
        """The camera's stores and how many more shots fit (``shots_left``)."""
        return self.request("storage", timeout=timeout)

    def objects(self, *, timeout: float | None = _UNSET) -> list[ObjectInfo]:
        """The objects on the camera's storage."""
        return self.request("objects", timeout=timeout)

    def download(
        self,
        handle: int,
        *,
        offset: int = 0,
        progress: ProgressCallback | None = None,
        timeout: float | None = _UNSET,
        dir: str | None = None,
    ) -> Download:
        """An object's bytes; ``progress(done, total)`` is called as the daemon reports.

        ``dir``: a directory on the daemon's machine where the daemon writes the object
        as a file (verified, never replacing one) instead of sending it; the reply's
        ``path`` names the file, ``data`` is empty.
        """
        args = {"handle": handle, "offset": offset or None, "dir": dir}
        return self.request("download", args, timeout=timeout, progress=progress)

    def delete(self, handle: int, *, timeout: float | None = _UNSET) -> Any:
        """Delete an object on the camera (0xFFFFFFFF, every object, is refused: see
        :meth:`delete_all`)."""
        return self.request("delete", {"handle": handle}, timeout=timeout)

    def delete_all(self, *, timeout: float | None = _UNSET) -> Any:
        """Delete every object on the camera."""
        return self.request("delete", {"all": True}, timeout=timeout)

    def opreq(
        self,
        code: int,
        params: Iterable[int] = (),
        data: bytes | None = None,
        *,
        timeout: float | None = _UNSET,
    ) -> OpResult:
        """Run a raw PTP operation; a non-OK response code is returned, not raised."""
        return self.request("opreq", {"code": code, "params": list(params), "data": data}, timeout=timeout)
