"""The simulated Fujifilm camera: the X-T1 of ``fuji-ptpip.md`` on three real TCP ports.

Theory of operation
-------------------
Ports ``P`` (commands), ``P+1`` (events) and ``P+2`` (live view), 55740-55742 by default.

* The **camera logic** is sans-I/O: :class:`FujiDevice` holds what survives between
  sessions (property values, the card, the paired client names, the captures-remaining
  counter) and :class:`FujiSession` answers one operation at a time with a :class:`Reply`
  (data, response code, events to send after the response, a delay before answering,
  "close the session", a capture to run).
* The **server** (:class:`FujiSimulator`) owns the sockets: it reads the command channel
  through :class:`ptpd.fuji.connection.FujiResponderConnection`, applies the latency model
  and the :class:`~ptpd.simulator.faults.Faults`, writes events to every event connection
  and hands live-view connections to :class:`ptpd.simulator.liveview.LiveViewServer`.

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

import asyncio
import contextlib
import datetime as _dt
import hashlib
import logging
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ptpd.fuji.codes import FUJI_PROTOCOL_VERSION, ContainerKind, InitFailReason
from ptpd.fuji.connection import FujiResponderConnection
from ptpd.fuji.events import (
    NEED_DATA,
    ConnectionClosed,
    Data,
    InitAccepted,
    InitRejected,
    InitRequest,
    OperationRequest,
    OperationResponse,
)
from ptpd.fuji.packets import Container
from ptpd.protocol import datasets
from ptpd.protocol.errors import ProtocolError
from ptpd.simulator import faults as flt
from ptpd.simulator import jpeg, objects, scene
from ptpd.simulator import store as st
from ptpd.simulator.fuji_profiles import (
    DT,
    LIVEVIEW_ALIASES,
    STRUCT,
    FujiProfile,
    PropSpec,
    get_profile,
    liveview_sizes,
)
from ptpd.simulator.liveview import FrameSource, LiveViewServer

log = logging.getLogger(__name__)

__all__ = [
    "CAPTURE_STYLES",
    "FujiDevice",
    "FujiSession",
    "FujiSimulator",
    "Reply",
    "start_fuji_simulator",
]

# -- codes (standard ones spelled out so this module reads like the reference tables) ----

OK = 0x2001
GENERAL_ERROR = 0x2002
SESSION_NOT_OPEN = 0x2003
OPERATION_NOT_SUPPORTED = 0x2005
PARAMETER_NOT_SUPPORTED = 0x2006
DEVICE_PROP_NOT_SUPPORTED = 0x200A
ACCESS_DENIED = 0x200F
NO_THUMBNAIL_PRESENT = 0x2010
STORE_FULL = 0x200C
DEVICE_BUSY = 0x2019
INVALID_PROP_FORMAT = 0x201B
INVALID_PROP_VALUE = 0x201C
INVALID_PARAMETER = 0x201D
SESSION_ALREADY_OPEN = 0x201E
SPEC_BY_FORMAT_UNSUPPORTED = 0x2014

OP_GET_DEVICE_INFO = 0x1001
OP_OPEN_SESSION = 0x1002
OP_CLOSE_SESSION = 0x1003
OP_GET_STORAGE_IDS = 0x1004
OP_GET_STORAGE_INFO = 0x1005
OP_GET_NUM_OBJECTS = 0x1006
OP_GET_OBJECT_HANDLES = 0x1007
OP_GET_OBJECT_INFO = 0x1008
OP_GET_OBJECT = 0x1009
OP_GET_THUMB = 0x100A
OP_DELETE_OBJECT = 0x100B
OP_INITIATE_CAPTURE = 0x100E
OP_GET_PROP_DESC = 0x1014
OP_GET_PROP_VALUE = 0x1015
OP_SET_PROP_VALUE = 0x1016
OP_INITIATE_OPEN_CAPTURE = 0x101C
OP_GET_PARTIAL_OBJECT = 0x101B
OP_GET_CAPTURE_PREVIEW = 0x9022
OP_SET_FOCUS_POINT = 0x9026
OP_RESET_FOCUS_POINT = 0x9027
OP_GET_PROPERTY_LIST = 0x902B
OP_SET_SHUTTER_SPEED = 0x902C
OP_SET_APERTURE = 0x902D
OP_SET_EXPOSURE_COMPENSATION = 0x902E

EV_OBJECT_ADDED = 0x4002
EV_CAPTURE_COMPLETE = 0x400D
EV_FUJI_PREVIEW_AVAILABLE = 0xC001
EV_FUJI_OBJECT_ADDED = 0xC004

P_BATTERY = 0x5001
P_WHITE_BALANCE = 0x5005
P_F_NUMBER = 0x5007
P_EXPOSURE_TIME = 0x500D
P_PROGRAM = 0x500E
P_EXPOSURE_INDEX = 0x500F  #: [sim] standard ISO alias of 0xD02A, for generic initiators
P_EXPOSURE_BIAS = 0x5010
P_CAPTURE_DELAY = 0x5012
P_FILM_SIMULATION = 0xD001
P_ISO = 0xD02A
P_LIVEVIEW_SIZE = 0xD174
P_FOCUS_POINT = 0xD17C
P_STATE = 0xD212
P_CAPTURES_REMAINING = 0xD229
P_SHUTTER_SPEED = 0xD240
P_INIT_SEQUENCE = 0xDF01
P_APP_VERSION = 0xDF24

STORAGE_ID = 0x00010001
ALL = 0xFFFFFFFF
PHOTO_FOLDER = "100_FUJI"
#: 0xDF01 value that selects remote shooting (malc0mn, hkr, libgphoto2)
INIT_SEQUENCE_REMOTE = 5
#: self-timer enum (0x5012) -> seconds (fuji-ptpip.md §6.1)
DELAY_SECONDS = {0: 0.0, 1: 1.0, 2: 2.0, 3: 5.0, 4: 10.0}
#: "auto", "fuji" (X-T1 capture events and preview lock) or "standard" (PC-style)
CAPTURE_STYLES = ("auto", "fuji", "standard")
#: plain ISO values of the 0x500F alias (0xFFFF = auto, as PTP defines it)
_ISO_ALIAS_VALUES = (0xFFFF, 100, 200, 250, 320, 400, 500, 640, 800, 1000, 1250, 1600, 2000, 2500, 3200,
                     4000, 5000, 6400, 12800, 25600, 51200)

# -- labels (for the picture and its EXIF; the client's own tables live in ptpd.fuji) --

FILM_SIMULATIONS = {
    1: "PROVIA", 2: "Velvia", 3: "ASTIA", 4: "Monochrome", 5: "Sepia", 6: "PRO Neg. Hi", 7: "PRO Neg. Std",
    8: "Mono+Ye", 9: "Mono+R", 10: "Mono+G", 11: "Classic Chrome", 12: "ACROS", 13: "ACROS+Ye", 14: "ACROS+R",
    15: "ACROS+G", 16: "ETERNA",
}
WHITE_BALANCES = {
    2: "auto", 4: "daylight", 6: "incandescent", 0x8001: "fluorescent 1", 0x8002: "fluorescent 2",
    0x8003: "fluorescent 3", 0x8006: "shade", 0x800A: "underwater", 0x800B: "colour temperature", 0x800C: "custom",
}
PROGRAMS = {1: "M", 2: "P", 3: "A", 4: "S"}


def iso_label(value: int) -> str:
    """0xD02A value -> "auto" / "S6400" / "L100" / "H12800" / "800" (§6.2)."""
    if value == 0xFFFFFFFF:
        return "auto"
    flags, number = value >> 16, value & 0xFFFF
    if flags & 0x8000:
        return f"S{number}"
    if flags & 0x4000:
        return f"{'L' if number < 200 else 'H'}{number}"
    return str(number)


def bias_label(value: int) -> str:
    """1/1000 EV -> "0", "-1/3", "1 2/3" (malc0mn's formatting, §6.3)."""
    thirds = round(value / 333.333)
    sign = "-" if thirds < 0 else ""
    whole, frac = divmod(abs(thirds), 3)
    if frac == 0:
        return f"{sign}{whole}"
    if whole == 0:
        return f"{sign}{frac}/3"
    return f"{sign}{whole} {frac}/3"


def _u32s(values: tuple[int, ...] | list[int]) -> bytes:
    return struct.pack(f"<{len(values)}I", *values)


# ------------------------------------------------------------------------ the device


class _Refuse(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(hex(code))
        self.code = code


@dataclass(frozen=True, slots=True)
class CaptureJob:
    """An accepted capture the server runs after the response (rendering takes CPU)."""

    transaction_id: int
    delay_s: float
    standard: bool  #: PC-style events instead of the X-T1's


@dataclass(frozen=True, slots=True)
class Reply:
    """The outcome of one operation (see the module docstring)."""

    code: int
    data: bytes | memoryview | None = None
    params: tuple[int, ...] = ()
    events: tuple[bytes, ...] = ()  #: encoded event containers, sent after the response
    delay_s: float = 0.0  #: wait this long before answering (the pairing prompt)
    close: bool = False  #: close every socket of the session after answering
    capture: CaptureJob | None = None


class FujiDevice:
    """Device state shared by all sessions (thread-safe where capture threads touch it)."""

    def __init__(
        self,
        profile: FujiProfile,
        *,
        initial_images: int = 2,
        schedule: scene.SceneSchedule | None = None,
        clock: Callable[[], _dt.datetime] = _dt.datetime.now,
        scene_clock: Callable[[], float] | None = None,
        jpeg_quality: int = 85,
    ) -> None:
        self.profile = profile
        self.clock = clock
        self.schedule = schedule or scene.SceneSchedule("object")
        t0 = time.monotonic()
        self.scene_clock = scene_clock or (lambda: time.monotonic() - t0)
        self.jpeg_quality = jpeg_quality
        self.specs: dict[int, PropSpec] = {p.code: p for p in profile.props}
        self.values: dict[int, int | str] = {p.code: p.current for p in profile.props}
        self.lock = threading.RLock()
        self.store = st.ObjectStore([st.Storage(STORAGE_ID, "SD card", "FUJIFILM")])
        date = self._ptp_date(self.clock())
        dcim = self.store.add_folder(STORAGE_ID, st.ROOT, "DCIM", date=date)
        self.folder = self.store.add_folder(STORAGE_ID, dcim.handle, PHOTO_FOLDER, date=date).handle
        self.paired: set[str] = set()
        self.captures = 0
        self.last_preview: bytes | None = None
        for _ in range(initial_images):
            self.shoot(count=False)

    # -- values --------------------------------------------------------------------

    def get(self, code: int) -> int | str:
        with self.lock:
            if code == P_EXPOSURE_INDEX:
                return self._iso_alias()
            if code not in self.values:
                raise _Refuse(DEVICE_PROP_NOT_SUPPORTED)
            return self.values[code]

    def _iso_alias(self) -> int:
        iso = int(self.values[P_ISO])
        if iso == 0xFFFFFFFF or iso & 0x80000000:
            return 0xFFFF
        return iso & 0xFFFF

    def allowed(self, spec: PropSpec, value: int | str) -> bool:
        if spec.form == "enum":
            return value in spec.values
        if spec.form == "range":
            lo, hi, step = (int(v) for v in spec.values)
            if not isinstance(value, int) or not lo <= value <= hi:
                return False
            return step == 0 or (value - lo) % step == 0
        return True

    def set(self, code: int, value: int | str, *, force: bool = False) -> None:
        """Set a property (validated against its descriptor unless ``force``)."""
        with self.lock:
            if code == P_EXPOSURE_INDEX:
                if value not in _ISO_ALIAS_VALUES:
                    raise _Refuse(INVALID_PROP_VALUE)
                self.values[P_ISO] = 0xFFFFFFFF if value == 0xFFFF else (0x40000000 | int(value)) if (
                    int(value) < 200 or int(value) > 6400) else int(value)
                return
            spec = self.specs.get(code)
            if spec is None:
                raise _Refuse(DEVICE_PROP_NOT_SUPPORTED)
            if not force:
                if not spec.writable:
                    raise _Refuse(ACCESS_DENIED)
                if not self.allowed(spec, value):
                    raise _Refuse(INVALID_PROP_VALUE)
            self.values[code] = value

    def decode_value(self, code: int, payload: bytes) -> int | str:
        """A data-out payload -> value (padding after the value's size is ignored, quirk 7)."""
        if code == P_EXPOSURE_INDEX:
            if len(payload) < 2:
                raise _Refuse(INVALID_PROP_FORMAT)
            return struct.unpack_from("<H", payload)[0]
        spec = self.specs.get(code)
        if spec is None:
            raise _Refuse(DEVICE_PROP_NOT_SUPPORTED)
        if spec.datatype == DT.BLOB:
            raw = bytes(payload)
            text = raw.split(b"\x00", 1)[0].decode("ascii", "replace").strip()
            if code == P_LIVEVIEW_SIZE:
                if not text.isprintable() or not text or (len(text) == 1 and len(raw) >= 2 and raw[1] == 0
                                                          and not text.isdigit()):
                    # [sim] a binary integer: the 0-based index of the label
                    text = str(int.from_bytes(raw[:4].ljust(4, b"\x00"), "little"))
                return LIVEVIEW_ALIASES.get(text.lower(), text)
            return text
        fmt = STRUCT[spec.datatype]
        if len(payload) < struct.calcsize(fmt):
            raise _Refuse(INVALID_PROP_FORMAT)
        return struct.unpack_from(fmt, payload)[0]

    def encode_value(self, code: int, value: int | str | None = None) -> bytes:
        """A value with its natural size (§5.1); blobs as the camera lays them out."""
        value = self.get(code) if value is None else value
        if code == P_EXPOSURE_INDEX:
            return struct.pack("<H", int(value))
        spec = self.specs[code]
        if spec.datatype == DT.BLOB:
            return self._blob(code, str(value))
        return struct.pack(STRUCT[spec.datatype], int(value))

    def _blob(self, code: int, value: str) -> bytes:
        # Contents as the X-T1 dumps show them (§6.1, §6.4); field widths are [sim].
        if code == 0xD228:
            b = bytearray(65)
            b[0:4] = b" 0/0"
            b[4:8] = struct.pack("<I", int(self.values.get(0xD22A, 0)))
            b[8:12] = struct.pack("<I", int(self.values.get(P_FOCUS_POINT, 0)))[::-1]
            b[12:14] = b"\x0a\x00"
            b[14:18] = b"\xff\xff\xff\xff"
            model = self.profile.model.encode("ascii")[:20]
            b[40:40 + len(model)] = model
            fw = self.profile.firmware.encode("ascii")[:4]
            b[61:61 + len(fw)] = fw
            return bytes(b)
        if code == 0xD500:
            text = b"0000.000000,N00000.000000,E00000.00,M 000.0,K0000:00:0000:00:00.000"
            return text.ljust(97, b"\x00")
        if code == 0x5003:
            out = value.encode("ascii").ljust(28, b"\x00") + b"320x280\x00"
            return out.ljust(153, b"\xff")
        # 0xD174 and any other: the label, NUL terminated, in a 16-byte field
        return value.encode("ascii")[:15].ljust(16, b"\x00")

    def liveview_size(self) -> tuple[int, int]:
        with self.lock:
            label = str(self.values.get(P_LIVEVIEW_SIZE, "640x480"))
        return liveview_sizes((label,))[0]

    # -- datasets ------------------------------------------------------------------

    def describe(self, code: int, *, complete: bool = True) -> bytes | None:
        """GetDevicePropDesc payload, or None when the camera "cannot describe" it (quirk 13).

        ``complete=False`` reports current value 0 (quirk 9)."""
        if code == P_EXPOSURE_INDEX:
            spec = PropSpec(code, DT.UINT16, True, 0xFFFF, self._iso_alias(), "enum", _ISO_ALIAS_VALUES)
        else:
            spec = self.specs.get(code)
            if spec is None or not spec.describable:
                return None
        current: int | str = self.get(code)
        if not complete:
            current = "" if spec.datatype == DT.BLOB else 0
        out = bytearray(struct.pack("<HHB", code, spec.datatype, 1 if spec.writable else 0))
        out += self.encode_value(code, spec.default) + self.encode_value(code, current)
        if spec.form == "range":
            out += b"\x01" + b"".join(self.encode_value(code, v) for v in spec.values)
        elif spec.form == "enum":
            out += b"\x02" + struct.pack("<H", len(spec.values))
            out += b"".join(self.encode_value(code, v) for v in spec.values)
        else:
            out += b"\x00"
        return bytes(out)

    def property_list(self) -> bytes:
        """The 0x902B payload: u32 count, then (u32 length incl. itself, descriptor) each."""
        entries = [self.describe(code) for code in self.profile.property_list]
        out = bytearray(struct.pack("<I", len(entries)))
        for e in entries:
            assert e is not None
            out += struct.pack("<I", len(e) + 4) + e
        return bytes(out)

    def state_codes(self) -> list[int]:
        """Which properties the 0xD212 state lists now (quirk 12).

        [dump] the P-mode, auto-ISO list. [sim] (the reference records no other list):
        A and M add the F-number 0x5007 after white balance; S and M add the shutter speed
        0xD240 at the end; M with a manual ISO drops the exposure bias (it has no effect).
        """
        with self.lock:
            program = int(self.values.get(P_PROGRAM, 2))
            iso = int(self.values.get(P_ISO, 0xFFFFFFFF))
        codes = list(self.profile.state_base)
        if program in (1, 3):
            codes.insert(codes.index(P_WHITE_BALANCE) + 1, P_F_NUMBER)
        if program in (1, 4):
            codes.append(P_SHUTTER_SPEED)
        manual_iso = iso != 0xFFFFFFFF and not iso & 0x80000000
        if program == 1 and manual_iso:
            codes.remove(P_EXPOSURE_BIAS)
        return codes

    def state(self) -> bytes:
        """The 0xD212 payload: u16 count, then (u16 code, u32 value) each."""
        codes = self.state_codes()
        out = bytearray(struct.pack("<H", len(codes)))
        with self.lock:
            for code in codes:
                out += struct.pack("<HI", code, int(self.values.get(code, 0)) & 0xFFFFFFFF)
        return bytes(out)

    def device_info(self) -> bytes:
        """A full DeviceInfo ([sim]: the X-T1 never answers 0x1001 over Wi-Fi in the
        reference). VendorExtensionID 0 keeps libgphoto2 on its generic paths (ptpip.md §9)."""
        props = [P_EXPOSURE_INDEX] + [
            p.code for p in self.profile.props
            if p.describable and p.datatype != DT.BLOB and p.code not in (P_INIT_SEQUENCE, P_APP_VERSION)
            # a range with step 0 or an empty enumeration trips generic initiators
            and not (p.form == "range" and p.values[2] == 0) and not (p.form == "enum" and not p.values)
        ]
        return datasets.DeviceInfo(
            standard_version=100,
            vendor_extension_id=0,
            vendor_extension_version=0,
            vendor_extension_desc="",
            functional_mode=0,
            operations_supported=tuple(sorted(_HANDLERS)),
            events_supported=(EV_OBJECT_ADDED, EV_CAPTURE_COMPLETE, EV_FUJI_PREVIEW_AVAILABLE, EV_FUJI_OBJECT_ADDED),
            device_properties_supported=tuple(sorted(props)),
            capture_formats=(0x3801,),
            image_formats=(0x3001, 0x3801),
            manufacturer="FUJIFILM",
            model=self.profile.model,
            device_version=self.profile.firmware,
            serial_number=hashlib.sha1(self.profile.model.encode()).hexdigest()[:16].upper(),
        ).encode()

    def storage_info(self, storage_id: int) -> bytes:
        free_images = int(self.values.get(P_CAPTURES_REMAINING, 0))
        return objects.storage_info(self.store, storage_id, free_images=free_images)

    object_info = staticmethod(objects.object_info)

    # -- pictures ------------------------------------------------------------------

    def settings_labels(self) -> dict[str, str]:
        """The settings in force as human labels (printed on pictures, shape the scene)."""
        with self.lock:
            v = dict(self.values)
        f = int(v.get(P_F_NUMBER, 0xFFFF))
        return {
            "mode": PROGRAMS.get(int(v.get(P_PROGRAM, 2)), hex(int(v.get(P_PROGRAM, 2)))),
            "iso": iso_label(int(v.get(P_ISO, 0xFFFFFFFF))),
            "f": "auto" if f == 0xFFFF else f"{f / 100:g}",
            "exp-bias": bias_label(int(v.get(P_EXPOSURE_BIAS, 0))),
            "effect": FILM_SIMULATIONS.get(int(v.get(P_FILM_SIMULATION, 1)), "?"),
            "whitebalance": WHITE_BALANCES.get(int(v.get(P_WHITE_BALANCE, 2)), "?"),
        }

    def exif_fields(self, when: _dt.datetime) -> dict[str, Any]:
        """EXIF carrying the settings in force; automatic values get plausible numbers."""
        with self.lock:
            v = dict(self.values)
        iso_raw = int(v.get(P_ISO, 0xFFFFFFFF))
        iso = 400 if iso_raw == 0xFFFFFFFF or iso_raw & 0x80000000 else iso_raw & 0xFFFF
        f = int(v.get(P_F_NUMBER, 0xFFFF))
        shutter = int(v.get(P_SHUTTER_SPEED, 0xFFFFFFFF))
        # hkr: MSB set = 1/N seconds; anything else is left to "auto" (1/250 s)
        exposure = Fraction(1, shutter & 0x7FFFFFFF) if shutter != 0xFFFFFFFF and shutter & 0x80000000 and \
            shutter & 0x7FFFFFFF else Fraction(1, 250)
        program = int(v.get(P_PROGRAM, 2))
        return {
            "make": "FUJIFILM",
            "model": self.profile.model,
            "software": f"Digital Camera {self.profile.model} Ver{self.profile.firmware}",
            "datetime": when,
            "iso": iso,
            "exposure_time": exposure,
            "f_number": Fraction(f, 100) if f != 0xFFFF else Fraction(56, 10),
            "exposure_bias": Fraction(int(v.get(P_EXPOSURE_BIAS, 0)), 1000).limit_denominator(3),
            "exposure_program": program if program in (1, 2, 3, 4) else 2,
            "white_balance": 0 if int(v.get(P_WHITE_BALANCE, 2)) == 2 else 1,
            "user_comment": FILM_SIMULATIONS.get(int(v.get(P_FILM_SIMULATION, 1)), ""),
        }

    def shoot(self, *, count: bool = True) -> tuple[bytes, st.StoredObject]:
        """Take a picture now: the 0x9022 preview and the full-size JPEG in the store.

        ``count=False`` (the pictures already on the card at start) leaves captures
        remaining at the profile's value, so a fresh camera reports the dumped state."""
        when = self.clock().replace(microsecond=0)
        t = self.scene_clock()
        labels = self.settings_labels()
        subject = self.schedule.subject_at(t)
        stamp = when.strftime("%Y-%m-%d %H:%M:%S")
        w, h = self.profile.capture_size
        full = scene.render(w, h, t, labels, subject=subject, timestamp=stamp)
        data = jpeg.encode_jpeg(full, self.jpeg_quality, self.exif_fields(when))
        pw, ph = self.profile.preview_size
        preview = jpeg.encode_jpeg(full.resize((pw, ph)), 85)
        thumb = jpeg.thumbnail(data)
        date = self._ptp_date(when)
        with self.lock:
            name = self.store.next_filename(self.folder, prefix="DSCF")
            obj = self.store.add_file(
                STORAGE_ID, self.folder, name, data,
                object_format=0x3801, thumb=thumb, thumb_format=0x3808, thumb_size=(160, 120),
                image_size=(w, h), bit_depth=24, capture_date=date, modification_date=date,
            )
            if count:
                self.captures += 1
                left = int(self.values.get(P_CAPTURES_REMAINING, 0))
                self.values[P_CAPTURES_REMAINING] = max(0, left - 1)
            self.last_preview = preview
        return preview, obj

    def add_big_object(self, size: int) -> st.StoredObject:
        """A real JPEG grown to about ``size`` bytes (benchmarks of big downloads)."""
        from ptpd.simulator.generic import pad_jpeg

        _, obj = self.shoot(count=False)
        with self.lock:
            return self.store.add_file(
                STORAGE_ID, self.folder, "BIG_0001.JPG", pad_jpeg(obj.data, size), object_format=0x3801,
                image_size=obj.image_size, bit_depth=24, capture_date=obj.capture_date,
                modification_date=obj.modification_date,
            )

    @staticmethod
    def _ptp_date(when: _dt.datetime) -> str:
        return when.strftime("%Y%m%dT%H%M%S")


# ----------------------------------------------------------------------- the session


@dataclass
class FujiSession:
    """One session on one command connection (sans-I/O)."""

    device: FujiDevice
    client_name: str = ""
    pairing_delay: float = 1.0
    refuse_pairing: bool = False
    capture_style: str = "auto"
    session_id: int | None = None
    standard: bool = False  #: PC-style session (libgphoto2), see the module docstring
    list_seen: bool = False  #: 0x902B issued in this session (quirk 9)
    remote: bool = False  #: 0xDF01 = 5 accepted
    open_capture: bool = False  #: 0x101C done
    capturing: bool = False  #: a capture is running or its preview is not fetched (quirk 10)
    preview: bytes | None = None  #: the preview waiting for 0x9022
    pairing_prompts: int = 0

    def handle(self, code: int, tid: int, params: tuple[int, ...], data: bytes | None = None) -> Reply:
        """Run one operation (``data`` = the data-out payload)."""
        handler = _HANDLERS.get(code)
        if handler is None:
            return Reply(OPERATION_NOT_SUPPORTED)
        if code not in (OP_GET_DEVICE_INFO, OP_OPEN_SESSION) and self.session_id is None:
            return Reply(SESSION_NOT_OPEN)
        p = tuple(params) + (0,) * (5 - len(params))
        try:
            return handler(self, tid, p, data)
        except _Refuse as r:
            return Reply(r.code)
        except st.StoreError as exc:
            return Reply(exc.code)
        except Exception:  # a bug costs one transaction, not the connection
            log.exception("operation 0x%04X failed", code)
            return Reply(GENERAL_ERROR)

    @property
    def data_out_operations(self) -> frozenset[int]:
        return frozenset({OP_SET_PROP_VALUE})

    # -- session and bring-up --------------------------------------------------------

    def _open_session(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        if self.session_id is not None:
            return Reply(SESSION_ALREADY_OPEN)
        if p[0] == 0:
            return Reply(INVALID_PARAMETER)
        self.session_id = p[0]
        self.standard = self.capture_style == "standard" or (self.capture_style == "auto" and tid == 0)
        return Reply(OK)

    def _close_session(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        self.session_id = None
        return Reply(OK)

    def _get_device_info(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        return Reply(OK, self.device.device_info())

    def _initiate_open_capture(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        if not self.remote:
            return Reply(DEVICE_BUSY)  # [sim] no remote mode selected (0xDF01) yet
        self.open_capture = True
        return Reply(OK)

    # -- properties ------------------------------------------------------------------

    def _get_prop_desc(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        code = p[0]
        complete = self.list_seen or self.standard or code in self.device.profile.property_list
        desc = self.device.describe(code, complete=complete)
        return Reply(OK) if desc is None else Reply(OK, desc)

    def _get_prop_value(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        code = p[0]
        if code == P_STATE:
            return Reply(OK, self.device.state())
        return Reply(OK, self.device.encode_value(code))

    def _set_prop_value(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        code = p[0]
        if data is None:
            return Reply(INVALID_PROP_FORMAT)
        dev = self.device
        value = dev.decode_value(code, data)
        if code == P_INIT_SEQUENCE:
            if value != INIT_SEQUENCE_REMOTE:
                return Reply(INVALID_PROP_VALUE)  # [sim] other modes are not simulated
            with dev.lock:
                known = self.client_name in dev.paired
            if not known:
                self.pairing_prompts += 1
                if self.refuse_pairing:
                    log.info("pairing prompt for %r: refused on the camera", self.client_name)
                    return Reply(DEVICE_BUSY, delay_s=self.pairing_delay, close=True)
                log.info("pairing prompt for %r: accepted after %.1f s", self.client_name, self.pairing_delay)
                self.remote = True
                return Reply(OK, delay_s=self.pairing_delay)
            self.remote = True
            return Reply(OK)
        if code == P_APP_VERSION:
            if not isinstance(value, int) or value < dev.profile.app_version:
                return Reply(INVALID_PROP_VALUE)  # [sim] the camera's "upgrade the app"
            dev.set(code, value, force=True)
            with dev.lock:
                dev.paired.add(self.client_name)  # the camera now knows this client (§3.3)
            return Reply(OK)
        dev.set(code, value)
        return Reply(OK)

    def _get_property_list(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        self.list_seen = True
        return Reply(OK, self.device.property_list())

    def _step(self, code: int, up: bool) -> Reply:
        dev = self.device
        spec = dev.specs[code]
        values = [v for v in spec.values if v != 0xFFFF]
        cur = dev.get(code)
        if cur not in values:
            return Reply(OK)
        i = values.index(cur) + (1 if up else -1)
        if 0 <= i < len(values):
            dev.set(code, values[i], force=True)
        return Reply(OK)

    def _set_aperture(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        # hkr: relative 1/3 stop, param 0 = open, 1 = close
        return self._step(P_F_NUMBER, up=p[0] == 1)

    def _set_exposure_compensation(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        return self._step(P_EXPOSURE_BIAS, up=p[0] == 1)  # [sim] 1 = +1/3 EV, 0 = -1/3 EV

    def _set_shutter_speed(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        # [sim] a relative step of the 1/N shutter (hkr: MSB set = 1/N): 1 = faster
        cur = int(self.device.get(P_SHUTTER_SPEED))
        n = cur & 0x7FFFFFFF if cur != 0xFFFFFFFF and cur & 0x80000000 else 250
        n = min(8000, max(1, round(n * (2 ** (1 / 3) if p[0] == 1 else 2 ** (-1 / 3)))))
        self.device.set(P_SHUTTER_SPEED, 0x80000000 | n, force=True)
        return Reply(OK)

    def _set_focus_point(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        # [sim] param1 = X in bits 8-15, Y in bits 0-7 (as 0xD17C); upper bits kept
        cur = int(self.device.get(P_FOCUS_POINT))
        self.device.set(P_FOCUS_POINT, (cur & 0xFFFF0000) | (p[0] & 0xFFFF), force=True)
        return Reply(OK)

    def _reset_focus_point(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        spec = self.device.specs[P_FOCUS_POINT]
        self.device.set(P_FOCUS_POINT, spec.current, force=True)
        return Reply(OK)

    # -- capture ---------------------------------------------------------------------

    def _initiate_capture(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        if not self.standard and not self.open_capture:
            return Reply(DEVICE_BUSY)  # [sim] remote control not handed over (0x101C)
        if self.capturing:
            # Quirk 10: accepted but ignored until the preview is fetched.
            log.info("capture %d ignored: the previous preview was not fetched", tid)
            return Reply(OK)
        if int(self.device.get(P_CAPTURES_REMAINING)) <= 0:
            return Reply(STORE_FULL)
        self.capturing = True
        delay = DELAY_SECONDS.get(int(self.device.get(P_CAPTURE_DELAY)), 0.0)
        return Reply(OK, capture=CaptureJob(tid, delay, self.standard))

    def complete_capture(self, job: CaptureJob) -> tuple[bytes, ...]:
        """Take the picture (call from a worker thread); the events to send."""
        try:
            preview, obj = self.device.shoot()
        except st.StoreFull:
            self.capturing = False
            return (Container(ContainerKind.Event, 0x400A, job.transaction_id, _u32s([STORAGE_ID])).encode(),)
        except Exception:
            self.capturing = False
            raise
        if job.standard:
            self.capturing = False
            # USB container layout: the transaction id in the header, then parameters
            return (
                Container(ContainerKind.Event, EV_OBJECT_ADDED, job.transaction_id, _u32s([obj.handle])).encode(),
                Container(ContainerKind.Event, EV_CAPTURE_COMPLETE, job.transaction_id, b"").encode(),
            )
        self.preview = preview
        tid = job.transaction_id
        # X-T1 layout (§7, §8.1): amount 1, tid, param1 = tid, param2 = preview size
        return (
            Container.event(EV_FUJI_OBJECT_ADDED, tid, (tid, 0, 0)).encode(),
            Container.event(EV_FUJI_PREVIEW_AVAILABLE, tid, (tid, len(preview), 0)).encode(),
        )

    def _get_capture_preview(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        preview = self.preview
        if preview is None:
            last = self.device.last_preview
            return Reply(OK, last) if last is not None else Reply(NO_THUMBNAIL_PRESENT)
        self.preview = None
        self.capturing = False
        return Reply(OK, preview, events=(Container.event(EV_CAPTURE_COMPLETE, tid, (tid, 0, 0)).encode(),))

    # -- storage and objects -----------------------------------------------------------

    def _delete_object(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        store = self.device.store
        with self.device.lock:
            if p[0] == ALL:
                for o in [o for o in store if not o.is_folder]:
                    if o.handle in store:
                        store.delete(o.handle)
                return Reply(OK)
            store.get(p[0])
            store.delete(p[0])
        return Reply(OK)


_HANDLERS: dict[int, Callable[[FujiSession, int, tuple[int, ...], bytes | None], Reply]] = {
    # storage and object operations: the same on every camera
    **objects.session_handlers(lambda s: s.device, lambda a: Reply(a.code, a.data, a.params)),
    OP_GET_DEVICE_INFO: FujiSession._get_device_info,
    OP_OPEN_SESSION: FujiSession._open_session,
    OP_CLOSE_SESSION: FujiSession._close_session,
    OP_DELETE_OBJECT: FujiSession._delete_object,
    OP_INITIATE_CAPTURE: FujiSession._initiate_capture,
    OP_GET_PROP_DESC: FujiSession._get_prop_desc,
    OP_GET_PROP_VALUE: FujiSession._get_prop_value,
    OP_SET_PROP_VALUE: FujiSession._set_prop_value,
    OP_INITIATE_OPEN_CAPTURE: FujiSession._initiate_open_capture,
    OP_GET_CAPTURE_PREVIEW: FujiSession._get_capture_preview,
    OP_SET_FOCUS_POINT: FujiSession._set_focus_point,
    OP_RESET_FOCUS_POINT: FujiSession._reset_focus_point,
    OP_GET_PROPERTY_LIST: FujiSession._get_property_list,
    OP_SET_SHUTTER_SPEED: FujiSession._set_shutter_speed,
    OP_SET_APERTURE: FujiSession._set_aperture,
    OP_SET_EXPOSURE_COMPENSATION: FujiSession._set_exposure_compensation,
}

#: operations whose answer has a data phase (for fault planning before the answer exists)
_DATA_IN = frozenset({
    OP_GET_DEVICE_INFO, OP_GET_STORAGE_IDS, OP_GET_STORAGE_INFO, OP_GET_OBJECT_HANDLES, OP_GET_OBJECT_INFO,
    OP_GET_OBJECT, OP_GET_THUMB, OP_GET_PROP_DESC, OP_GET_PROP_VALUE, OP_GET_PARTIAL_OBJECT,
    OP_GET_CAPTURE_PREVIEW, OP_GET_PROPERTY_LIST,
})


# ------------------------------------------------------------------------ the server


class _Closed(Exception):
    """Internal: the session's sockets were closed."""


@dataclass(eq=False)
class _Link:
    """One command connection and the session on it."""

    number: int
    writer: asyncio.StreamWriter
    session: FujiSession | None = None
    closed: bool = False
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)


class FujiSimulator:
    """A running simulated Fuji camera. Make one with :func:`start_fuji_simulator`."""

    vendor = "fuji"

    def __init__(
        self,
        device: FujiDevice,
        *,
        faults: flt.Faults | None = None,
        latency_ms: float = 0.0,
        pairing_delay: float = 1.0,
        refuse_pairing: bool = False,
        strict_name: bool = False,
        capture_style: str = "auto",
        liveview_fps: float = 30.0,
    ) -> None:
        if capture_style not in CAPTURE_STYLES:
            raise ValueError(f"capture_style must be one of {', '.join(CAPTURE_STYLES)}")
        self.device = device
        self.profile = device.profile
        self.faults = faults or flt.Faults()
        self.latency_ms = latency_ms
        self.pairing_delay = pairing_delay
        self.refuse_pairing = refuse_pairing
        self.strict_name = strict_name
        self.capture_style = capture_style
        self.guid = hashlib.md5(b"ptpd-fuji-" + self.profile.model.encode()).digest()
        self.host = ""
        self.port = 0
        self.event_port = 0
        self.liveview_port = 0
        self.frames = FrameSource(device.schedule, fps=liveview_fps, settings=device.settings_labels)
        self.liveview = LiveViewServer(self.frames, fps=liveview_fps, size=device.liveview_size,
                                       clock=device.scene_clock)
        self._servers: list[asyncio.AbstractServer] = []
        self._link: _Link | None = None
        self._numbers = 0
        self._event_writers: set[asyncio.StreamWriter] = set()
        self._connections: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        #: for tests: sessions opened, transactions answered, pairing prompts shown
        self.sessions_opened = 0
        self.transactions = 0
        self.pairing_prompts = 0

    @property
    def schedule(self) -> scene.SceneSchedule:
        """What the scene shows when (captures and live view)."""
        return self.device.schedule

    def show_subject(self, subject: str, duration: float | None = None) -> None:
        """Show ``subject`` from now on (for ``duration`` seconds), over the schedule."""
        t = self.device.scene_clock()
        self.device.schedule.show(subject, t, None if duration is None else t + duration)

    @property
    def connected(self) -> bool:
        return self._link is not None and not self._link.closed

    # -- life cycle ------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FujiSimulator:
        """Listen on ``port``, ``port+1``, ``port+2`` (port 0: a free block of three)."""
        last: OSError | None = None
        for _ in range(50 if port == 0 else 1):
            base = port or _free_base(host)
            try:
                await self._listen(host, base)
            except OSError as exc:
                last = exc
                await self._stop_listening()
                continue
            self.host, self.port = host, base
            self.event_port, self.liveview_port = base + 1, base + 2
            self._spawn(self._sleep_watch(), "ptpd-fuji-watchdog")
            log.info("Fuji %s on %s:%d-%d", self.profile.model, host, base, base + 2)
            return self
        assert last is not None
        raise last

    async def _listen(self, host: str, base: int) -> None:
        self._servers.append(await asyncio.start_server(self._on_command, host, base, reuse_address=True))
        self._servers.append(await asyncio.start_server(self._on_event, host, base + 1, reuse_address=True))
        self._servers.append(await self.liveview.start(host, base + 2))

    async def _stop_listening(self) -> None:
        for s in self._servers:
            s.close()
        self._servers.clear()
        await self.liveview.close()

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._closing:
            return
        self._closing = True
        for t in list(self._tasks):
            t.cancel()
        for s in self._servers:
            s.close()
        self._drop_link()
        for w in list(self._connections):
            with contextlib.suppress(Exception):
                w.close()
        await self.liveview.close()
        for s in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.wait_closed(), 5)

    async def __aenter__(self) -> FujiSimulator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def drop_all(self) -> None:
        """Close every socket of the session now (Wi-Fi loss)."""
        self._drop_link()

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _sleep_watch(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            if self._link is not None and self.faults.asleep():
                log.info("camera falls asleep")
                self._drop_link()

    def _drop_link(self) -> None:
        link, self._link = self._link, None
        if link is not None and not link.closed:
            link.closed = True
            with contextlib.suppress(Exception):
                link.writer.close()
            for t in link.tasks:
                if t is not asyncio.current_task():
                    t.cancel()
        for w in list(self._event_writers):
            with contextlib.suppress(Exception):
                w.close()
        self._event_writers.clear()
        self.liveview.drop_clients()

    # -- event port --------------------------------------------------------------------

    async def _on_event(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._closing or self.faults.asleep():
            writer.close()
            return
        _tune(writer)
        self._event_writers.add(writer)
        try:
            while await reader.read(4096):
                pass  # nothing is expected from the host on this channel
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._event_writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _send_events(self, events: tuple[bytes, ...]) -> None:
        for ev in events:
            for w in list(self._event_writers):
                try:
                    w.write(ev)
                    await w.drain()
                except (ConnectionError, RuntimeError):
                    self._event_writers.discard(w)

    # -- command port ------------------------------------------------------------------

    async def _on_command(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        _tune(writer)
        conn = FujiResponderConnection()
        link: _Link | None = None
        try:
            if self._closing or self.faults.asleep():
                return
            while True:
                ev = conn.next_event()
                if ev is NEED_DATA:
                    data = await reader.read(256 * 1024)
                    conn.receive_data(data)
                    continue
                if isinstance(ev, ConnectionClosed):
                    return
                if isinstance(ev, InitRequest):
                    link = await self._handshake(conn, ev, writer, link)
                    if link is None:
                        return
                    continue
                assert link is not None
                if link.closed:
                    return
                if isinstance(ev, OperationRequest):
                    payload: bytes | None = None
                    assert link.session is not None
                    if ev.code in link.session.data_out_operations:
                        while (nxt := conn.next_event()) is NEED_DATA:
                            chunk = await reader.read(256 * 1024)
                            conn.receive_data(chunk)
                        if not isinstance(nxt, Data):
                            return
                        payload = nxt.payload
                    await self._transaction(conn, link, ev, payload)
                else:
                    log.debug("ignoring %r outside a transaction", ev)
        except (ProtocolError, ConnectionError, _Closed, asyncio.CancelledError) as exc:
            log.debug("command connection ends: %r", exc)
        except Exception:
            log.exception("command connection failed")
        finally:
            self._connections.discard(writer)
            if link is not None and self._link is link:
                self._drop_link()
            with contextlib.suppress(Exception):
                writer.close()

    async def _handshake(self, conn: FujiResponderConnection, ev: InitRequest, writer: asyncio.StreamWriter,
                         link: _Link | None) -> _Link | None:
        reason = self.faults.on_init()
        if reason is None and ev.version != FUJI_PROTOCOL_VERSION:
            reason = InitFailReason.WrongVersion
        if reason is None and self.strict_name:
            with self.device.lock:
                paired = set(self.device.paired)
            if paired and ev.name not in paired:
                reason = InitFailReason.NameNotAccepted
        if reason is not None:
            log.info("InitFail 0x%X for %r", reason, ev.name)
            writer.write(conn.send(InitRejected(int(reason))))
            with contextlib.suppress(Exception):
                await writer.drain()
            return None
        if link is None:
            # A new host takes the camera over: the old session's sockets go first.
            if self._link is not None:
                log.info("host %r takes the camera over", ev.name)
                self._drop_link()
            self._numbers += 1
            link = _Link(self._numbers, writer)
            link.session = FujiSession(self.device, ev.name, self.pairing_delay, self.refuse_pairing,
                                       self.capture_style)
            me = asyncio.current_task()
            if me is not None:
                link.tasks.add(me)
            self._link = link
        # libgphoto2 sends its request twice on one socket: ack both.
        ack = conn.send(InitAccepted(0, self.guid, self.profile.model, 0x00010000))
        writer.write(_pad_ack(ack))
        await writer.drain()
        return link

    async def _transaction(self, conn: FujiResponderConnection, link: _Link, req: OperationRequest,
                           payload: bytes | None) -> None:
        session = link.session
        assert session is not None
        writer = link.writer
        tid = req.transaction_id
        plan = self.faults.on_transaction(req.code, req.code in _DATA_IN)
        delay = self.latency_ms / 1000 + plan.delay_s + plan.stall_s
        if delay > 0:
            await asyncio.sleep(delay)
        if link.closed:
            raise _Closed()
        if plan.drop is flt.DropPoint.BEFORE_DATA:
            log.info("fault: dropping the session before transaction %d", tid)
            self._drop_link()
            raise _Closed()
        prompts = session.pairing_prompts
        reply = Reply(DEVICE_BUSY) if plan.busy else session.handle(req.code, tid, req.params, payload)
        self.transactions += 1
        if session.pairing_prompts != prompts:
            self.pairing_prompts += 1
        if req.code == OP_OPEN_SESSION and reply.code == OK:
            self.sessions_opened += 1
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
            if link.closed:
                raise _Closed()
        if plan.malformed is flt.Malformed.BAD_LENGTH:
            writer.write(flt.bad_length_packet())
            await writer.drain()
            raise _Closed()
        if plan.malformed is not None and reply.data is None:
            # an undefined container kind, well framed
            writer.write(struct.pack("<IHHI", 12, 0x0077, req.code, tid))
        if reply.data is not None:
            body: bytes | memoryview = reply.data
            if plan.malformed is not None:
                body = flt.corrupt_payload(plan.malformed, req.code, bytes(body))
            if plan.drop is flt.DropPoint.MID_DATA:
                cut = int(len(body) * plan.drop_fraction)
                frame = Container.data(req.code, tid, body)
                writer.write(frame.header())
                writer.write(bytes(memoryview(body)[:cut]))
                await writer.drain()
                self._drop_link()
                raise _Closed()
            frame = Container.data(req.code, tid, body)
            conn.send(Data(req.code, tid, b""))  # state bookkeeping; the bytes go out below
            writer.write(frame.header())
            writer.write(body)
        if plan.drop is not None:
            self._drop_link()
            raise _Closed()
        writer.write(conn.send(OperationResponse(reply.code, tid, reply.params)))
        await writer.drain()
        if reply.events:
            await self._send_events(reply.events)
        if reply.close:
            await asyncio.sleep(0.05)  # let the response reach the host first
            self._drop_link()
            raise _Closed()
        if reply.capture is not None:
            self._spawn(self._capture(session, reply.capture), f"ptpd-fuji-capture-{tid}")

    async def _capture(self, session: FujiSession, job: CaptureJob) -> None:
        if job.delay_s > 0:
            await asyncio.sleep(job.delay_s)
        try:
            events = await asyncio.to_thread(session.complete_capture, job)
        except Exception:
            log.exception("capture failed")
            return
        if self._link is not None and self._link.session is session:
            await self._send_events(events)


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _pad_ack(ack: bytes) -> bytes:
    """The X-T100's ack is 68 bytes (a 36-byte name area, libgphoto2 issue #517): pad ours
    the same way, NUL-terminated name first, so hosts that copy up to the NUL are safe."""
    if len(ack) >= 68:
        return ack
    name_end = len(ack) - 4
    padded = ack[:name_end] + b"\x00" * (68 - len(ack)) + ack[name_end:]
    return struct.pack("<I", len(padded)) + padded[4:]


def _tune(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)


def _free_base(host: str) -> int:
    """A port P such that P, P+1 and P+2 look free right now (the caller retries races)."""
    for _ in range(200):
        base = random.randint(20000, 60000)
        socks = []
        try:
            for off in range(3):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind((host, base + off))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise OSError("no block of three free ports found")


async def start_fuji_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    model: str | None = None,
    latency_ms: float = 0.0,
    pairing_delay: float = 1.0,
    refuse_pairing: bool = False,
    strict_name: bool = False,
    paired_names: tuple[str, ...] | list[str] = (),
    liveview_fps: float = 30.0,
    subject: str | scene.SceneSchedule | None = "object",
    capture_style: str = "auto",
    initial_images: int = 2,
    big_object_mb: float = 0.0,
    faults: flt.Faults | None = None,
    clock: Callable[[], _dt.datetime] | None = None,
    **options: Any,
) -> FujiSimulator:
    """Start a simulated Fuji camera in the running loop; it serves until ``close()``.

    ``model``: a profile of :mod:`.fuji_profiles` (X-T1 by default). ``pairing_delay``:
    seconds the camera "waits for the user" on a new client; ``refuse_pairing``: the user
    says no. ``strict_name``: refuse (InitFail 0x2019) names other than the paired ones;
    ``paired_names`` are paired from the start. ``subject``: what the scene shows, a
    :class:`~ptpd.simulator.scene.SceneSchedule` spec such as ``"object"`` (default),
    ``"none"`` or ``"none,object@3"``. ``capture_style``: ``"auto"``, ``"fuji"``,
    ``"standard"`` (module docstring). ``big_object_mb`` adds one JPEG of about that
    size to the card (benchmarks). Unknown ``options`` are refused.
    """
    if options:
        raise TypeError(f"unknown Fuji simulator options: {', '.join(sorted(options))}")
    # options may come from a config file as text: take them as the types they mean
    pairing_delay, liveview_fps = float(pairing_delay), float(liveview_fps)
    refuse_pairing, strict_name = _flag(refuse_pairing), _flag(strict_name)
    initial_images, big_object_mb = int(initial_images), float(big_object_mb)
    if isinstance(paired_names, str):
        paired_names = [n.strip() for n in paired_names.split(",") if n.strip()]
    profile = get_profile(model)
    schedule = scene.SceneSchedule.parse(subject)
    kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
    # Rendering the card's first pictures takes CPU: keep the loop free meanwhile.
    device = await asyncio.to_thread(
        lambda: FujiDevice(profile, initial_images=initial_images, schedule=schedule, **kwargs))
    device.paired.update(paired_names)
    if big_object_mb > 0:
        await asyncio.to_thread(device.add_big_object, int(big_object_mb * 1024 * 1024))
    sim = FujiSimulator(device, faults=faults, latency_ms=latency_ms, pairing_delay=pairing_delay,
                        refuse_pairing=refuse_pairing, strict_name=strict_name, capture_style=capture_style,
                        liveview_fps=liveview_fps)
    return await sim.start(host, port)
