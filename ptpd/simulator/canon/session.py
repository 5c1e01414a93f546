"""One PTP session with the simulated EOS body: operations in, a :class:`Reply` out (sans-I/O).

The standard operations are the shared ones (:mod:`ptpd.simulator.objects`), widened to
the pictures the body keeps in RAM for the host. The EOS ones follow what libgphoto2
sends and needs (research notes §1, §4-§6, §11.1; library.c, config.c):

* SetRemoteMode / SetEventMode take one parameter; event mode 1 (or 2, an EOS M's)
  queues the full dump for the next GetEvent;
* GetEvent always answers with a data phase: the queued records and the end record (an
  empty queue is exactly 8 bytes). A record is sent once: libgphoto2 calls GetEvent
  until a reply is empty, so a repeat would keep it calling;
* SetDevicePropValueEx checks the value against the allowed list (InvalidDevicePropValue
  otherwise [inferred: what a real body answers is not known]) and reports the new value;
* RemoteReleaseOn(1) half presses (a FocusInfoEx change unless the focus is manual),
  (2) or (3) shoots: a picture for the card (ObjectAddedEx) or for the host
  (RequestObjectTransfer), an EOS M reporting Button 4 first; a second shot while one is
  taken answers DeviceBusy, as real bodies do too soon after one (gphoto2#213);
* GetViewFinderData answers ObjectNotReady (0xA102) until EVF mode is 1 and the output
  bit is set, and for a moment after; then a blob list of the frame and the end blob;
* DriveLens moves the lens (:meth:`CanonDevice.drive_lens`) in live view only, answering
  ObjectNotReady outside it and while it starts; the pictures are focused where it stands;
* TransferComplete frees a picture kept in RAM; GetPartialObject and GetObjectInfo
  reach those pictures too (read at offset, as libgphoto2 does).
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ptpd.canon import events as ev
from ptpd.canon.codes import (
    CanonOperationCode as EOS,
)
from ptpd.canon.codes import (
    CanonPropCode as C,
)
from ptpd.canon.codes import (
    CanonResponseCode,
    ViewFinderBlob,
)
from ptpd.canon.packets import decode_set_property, encode_viewfinder
from ptpd.canon.properties import by_code
from ptpd.canon.values import FOCUS_MANUAL
from ptpd.protocol import datasets
from ptpd.protocol.codes import OperationCode as OP
from ptpd.protocol.codes import ResponseCode as RC
from ptpd.protocol.errors import ProtocolError
from ptpd.simulator import objects
from ptpd.simulator import store as st
from ptpd.simulator.canon.device import CanonDevice
from ptpd.simulator.canon.profiles import STORAGE_ID
from ptpd.simulator.generic import Reply

log = logging.getLogger(__name__)

ALL = 0xFFFFFFFF
#: Seconds GetViewFinderData stays "not ready" after the output was turned on (a body
#: starts its sensor readout; the emulator answered 0xA102 fourteen times, our run).
EVF_WARMUP = 0.15
#: The MAC address GetMACAddress reports: locally administered, as no real body's.
MAC_ADDRESS = bytes.fromhex("02505450440d")

#: Parameters each operation takes; more non-zero ones are ParameterNotSupported.
PARAM_COUNT: dict[int, int] = {
    OP.GetDeviceInfo: 0, OP.OpenSession: 1, OP.CloseSession: 0, OP.GetStorageIDs: 0, OP.GetStorageInfo: 1,
    OP.GetNumObjects: 3, OP.GetObjectHandles: 3, OP.GetObjectInfo: 1, OP.GetObject: 1, OP.GetThumb: 1,
    OP.DeleteObject: 2, OP.GetPartialObject: 3,
    EOS.GetMACAddress: 0, EOS.GetStorageIDs: 0, EOS.GetStorageInfo: 1, EOS.GetDeviceInfoEx: 0,
    EOS.SetDevicePropValueEx: 0, EOS.GetRemoteMode: 0, EOS.SetRemoteMode: 1, EOS.SetEventMode: 1, EOS.GetEvent: 0,
    EOS.TransferComplete: 1, EOS.PCHDDCapacity: 3, EOS.SetUILock: 0, EOS.ResetUILock: 0, EOS.KeepDeviceOn: 0,
    EOS.RequestDevicePropValue: 1, EOS.RemoteReleaseOn: 2, EOS.RemoteReleaseOff: 1, EOS.SetRequestOLCInfoGroup: 1,
    EOS.GetViewFinderData: 3, EOS.DriveLens: 1, EOS.AfCancel: 0,
}  # fmt: skip
#: operations whose data phase comes from the host
DATA_OUT_OPERATIONS = frozenset({EOS.SetDevicePropValueEx})
#: operations answered with a data phase
DATA_IN_OPERATIONS = frozenset({
    OP.GetDeviceInfo, OP.GetStorageIDs, OP.GetStorageInfo, OP.GetObjectHandles, OP.GetObjectInfo, OP.GetObject,
    OP.GetThumb, OP.GetPartialObject, EOS.GetMACAddress, EOS.GetStorageIDs, EOS.GetStorageInfo,
    EOS.GetDeviceInfoEx, EOS.GetEvent, EOS.GetViewFinderData,
})  # fmt: skip


@dataclass(eq=False)
class CanonSession:
    """One PTP session on one PTP/IP connection pair."""

    device: CanonDevice
    frame: Callable[[], bytes] | None = None  #: the live-view JPEG now (the server's frame source)
    session_id: int | None = None
    remote_mode: int = 0
    event_mode: int = 0
    transactions: int = 0
    records: list[ev.Record] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.session_id is not None

    def queue_records(self, records: tuple[ev.Record, ...]) -> None:
        """Records for this session's next GetEvent (the device's broadcast; under its lock)."""
        if self.event_mode:
            self.records.extend(records)

    def handle(self, code: int, transaction_id: int, params: tuple[int, ...], data: bytes | None = None) -> Reply:
        """Run one operation. ``data`` is the data-out payload when the host sent one."""
        self.transactions += 1
        try:
            with self.device.lock:
                return self._dispatch(code, params, data)
        except st.StoreError as exc:
            return Reply(exc.code)
        except Exception:  # a bug costs one transaction, not the connection
            log.exception("operation 0x%04X failed", code)
            return Reply(RC.GeneralError)

    def _dispatch(self, code: int, params: tuple[int, ...], data: bytes | None) -> Reply:
        handler = _HANDLERS.get(code)
        if handler is None:
            return Reply(RC.OperationNotSupported)
        if any(p != 0 for p in params[PARAM_COUNT[code] :]):
            return Reply(RC.ParameterNotSupported)
        if code not in (OP.GetDeviceInfo, OP.OpenSession) and not self.is_open:
            return Reply(RC.SessionNotOpen)
        return handler(self, tuple(params) + (0,) * (5 - len(params)), data)

    # -- standard -------------------------------------------------------------------------------

    def _get_device_info(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        return Reply(RC.OK, data=self.device.device_info())

    def _open_session(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        if p[0] == 0:
            return Reply(RC.InvalidParameter)
        if self.session_id is not None:
            return Reply(RC.SessionAlreadyOpen, (self.session_id,))
        self.session_id = p[0]
        return Reply(RC.OK)

    def _close_session(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        self.session_id = None
        self.device.sessions.discard(self)
        return Reply(RC.OK, close_session=True)

    def _ram_object(self, handle: int) -> st.StoredObject | None:
        return self.device.ram.get(handle)

    def _get_object_info(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        obj = self._ram_object(p[0])
        if obj is not None:
            return Reply(RC.OK, data=objects.object_info(obj))
        return _standard(objects.get_object_info, self, p)

    def _get_partial_object(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        obj = self._ram_object(p[0])
        if obj is None:
            return _standard(objects.get_partial_object, self, p)
        if p[1] > obj.size:
            return Reply(RC.InvalidParameter)
        chunk = memoryview(obj.data)[p[1] : p[1] + p[2]]
        return Reply(RC.OK, (len(chunk),), data=chunk)

    def _get_object(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        obj = self._ram_object(p[0])
        if obj is not None:
            return Reply(RC.OK, data=memoryview(obj.data))
        return _standard(objects.get_object, self, p)

    def _delete_object(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        before = set(self.device.store.handles())
        reply = _standard(objects.delete_object, self, p)
        if reply.code == RC.OK:
            gone = before - set(self.device.store.handles())
            self.device.broadcast(ev.ObjectRemoved(h) for h in sorted(gone))
        return reply

    # -- EOS session set-up ------------------------------------------------------------------------

    def _set_remote_mode(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        self.remote_mode = p[0]
        return Reply(RC.OK)

    def _get_remote_mode(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        return Reply(RC.OK, (self.remote_mode,))

    def _set_event_mode(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        was, self.event_mode = self.event_mode, p[0]
        if self.event_mode and not was:
            self.device.sessions.add(self)
            self.records = self.device.dump()
        elif not self.event_mode:
            self.device.sessions.discard(self)
            self.records = []
        return Reply(RC.OK)

    def _get_event(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        records, self.records = self.records, []
        return Reply(RC.OK, data=ev.encode_events(records))

    def _ok(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        return Reply(RC.OK)

    def _storage_ids(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        return Reply(RC.OK, data=datasets.encode_uint32_array(self.device.store.storage_ids))

    def _storage_info_eos(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        self.device.store.storage(p[0] if p[0] != ALL else STORAGE_ID)
        # libgphoto2 ignores this data (config.c:436-451); its layout is not known
        return Reply(RC.OK, data=struct.pack("<IIII", 16, 0, 0, 0))

    def _device_info_ex(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        return Reply(RC.OK, data=self.device.device_info_ex())

    def _mac_address(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        return Reply(RC.OK, data=MAC_ADDRESS)

    def _request_prop(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        if p[0] in self.device.values:
            self.queue_records((self.device.value_record(p[0]),))
        return Reply(RC.OK)

    def _pc_hdd_capacity(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        # the host's room, in clusters: what a body capturing to the host counts its shots from
        if self.device.values.get(C.CaptureDestination) == 4:
            shots = min(9999, p[0] * max(p[1], 1) // (8 * 1024 * 1024))
            self.device.set_value(C.AvailableShots, shots)
        return Reply(RC.OK)

    # -- properties -------------------------------------------------------------------------------

    def _set_prop_ex(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        if data is None:
            return Reply(RC.InvalidDevicePropFormat)
        try:
            code, raw = decode_set_property(data)
        except ProtocolError:
            return Reply(RC.InvalidDevicePropFormat)
        dev = self.device
        if code not in dev.values:
            return Reply(RC.DevicePropNotSupported)
        prop = by_code(code)
        if not prop.writable and prop.kind != "auto":
            return Reply(RC.AccessDenied)
        value = prop.decode(raw)
        if not _allowed(code, value, dev.allowed.get(code, ()), dev.profile.live_bit):
            return Reply(RC.InvalidDevicePropValue)
        if code == C.EVFOutputDevice and isinstance(value, int):
            was = dev.values.get(code, 0)
            if value & dev.profile.live_bit and not (isinstance(was, int) and was & dev.profile.live_bit):
                dev.evf_since = time.monotonic()
        dev.set_value(code, value)
        return Reply(RC.OK)

    # -- release -----------------------------------------------------------------------------------

    def _release_on(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        mode = p[0]
        dev = self.device
        if mode not in (1, 2, 3):
            return Reply(RC.InvalidParameter)
        if mode == 1:
            if dev.values.get(C.FocusMode) != FOCUS_MANUAL:
                self.device.broadcast([dev.value_record(C.FocusInfoEx)])
            return Reply(RC.OK)
        return self._shoot(eos_m_button=mode == 3 and dev.profile.eos_m)

    def _shoot(self, *, eos_m_button: bool) -> Reply:
        dev = self.device
        if dev.capturing:
            return Reply(RC.DeviceBusy)
        to_host = dev.values.get(C.CaptureDestination) == 4
        if not to_host and dev.store.free_bytes(STORAGE_ID) < 16 * 1024 * 1024:
            return Reply(RC.StoreFull)
        if eos_m_button:
            dev.broadcast([ev.button_record(4)])
        return Reply(RC.OK, capture=dev.start_capture())  # type: ignore[arg-type]  # the same run() as the generic job

    def _transfer_complete(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        self.device.ram.pop(p[0], None)
        return Reply(RC.OK)

    # -- live view ---------------------------------------------------------------------------------

    def _viewfinder(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        dev = self.device
        if not dev.liveview_on() or self.frame is None:
            return Reply(CanonResponseCode.ObjectNotReady)
        if dev.evf_since is not None and time.monotonic() - dev.evf_since < EVF_WARMUP:
            return Reply(CanonResponseCode.ObjectNotReady)
        jpeg = self.frame()
        w, h = dev.profile.liveview_size
        # a frame, the frame's size as an info blob, and the end blob
        return Reply(
            RC.OK, data=encode_viewfinder([(ViewFinderBlob.JPEG, jpeg), (5, struct.pack("<HHHH", w, h, 0, 0))])
        )

    def _drive_lens(self, p: tuple[int, ...], data: bytes | None) -> Reply:
        # only in live view, and not while it starts [inferred: the answer of a real body
        # outside live view is not known; libgphoto2 drives the lens only in live view]
        dev = self.device
        if not dev.liveview_on() or (dev.evf_since is not None and time.monotonic() - dev.evf_since < EVF_WARMUP):
            return Reply(CanonResponseCode.ObjectNotReady)
        return Reply(RC.OK if dev.drive_lens(p[0]) else RC.InvalidParameter)


def _allowed(code: int, value: object, allowed: tuple[object, ...], live_bit: int) -> bool:
    if code == C.EVFOutputDevice:
        # any output bits: libgphoto2 turns it off (0) at exit although real lists lack 0
        return isinstance(value, int) and 0 <= value <= 0xF
    return not allowed or value in allowed


def _standard(
    run: Callable[[objects.ObjectCamera, tuple[int, ...]], objects.Answer], s: CanonSession, p: tuple[int, ...]
) -> Reply:
    a = run(s.device, p)
    return Reply(a.code, a.params, a.data)


_S = CanonSession
_HANDLERS: dict[int, Callable[[CanonSession, tuple[int, ...], bytes | None], Reply]] = {
    **{code: (lambda r: lambda s, p, d: _standard(r, s, p))(run) for code, run in objects.OPERATIONS.items()},
    OP.GetDeviceInfo: _S._get_device_info,
    OP.OpenSession: _S._open_session,
    OP.CloseSession: _S._close_session,
    OP.GetObjectInfo: _S._get_object_info,
    OP.GetObject: _S._get_object,
    OP.GetPartialObject: _S._get_partial_object,
    OP.DeleteObject: _S._delete_object,
    EOS.GetMACAddress: _S._mac_address,
    EOS.GetStorageIDs: _S._storage_ids,
    EOS.GetStorageInfo: _S._storage_info_eos,
    EOS.GetDeviceInfoEx: _S._device_info_ex,
    EOS.SetDevicePropValueEx: _S._set_prop_ex,
    EOS.GetRemoteMode: _S._get_remote_mode,
    EOS.SetRemoteMode: _S._set_remote_mode,
    EOS.SetEventMode: _S._set_event_mode,
    EOS.GetEvent: _S._get_event,
    EOS.TransferComplete: _S._transfer_complete,
    EOS.PCHDDCapacity: _S._pc_hdd_capacity,
    EOS.SetUILock: _S._ok,
    EOS.ResetUILock: _S._ok,
    EOS.KeepDeviceOn: _S._ok,
    EOS.RequestDevicePropValue: _S._request_prop,
    EOS.RemoteReleaseOn: _S._release_on,
    EOS.RemoteReleaseOff: _S._ok,
    EOS.SetRequestOLCInfoGroup: _S._ok,
    EOS.GetViewFinderData: _S._viewfinder,
    EOS.DriveLens: _S._drive_lens,
    EOS.AfCancel: _S._ok,
}
assert set(_HANDLERS) == set(PARAM_COUNT)


__all__ = ["DATA_IN_OPERATIONS", "DATA_OUT_OPERATIONS", "EVF_WARMUP", "CanonSession"]
