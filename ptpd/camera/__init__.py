"""The vendor-neutral camera model the daemon calls (see :mod:`ptpd.camera.base`)."""

from ptpd.camera.base import (
    Camera,
    CameraEvent,
    CameraInfo,
    CaptureResult,
    LiveViewFrame,
    ObjectEntry,
    PropertyDesc,
    PropertyValue,
    RawResult,
    Unsupported,
)

__all__ = [
    "Camera",
    "CameraEvent",
    "CameraInfo",
    "CaptureResult",
    "LiveViewFrame",
    "ObjectEntry",
    "PropertyDesc",
    "PropertyValue",
    "RawResult",
    "Unsupported",
]
