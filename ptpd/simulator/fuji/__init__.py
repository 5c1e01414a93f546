"""The simulated Fujifilm camera: the X-T1 of ``fuji-ptpip.md`` on three real TCP ports.

One module an idea:

* :mod:`.profiles` - the bodies (X-T1 and later): properties, descriptors, lists; data only;
* :mod:`.device` - :class:`FujiDevice`, what survives between sessions (property values,
  the card, the paired client names, the captures-remaining counter) and its wire forms;
* :mod:`.session` - :class:`FujiSession`, one session answering one operation at a time
  with a :class:`Reply` (sans-I/O);
* :mod:`.server` - :class:`FujiSimulator`, the sockets (ports ``P``, ``P+1`` events,
  ``P+2`` live view), the handshake, faults and latency;
* :mod:`.liveview` - the live-view stream on ``P+2``.

Codes are the shared enums (:mod:`ptpd.protocol.codes`, :mod:`ptpd.fuji.codes`); labels of
values come from the dialect's table (:mod:`ptpd.fuji.properties`).

Quirks kept (``fuji-ptpip.md`` §11, numbers from there):

1. protocol version 0x8F53E4F2 first in the InitCommandRequest, else InitFail 0x201D;
   the 82-byte form and malc0mn's variable form are both accepted; libgphoto2's second
   InitCommandRequest on the same socket is acked again;
2. PTP/IP headers only for the handshake, then 12-byte Fuji containers;
3. no InitEventRequest: the event port is a plain TCP connection;
4. the pairing prompt: the reply to SetDevicePropValue(0xDF01 = 5) waits
   ``pairing_delay`` seconds the first time a friendly name pairs (the user pressing OK),
   or answers DeviceBusy and closes everything when ``refuse_pairing`` is set;
5. ``strict_name``: a friendly name other than the paired one gets InitFail 0x2019;
6. 0xDF24 is read and written back; the write stores the client as paired;
7. data-out values may be padded (the first size-of-datatype bytes count);
9. before the first 0x902B of a session, descriptors of properties outside the 0x902B
   list report current value 0;
10. InitiateCapture answers OK and sends 0xC004 then 0xC001 (param2 = preview size);
    until 0x9022 fetched the preview, further InitiateCaptures answer OK and do nothing;
    0x9022 is followed by CaptureComplete 0x400D;
11. 0xC004 carries no object handle (the full-size JPEG is in the store all the same);
12. the 0xD212 state list depends on the exposure program and auto/manual ISO;
13. an unknown property in 0x1014 gives OK with no data;
14. the ASCII blob properties (0x5003, 0xD174, 0xD228, 0xD500).

Captures remaining (0xD229) count down with every picture.

libgphoto2's Fuji path (``ptpip.md`` §9) runs the standard PTP operations after the Fuji
bring-up: GetDeviceInfo (answered in full, VendorExtensionID 0 so gphoto2 takes its
generic paths), storage and object operations, and a capture that waits for the
standard ObjectAdded(handle) + CaptureComplete events. A session whose OpenSession came
with transaction id 0 (gphoto2 counts from 0, Fuji's app and malc0mn from 1) is such a
"PC-style" session: its captures send those standard events in USB container layout and
do not lock on the preview; ``capture_style`` forces either behaviour.
"""

from __future__ import annotations

from ptpd.simulator.fuji.device import STORAGE_ID, FujiDevice
from ptpd.simulator.fuji.server import FujiSimulator, start_fuji_simulator
from ptpd.simulator.fuji.session import CAPTURE_STYLES, FujiSession, Reply

__all__ = [
    "CAPTURE_STYLES",
    "STORAGE_ID",
    "FujiDevice",
    "FujiSession",
    "FujiSimulator",
    "Reply",
    "start_fuji_simulator",
]
