"""What an EOS GetEvent record means to the camera API: the :class:`CameraEvent` it
stands for, under a stable snake_case name."""

from __future__ import annotations

import time

from ptpd.camera.base import CameraEvent
from ptpd.canon import events as ev
from ptpd.canon.codes import CanonEventCode

#: Stable snake_case names of the records' events.
EVENT_NAMES: dict[int, str] = {
    CanonEventCode.PropValueChanged: "property_changed",
    CanonEventCode.AvailListChanged: "allowed_values_changed",
    CanonEventCode.ObjectAddedEx: "object_added",
    CanonEventCode.ObjectAddedEx64: "object_added",
    CanonEventCode.ObjectInfoChangedEx: "object_info_changed",
    CanonEventCode.ObjectInfoChangedEx64: "object_info_changed",
    CanonEventCode.RequestObjectTransfer: "request_object_transfer",
    CanonEventCode.RequestObjectTransfer64: "request_object_transfer",
    CanonEventCode.ObjectRemoved: "object_removed",
    CanonEventCode.CameraStatusChanged: "camera_status_changed",
    CanonEventCode.OLCInfoChanged: "olc_info_changed",
}


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def event_of(r: ev.Record, changed: set[int]) -> CameraEvent | None:
    """The :class:`CameraEvent` a record stands for (None for a property that did not
    change, and for nothing worth telling)."""
    now = time.monotonic()
    if isinstance(r, (ev.PropValue, ev.AvailList)):
        if r.code not in changed:
            return None
        kind = CanonEventCode.PropValueChanged if isinstance(r, ev.PropValue) else CanonEventCode.AvailListChanged
        return CameraEvent(EVENT_NAMES[kind], kind, (r.code,), time=now)
    if isinstance(r, (ev.ObjectAdded, ev.ObjectTransfer)):
        return CameraEvent(EVENT_NAMES[r.type], r.type, (r.handle,), time=now)
    if isinstance(r, ev.ObjectRemoved):
        return CameraEvent(
            EVENT_NAMES[CanonEventCode.ObjectRemoved], CanonEventCode.ObjectRemoved, (r.handle,), time=now
        )
    if isinstance(r, ev.CameraStatus):
        code = CanonEventCode.CameraStatusChanged
        return CameraEvent(EVENT_NAMES[code], code, (r.status,), time=now)
    if isinstance(r, ev.OLCInfo):
        return CameraEvent(
            EVENT_NAMES[CanonEventCode.OLCInfoChanged], CanonEventCode.OLCInfoChanged, (r.mask,), time=now
        )
    try:
        name = _snake(CanonEventCode(r.type).name)
    except ValueError:
        name = f"event_0x{r.type:04X}"
    return CameraEvent(name, r.type, time=now)
