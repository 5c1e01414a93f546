"""One session with the simulated Fuji body: an operation in, a :class:`Reply` out.

Sans-I/O. The server (:mod:`.server`) feeds :meth:`FujiSession.handle` one operation at a
time and carries out the :class:`Reply`: data, response code, events to send after the
response, a delay before answering, "close the session", a capture to run.

The session keeps what a session has (its id, PC-style or not, the 0x902B and 0xDF01
steps done, the preview a capture left for 0x9022); the body (:class:`~.device.FujiDevice`)
keeps the rest. Storage and object operations are the shared ones of
:mod:`ptpd.simulator.objects`. Bad requests get PTP response codes, never an exception out
of :meth:`~FujiSession.handle`.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass

from ptpd.fuji.codes import INIT_SEQUENCE_REMOTE, ClientMode, ContainerKind, FujiEventCode
from ptpd.fuji.codes import FujiOperationCode as FOP
from ptpd.fuji.codes import FujiPropCode as F
from ptpd.fuji.packets import Container
from ptpd.fuji.state import encode_state
from ptpd.protocol.codes import DevicePropCode as P
from ptpd.protocol.codes import EventCode
from ptpd.protocol.codes import OperationCode as OP
from ptpd.protocol.codes import ResponseCode as RC
from ptpd.simulator import objects
from ptpd.simulator import store as st
from ptpd.simulator.fuji.device import STORAGE_ID, FujiDevice, Refused
from ptpd.simulator.fuji.profiles import LATER_CONTROL_LIST

log = logging.getLogger(__name__)

__all__ = ["CAPTURE_STYLES", "HANDLERS", "CaptureJob", "FujiSession", "Reply"]

#: self-timer enum (0x5012) -> seconds (fuji-ptpip.md §6.1)
DELAY_SECONDS = {0: 0.0, 1: 1.0, 2: 2.0, 3: 5.0, 4: 10.0}
#: "auto", "fuji" (X-T1 capture events and preview lock) or "standard" (PC-style)
CAPTURE_STYLES = ("auto", "fuji", "standard")


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


def _usb_event(code: int, transaction_id: int, params: tuple[int, ...] = ()) -> bytes:
    """An event in USB container layout: the transaction id in the header, then parameters."""
    return Container(ContainerKind.Event, code, transaction_id, struct.pack(f"<{len(params)}I", *params)).encode()


@dataclass
class FujiSession:
    """One session on one command connection (sans-I/O)."""

    device: FujiDevice
    client_name: str = ""
    pairing_delay: float = 1.0
    refuse_pairing: bool = False
    capture_style: str = "auto"
    full_device_info: bool = False  #: answer GetDeviceInfo in full (tests), not empty as over Wi-Fi
    session_id: int | None = None
    standard: bool = False  #: PC-style session (libgphoto2), see the package docstring
    list_seen: bool = False  #: 0x902B issued in this session (quirk 9)
    remote: bool = False  #: 0xDF01 = 5 accepted
    open_capture: bool = False  #: 0x101C done
    capturing: bool = False  #: a capture is running or its preview is not fetched (quirk 10)
    preview: bytes | None = None  #: the preview waiting for 0x9022
    pairing_prompts: int = 0
    control_listed: bool = False  #: a later body gave its control entries in 0xD212
    mode: int | None = None  #: 0xDF01 as accepted

    def handle(self, code: int, tid: int, params: tuple[int, ...], data: bytes | None = None) -> Reply:
        """Run one operation (``data`` = the data-out payload)."""
        handler = HANDLERS.get(code)
        if handler is None:
            return Reply(RC.OperationNotSupported)
        if code not in (OP.GetDeviceInfo, OP.OpenSession) and self.session_id is None:
            return Reply(RC.SessionNotOpen)
        p = tuple(params) + (0,) * (5 - len(params))
        try:
            return handler(self, tid, p, data)
        except Refused as r:
            return Reply(r.code)
        except st.StoreError as exc:
            return Reply(exc.code)
        except Exception:  # a bug costs one transaction, not the connection
            log.exception("operation 0x%04X failed", code)
            return Reply(RC.GeneralError)

    @property
    def data_out_operations(self) -> frozenset[int]:
        return frozenset({OP.SetDevicePropValue})

    # -- session and bring-up --------------------------------------------------------

    def _open_session(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        if self.session_id is not None:
            return Reply(RC.SessionAlreadyOpen)
        if p[0] == 0:
            return Reply(RC.InvalidParameter)
        self.session_id = p[0]
        self.standard = self.capture_style == "standard" or (self.capture_style == "auto" and tid == 0)
        return Reply(RC.OK)

    def _close_session(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        self.session_id = None
        return Reply(RC.OK)

    @property
    def later(self) -> bool:
        """A body of the later generation (profiles.py)."""
        return self.device.profile.generation != "x-t1"

    def _get_device_info(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        if self.full_device_info:
            return Reply(RC.OK, self.device.device_info(HANDLERS))
        # over Wi-Fi: OK with an empty dataset [libgphoto2 fujiptpip.c for the X-T4; derived]
        return Reply(RC.OK, b"")

    def _initiate_open_capture(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        if not self.remote:
            return Reply(RC.DeviceBusy)  # [sim] no remote mode selected (0xDF01), or none on this body
        self.open_capture = True
        return Reply(RC.OK)

    def _state_list(self) -> bytes:
        """0xD212: the X-T1's whole state; a later body's control entries once after
        OpenSession, its remote list during open capture, else no changes [real-log]."""
        dev = self.device
        if not self.later or self.open_capture:
            return dev.state()
        if self.control_listed:
            return encode_state(())
        self.control_listed = True
        n = dev.object_count()
        with dev.lock:
            dev.values[F.Unknown_D222] = dev.values[F.Unknown_D401] = n
        if dev.profile.remote:
            return dev.state(LATER_CONTROL_LIST)
        return dev.state((F.Unknown_DF00, F.Unknown_D222))  # no remote version [vcam X-A2]

    # -- properties ------------------------------------------------------------------

    def _get_prop_desc(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        code = p[0]
        complete = self.list_seen or self.standard or code in self.device.profile.property_list
        desc = self.device.describe(code, complete=complete)
        return Reply(RC.OK) if desc is None else Reply(RC.OK, desc)

    def _get_prop_value(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        code = p[0]
        if code == F.CurrentState:
            return Reply(RC.OK, self._state_list())
        if self.later and code not in self.device.values and code != P.ExposureIndex:
            return Reply(RC.OK, b"")  # "no value here" [real-log X-T2/X-T20: 0xDF26, 0xD235, 0xDF44]
        return Reply(RC.OK, self.device.encode_value(code))

    def _set_prop_value(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        code = p[0]
        if data is None:
            return Reply(RC.InvalidDevicePropFormat)
        dev = self.device
        value = dev.decode_value(code, data)
        if code == F.InitSequence:
            return self._init_sequence(value)
        if code == F.AppVersion:
            if dev.profile.app_version is None:
                return Reply(RC.GeneralError)  # [sim] a body with no remote version pairs with no app
            if not isinstance(value, int) or value < dev.profile.app_version:
                return Reply(RC.InvalidDevicePropValue)  # [sim] the camera's "upgrade the app"
            dev.set(code, value, force=True)
            with dev.lock:
                dev.paired.add(self.client_name)  # the camera now knows this client (§3.3)
            return Reply(RC.OK)
        dev.set(code, value)
        return Reply(RC.OK)

    def _init_sequence(self, value: int | str) -> Reply:
        """0xDF01 = mode, answered after the user's OK the first time a name pairs (quirk 4).

        The X-T1 takes 5 (remote) [dump]; a later body any of libfuji's modes, remote
        shooting only where it has a remote version."""
        accepted = {int(m) for m in ClientMode} if self.later else {INIT_SEQUENCE_REMOTE}
        if value not in accepted:
            return Reply(RC.InvalidDevicePropValue)  # [sim] other modes are not simulated
        dev = self.device
        self.mode = int(value)
        remote = value == INIT_SEQUENCE_REMOTE and dev.profile.remote
        with dev.lock:
            known = self.client_name in dev.paired
        if known:
            self.remote = remote
            return Reply(RC.OK)
        self.pairing_prompts += 1
        if self.refuse_pairing:
            log.info("pairing prompt for %r: refused on the camera", self.client_name)
            return Reply(RC.DeviceBusy, delay_s=self.pairing_delay, close=True)
        log.info("pairing prompt for %r: accepted after %.1f s", self.client_name, self.pairing_delay)
        self.remote = remote
        if not dev.profile.remote:
            with dev.lock:
                dev.paired.add(self.client_name)  # no version echo follows on such a body [sim]
        return Reply(RC.OK, delay_s=self.pairing_delay)

    def _get_property_list(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        self.list_seen = True
        return Reply(RC.OK, self.device.property_list())

    def _step(self, code: int, up: bool) -> Reply:
        dev = self.device
        spec = dev.specs[code]
        values = [v for v in spec.values if v != 0xFFFF]
        cur = dev.get(code)
        if cur not in values:
            return Reply(RC.OK)
        i = values.index(cur) + (1 if up else -1)
        if 0 <= i < len(values):
            dev.set(code, values[i], force=True)
        return Reply(RC.OK)

    def _set_aperture(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        # hkr: relative 1/3 stop, param 0 = open, 1 = close
        return self._step(P.FNumber, up=p[0] == 1)

    def _set_exposure_compensation(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        return self._step(P.ExposureBiasCompensation, up=p[0] == 1)  # [sim] 1 = +1/3 EV, 0 = -1/3 EV

    def _set_shutter_speed(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        # [sim] a relative step of the 1/N shutter (hkr: MSB set = 1/N): 1 = faster
        cur = int(self.device.get(F.ShutterSpeed))
        n = cur & 0x7FFFFFFF if cur != 0xFFFFFFFF and cur & 0x80000000 else 250
        n = min(8000, max(1, round(n * (2 ** (1 / 3) if p[0] == 1 else 2 ** (-1 / 3)))))
        self.device.set(F.ShutterSpeed, 0x80000000 | n, force=True)
        return Reply(RC.OK)

    def _set_focus_point(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        # [sim] param1 = X in bits 8-15, Y in bits 0-7 (as 0xD17C); upper bits kept
        cur = int(self.device.get(F.FocusPoint))
        self.device.set(F.FocusPoint, (cur & 0xFFFF0000) | (p[0] & 0xFFFF), force=True)
        return Reply(RC.OK)

    def _reset_focus_point(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        spec = self.device.specs[F.FocusPoint]
        self.device.set(F.FocusPoint, spec.current, force=True)
        return Reply(RC.OK)

    # -- capture ---------------------------------------------------------------------

    def _initiate_capture(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        if not self.standard and not self.open_capture:
            return Reply(RC.DeviceBusy)  # [sim] remote control not handed over (0x101C)
        action = int(self.device.values.get(F.ShootControl, 0x0304))
        if action in (0x0200, 0x0004):
            # 0xD208 = S1 (focus) or its cancel: no picture; 0xD209 says 2 = focused
            # [libgphoto2 camera_fuji_capture, ptp.h]
            self.device.set(F.FocusLock, 2 if action == 0x0200 else 0, force=True)
            return Reply(RC.OK)
        if self.capturing:
            # Quirk 10: accepted but ignored until the preview is fetched.
            log.info("capture %d ignored: the previous preview was not fetched", tid)
            return Reply(RC.OK)
        if int(self.device.get(F.CapturesRemaining)) <= 0:
            return Reply(RC.StoreFull)
        self.capturing = True
        delay = DELAY_SECONDS.get(int(self.device.get(P.CaptureDelay)), 0.0)
        # later bodies report captures the way libgphoto2's Fuji path reads them [derived]
        return Reply(RC.OK, capture=CaptureJob(tid, delay, self.standard or self.later))

    def complete_capture(self, job: CaptureJob) -> tuple[bytes, ...]:
        """Take the picture (call from a worker thread); the events to send."""
        try:
            preview, obj = self.device.shoot()
        except st.StoreFull:
            self.capturing = False
            return (_usb_event(EventCode.StoreFull, job.transaction_id, (STORAGE_ID,)),)
        except Exception:
            self.capturing = False
            raise
        if job.standard:
            self.capturing = False
            return (
                _usb_event(EventCode.ObjectAdded, job.transaction_id, (obj.handle,)),
                _usb_event(EventCode.CaptureComplete, job.transaction_id),
            )
        self.preview = preview
        tid = job.transaction_id
        # X-T1 layout (§7, §8.1): amount 1, tid, param1 = tid, param2 = preview size
        return (
            Container.event(FujiEventCode.ObjectAdded, tid, (tid, 0, 0)).encode(),
            Container.event(FujiEventCode.PreviewAvailable, tid, (tid, len(preview), 0)).encode(),
        )

    def _get_capture_preview(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        preview = self.preview
        if preview is None:
            last = self.device.last_preview
            return Reply(RC.OK, last) if last is not None else Reply(RC.NoThumbnailPresent)
        self.preview = None
        self.capturing = False
        return Reply(RC.OK, preview, events=(Container.event(EventCode.CaptureComplete, tid, (tid, 0, 0)).encode(),))


#: The operations the body answers, by code; a test may take one out (a body without it).
HANDLERS: dict[int, Callable[[FujiSession, int, tuple[int, ...], bytes | None], Reply]] = {
    # storage and object operations: the same on every camera
    **objects.session_handlers(lambda s: s.device, lambda a: Reply(a.code, a.data, a.params)),
    OP.GetDeviceInfo: FujiSession._get_device_info,
    OP.OpenSession: FujiSession._open_session,
    OP.CloseSession: FujiSession._close_session,
    OP.InitiateCapture: FujiSession._initiate_capture,
    OP.GetDevicePropDesc: FujiSession._get_prop_desc,
    OP.GetDevicePropValue: FujiSession._get_prop_value,
    OP.SetDevicePropValue: FujiSession._set_prop_value,
    OP.InitiateOpenCapture: FujiSession._initiate_open_capture,
    FOP.GetCapturePreview: FujiSession._get_capture_preview,
    FOP.SetFocusPoint: FujiSession._set_focus_point,
    FOP.ResetFocusPoint: FujiSession._reset_focus_point,
    FOP.GetPropertyList: FujiSession._get_property_list,
    FOP.SetShutterSpeed: FujiSession._set_shutter_speed,
    FOP.SetAperture: FujiSession._set_aperture,
    FOP.SetExposureCompensation: FujiSession._set_exposure_compensation,
}
