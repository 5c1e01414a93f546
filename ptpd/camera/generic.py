"""A standard PTP/IP camera behind the vendor-neutral :class:`~ptpd.camera.base.Camera` API.

Built on :class:`~ptpd.protocol.initiator.PTPIPInitiator` and the datasets of
:mod:`ptpd.protocol.datasets`; property names and labels come from
:mod:`ptpd.camera.properties`. Everything here is ISO 15740 as libgphoto2 drives it
(ptpip.md §7):

* a property's DevicePropDesc is read once and its static parts (datatype, form,
  allowed values) cached per session (:class:`~ptpd.camera.properties.DescCache`):
  ``get`` is then one GetDevicePropValue decoded with the cached datatype, and ``set``
  one SetDevicePropValue after checking the value against the cached desc (gphoto2
  re-reads the desc every time: three round trips per set). The cache follows the
  camera's DevicePropChanged / DeviceInfoChanged events, a refused value, and a new
  session; ``describe`` always re-reads the desc;
* ``capture`` is InitiateCapture, then ObjectAdded and CaptureComplete in either order
  (some cameras send ObjectAdded last; folders may be announced before the file);
* ``download`` is one GetObject (progress from the data phase as it arrives; the bytes
  land in one buffer, never joined); from an offset, GetPartialObject for the whole rest
  when the camera lists it (continued if it answers with less), else GetObject and a slice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Self

from ptpd.camera import properties as props
from ptpd.camera.base import (
    EVENT_NAMES,
    Camera,
    CameraEvent,
    CameraInfo,
    ObjectEntry,
    Progress,
    PropertyDesc,
    PropertyValue,
    RawResult,
    ReleaseGate,
    Shot,
    event_name,
)
from ptpd.camera.errors import CaptureTimeout, InitFailed, PTPError, ResponseError, Timeout, Unsupported, read_dataset
from ptpd.camera.focus import dioptres, focus_positions, focus_value
from ptpd.protocol.budgets import MAX_UNDECLARED_OBJECT
from ptpd.protocol.codes import DataType, DevicePropCode, EventCode, InitFailReason, OperationCode, ResponseCode
from ptpd.protocol.datasets import DeviceInfo, DevicePropDesc, Enumeration, Range, decode_uint32_array
from ptpd.protocol.datatypes import decode_value, encode_value
from ptpd.protocol.initiator import DEFAULT_GUID, PTPIP_PORT, EventSubscription, PTPIPInitiator

if TYPE_CHECKING:
    from ptpd.camera.vendors import Target

log = logging.getLogger(__name__)

#: Most bytes asked per GetPartialObject. gphoto2 asks 1 MiB at a time; one transaction
#: per MiB costs a round trip each and a copy to put the pieces together, so we ask for
#: everything at once (MaxBytes is a u32) and continue only if the camera sends less.
DOWNLOAD_CHUNK = 0xFFFFFFFF
#: How long ``capture`` waits for ObjectAdded + CaptureComplete, at least.
CAPTURE_TIMEOUT = 30.0
#: After CaptureComplete, how long to wait for a late ObjectAdded.
LATE_OBJECT_GRACE = 1.0
#: What the user is told while a camera waits for them to accept this initiator.
PAIRING_PROMPT = "accept this computer on the camera's screen to pair with it"
#: How long a camera may take to accept a new initiator (its user pressing OK): the Init
#: Ack may be held back that long, and a refused init is tried again within it.
PAIRING_TIMEOUT = 30.0
#: An init not answered within this many seconds means the camera shows its prompt
#: (libgphoto2 gives up after 2.5 s: an EOS 6D's user must be quicker, libgphoto2#1133).
PAIRING_NOTICE_AFTER = 2.0
#: Seconds between init attempts while the camera refuses one it has not paired yet.
PAIRING_RETRY = 1.0


#: FocusMode value of manual focus (ISO 15740 §13.5.10)
MANUAL_FOCUS = 1


def _is_string(datatype: int) -> bool:
    return int(datatype) == DataType.STR


class GenericCamera(Camera):
    """Any camera speaking standard PTP/IP (and ptpd's generic simulator)."""

    vendor = "generic"

    def __init__(
        self,
        host: str,
        port: int = PTPIP_PORT,
        event_port: int | None = None,
        guid: bytes | str | None = DEFAULT_GUID,
        name: str = "ptpd",
        timeout: float = 10.0,
        *,
        capture_timeout: float = CAPTURE_TIMEOUT,
        session_id: int = 1,
        on_pairing: Callable[[str], None] | None = None,
        pairing_timeout: float = PAIRING_TIMEOUT,
    ) -> None:
        self.link = PTPIPInitiator(host, port, event_port, guid or DEFAULT_GUID, name, timeout)
        #: called with :data:`PAIRING_PROMPT` while the camera waits for its user to accept us
        self.on_pairing = on_pairing
        self.pairing_timeout = max(pairing_timeout, timeout)
        #: seconds without an Init Ack after which the user is told to look at the camera
        self.pairing_notice_after = PAIRING_NOTICE_AFTER
        #: True when this connection had to wait for the camera's user (a pairing prompt)
        self.paired_with_prompt = False
        #: the GUID we introduce ourselves with (cameras pair by it)
        self.guid = self.link.guid
        self.timeout = timeout
        self.capture_timeout = max(capture_timeout, timeout)
        self.session_id = session_id
        self._device_info: DeviceInfo | None = None
        self._descs = props.DescCache()
        self._watch: EventSubscription | None = None
        self._watch_dropped = 0

    @classmethod
    def from_target(cls, target: Target) -> Self:
        command, event, _ = target.ports
        return cls(
            target.host,
            command,
            event if event != command else None,
            guid=target.guid,
            name=target.name,
            timeout=target.timeout,
            on_pairing=target.on_pairing,
        )

    # -- connection -------------------------------------------------------------------------

    async def connect(self) -> None:
        """Both channels, init handshake (waiting for a pairing prompt), OpenSession,
        DeviceInfo, then the dialect's own set-up (:meth:`_ready`)."""
        await self._handshake()
        self._start_watch()
        try:
            await self.link.open_session(self.session_id)
            await self._refresh_info()
            await self._ready()
        except BaseException:
            await self.link.close(close_session=False)
            raise

    async def _handshake(self) -> None:
        """The init handshake, patient with a camera that asks its user first.

        A camera pairs by our GUID (ptpip.md §2): one that does not know it yet may hold
        back its Init Ack while its screen asks the user (an EOS, libgphoto2#1133), or
        refuse the init (Init Fail, rejected initiator) until the user has accepted. Either way the user is
        told (``on_pairing``) and the handshake is tried again within
        :attr:`pairing_timeout`; a camera that does not answer at all still fails fast.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.pairing_timeout
        while True:
            try:
                await self.link.connect(
                    init_timeout=self.pairing_timeout, on_slow_init=self._pairing, slow_after=self.pairing_notice_after
                )
                return
            except InitFailed as exc:
                if exc.reason != InitFailReason.RejectedInitiator:
                    raise  # busy with another host, or broken: the caller's backoff decides
                self._pairing()
                if loop.time() + PAIRING_RETRY >= deadline:
                    raise InitFailed(
                        exc.reason,
                        f"camera did not accept this computer within {self.pairing_timeout:g}s: {PAIRING_PROMPT}",
                    ) from None
                await asyncio.sleep(PAIRING_RETRY)

    def _pairing(self) -> None:
        if not self.paired_with_prompt:
            log.info("camera %s waits for its user: %s", self.link.host, PAIRING_PROMPT)
        self.paired_with_prompt = True
        if self.on_pairing is not None:
            self.on_pairing(PAIRING_PROMPT)

    async def _ready(self) -> None:
        """What a dialect on this base does once the session is open and DeviceInfo read
        (EOS: remote mode and its event poll). Nothing for a standard camera."""

    async def adopt(self, other: GenericCamera) -> None:
        """Take over the open session of ``other`` (a standard camera that connected and
        read DeviceInfo, as ``--vendor auto`` does) and set it up as :meth:`connect`
        would; ``other`` must not be used afterwards."""
        other._stop_watch()
        self.link, self.guid, self._device_info = other.link, other.guid, other._device_info
        self.paired_with_prompt = other.paired_with_prompt
        self._start_watch()
        await self._ready()

    async def close(self) -> None:
        self._stop_watch()
        await self.link.close()

    def _start_watch(self) -> None:
        """A new session: empty cache, and our own view of the camera's events for it."""
        self._stop_watch()
        self._descs = props.DescCache()
        self._watch = self.link.subscribe(maxsize=props.CACHE_EVENT_QUEUE)
        self._watch_dropped = 0

    def _stop_watch(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        self._descs.clear()

    def _sync(self) -> None:
        """Apply the events that arrived since the last look to the description cache."""
        watch = self._watch
        if watch is None:
            return
        for e in watch.drain():
            if e.code == EventCode.DeviceInfoChanged:
                self._device_info = None  # re-read on next use
            self._descs.event(e.code, e.params)
        if watch.dropped != self._watch_dropped:
            self._watch_dropped = watch.dropped
            self._descs.clear()  # events were lost: any desc may be stale

    @property
    def connected(self) -> bool:
        return self.link.connected and self.link.session_open

    async def _refresh_info(self) -> DeviceInfo:
        _, data = await self.link.call(OperationCode.GetDeviceInfo)
        self._device_info = DeviceInfo.decode(data, partial=True)
        return self._device_info

    async def _info(self) -> DeviceInfo:
        return self._device_info or await self._refresh_info()

    def _supports(self, op: int) -> bool:
        info = self._device_info
        # Without a DeviceInfo, try: the camera answers OperationNotSupported if not.
        return info is None or op in info.operations_supported

    # -- info and properties ------------------------------------------------------------------

    async def info(self) -> CameraInfo:
        di = await self._refresh_info()
        return CameraInfo(
            vendor=self.vendor,
            manufacturer=di.manufacturer,
            model=di.model,
            version=di.device_version,
            serial=di.serial_number,
            extension=di.vendor_extension_desc,
            operations=tuple(int(c) for c in di.operations_supported),
            events=tuple(int(c) for c in di.events_supported),
            properties=tuple(int(c) for c in di.device_properties_supported),
            capture_formats=tuple(int(c) for c in di.capture_formats),
            image_formats=tuple(int(c) for c in di.image_formats),
            extra={
                "standard_version": di.standard_version,
                "vendor_extension_id": di.vendor_extension_id,
                "functional_mode": int(di.functional_mode),
            },
        )

    async def property_names(self) -> list[str]:
        di = await self._info()
        return [props.property_name(int(c)) for c in di.device_properties_supported]

    async def _code(self, prop: str | int) -> int:
        try:
            code = props.property_code(prop)
        except ValueError as exc:
            raise ValueError(f"{exc}; this camera has: {', '.join(await self.property_names())}") from None
        di = await self._info()
        if di.device_properties_supported and code not in di.device_properties_supported:
            raise ValueError(
                f"{props.property_name(code)} is not offered by this camera; "
                f"it has: {', '.join(await self.property_names())}"
            )
        return code

    async def _desc(self, code: int) -> DevicePropDesc:
        """A fresh desc from the camera (one transaction); it refreshes the cache."""
        _, data = await self.link.call(OperationCode.GetDevicePropDesc, (code,))
        desc = read_dataset(f"description of property 0x{code:04X}", DevicePropDesc.decode, data)
        self._descs.put(desc)
        return desc

    @staticmethod
    def _value(code: int, value: object, datatype: int) -> PropertyValue:
        v = value if isinstance(value, (int, str)) else props.format_value(code, value)  # type: ignore[arg-type]  # a dataset Value
        return PropertyValue(code, props.property_name(code), v, props.format_value(code, value), int(datatype))  # type: ignore[arg-type]  # as above

    def _describe(self, desc: DevicePropDesc) -> PropertyDesc:
        code = int(desc.code)
        form = "none"
        allowed: tuple[tuple[int | str, str], ...] = ()
        rng: tuple[int, int, int] | None = None
        # a form lists single values (integers, or strings for a string property), never
        # arrays, though the datasets type a value as any of the three
        if isinstance(desc.form, Enumeration):
            form = "enum"
            allowed = tuple((v, props.format_value(code, v)) for v in desc.form.values)  # type: ignore[misc]  # single values
        elif isinstance(desc.form, Range):
            form = "range"
            rng = (desc.form.minimum, desc.form.maximum, desc.form.step)  # type: ignore[assignment]  # numeric: a range
        return PropertyDesc(
            code=code,
            name=props.property_name(code),
            datatype=int(desc.datatype),
            writable=desc.writable,
            current=self._value(code, desc.current, desc.datatype),
            default=self._value(code, desc.factory_default, desc.datatype),
            form=form,
            allowed=allowed,
            range=rng,
        )

    def _settle(self) -> None:
        self._sync()
        self._descs.settle()

    async def describe(self, prop: str | int) -> PropertyDesc:
        """Always a fresh desc (one GetDevicePropDesc): CurrentValue is today's."""
        self._sync()
        code = await self._code(prop)
        try:
            return self._describe(await self._desc(code))
        finally:
            self._settle()

    async def get(self, prop: str | int) -> PropertyValue:
        """One transaction: GetDevicePropValue with the cached datatype (the desc the first time)."""
        self._sync()  # first: a DeviceInfoChanged makes _code re-read the DeviceInfo
        code = await self._code(prop)
        try:
            desc = self._descs.get(code)
            if desc is None or not self._supports(OperationCode.GetDevicePropValue):
                desc = await self._desc(code)
                return self._value(code, desc.current, desc.datatype)
            _, data = await self.link.call(OperationCode.GetDevicePropValue, (code,))
            value = read_dataset(f"value of property 0x{code:04X}", lambda d: decode_value(d, desc.datatype), data)
            return self._value(code, value, desc.datatype)
        finally:
            self._settle()

    async def set(self, prop: str | int, value: str | int) -> PropertyValue:
        """Check ``value`` against the (cached) desc, then one SetDevicePropValue.

        Returns the value just set: the camera answered OK to exactly it (no read-back).
        A value the camera refuses although the cached desc allowed it drops that desc.
        """
        self._sync()
        code = await self._code(prop)
        desc = self._descs.get(code)
        asked = desc is None  # a round trip happens (the echo rule counts them)
        try:
            if desc is None:
                desc = await self._desc(code)
            name = props.property_name(code)
            if not desc.writable:
                raise ValueError(f"{name} is read-only")
            allowed = desc.form.values if isinstance(desc.form, Enumeration) else None
            raw = props.parse_value(code, value, allowed, is_string=_is_string(desc.datatype))
            if not desc.allows(raw):
                raise ValueError(f"{value!r} is not allowed for {name}; {self._allowed_text(code, desc)}")
            self._descs.wrote(code)
            asked = True
            try:
                await self.link.call(
                    OperationCode.SetDevicePropValue, (code,), data_out=encode_value(desc.datatype, raw)
                )
            except BaseException as exc:
                self._descs.unwrote(code)
                if isinstance(exc, ResponseError) and exc.code in props.REFUSED_VALUE:
                    self._descs.drop(code)  # the camera knows better than our copy
                raise
            return self._value(code, raw, desc.datatype)
        finally:
            if asked:
                self._settle()
            else:
                self._sync()  # refused here: no round trip, an armed echo keeps its chance

    @staticmethod
    def _allowed_text(code: int, desc: DevicePropDesc) -> str:
        if isinstance(desc.form, Enumeration):
            return "allowed: " + ", ".join(props.format_value(code, v) for v in desc.form.values)
        if isinstance(desc.form, Range):
            lo, hi, step = desc.form.minimum, desc.form.maximum, desc.form.step
            return f"allowed: {props.format_value(code, lo)} to {props.format_value(code, hi)} in steps of {step}"
        return f"the value must fit {DataType(int(desc.datatype)).name}"

    async def state(self) -> list[PropertyValue]:
        di = await self._info()
        out = []
        self._sync()
        for c in di.device_properties_supported:
            try:
                desc = await self._desc(int(c))  # one transaction either way: fresh descs
            except ResponseError as exc:
                log.debug("property 0x%04X not readable: %s", int(c), exc)
                continue
            out.append(self._value(int(c), desc.current, desc.datatype))
        self._settle()
        return out

    # -- focus drive -------------------------------------------------------------------------

    @property
    def focus_drive_settings(self) -> tuple[str, ...]:
        """FocusMode (set to manual) and FocusDistance."""
        return ("focusmode", "focusdistance")

    async def _focus_desc(self) -> DevicePropDesc | None:
        """FocusDistance's description when the camera offers it writable with a form that
        names positions to step through (a fresh one: its current value is today's)."""
        di = await self._info()
        if DevicePropCode.FocusDistance not in di.device_properties_supported:
            return None
        try:
            desc = await self._desc(DevicePropCode.FocusDistance)
        except ResponseError:
            return None
        finally:
            self._settle()
        ok = desc.writable and isinstance(desc.form, (Enumeration, Range)) and isinstance(desc.current, int)
        return desc if ok else None

    async def supports_focus_drive(self) -> bool:
        """The standard FocusDistance, writable, with the positions it takes."""
        return await self._focus_desc() is not None

    async def focus_step(self, steps: int) -> bool:
        """Move FocusDistance ``steps`` of its positions farther (the values its
        description allows, nearest first; a range is walked in :data:`FOCUS_RANGE_STEPS`
        steps even in dioptres). The lens holds a distance only in manual focus: FocusMode
        is set to manual first when the camera has it and it is not."""
        desc = await self._focus_desc()
        if desc is None:
            raise Unsupported("this camera offers no writable FocusDistance to step")
        di = await self._info()
        if DevicePropCode.FocusMode in di.device_properties_supported:
            mode = await self.get(DevicePropCode.FocusMode)
            if mode.value != MANUAL_FOCUS:
                await self.set(DevicePropCode.FocusMode, MANUAL_FOCUS)
        if steps == 0:
            return True
        positions = focus_positions(desc)
        current = focus_value(desc.current)
        here = min(range(len(positions)), key=lambda i: abs(dioptres(positions[i]) - dioptres(current)))
        target = max(0, min(len(positions) - 1, here + steps))
        if target == here:
            return False
        await self.set(DevicePropCode.FocusDistance, positions[target])
        return True

    # -- capture and objects -------------------------------------------------------------------

    def capture_wait(self) -> float:
        return self.capture_timeout

    async def capture(self, gate: ReleaseGate | None = None) -> Shot:
        """InitiateCapture, then wait for ObjectAdded and CaptureComplete (either order).

        A dialect on this base whose capture differs replaces :meth:`release` (its remote
        release) or the whole of this method (its own wait, e.g. polled events), and may
        end with :meth:`shot_of`. ``gate``: see :meth:`Camera.capture`."""
        with self.link.subscribe(maxsize=1024) as sub:
            if gate is not None:
                await gate.approach()
            await self.release(gate)
            # release() is one transaction: the last request sent was its own
            released = self.link.request_sent
            added, complete = await self._wait_for_objects(sub)
        return replace(await self.shot_of(added, complete), released=released)

    async def release(self, gate: ReleaseGate | None = None) -> None:
        """Release the shutter: InitiateCapture (new objects then arrive as events), its
        request written when ``gate`` arrives (see :meth:`capture`)."""
        if not self._supports(OperationCode.InitiateCapture):
            raise Unsupported("this camera does not offer InitiateCapture")
        resp, _ = await self.link.transact(OperationCode.InitiateCapture, (0, 0), hold=gate)
        # Some cameras answer GeneralError yet capture (ptpip.md §10): wait for events then.
        if resp.code not in (ResponseCode.OK, ResponseCode.GeneralError):
            raise ResponseError(resp.code, params=resp.params)

    async def _wait_for_objects(self, sub: EventSubscription) -> tuple[list[int], bool]:
        """The handles ObjectAdded named, and whether CaptureComplete came, within the
        capture timeout (a late ObjectAdded gets :data:`LATE_OBJECT_GRACE` after it)."""
        loop = asyncio.get_running_loop()
        added: list[int] = []
        complete = False
        deadline = loop.time() + self.capture_timeout
        while True:
            now = loop.time()
            if complete:
                if added:
                    break
                remaining = min(deadline - now, LATE_OBJECT_GRACE)
            else:
                remaining = deadline - now
            if remaining <= 0:
                break
            try:
                e = await sub.get(timeout=remaining)
            except Timeout:
                break
            if e.code == EventCode.ObjectAdded and e.params:
                added.append(e.params[0])
            elif e.code == EventCode.CaptureComplete:
                complete = True
                if added:
                    # a folder may be announced first; give its file a moment
                    await self._drain_added(sub, added)
                    break
            elif e.code == EventCode.StoreFull:
                raise ResponseError(ResponseCode.StoreFull, "camera storage is full")
        return added, complete

    async def shot_of(self, added: list[int], complete: bool) -> Shot:
        """The shot from the handles a release added (in order) and whether the camera
        said the capture completed: the newest object that is not a folder."""
        if not added:
            if complete:
                return Shot(None)
            raise CaptureTimeout(f"no ObjectAdded / CaptureComplete within {self.capture_timeout:g}s of the release")
        for handle in reversed(added):
            entry = await self.object_info(handle)
            if not entry.is_folder:
                return Shot(handle, entry)
        return Shot(added[-1], await self.object_info(added[-1]))

    @staticmethod
    async def _drain_added(sub: EventSubscription, added: list[int]) -> None:
        for e in sub.drain():
            if e.code == EventCode.ObjectAdded and e.params:
                added.append(e.params[0])

    async def object_info(self, handle: int) -> ObjectEntry:
        _, data = await self.link.call(OperationCode.GetObjectInfo, (handle,))
        return ObjectEntry.decode(handle, data)

    async def objects(self) -> list[ObjectEntry]:
        """Every object of every available storage (GetObjectHandles with parent 0 = all)."""
        _, data = await self.link.call(OperationCode.GetStorageIDs)
        out: list[ObjectEntry] = []
        for storage in read_dataset("list of storages", decode_uint32_array, data):
            if storage & 0xFFFF == 0:  # a slot without a usable logical store (ptp.md §9)
                continue
            resp, data = await self.link.transact(OperationCode.GetObjectHandles, (storage, 0, 0))
            if resp.code == ResponseCode.StoreNotAvailable:
                continue
            if resp.code != ResponseCode.OK:
                raise ResponseError(resp.code, params=resp.params)
            for handle in read_dataset(f"list of objects in storage 0x{storage:08X}", decode_uint32_array, data):
                out.append(await self.object_info(handle))
        return out

    async def download(
        self, handle: int, progress: Progress | None = None, offset: int = 0, size: int | None = None
    ) -> bytes | bytearray:
        """The object's bytes from ``offset``: one GetObject, or GetPartialObject from an offset.

        A big object comes back as the ``bytearray`` it was received into (no copy). A link
        error carries in ``partial`` the bytes from ``offset`` that arrived. The camera may
        send no more than the size it declared (``size``, from ObjectInfo;
        :data:`~ptpd.protocol.budgets.MAX_UNDECLARED_OBJECT` when it declared none): a
        data phase past it is cancelled and raises
        :class:`~ptpd.camera.errors.DataOverrun`.
        """
        if offset < 0:
            raise ValueError("offset must be >= 0")
        partial = self._supports(OperationCode.GetPartialObject)
        if partial and (offset > 0 or not self._supports(OperationCode.GetObject)):
            if size is None:
                size = (await self.object_info(handle)).size
            if size != 0xFFFFFFFF:
                return await self._download_partial(handle, offset, max(size - offset, 0), progress)
        relay = None
        if progress is not None:

            def relay(received: int, total: int) -> None:
                progress(max(received - offset, 0), max(total - offset, 0))

        cap = MAX_UNDECLARED_OBJECT if not size or size == 0xFFFFFFFF else size  # 0: a dataset cut short
        try:
            _, data = await self.link.call(OperationCode.GetObject, (handle,), progress=relay, max_data=cap)
        except PTPError as exc:  # GetObject's bytes begin at the object's first
            exc.partial = memoryview(exc.partial)[offset:] if offset else exc.partial
            raise
        if progress is not None:
            progress(max(len(data) - offset, 0), max(len(data) - offset, 0))
        return data[offset:] if offset else data

    async def _download_partial(
        self, handle: int, offset: int, total: int, progress: Progress | None
    ) -> bytes | bytearray:
        """``total`` bytes from ``offset`` with as few GetPartialObject as the camera allows."""
        if progress is not None:
            progress(0, total)
        out: bytearray | None = None
        done = 0
        while done < total:
            base = done

            def relay(received: int, _total: int, base: int = base) -> None:
                assert progress is not None
                progress(base + received, total)

            want = min(DOWNLOAD_CHUNK, total - done)
            try:
                _, chunk = await self.link.call(
                    OperationCode.GetPartialObject,
                    (handle, offset + done, want),
                    progress=relay if progress else None,
                    max_data=want,
                )
            except PTPError as exc:  # what the earlier reads brought comes first
                if out is not None and done:
                    exc.partial = bytes(memoryview(out)[:done]) + exc.partial
                raise
            if not chunk:
                break  # the camera has no more than it said
            if out is None and len(chunk) >= total:
                if progress is not None:
                    progress(total, total)
                return chunk if len(chunk) == total else chunk[:total]  # all at once: as received
            if out is None:
                out = bytearray(total)
            n = min(len(chunk), total - done)
            out[done : done + n] = memoryview(chunk)[:n]
            done += n
            if progress is not None:
                progress(done, total)
        if out is None:
            return b""
        if done < total:
            del out[done:]
        if progress is not None:
            progress(done, total)
        return out

    async def read_partial(self, handle: int, offset: int, size: int) -> bytes | bytearray:
        """Up to ``size`` bytes from ``offset`` (one GetPartialObject); more is a
        :class:`~ptpd.camera.errors.DataOverrun`."""
        _, data = await self.link.call(OperationCode.GetPartialObject, (handle, offset, size), max_data=size)
        return data

    async def partial_reads(self) -> bool:
        return OperationCode.GetPartialObject in (await self._info()).operations_supported

    async def delete(self, handle: int) -> None:
        await self.link.call(OperationCode.DeleteObject, (handle, 0))

    async def raw(self, code: int, params: tuple[int, ...] = (), data: bytes | None = None) -> RawResult:
        resp, payload = await self.link.transact(code, tuple(params), data_out=data)
        return RawResult(resp.code, resp.params, payload)

    # -- events ------------------------------------------------------------------------------------

    async def events(self) -> AsyncGenerator[CameraEvent, None]:
        with self.link.subscribe() as sub:
            async for e in sub:
                if e.code == EventCode.DeviceInfoChanged:
                    self._device_info = None  # re-read on next use
                self._sync()  # keeps the cache's queue short while someone listens
                yield CameraEvent(event_name(e.code), e.code, e.params, e.transaction_id, time.monotonic())

    async def keepalive(self) -> None:
        """A cheap transaction: the battery desc if offered, else GetDeviceInfo."""
        di = await self._info()
        if props.BY_NAME["battery"].code in di.device_properties_supported:
            await self.get("battery")
        else:
            await self._refresh_info()


__all__ = ["EVENT_NAMES", "GenericCamera", "event_name"]
