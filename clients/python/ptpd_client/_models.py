"""Typed results of the bus commands (frozen dataclasses): shared helpers.

The result classes live in small modules (``_props``, ``_status``, ``_camera``,
``_stream_models``) loaded on first use, so a one-shot command such as ``ptpctl get``
defines only the classes it needs (each dataclass costs about a millisecond to create).

Every result keeps the daemon's reply as ``raw`` (not compared, not shown) so nothing the
daemon adds is lost, and offers :meth:`to_dict` for JSON output. Parsing is tolerant: a
field the daemon leaves out gets its default, a field it adds stays in ``raw``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any, TypeVar

T = TypeVar("T")


def _raw() -> Any:
    """The ``raw`` field: the reply map as the daemon sent it."""
    return field(default_factory=dict, repr=False, compare=False)


def _jsonable(value: Any) -> Any:
    """Bytes become hex strings, tuples lists, dataclasses dicts (for ``--json``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.to_dict() if hasattr(value, "to_dict") else _jsonable(dataclasses.asdict(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class _Model:
    """Shared helpers of the result dataclasses."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON-friendly values (``raw`` left out, bytes as hex)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]  # every _Model is a dataclass
            if f.name == "raw":
                continue
            out[f.name] = _jsonable(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Any:
        """The result from the daemon's reply map (tolerant of missing and extra keys)."""
        return _build(cls, data)


def _build(cls: type[T], data: Any, **overrides: Any) -> T:
    """``cls`` from a reply map: known fields taken, unknown ones kept in ``raw``."""
    if not isinstance(data, dict):
        data = {}
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]  # cls: a result dataclass
        if f.name == "raw":
            continue
        if f.name in overrides:
            kwargs[f.name] = overrides[f.name]
        elif f.name in data and data[f.name] is not None:
            value = data[f.name]
            if isinstance(value, list):
                value = tuple(value)
            kwargs[f.name] = value
    if any(f.name == "raw" for f in dataclasses.fields(cls)):  # type: ignore[arg-type]  # as above
        kwargs["raw"] = data
    return cls(**kwargs)


#: command -> "module:function" that turns its result into a typed value
PARSERS: dict[str, str] = {
    "ping": "_status:Pong.from_dict",
    "version": "_status:Version.from_dict",
    "status": "_status:Status.from_dict",
    "snapshot": "_status:Snapshot.from_dict",
    "help": "_status:help_from",
    "info": "_camera:CameraInfo.from_dict",
    "properties": "_props:names_from",
    "describe": "_desc:PropDesc.from_dict",
    "get": "_props:PropValue.from_dict",
    "set": "_props:PropValue.from_dict",
    "state": "_props:props_from",
    "capture": "_camera:CaptureResult.from_dict",
    "objects": "_camera:objects_from",
    "storage": "_camera:StorageInfo.from_dict",
    "download": "_camera:Download.from_dict",
    "opreq": "_camera:OpResult.from_dict",
    "job.start": "_jobs:job_from",
    "job.get": "_jobs:job_from",
    "job.stop": "_jobs:job_from",
    "job.list": "_jobs:jobs_from",
    "lock": "_jobs:lease_from",
}


def parser(cmd: str) -> Any:
    """The parse function of ``cmd`` (None: the result stays as the daemon sent it)."""
    target = PARSERS.get(cmd)
    if target is None:
        return None
    import importlib

    module, _, path = target.partition(":")
    obj: Any = importlib.import_module(f"{__package__}.{module}")
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj
