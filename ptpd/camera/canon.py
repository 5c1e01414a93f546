"""Canon EOS bodies over Wi-Fi behind the vendor-neutral :class:`~ptpd.camera.base.Camera` API.

An EOS body is a standard PTP/IP camera (:class:`~ptpd.camera.generic.GenericCamera`:
the link, pairing, objects, downloads) whose control is Canon's (:mod:`ptpd.canon`).
What differs, and why (research notes, from libgphoto2 2.5.30 and our gphoto2 traces):

* **set-up**: after OpenSession and DeviceInfo, SetRemoteMode(1) (0x15 on an EOS M) and
  SetEventMode(1), then GetEvent until a reply is empty (libgphoto2's prepare,
  config.c:369-482): that first reply lists every property's value and allowed values;
* **properties** live in :class:`~ptpd.canon.state.EosState`, fed only by GetEvent records;
  ``get``/``describe``/``state`` read it after a poll when it is older than
  :data:`POLL_INTERVAL`, ``set`` is one SetDevicePropValueEx checked against the allowed
  list, kept on OK as libgphoto2 does. Standard properties a body lists in DeviceInfo
  and never reports through GetEvent go the standard way;
* **events**: an EOS body pushes nothing on the event channel, so :meth:`CanonCamera.events`
  polls GetEvent every :data:`POLL_INTERVAL` while someone listens. Every GetEvent reply,
  whoever asked for it (a poll, a capture, a ``get``), updates the state and reaches every
  listener, so no record is lost to another caller;
* **capture** is the remote release (library.c:5827-6010): RemoteReleaseOn(1) half press,
  a short wait for the focus result, RemoteReleaseOn(2), RemoteReleaseOff(2), GetEvent,
  RemoteReleaseOff(1); an EOS M presses (3) once and reports Button 4; a body without
  0x9128 uses RemoteRelease 0x910F. The new object arrives in a GetEvent record:
  ObjectAddedEx on the card (an ordinary object), or RequestObjectTransfer when the
  capture target is the host's RAM (read with GetPartialObject, then TransferComplete);
* **live view** sets the EVF output's PC bit (and EVF mode 1), then asks
  GetViewFinderData for frames; "not ready" answers are waited out; the output is put
  back when live view ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ptpd.camera import properties as std
from ptpd.camera.base import (
    CameraEvent,
    CameraInfo,
    LiveViewFrame,
    ObjectEntry,
    Progress,
    PropertyDesc,
    PropertyValue,
    ReleaseGate,
    Shot,
)
from ptpd.camera.canon_events import EVENT_NAMES, event_of
from ptpd.camera.errors import LINK_ERRORS, CaptureTimeout, ResponseError, Timeout, Unsupported
from ptpd.camera.generic import CAPTURE_TIMEOUT, GenericCamera
from ptpd.camera.jpeg import jpeg_size
from ptpd.camera.transfer import Download, Transfer
from ptpd.canon import events as ev
from ptpd.canon.codes import (
    CAPTURE_TO_HOST,
    EVENT_MODE,
    OLC_INFO_GROUP_ALL,
    PC_HDD_CAPACITY,
    REMOTE_MODE,
    REMOTE_MODE_EOS_M,
    VIEWFINDER_PARAMS,
    CanonEventCode,
    CanonResponseCode,
    DriveLensStep,
    EVFOutput,
    RemoteReleaseMode,
    RemoteReleaseResult,
)
from ptpd.canon.codes import CanonOperationCode as EOS
from ptpd.canon.codes import CanonPropCode as CP
from ptpd.canon.detect import is_eos_m
from ptpd.canon.packets import encode_set_property, viewfinder_jpeg
from ptpd.canon.properties import SUMMARY, CanonProperty, Value, by_code, by_name
from ptpd.canon.properties import lookup as canon_lookup
from ptpd.canon.properties import reapplies as canon_reapplies
from ptpd.canon.state import EosState
from ptpd.canon.values import DRIVE_DELAY, FOCUS_MANUAL
from ptpd.protocol.codes import ObjectFormat, ResponseCode
from ptpd.protocol.initiator import PTPIP_PORT

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

#: Seconds between GetEvent polls while events are wanted; a state older than this is
#: refreshed before it is read (libgphoto2 waits 50-200 ms between its polls).
POLL_INTERVAL = 0.2
#: Most GetEvent calls one drain makes: a body that always has news must not hold us.
MAX_DRAIN = 32
#: How long the half press waits for the focus result: 2 s in autofocus, 0.1 s in manual
#: focus, then the release goes on anyway (library.c:5872-5918).
FOCUS_WAIT, FOCUS_WAIT_MANUAL = 2.0, 0.1
#: How long an EOS M's release waits for its Button record (library.c:5940-5984).
BUTTON_WAIT = 2.0
#: Seconds between GetEvent polls while a capture waits for its object.
CAPTURE_POLL = 0.05
#: Available shots below which a body capturing to the host is told its room again
#: (library.c:5852-5866).
LOW_SHOTS = 100
#: Live view: at most this many frames a second are asked for, and a body not ready
#: (0xA102) for this long ends it.
LIVEVIEW_FPS = 30.0
LIVEVIEW_NOT_READY = 10.0
#: seconds DriveLens may answer not ready or busy (live view starting, the lens moving)
DRIVE_LENS_NOT_READY = 3.0

Listener = Callable[[tuple[ev.Record, ...], set[int]], None]


class CanonCamera(GenericCamera):
    """A Canon EOS body over PTP/IP (Wi-Fi), and ptpd's simulated one."""

    vendor = "canon"
    #: the body's count of the shots that fit (its GetEvent state)
    shots_left_property = CP.AvailableShots

    def __init__(
        self,
        host: str,
        port: int = PTPIP_PORT,
        event_port: int | None = None,
        guid: bytes | str | None = None,
        name: str = "ptpd",
        timeout: float = 10.0,
        *,
        poll_interval: float = POLL_INTERVAL,
        capture_timeout: float = max(CAPTURE_TIMEOUT, 90.0),
        **options: Any,
    ) -> None:
        super().__init__(host, port, event_port, guid, name, timeout, capture_timeout=capture_timeout, **options)
        self.poll_interval = poll_interval
        self.eos = EosState()
        self.eos_m = False
        self._listeners: set[Listener] = set()
        self._polled_at = float("-inf")
        self._ram: set[int] = set()  # captures in the camera's RAM awaiting TransferComplete
        self._released: set[int] = set()  # captures in RAM already released (nothing to delete)
        self._capture_lock = asyncio.Lock()

    # -- set-up and the event poll -------------------------------------------------------------

    async def _ready(self) -> None:
        """Remote mode, event mode, and the first GetEvent dump (libgphoto2's order)."""
        self.eos = EosState()
        self._ram.clear()
        self._released.clear()
        di = self._device_info
        self.eos_m = di is not None and is_eos_m(di.model, di.operations_supported)
        if self._supports(EOS.SetRemoteMode):
            await self._quiet(EOS.SetRemoteMode, (REMOTE_MODE_EOS_M if self.eos_m else REMOTE_MODE,))
            if self.eos_m:
                await self._refresh_info()  # an EOS M lists more once in remote mode
        await self.link.call(EOS.SetEventMode, (EVENT_MODE,))
        if self._supports(EOS.SetRequestOLCInfoGroup):
            await self._quiet(EOS.SetRequestOLCInfoGroup, (OLC_INFO_GROUP_ALL,))
        await self.poll(drain=True)
        log.info("EOS session: %d properties, %d allowed lists", len(self.eos.values), len(self.eos.allowed))

    async def _quiet(self, op: int, params: tuple[int, ...] = ()) -> int:
        """An operation whose refusal is only worth a log line (a body listing what it
        refuses, as the emulator does); its response code."""
        resp, _ = await self.link.transact(op, params)
        if resp.code != ResponseCode.OK:
            log.debug("camera answered 0x%04X to 0x%04X%s", resp.code, op, params)
        return resp.code

    async def poll(self, *, drain: bool = False) -> tuple[ev.Record, ...]:
        """One GetEvent (with ``drain``: until a reply lists nothing, as libgphoto2 does),
        taken in by the state and handed to every listener; the records."""
        out: list[ev.Record] = []
        for _ in range(MAX_DRAIN if drain else 1):
            # a body that sends no data phase (the emulator after its first reply) has
            # nothing to say: an empty reply
            _, data = await self.link.call(EOS.GetEvent)
            records = ev.decode_events(data)
            self._polled_at = asyncio.get_running_loop().time()
            changed = self.eos.apply(records)
            for listener in list(self._listeners):
                listener(records, changed)
            out += records
            if not records:
                break
        return tuple(out)

    async def _fresh(self) -> None:
        """Poll unless the state is younger than the poll interval."""
        if asyncio.get_running_loop().time() - self._polled_at >= self.poll_interval:
            await self.poll(drain=True)

    @contextlib.contextmanager
    def _records(self) -> Iterator[list[ev.Record]]:
        """Every record any GetEvent brings while the block runs."""
        seen: list[ev.Record] = []

        def listener(records: tuple[ev.Record, ...], changed: set[int]) -> None:
            seen.extend(records)

        self._listeners.add(listener)
        try:
            yield seen
        finally:
            self._listeners.discard(listener)

    async def events(self) -> AsyncGenerator[CameraEvent, None]:
        """Polls GetEvent while iterated (others' polls count too); ends with the link."""
        queue: asyncio.Queue[CameraEvent] = asyncio.Queue()

        def listener(records: tuple[ev.Record, ...], changed: set[int]) -> None:
            for r in records:
                e = event_of(r, changed)
                if e is not None:
                    queue.put_nowait(e)

        self._listeners.add(listener)
        loop = asyncio.get_running_loop()
        try:
            while self.connected:
                while not queue.empty():
                    yield queue.get_nowait()
                due = self._polled_at + self.poll_interval - loop.time()
                if due > 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        yield await asyncio.wait_for(queue.get(), due)
                    continue
                try:
                    await self.poll()
                except ResponseError as exc:  # a busy body: ask again next time
                    log.debug("GetEvent refused: %s", exc)
                    self._polled_at = loop.time()
        finally:
            self._listeners.discard(listener)

    async def keepalive(self) -> None:
        """KeepDeviceOn where the body lists it (libgphoto2's capture and preview loops),
        else one GetEvent."""
        if self._supports(EOS.KeepDeviceOn) and await self._quiet(EOS.KeepDeviceOn) == ResponseCode.OK:
            return
        await self.poll()

    # -- info and properties -------------------------------------------------------------------------

    async def info(self) -> CameraInfo:
        base = await super().info()
        ack = self.link.camera
        extra = dict(base.extra)
        extra.update(
            {
                "camera_name": ack.name if ack else "",
                "eos_m": self.eos_m,
                "paired_with_prompt": self.paired_with_prompt,
                "eos_properties": len(self.eos.values),
            }
        )
        props = tuple(dict.fromkeys((*base.properties, *self.eos.values)))
        return CameraInfo(
            base.vendor,
            base.manufacturer,
            base.model,
            base.version,
            base.serial,
            base.extension,
            base.operations,
            base.events,
            props,
            base.capture_formats,
            base.image_formats,
            extra,
        )

    def _name(self, code: int) -> str:
        """The EOS table's name; a standard property's own, unless an EOS property this
        body reports goes by it (0x5001 and D111 are both a battery): then its code."""
        p = by_code(code)
        if p.kind != "auto" or code not in std.BY_CODE:
            return p.name
        name = std.property_name(code)
        twin = by_name(name)
        return f"0x{code:04X}" if twin is not None and twin.code in self.eos else name

    async def property_names(self) -> list[str]:
        names = [self._name(c) for c in self.eos.values]
        di = await self._info()
        names += [std.property_name(int(c)) for c in di.device_properties_supported if int(c) not in self.eos]
        return list(dict.fromkeys(names))

    def _resolve(self, prop: str | int) -> tuple[int, bool]:
        """(code, whether GetEvent reports it) for a name, alias or code: the EOS table's
        names first, then the standard ones."""
        try:
            code = canon_lookup(prop).code
        except ValueError:
            code = None
        if code is not None and code in self.eos:
            return code, True
        try:
            standard = std.property_code(prop)
        except ValueError:
            standard = None
        if standard is not None and standard in self.eos:
            return standard, True
        di = self._device_info
        if standard is not None and di is not None and standard in di.device_properties_supported:
            return standard, False
        if code is not None and (di is None or code in di.device_properties_supported):
            return code, False
        raise ValueError(f"{prop!r} is not offered by this camera; it has: {', '.join(self._known_names())}")

    def _known_names(self) -> list[str]:
        names = [self._name(c) for c in self.eos.values]
        if self._device_info is not None:
            names += [std.property_name(int(c)) for c in self._device_info.device_properties_supported]
        return list(dict.fromkeys(names))

    def _prop(self, code: int) -> CanonProperty:
        return by_code(code)

    def _eos_value(self, code: int, value: Value) -> PropertyValue:
        p = self._prop(code)
        if p.kind == "auto" and code in std.BY_CODE:
            label = std.format_value(code, value)
        else:
            label = p.label(value)
        standard = p.standard(value) if p.standard is not None and isinstance(value, int) else None
        return PropertyValue(code, self._name(code), value, label, p.datatype, standard)

    async def get(self, prop: str | int) -> PropertyValue:
        code, eos = self._resolve(prop)
        if not eos:
            return await super().get(code)
        await self._fresh()
        return self._eos_value(code, self.eos.values[code])

    async def describe(self, prop: str | int) -> PropertyDesc:
        code, eos = self._resolve(prop)
        if not eos:
            return await super().describe(code)
        await self._fresh()
        p = self._prop(code)
        allowed = self.eos.allowed.get(code, ())
        return PropertyDesc(
            code=code,
            name=self._name(code),
            datatype=p.datatype,
            writable=p.writable,
            current=self._eos_value(code, self.eos.values[code]),
            form="enum" if allowed else "none",
            allowed=tuple((v, self._eos_value(code, v).label) for v in allowed),
        )

    async def set(self, prop: str | int, value: str | int) -> PropertyValue:
        code, eos = self._resolve(prop)
        if not eos:
            return await super().set(code, value)
        p = self._prop(code)
        if not p.writable:
            raise ValueError(f"{p.name} is read-only")
        allowed = self.eos.allowed.get(code, ())
        labels = ", ".join(self._eos_value(code, v).label for v in allowed)
        try:
            raw = p.parse(value, allowed)
        except ValueError as exc:
            raise ValueError(f"{exc}; allowed: {labels}" if allowed else str(exc)) from None
        # the live-view output is a set of bits: libgphoto2 writes 0 (off) though no list has it
        if allowed and raw not in allowed and code != CP.EVFOutputDevice:
            raise ValueError(f"{value!r} is not allowed for {p.name}; allowed: {labels}")
        await self._set_eos(code, raw)
        return self._eos_value(code, raw)

    def reapplies(self, code: int) -> bool:
        """From the EOS table (the live-view output only steers the link), else the standard one."""
        return canon_reapplies(code)

    async def _set_eos(self, code: int, raw: Value) -> None:
        """One SetDevicePropValueEx; the value is kept once the body said OK."""
        data = encode_set_property(code, by_code(code).encode(raw))
        await self.link.call(EOS.SetDevicePropValueEx, data_out=data)
        self.eos.set(code, raw)
        if code == CP.CaptureDestination and raw == CAPTURE_TO_HOST:
            await self._host_capacity()

    async def _host_capacity(self) -> None:
        """Tell a body capturing to the host how much room the host has (config.c:337-351);
        it counts its available shots from it."""
        if not self._supports(EOS.PCHDDCapacity):
            return
        await self._quiet(EOS.SetUILock)
        try:
            await self._quiet(EOS.PCHDDCapacity, PC_HDD_CAPACITY)
        finally:
            await self._quiet(EOS.ResetUILock)

    async def state(self) -> list[PropertyValue]:
        """The summary properties the body reports, then the standard ones it reports
        through GetEvent or lists in DeviceInfo."""
        await self._fresh()
        out = [self._eos_value(c, self.eos.values[c]) for c in SUMMARY if c in self.eos]
        out += [self._eos_value(c, v) for c, v in self.eos.values.items() if c in std.BY_CODE]
        di = await self._info()
        for c in di.device_properties_supported:
            if int(c) in self.eos:
                continue
            try:
                out.append(await super().get(int(c)))
            except ResponseError as exc:
                log.debug("property 0x%04X not readable: %s", int(c), exc)
        return out

    # -- capture -------------------------------------------------------------------------------------

    def capture_wait(self) -> float:
        return self.capture_timeout + DRIVE_DELAY.get(int(self.eos.values.get(CP.DriveMode, 0)), 0.0)

    async def capture(self, gate: ReleaseGate | None = None) -> Shot:
        """One remote release and the object it made (see the module docstring). ``gate``
        holds the press that fires (the full press, an EOS M's one press, RemoteRelease):
        the half press and the focus come before the moment."""
        async with self._capture_lock:
            await self.poll(drain=True)  # what happened before the release is not this shot's
            if self.eos.status == 1:
                raise ResponseError(ResponseCode.DeviceBusy, "camera reports it is busy")
            if (
                self.eos.values.get(CP.CaptureDestination) == CAPTURE_TO_HOST
                and int(self.eos.values.get(CP.AvailableShots, LOW_SHOTS)) < LOW_SHOTS
            ):
                await self._host_capacity()
            with self._records() as records:
                released = await self._release(records, gate)
                return replace(await self._wait_for_shot(records), released=released)

    async def release(self, gate: ReleaseGate | None = None) -> None:
        """Press and release the shutter remotely (one shot); the object is learnt from
        GetEvent (:meth:`capture`)."""
        with self._records() as records:
            await self._release(records, gate)

    async def _fire(self, op: int, params: tuple[int, ...], gate: ReleaseGate | None) -> tuple[Any, float | None]:
        """The operation that fires the shutter, held by ``gate``; its response and when
        its request went on the wire."""
        if gate is not None:
            await gate.approach()
        resp, _ = await self.link.transact(op, params, hold=gate)
        return resp, self.link.request_sent

    async def _press(self, mode: int, gate: ReleaseGate | None = None) -> float | None:
        resp, sent = await self._fire(EOS.RemoteReleaseOn, (mode, 0), gate)
        if resp.code != ResponseCode.OK:
            raise ResponseError(resp.code, f"camera refused the release ({_response(resp.code)})", resp.params)
        return sent

    async def _release(self, records: list[ev.Record], gate: ReleaseGate | None = None) -> float | None:
        """Press the shutter the body's way; when the press that fires went on the wire."""
        ops = (await self._info()).operations_supported
        if EOS.RemoteReleaseOn in ops and self.eos_m:
            sent = await self._press(RemoteReleaseMode.HalfAndFull, gate)
            try:
                await self._until(records, BUTTON_WAIT, lambda r: isinstance(r, ev.OLCInfo) and (r.button or 0) >= 4)
            finally:
                await self._quiet(EOS.RemoteReleaseOff, (RemoteReleaseMode.HalfAndFull,))
        elif EOS.RemoteReleaseOn in ops:
            await self._press(RemoteReleaseMode.Half)
            try:
                manual = self.eos.values.get(CP.FocusMode) == FOCUS_MANUAL
                await self._until(
                    records,
                    FOCUS_WAIT_MANUAL if manual else FOCUS_WAIT,
                    lambda r: manual or (isinstance(r, ev.PropValue) and r.code == CP.FocusInfoEx),
                )
                try:
                    sent = await self._press(RemoteReleaseMode.Full, gate)
                finally:
                    await self._quiet(EOS.RemoteReleaseOff, (RemoteReleaseMode.Full,))
                await self.poll()
            finally:
                await self._quiet(EOS.RemoteReleaseOff, (RemoteReleaseMode.Half,))
        elif EOS.RemoteRelease in ops:
            resp, sent = await self._fire(EOS.RemoteRelease, (), gate)
            result = resp.params[0] if resp.params else 0
            if resp.code != ResponseCode.OK:
                raise ResponseError(resp.code, params=resp.params)
            if result != RemoteReleaseResult.OK:
                raise ResponseError(
                    ResponseCode.DeviceBusy
                    if result == RemoteReleaseResult.MirrorUp
                    else ResponseCode.StoreFull
                    if result == RemoteReleaseResult.CardFull
                    else ResponseCode.StoreReadOnly
                    if result == RemoteReleaseResult.CardReadOnly
                    else ResponseCode.GeneralError,
                    f"camera did not release: {_release_result(result)}",
                )
        else:
            raise Unsupported("this Canon body offers no remote release (0x9128 or 0x910F)")
        return sent

    async def _until(self, records: list[ev.Record], wait: float, done: Callable[[ev.Record], bool]) -> bool:
        """Poll until a record satisfies ``done`` or ``wait`` seconds pass; False then."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        start = len(records)
        while True:
            if any(done(r) for r in records[start:]):
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(min(CAPTURE_POLL, max(0.0, deadline - loop.time())))
            await self.poll()

    async def _wait_for_shot(self, records: list[ev.Record]) -> Shot:
        """The shot from the first new file a GetEvent record names, within the capture
        timeout (plus the self-timer of the drive mode)."""
        wait = self.capture_wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        seen = 0
        while loop.time() < deadline:
            for r in records[seen:]:
                if isinstance(r, ev.ObjectTransfer):
                    self._ram.add(r.handle)
                    return Shot(r.handle, ObjectEntry(r.handle, 0, r.filename, r.size, r.format))
                if (
                    isinstance(r, ev.ObjectAdded)
                    and r.type in (CanonEventCode.ObjectAddedEx, CanonEventCode.ObjectAddedEx64)
                    and r.format != ObjectFormat.Association
                ):
                    return await self._card_shot(r)
            seen = len(records)
            await asyncio.sleep(CAPTURE_POLL)
            await self.poll()
        raise CaptureTimeout(f"the camera named no new picture within {wait:g}s of the release")

    async def _card_shot(self, r: ev.ObjectAdded) -> Shot:
        record = ObjectEntry(r.handle, r.storage_id, r.filename, r.size, r.format, parent=r.parent)
        try:
            return Shot(r.handle, await self.object_info(r.handle))
        except (ResponseError, Unsupported) as exc:  # the record says enough to fetch it
            log.info("no ObjectInfo for new object 0x%08X (%s): using its GetEvent record", r.handle, exc)
            return Shot(r.handle, record)

    # -- objects in the camera's RAM -----------------------------------------------------------------

    async def partial_reads(self) -> bool:
        # EOS bodies are read with GetPartialObject whether they list it or not
        # (libgphoto2 reads captures in the camera's RAM only this way, library.c:4310-4474)
        return True

    async def fetch(self, t: Transfer, progress: Progress | None = None) -> Download:
        """As for any camera; a capture in the camera's RAM is then released with
        TransferComplete (library.c:4444), so the body frees it."""
        download = await super().fetch(t, progress)
        if t.handle in self._ram:
            await self._transfer_complete(t.handle)
        return download

    async def _transfer_complete(self, handle: int) -> None:
        self._ram.discard(handle)
        self._released.add(handle)
        await self._quiet(EOS.TransferComplete, (handle,))

    async def delete(self, handle: int) -> None:
        """DeleteObject on the card; a capture still in the camera's RAM is released."""
        if handle in self._ram:
            await self._transfer_complete(handle)
            return
        if handle in self._released:
            return  # the camera freed it when it was fetched
        await super().delete(handle)

    async def download(
        self, handle: int, progress: Progress | None = None, offset: int = 0, size: int | None = None
    ) -> bytes | bytearray:
        if handle in self._ram and size is not None:
            # only GetPartialObject reaches the camera's RAM
            return await self._download_partial(handle, offset, max(size - offset, 0), progress)
        return await super().download(handle, progress, offset, size)

    # -- focus drive ---------------------------------------------------------------------------------

    def _drives_lens(self) -> bool:
        return self._supports(EOS.DriveLens) and self._supports(EOS.GetViewFinderData)

    @property
    def focus_drive_settings(self) -> tuple[str, ...]:
        """DriveLens needs live view on: the output it turns on is put back after a stack."""
        return ("evf-output",) if self._drives_lens() else super().focus_drive_settings

    async def supports_focus_drive(self) -> bool:
        """DriveLens in live view where the body lists both; else the standard FocusDistance."""
        return self._drives_lens() or await super().supports_focus_drive()

    async def focus_step(self, steps: int) -> bool:
        """``|steps|`` of DriveLens's small steps (Far 1, or Near 1 when negative), live view
        turned on first (a body drives its lens only there; not ready or busy is waited out).
        The body does not say where the lens stands: the end of its travel goes unnoticed."""
        if not self._drives_lens():
            return await super().focus_step(steps)
        await self._evf_on()
        step = DriveLensStep.Far1 if steps > 0 else DriveLensStep.Near1
        for _ in range(abs(steps)):
            deadline = time.monotonic() + DRIVE_LENS_NOT_READY
            while (resp := (await self.link.transact(EOS.DriveLens, (step,)))[0]).code != ResponseCode.OK:
                if (
                    resp.code not in (CanonResponseCode.ObjectNotReady, ResponseCode.DeviceBusy)
                    or time.monotonic() > deadline
                ):
                    raise ResponseError(
                        resp.code, f"camera did not drive the lens ({_response(resp.code)})", resp.params
                    )
                await asyncio.sleep(0.05)  # live view starting, the lens moving
        return True

    # -- live view -----------------------------------------------------------------------------------

    async def liveview(self) -> AsyncGenerator[LiveViewFrame, None]:
        """Frames from GetViewFinderData, with the EVF output turned to the host meanwhile."""
        if not self._supports(EOS.GetViewFinderData):
            raise Unsupported("this Canon body offers no live view (GetViewFinderData)")
        restore = await self._evf_on()
        loop = asyncio.get_running_loop()
        counter = 0
        waiting_since: float | None = None
        try:
            while True:
                started = loop.time()
                resp, data = await self.link.transact(EOS.GetViewFinderData, VIEWFINDER_PARAMS)
                if resp.code == ResponseCode.OK and (jpeg := viewfinder_jpeg(data)) is not None:
                    waiting_since = None
                    counter += 1
                    w, h = jpeg_size(jpeg)
                    # a view into this transaction's own data buffer: the frame's bytes are not copied
                    yield LiveViewFrame(counter, time.monotonic(), jpeg, w, h)
                elif resp.code in (CanonResponseCode.ObjectNotReady, ResponseCode.DeviceBusy, ResponseCode.OK):
                    waiting_since = started if waiting_since is None else waiting_since
                    if started - waiting_since > LIVEVIEW_NOT_READY:
                        raise Timeout(f"no live-view frame for {LIVEVIEW_NOT_READY:g}s (camera not ready)")
                else:
                    raise ResponseError(resp.code, f"camera refused live view ({_response(resp.code)})", resp.params)
                await asyncio.sleep(max(0.0, started + 1 / LIVEVIEW_FPS - loop.time()))
        finally:
            if restore is not None:
                with contextlib.suppress(*LINK_ERRORS, ResponseError):
                    await self._set_eos(CP.EVFOutputDevice, restore)

    async def _evf_on(self) -> int | None:
        """EVF mode 1 and the output's PC bit (library.c:3409-3566); the output to put
        back afterwards, None when it already had the bit."""
        await self._fresh()
        mode = self.eos.values.get(CP.EVFMode)
        if mode is not None and mode != 1:
            try:
                await self._set_eos(CP.EVFMode, 1)
            except ResponseError as exc:  # busy in movie mode: libgphoto2 goes on too
                log.debug("EVF mode not set: %s", exc)
        current = self.eos.values.get(CP.EVFOutputDevice, 0)
        output = int(current) if isinstance(current, int) else 0
        # an EOS M streams on the MOBILE2 output its libgphoto2 prepare sets (library.c:9844-9866)
        live = EVFOutput.Mobile2 if self.eos_m else EVFOutput.PC
        if output & live:
            return None
        await self._set_eos(CP.EVFOutputDevice, output | live)
        return output


def _response(code: int) -> str:
    for enum in (CanonResponseCode, ResponseCode):
        try:
            return enum(code).name
        except ValueError:
            continue
    return f"0x{code:04X}"


def _release_result(result: int) -> str:
    try:
        return RemoteReleaseResult(result).name
    except ValueError:
        return f"result {result}"


__all__ = ["EVENT_NAMES", "POLL_INTERVAL", "CanonCamera", "event_of"]
