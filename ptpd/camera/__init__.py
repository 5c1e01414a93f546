"""The vendor-neutral camera model the daemon calls (see :mod:`ptpd.camera.base`).

Everything a caller above the camera layer needs is importable from here: the
:class:`Camera` API and its typed results, transfers that survive a dropped link
(:mod:`.transfer`), the errors a camera raises (:mod:`.errors`), the vendor registry
(:mod:`.vendors`), the names of standard codes (:mod:`.codes`) and how the standard
exposure labels read as numbers (``parse_exposure``, ``parse_exp_bias``).
"""

from ptpd.camera.base import (
    Camera,
    CameraEvent,
    CameraInfo,
    LiveViewFrame,
    ObjectEntry,
    Progress,
    PropertyDesc,
    PropertyValue,
    RawResult,
    ReleaseGate,
    Shot,
    Storage,
    StoreEntry,
)
from ptpd.camera.codes import ALL_OBJECTS, ResponseCode, datatype_name, response_name
from ptpd.camera.errors import (
    LINK_ERRORS,
    CameraDisconnected,
    CaptureTimeout,
    DataOverrun,
    DatasetError,
    IncompleteTransfer,
    InitFailed,
    LimitExceeded,
    NotAFile,
    ProtocolError,
    PTPError,
    ResponseError,
    Timeout,
    TransferInterrupted,
    Unsupported,
    refused_as_busy,
)
from ptpd.camera.transfer import SIZE_UNKNOWN, Download, Transfer, verify
from ptpd.camera.vendors import VENDORS, Target, Vendor, vendor
from ptpd.protocol.properties import parse_exp_bias, parse_exposure

__all__ = [
    "ALL_OBJECTS",
    "LINK_ERRORS",
    "SIZE_UNKNOWN",
    "VENDORS",
    "Camera",
    "CameraDisconnected",
    "CameraEvent",
    "CameraInfo",
    "CaptureTimeout",
    "DataOverrun",
    "DatasetError",
    "Download",
    "IncompleteTransfer",
    "InitFailed",
    "LimitExceeded",
    "LiveViewFrame",
    "NotAFile",
    "ObjectEntry",
    "PTPError",
    "Progress",
    "PropertyDesc",
    "PropertyValue",
    "ProtocolError",
    "RawResult",
    "ReleaseGate",
    "ResponseCode",
    "ResponseError",
    "Shot",
    "Storage",
    "StoreEntry",
    "Target",
    "Timeout",
    "Transfer",
    "TransferInterrupted",
    "Unsupported",
    "Vendor",
    "datatype_name",
    "parse_exp_bias",
    "parse_exposure",
    "refused_as_busy",
    "response_name",
    "verify",
    "vendor",
]
