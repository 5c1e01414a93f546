"""What the camera layer keeps of property descriptions between operations.

:class:`DescCache` holds the static parts of the DevicePropDescs a session read. The
names and labels of standard properties are :mod:`ptpd.protocol.properties`, the one
table of them; its names are here too for the camera classes that use both.
"""

from __future__ import annotations

from ptpd.protocol.codes import EventCode, ResponseCode
from ptpd.protocol.datasets import DevicePropDesc
from ptpd.protocol.properties import (
    BY_CODE,
    BY_NAME,
    PROPERTIES,
    UNIFIED_NAMES,
    PropertyInfo,
    format_exp_bias,
    format_exposure,
    format_fnumber,
    format_value,
    parse_value,
    property_code,
    property_name,
)

# -- the description cache --------------------------------------------------------------------


#: Events kept for the description cache between property operations. More than this
#: unread (a long quiet spell with a busy camera) and the whole cache is dropped instead.
CACHE_EVENT_QUEUE = 256
#: Responses that mean a cached description allowed a value the camera does not take
#: (the description is dropped and read again).
REFUSED_VALUE = (ResponseCode.InvalidDevicePropValue, ResponseCode.InvalidDevicePropFormat)


class DescCache:
    """The static parts of DevicePropDescs (datatype, get/set, form) kept between operations.

    A camera object keeps one per session, so that ``get`` is one GetDevicePropValue and
    ``set`` one SetDevicePropValue once a property has been described. Only the static
    parts are trusted: a cached desc's CurrentValue is never served as the value.

    Sans-I/O: the camera object feeds it the camera's events (:meth:`event`) and marks the
    end of each property operation (:meth:`settle`). An entry is dropped when

    * the camera sends DevicePropChanged for it (mode dials change allowed values and say
      so this way), or DeviceInfoChanged / DeviceReset, or an event was lost (:meth:`clear`);
    * the camera refuses a value the entry allowed (the caller's :meth:`drop`).

    One exception: the DevicePropChanged a camera may send after our own successful
    SetDevicePropValue (ptp.md: "responder may emit DevicePropChanged") is the echo of
    our write, not news, and dropping the entry for it would make every second ``set`` cost
    a GetDevicePropDesc. :meth:`wrote` arms one echo for the property; it is accepted until
    the end of the next property operation (one more round trip, by which time an echo
    sent at once has arrived), then the arming lapses and any later DevicePropChanged
    drops the entry again.
    """

    __slots__ = ("_descs", "_echoes", "_round")

    def __init__(self) -> None:
        self._descs: dict[int, DevicePropDesc] = {}
        self._echoes: dict[int, int] = {}  # property code -> round of the write
        self._round = 0

    def __contains__(self, code: object) -> bool:
        return code in self._descs

    def __len__(self) -> int:
        return len(self._descs)

    def get(self, code: int) -> DevicePropDesc | None:
        """The cached desc of ``code`` (its static parts), or ``None``."""
        return self._descs.get(code)

    def put(self, desc: DevicePropDesc) -> None:
        """Remember a desc the camera just sent."""
        self._descs[int(desc.code)] = desc

    def drop(self, code: int) -> None:
        """Forget one property's desc (the next use re-reads it)."""
        self._descs.pop(code, None)
        self._echoes.pop(code, None)

    def clear(self) -> None:
        """Forget everything (new session, DeviceInfoChanged, lost events)."""
        self._descs.clear()
        self._echoes.clear()

    def wrote(self, code: int) -> None:
        """We are setting ``code``: accept one DevicePropChanged for it as the echo."""
        self._echoes[code] = self._round

    def unwrote(self, code: int) -> None:
        """The write was refused: no echo is due."""
        self._echoes.pop(code, None)

    def event(self, code: int, params: tuple[int, ...] = ()) -> None:
        """A camera event: drop what it makes stale."""
        if code == EventCode.DevicePropChanged:
            if not params:
                self.clear()  # which property is not said: any may be stale
            elif params[0] in self._echoes:
                del self._echoes[params[0]]
            else:
                self._descs.pop(params[0], None)
        elif code in (EventCode.DeviceInfoChanged, EventCode.DeviceReset):
            self.clear()

    def settle(self) -> None:
        """A property operation ended: writes before it have had their echo's chance."""
        self._echoes = {c: r for c, r in self._echoes.items() if r >= self._round}
        self._round += 1


__all__ = [
    "DescCache",
    "BY_CODE",
    "BY_NAME",
    "PROPERTIES",
    "UNIFIED_NAMES",
    "PropertyInfo",
    "format_exp_bias",
    "format_exposure",
    "format_fnumber",
    "format_value",
    "parse_value",
    "property_code",
    "property_name",
]
