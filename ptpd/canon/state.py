"""What an EOS body told us through GetEvent: property values, allowed lists, its status.

Sans-I/O: the camera object feeds it the records of each GetEvent reply
(:meth:`EosState.apply`) and reads values from it. A body sends every property's value
(PropValueChanged) and then the allowed lists (AvailListChanged) after SetEventMode, and
later only what changed (research notes §1.2, §2); nothing here asks the camera.
"""

from __future__ import annotations

from collections.abc import Iterable

from ptpd.canon import events as ev
from ptpd.canon.properties import Value, by_code

#: AvailListChanged form kind whose elements are the allowed values (ptp-pack.c)
LIST_KIND = 3


class EosState:
    """Property values and allowed lists as the records left them."""

    __slots__ = ("allowed", "raw", "status", "values")

    def __init__(self) -> None:
        self.values: dict[int, Value] = {}  #: code -> decoded value
        self.raw: dict[int, bytes] = {}  #: code -> the value's bytes as the body sent them
        self.allowed: dict[int, tuple[Value, ...]] = {}  #: code -> allowed values (kind 3 lists)
        self.status = 0  #: CameraStatusChanged; 1 = busy

    def __contains__(self, code: object) -> bool:
        return code in self.values

    def apply(self, records: Iterable[ev.Record]) -> set[int]:
        """Take in one reply's records; the codes whose value or allowed list changed."""
        changed: set[int] = set()
        for r in records:
            if isinstance(r, ev.PropValue):
                value = by_code(r.code).decode(r.data)
                if self.values.get(r.code) != value or r.code not in self.values:
                    changed.add(r.code)
                self.values[r.code] = value
                self.raw[r.code] = r.data
            elif isinstance(r, ev.AvailList):
                allowed = by_code(r.code).decode_list(r.count, r.data) if r.kind == LIST_KIND else ()
                if self.allowed.get(r.code) != allowed:
                    changed.add(r.code)
                self.allowed[r.code] = allowed
            elif isinstance(r, ev.CameraStatus):
                self.status = r.status
        return changed

    def set(self, code: int, value: Value) -> None:
        """A value we set and the body took (libgphoto2 keeps it on OK, config.c)."""
        self.values[code] = value
        self.raw[code] = by_code(code).encode(value)


__all__ = ["LIST_KIND", "EosState"]
