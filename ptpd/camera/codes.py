"""Names of the standard codes for what the camera layer's callers show (replies, logs).

The code tables themselves are the protocol layer's; callers above the camera layer get
the names from here and never read those tables.
"""

from __future__ import annotations

from ptpd.protocol.codes import ALL_OBJECTS, DataType, ResponseCode, code_name


def response_name(code: int) -> str:
    """``"OK"``, ``"DeviceBusy"``, ...: a response code's name (``"0x...."`` when unknown)."""
    return code_name("response", code)


def datatype_name(code: int) -> str:
    """``"UINT32"``, ``"STR"``, ...: a datatype code's name (``"0x...."`` when unknown)."""
    return code_name("datatype", code)


__all__ = ["ALL_OBJECTS", "DataType", "ResponseCode", "datatype_name", "response_name"]
