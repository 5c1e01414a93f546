"""How many bytes a camera may send for each standard dataset operation.

A data-in phase is memory (it is collected whole) and, for a dataset, decoding time in
the one event loop. The initiator gives every transaction of an operation listed here
the limit below (:meth:`InitiatorConnection.expect_data
<ptpd.protocol.connection.InitiatorConnection.expect_data>`), unless its caller says
otherwise; a phase that announces or brings more is cancelled at once and the call
raises :class:`~ptpd.protocol.errors.DataOverrun`. Objects are limited by their caller
to the size the camera declared for them (ObjectInfo), else to
:data:`MAX_UNDECLARED_OBJECT`. Operations not listed here (vendor ones) keep the
connection's cap (4 GiB) unless their caller sets one.

The limits sit far above what the decoders would accept anyway (the counts of
:mod:`ptpd.protocol.datasets`), so no real camera meets them; the largest real datasets
are a few kilobytes (a DeviceInfo listing 250 properties is about 1 KB of codes).
"""

from __future__ import annotations

from typing import Final

from ptpd.protocol.codes import OperationCode
from ptpd.protocol.datasets import MAX_HANDLES

#: Bytes a dataset may take when its counts are within the decoders' caps, with room for
#: vendor data appended after the standard fields.
DATASET_LIMIT: Final = 1024 * 1024

#: operation -> most bytes its data-in phase may bring
DATA_IN_LIMITS: Final[dict[int, int]] = {
    OperationCode.GetDeviceInfo: DATASET_LIMIT,
    OperationCode.GetStorageIDs: DATASET_LIMIT,
    OperationCode.GetStorageInfo: DATASET_LIMIT,
    OperationCode.GetObjectInfo: DATASET_LIMIT,
    # u32 count + MAX_HANDLES u32s, and the same room again
    OperationCode.GetObjectHandles: 2 * (4 + 4 * MAX_HANDLES),
    # an Enumeration of 4096 strings of 255 UTF-16 units is 2 MiB
    OperationCode.GetDevicePropDesc: 4 * DATASET_LIMIT,
    # an array value of 65536 128-bit elements is 1 MiB
    OperationCode.GetDevicePropValue: 2 * DATASET_LIMIT,
}

#: Most bytes of an object whose size the camera declared nowhere (no ObjectInfo size):
#: more than any still image or RAW file, and still memory the daemon can hold.
MAX_UNDECLARED_OBJECT: Final = 256 * 1024 * 1024


def data_in_limit(op: int) -> int | None:
    """The limit on ``op``'s data-in phase, or ``None`` for the connection's cap."""
    return DATA_IN_LIMITS.get(op)


__all__ = ["DATASET_LIMIT", "DATA_IN_LIMITS", "MAX_UNDECLARED_OBJECT", "data_in_limit"]
