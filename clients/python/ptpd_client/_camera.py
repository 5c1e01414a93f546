"""Camera results: info, capture, objects, downloads, raw operations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._models import _build, _Model, _raw


@dataclass(frozen=True, slots=True)
class CameraInfo(_Model):
    """Reply of ``info``."""

    vendor: str = ""
    manufacturer: str = ""
    model: str = ""
    version: str = ""
    serial: str = ""
    operations: tuple[Any, ...] = ()
    properties: tuple[Any, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, slots=True)
class Shot(_Model):
    """One shutter release of ``capture``.

    ``data`` and ``preview`` are bytes-like: ``memoryview`` objects of the received message
    (no copy); ``bytes(shot.data)`` when you need ``bytes``.
    """

    handle: int | None = None
    filename: str = ""
    size: int = 0
    data: bytes | memoryview | None = None
    path: str | None = None
    preview: bytes | memoryview | None = None
    #: the daemon's clock (``ping().clock``) when the release went on the wire
    released: float | None = None
    #: the release time it was scheduled for (``capture(at=...)``), on that shot
    planned: float | None = None
    raw: dict[str, Any] = _raw()

    def to_dict(self) -> dict[str, Any]:
        # image bytes are not useful as JSON text: say how many there were
        d = _Model.to_dict(self)
        d["data"] = None if self.data is None else len(self.data)
        d["preview"] = None if self.preview is None else len(self.preview)
        return d


@dataclass(frozen=True, slots=True)
class CaptureResult(_Model):
    """Reply of ``capture``."""

    shots: tuple[Shot, ...] = ()
    raw: dict[str, Any] = _raw()

    @classmethod
    def from_dict(cls, data: Any) -> CaptureResult:
        shots = data.get("shots", []) if isinstance(data, dict) else []
        return _build(cls, data, shots=tuple(_build(Shot, s) for s in shots))


@dataclass(frozen=True, slots=True)
class StoreInfo(_Model):
    """One store of ``storage``: bytes of capacity and free, and images free (None: the
    camera does not count them)."""

    id: int = 0
    description: str = ""
    capacity: int = 0
    free_bytes: int = 0
    free_images: int | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, slots=True)
class StorageInfo(_Model):
    """Reply of ``storage``: the stores, and the shots that fit (None: the camera does not say)."""

    stores: tuple[StoreInfo, ...] = ()
    shots_left: int | None = None
    raw: dict[str, Any] = _raw()

    @classmethod
    def from_dict(cls, data: Any) -> StorageInfo:
        stores = data.get("stores", []) if isinstance(data, dict) else []
        return _build(cls, data, stores=tuple(_build(StoreInfo, s) for s in stores or ()))


@dataclass(frozen=True, slots=True)
class ObjectInfo(_Model):
    """One entry of ``objects``."""

    handle: int = 0
    filename: str = ""
    size: int = 0
    format: Any = 0
    parent: int = 0
    is_folder: bool = False
    captured: str = ""
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, slots=True)
class Download(_Model):
    """Reply of ``download``.

    ``data`` is bytes-like: a ``memoryview`` of the received message (no copy), ready for
    ``file.write``, ``hashlib``, ``numpy.frombuffer``; ``bytes(d.data)`` makes a copy.
    ``size`` is ``offset`` + the bytes in ``data``. With ``dir`` the daemon wrote the
    object to the file ``path`` (on its machine) and ``data`` is empty.
    """

    handle: int = 0
    filename: str = ""
    size: int = 0
    offset: int = 0
    path: str | None = None
    data: bytes | memoryview = b""
    raw: dict[str, Any] = _raw()

    def to_dict(self) -> dict[str, Any]:
        d = _Model.to_dict(self)
        d["data"] = len(self.data)
        return d


@dataclass(frozen=True, slots=True)
class OpResult(_Model):
    """Reply of ``opreq``: the camera's response code, its params and any data."""

    code: int = 0
    code_name: str = ""
    params: tuple[int, ...] = ()
    data: bytes | memoryview = b""  #: bytes-like (a view of the received message)
    raw: dict[str, Any] = _raw()


def objects_from(data: Any) -> list[ObjectInfo]:
    if isinstance(data, dict):
        data = data.get("objects", [])
    return [_build(ObjectInfo, o) for o in data or ()]
