"""The simulated Canon EOS body: standard PTP/IP on one port, EOS operations on top.

One module an idea:

* :mod:`.profiles` - the bodies (an EOS 1300D-class body and an EOS M) as data;
* :mod:`.device` - :class:`CanonDevice`, what survives between sessions (values and
  allowed lists, the card, pictures in RAM, paired GUIDs) and the records it reports;
* :mod:`.session` - :class:`CanonSession`, one session answering one operation at a time
  with a ``Reply`` (sans-I/O);
* :mod:`.server` - :class:`CanonSimulator`, the generic PTP/IP server with the body's
  sessions and its pairing prompt.

What it does and why is in each module, every fact citing its public source (libgphoto2
2.5.30, public issue threads with real bodies' bytes, our gphoto2 traces). libgphoto2's
EOS driver is its judge: ``gphoto2 --camera "PTP/IP Camera" --port ptpip:127.0.0.1:P``
lists its configuration, sets ISO, captures and downloads, and shows live view.
"""

from __future__ import annotations

from ptpd.simulator.canon.device import CanonDevice
from ptpd.simulator.canon.profiles import DEFAULT_MODEL, PROFILES, STORAGE_ID, get_profile
from ptpd.simulator.canon.server import CanonSimulator, start_canon_simulator
from ptpd.simulator.canon.session import CanonSession

__all__ = [
    "DEFAULT_MODEL",
    "PROFILES",
    "STORAGE_ID",
    "CanonDevice",
    "CanonSession",
    "CanonSimulator",
    "get_profile",
    "start_canon_simulator",
]
