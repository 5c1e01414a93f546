"""Python client of the ptpd daemon.

``Client`` blocks, ``AsyncClient`` is for asyncio; both speak the bus contract of
:mod:`ptpd.bus` and return typed results. ``Rig`` drives many daemons (one per camera,
named in a rig file) as one, and fires them at a shared moment. Errors::

    ClientError
    ├── DaemonUnavailable
    ├── RequestTimeout
    ├── ProtocolMismatch
    ├── RigFileError
    └── CommandFailed(code, message, ptp_code, details)

    KeyboardInterrupt
    └── RequestInterrupted(command, request_id, state, result, error)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._core import DEFAULT_TIMEOUT, LatestMailbox, Timeout
from ._errors import ClientError, CommandFailed, DaemonUnavailable, ProtocolMismatch, RequestInterrupted, RequestTimeout
from ._sync import Client, EventStream, FrameStream

if TYPE_CHECKING:
    from ._async import AsyncClient, AsyncEventStream, AsyncFrameStream
    from ._camera import CameraInfo, CaptureResult, Download, ObjectInfo, OpResult, Shot, StorageInfo, StoreInfo
    from ._clock import ClockOffset
    from ._desc import PropDesc
    from ._jobs import Job, JobUpdate, Lease
    from ._props import PropValue
    from ._rig import CameraStatus, Outcome, Release, Rig, RigShot, describe_failure
    from ._rigfile import RigCamera, RigFile, RigFileError, load_rig
    from ._status import CommandHelp, LiveViewStatus, Pong, Snapshot, Status, Version
    from ._stream_models import Event, Frame

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncClient",
    "AsyncEventStream",
    "AsyncFrameStream",
    "CameraInfo",
    "CameraStatus",
    "CaptureResult",
    "Client",
    "ClientError",
    "ClockOffset",
    "CommandFailed",
    "CommandHelp",
    "DaemonUnavailable",
    "Download",
    "Event",
    "EventStream",
    "Frame",
    "FrameStream",
    "Job",
    "JobUpdate",
    "LatestMailbox",
    "Lease",
    "LiveViewStatus",
    "ObjectInfo",
    "OpResult",
    "Outcome",
    "Pong",
    "PropDesc",
    "PropValue",
    "ProtocolMismatch",
    "Release",
    "RequestInterrupted",
    "RequestTimeout",
    "Rig",
    "RigCamera",
    "RigFile",
    "RigFileError",
    "RigShot",
    "Shot",
    "Snapshot",
    "Status",
    "StorageInfo",
    "StoreInfo",
    "Timeout",
    "Version",
    "describe_failure",
    "load_rig",
]

#: public name -> the private module that defines it, imported on first access so that
#: a one-shot command loads neither asyncio nor result classes it does not use
_LAZY = {
    "AsyncClient": "_async",
    "AsyncEventStream": "_async",
    "AsyncFrameStream": "_async",
    "CameraInfo": "_camera",
    "CaptureResult": "_camera",
    "Download": "_camera",
    "ObjectInfo": "_camera",
    "OpResult": "_camera",
    "Shot": "_camera",
    "StorageInfo": "_camera",
    "StoreInfo": "_camera",
    "ClockOffset": "_clock",
    "CameraStatus": "_rig",
    "Outcome": "_rig",
    "Release": "_rig",
    "Rig": "_rig",
    "RigShot": "_rig",
    "describe_failure": "_rig",
    "RigCamera": "_rigfile",
    "RigFile": "_rigfile",
    "RigFileError": "_rigfile",
    "load_rig": "_rigfile",
    "PropDesc": "_desc",
    "Job": "_jobs",
    "JobUpdate": "_jobs",
    "Lease": "_jobs",
    "PropValue": "_props",
    "CommandHelp": "_status",
    "LiveViewStatus": "_status",
    "Pong": "_status",
    "Snapshot": "_status",
    "Status": "_status",
    "Version": "_status",
    "Event": "_stream_models",
    "Frame": "_stream_models",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
