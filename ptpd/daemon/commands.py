"""The command table: one handler per command in :data:`ptpd.bus.COMMANDS`.

Arguments are checked against the command's :class:`ptpd.bus.Arg` list before anything
runs (``bad_request`` names the argument). Local commands (``ping``, ``status``, ...)
answer at once; camera commands go through :meth:`CameraLink.call`, one at a time.
Exceptions become stable error codes in :func:`to_bus_error`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ptpd import __version__, bus
from ptpd.bus import BusError, ErrorCode
from ptpd.camera.base import Camera, PropertyDesc, PropertyValue, Unsupported
from ptpd.daemon.link import info_dict, prop_dict
from ptpd.daemon.transfer import (
    SIZE_UNKNOWN,
    IncompleteTransfer,
    Transfer,
    TransferInterrupted,
    fetch,
    verify,
    write_verified,
)
from ptpd.protocol.codes import DataType, ObjectFormat, OperationCode, ResponseCode, code_name
from ptpd.protocol.datasets import ObjectInfo
from ptpd.protocol.errors import CameraDisconnected, InitFailed, ProtocolError, ResponseError, Timeout

if TYPE_CHECKING:
    from ptpd.daemon.server import Daemon

log = logging.getLogger(__name__)

U32_MAX = 0xFFFFFFFF

Handler = Callable[["Daemon", dict[str, Any], "RequestContext"], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who asked: the request id and the client's identity (for progress topics and logs)."""

    id: int | str
    identity: bytes = b""


# -- arguments -----------------------------------------------------------------------


def _check_type(arg: bus.Arg, value: Any) -> Any:
    t = arg.type
    ok: bool
    if t == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok and isinstance(value, str):
            try:
                return int(value, 0)
            except ValueError:
                ok = False
    elif t == "bool":
        ok = isinstance(value, bool)
    elif t == "str":
        ok = isinstance(value, str)
    elif t == "bytes":
        ok = isinstance(value, (bytes, bytearray))
    elif t in ("prop", "value"):
        ok = (isinstance(value, (str, int)) and not isinstance(value, bool)) or (t == "value" and isinstance(value, float))
        if ok and isinstance(value, str) and not value.strip():
            ok = False
    elif t == "list[int]":
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    elif t == "map":
        ok = isinstance(value, dict)
    else:
        ok = True
    if not ok:
        raise BusError(ErrorCode.BAD_REQUEST, f"argument {arg.name!r} must be {t}, not {type(value).__name__}")
    return value


def check_args(cmd: bus.Command, args: dict[str, Any]) -> dict[str, Any]:
    """Validated arguments with defaults filled in; ``bad_request`` on anything off."""
    known = {a.name: a for a in cmd.args}
    extra = set(args) - set(known)
    if extra:
        names = sorted(str(x)[:32] for x in list(extra)[:5])  # never echo a huge request back
        more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
        raise BusError(ErrorCode.BAD_REQUEST, f"{cmd.name}: unknown argument(s) {', '.join(names)}{more}")
    out: dict[str, Any] = {}
    for a in cmd.args:
        if a.name in args and args[a.name] is not None:
            out[a.name] = _check_type(a, args[a.name])
        elif a.required:
            raise BusError(ErrorCode.BAD_REQUEST, f"{cmd.name}: argument {a.name!r} is required")
        else:
            out[a.name] = a.default
    return out


def parse_prop(value: str | int) -> str | int:
    """Names stay names; ``"0x500F"``/``"500f"`` stay strings the camera resolves; ints stay ints."""
    return value.strip() if isinstance(value, str) else value


# -- errors ----------------------------------------------------------------------------


def to_bus_error(exc: BaseException) -> BusError:
    """Map an exception from the camera layer to a stable bus error."""
    if isinstance(exc, BusError):
        return exc
    if isinstance(exc, ResponseError):
        if exc.code == ResponseCode.DeviceBusy:
            return BusError(ErrorCode.CAMERA_BUSY, str(exc), exc.code)
        return BusError(ErrorCode.CAMERA_REFUSED, str(exc), exc.code)
    if isinstance(exc, (Timeout, asyncio.TimeoutError)):
        return BusError(ErrorCode.TIMEOUT, str(exc) or "the camera did not answer in time")
    if isinstance(exc, (CameraDisconnected, ConnectionError, EOFError, InitFailed)):
        return BusError(ErrorCode.NOT_CONNECTED, f"camera link lost: {exc}" if str(exc) else "camera link lost")
    if isinstance(exc, ProtocolError):
        return BusError(ErrorCode.NOT_CONNECTED, f"camera sent malformed data; link reset: {exc}")
    if isinstance(exc, TransferInterrupted):
        return to_bus_error(exc.cause)
    if isinstance(exc, IncompleteTransfer):
        return BusError(ErrorCode.CAMERA_REFUSED, f"incomplete transfer: {exc}")
    if isinstance(exc, Unsupported):
        return BusError(ErrorCode.UNSUPPORTED, str(exc) or "not supported by this camera")
    if isinstance(exc, (ValueError, KeyError)):
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        return BusError(ErrorCode.INVALID_VALUE, str(msg))
    return BusError(ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}")


# -- result shapes ---------------------------------------------------------------------


def desc_dict(d: PropertyDesc) -> dict[str, Any]:
    return {
        "code": d.code,
        "name": d.name,
        "datatype": d.datatype,
        "datatype_name": datatype_name(d.datatype),
        "writable": d.writable,
        "current": prop_dict(d.current),
        "default": prop_dict(d.default) if d.default is not None else None,
        "form": d.form,
        "allowed": [{"value": v, "label": lbl} for v, lbl in d.allowed],
        "range": {"min": d.range[0], "max": d.range[1], "step": d.range[2]} if d.range else None,
    }


def object_dict(o: Any) -> dict[str, Any]:
    return {
        "handle": o.handle,
        "storage_id": o.storage_id,
        "filename": o.filename,
        "size": o.size,
        "format": o.format,
        "parent": o.parent,
        "is_folder": o.is_folder,
        "captured": o.captured,
        "width": o.width,
        "height": o.height,
    }


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, fallback: str) -> str:
    """A camera-supplied name reduced to one harmless path component."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].replace("\0", "")
    base = _UNSAFE.sub("_", base).lstrip(".")
    return base[:128] or fallback


#: why a directory or file cannot be written that is the request's to mend (the path or
#: its permissions); any other (a full disk, an I/O error) is the machine's
_PATH_ERRORS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST,
                          errno.ENOENT, errno.ENAMETOOLONG, errno.ELOOP, errno.EISDIR})


def _write_error(what: str, exc: OSError) -> BusError:
    code = ErrorCode.BAD_REQUEST if exc.errno in _PATH_ERRORS else ErrorCode.INTERNAL
    return BusError(code, f"cannot write {what}: {exc.strerror or exc}")


async def _check_dir(directory: str) -> None:
    """Refuse a directory the daemon cannot write before the camera does any work for it
    (a shutter released, an object read) whose result would then have nowhere to go."""

    def check() -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "permission denied")

    if not os.path.isabs(directory):  # relative to what? the daemon's cwd means nothing to a client
        raise BusError(ErrorCode.BAD_REQUEST, f"dir must be an absolute path on the daemon's machine, got {directory!r}")
    try:
        await asyncio.to_thread(check)
    except OSError as exc:
        raise _write_error(f"into {directory}", exc) from None


async def _write_into(directory: str, filename: str, data: bytes | bytearray | memoryview, size: int | None, fmt: int) -> str:
    """Write a verified file under ``directory`` (off the event loop); a directory the
    daemon cannot write is the request's fault, not the daemon's."""
    try:
        return await asyncio.to_thread(write_verified, directory, filename, data, size, fmt)
    except OSError as exc:
        raise _write_error(f"{filename} into {directory}", exc) from None


def write_atomically(directory: str, filename: str, data: bytes) -> str:
    """Write to a temp name in ``directory``, verify, fsync and rename; never overwrite
    (see :func:`ptpd.daemon.transfer.write_verified`)."""
    return write_verified(directory, filename, data)


# -- handlers ----------------------------------------------------------------------------

HANDLERS: dict[str, Handler] = {}


def handler(name: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return deco


def _timeout(d: Daemon, n: int = 1) -> float:
    return d.config.timeout * 3 * n + 5.0


@handler("ping")
async def _ping(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    return {"pong": True, "time": time.time()}


@handler("version")
async def _version(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    return {"ptpd": __version__, "protocol": bus.PROTOCOL_VERSION, "endpoints": d.config.endpoints.as_dict()}


@handler("status")
async def _status(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    return d.status()


@handler("snapshot")
async def _snapshot(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    # one loop turn, no await: state and seq are consistent with each other
    return {
        "seq": d.events.seq,
        "status": d.status(),
        "info": info_dict(d.link.info),
        "state": {name: dict(v) for name, v in d.link.props.items()},
    }


@handler("help")
async def _help(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    return {
        "commands": [
            {
                "name": c.name,
                "summary": c.summary,
                "result": c.result,
                "args": [
                    {"name": x.name, "type": x.type, "required": x.required, "default": list(x.default) if isinstance(x.default, tuple) else x.default, "help": x.help}
                    for x in c.args
                ],
            }
            for c in bus.COMMANDS.values()
        ]
    }


@handler("info")
async def _info(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    info = await d.link.call("info", lambda c: c.info(), _timeout(d))
    d.link.info = info
    return info_dict(info)


@handler("properties")
async def _properties(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    return {"names": list(await d.link.call("properties", lambda c: c.property_names(), _timeout(d)))}


@handler("describe")
async def _describe(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    prop = parse_prop(a["prop"])
    desc = await d.link.call("describe", lambda c: c.describe(prop), _timeout(d))
    d.link.update_prop(desc.current)
    return desc_dict(desc)


@handler("get")
async def _get(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    prop = parse_prop(a["prop"])
    pv = await d.link.call("get", lambda c: c.get(prop), _timeout(d))
    d.link.update_prop(pv)
    return prop_dict(pv)


@handler("set")
async def _set(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    prop = parse_prop(a["prop"])
    value = a["value"]
    if isinstance(value, float):
        value = str(value)
    pv: PropertyValue = await d.link.call("set", lambda c: c.set(prop, value), _timeout(d))
    d.link.note_set(pv.name or prop, pv)
    return prop_dict(pv)


@handler("state")
async def _state(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    pvs = await d.link.call("state", lambda c: c.state(), _timeout(d))
    for pv in pvs:
        d.link.update_prop(pv)
    return {"properties": [prop_dict(pv) for pv in pvs]}


class ShotsLeft(BusError):
    """A capture that could not deliver every shot: names the handles left on the camera.

    ``error.handles`` lists them; ``error.shots`` has every shot of the request, the
    delivered ones as in a successful reply and the failed ones with ``error`` (and
    ``received``: bytes that arrived before the failure)."""

    ran = True  #: the shutter fired: a retry of the same id must not fire it again

    def __init__(self, code: ErrorCode, message: str, handles: list[int], shots: list[dict[str, Any]], ptp_code: int | None = None) -> None:
        super().__init__(code, message, ptp_code)
        self.handles = handles
        self.shots = shots

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["handles"] = self.handles
        d["shots"] = [{k: v for k, v in s.items() if k not in ("data", "preview")} for s in self.shots]
        return d


#: seconds a transfer interrupted by a dropped link may wait for the reconnect and resume
RESUME_DEADLINE = 20.0


def _partial_ok(d: Daemon) -> bool:
    info = d.link.info
    return info is not None and OperationCode.GetPartialObject in info.operations


def _note_loss(d: Daemon, exc: BaseException) -> None:
    """A link error caught inside a transaction: make the supervisor rebuild the link."""
    from ptpd.daemon.link import LINK_ERRORS

    cause = exc.cause if isinstance(exc, TransferInterrupted) else exc
    if isinstance(cause, LINK_ERRORS):
        d.link.drop(f"transfer: {type(cause).__name__}: {cause}")


async def _resume(d: Daemon, t: Transfer, ctx: RequestContext, connects: int) -> bytes | bytearray:
    """Finish ``t`` after the link is back: one attempt per reconnect, for as long as a
    resume may wait. Raises the last failure (``TransferInterrupted`` keeps the bytes
    received)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(RESUME_DEADLINE, d.config.timeout * 4 + 4)
    last: BaseException = TransferInterrupted(t, CameraDisconnected("link lost"))
    while loop.time() < deadline:
        # wait for a new session (not the one that just failed)
        while not (d.link.connected and d.link.connects > connects) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if not d.link.connected or loop.time() >= deadline:
            break
        connects = d.link.connects
        t.resumes += 1
        log.info("resuming handle 0x%08X at byte %d (attempt %d)", t.handle, t.position, t.resumes)
        try:
            return await d.link.call("download", lambda c: fetch(c, t, _partial_ok(d), d.progress_reporter(ctx, t.handle)), max(1.0, deadline - loop.time()))
        except TransferInterrupted as exc:
            _note_loss(d, exc)
            last = exc
        except BusError as exc:
            if exc.code is not ErrorCode.NOT_CONNECTED:
                raise
            last = exc  # the link went again before our turn: wait for the next one
    raise last


def _shot_error(exc: BaseException, t: Transfer | None) -> str:
    err = to_bus_error(exc)  # unwraps TransferInterrupted itself
    text = f"{err.code.value}: {err.message}"
    if t is not None:
        text += f" ({t.so_far})"
    return text


@handler("capture")
async def _capture(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    count = a["count"]
    if not 1 <= count <= 999:
        raise BusError(ErrorCode.BAD_REQUEST, "count must be 1-999")
    want_data = bool(a["download"])
    out_dir = a["dir"]
    if out_dir is not None:
        await _check_dir(out_dir)
    keep = bool(a["keep"])
    shots: list[dict[str, Any]] = []
    #: the shot that failed: (shot, transfer or None, exception)
    failed: list[tuple[dict[str, Any], Transfer | None, BaseException]] = []

    async def deliver(shot: dict[str, Any], data: bytes | bytearray | memoryview, size: int | None, fmt: int) -> None:
        """Verify and hand over one image (a file under ``dir`` or bytes in the reply)."""
        name = shot["filename"]
        if out_dir:
            shot["path"] = await _write_into(out_dir, name, data, size, fmt)
        else:
            verify(data, size, fmt, name)
            shot["data"] = data
        shot["size"] = len(data)

    async def finish(cam: Camera, shot: dict[str, Any], t: Transfer, data: bytes | bytearray) -> None:
        await deliver(shot, data, t.size, t.format)
        if t.resumes:
            shot["resumed"] = t.resumes
        if not keep:  # only an image that arrived whole and was handed over
            await cam.delete(t.handle)
            shot["deleted"] = True

    async def shoot(cam: Camera) -> None:
        for i in range(count):
            res = await cam.capture()  # a failure here: see the caller (shots so far are listed)
            shot: dict[str, Any] = {"index": i + 1, "handle": res.handle}
            obj = res.object
            if obj is not None:
                shot.update(filename=obj.filename, size=obj.size)
            if a["preview"]:
                shot["preview"] = res.preview
            shots.append(shot)
            d.events.publish("event.capture_done", {"id": ctx.id, "index": i + 1, "count": count, "handle": res.handle, "filename": shot.get("filename")})
            if not (want_data or out_dir):
                continue
            if res.handle is None:
                if res.preview:
                    # the camera named no object: the preview is all there is of this shot
                    shot["source"] = "preview"
                    shot["filename"] = safe_filename("", f"preview-{int(time.time() * 1000)}-{i + 1}.jpg")
                    try:
                        await deliver(shot, res.preview, None, ObjectFormat.EXIF_JPEG)
                    except Exception as exc:
                        failed.append((shot, None, exc))
                        return
                    continue
                failed.append((shot, None, None))  # type: ignore[arg-type]
                return
            name = safe_filename(obj.filename if obj else "", f"capture-{res.handle:08x}.jpg")
            shot["filename"] = name
            t = Transfer(res.handle, size=obj.size if obj is not None and obj.size != SIZE_UNKNOWN else None, filename=name, format=obj.format if obj else 0)
            try:
                data = await fetch(cam, t, _partial_ok(d), d.progress_reporter(ctx, res.handle))
                shot["source"] = "camera"
                await finish(cam, shot, t, data)
            except Exception as exc:
                _note_loss(d, exc)
                failed.append((shot, t, exc))
                return

    connects = d.link.connects
    try:
        await d.link.call("capture", shoot, _timeout(d, count * 4))
    except Exception as exc:
        if not shots:
            raise
        # the link broke outside a transfer (e.g. the next shot): what was taken is listed
        if not failed:
            failed.append(({"index": len(shots) + 1, "handle": None}, None, exc))
    if failed:
        shot, t, exc = failed[0]
        if isinstance(exc, TransferInterrupted) and t is not None:
            try:
                data = await _resume(d, t, ctx, connects)
                shot["source"] = "camera"
                await d.link.call("capture", lambda c: finish(c, shot, t, data), _timeout(d))
                failed.clear()
            except Exception as exc2:
                failed[0] = (shot, t, exc2)
                _note_loss(d, exc2)
    if not failed:
        return {"shots": shots}
    shot, t, exc = failed[0]
    handles = [shot["handle"]] if shot.get("handle") is not None else []
    if shot.get("handle") is None:
        if shot not in shots:  # a later shutter release failed
            msg = f"capture: {len(shots)} shot(s) delivered, then shot {shot['index']} failed: {_shot_error(exc, None)}"
        else:
            reason = _shot_error(exc, None) if exc is not None else "the camera named no object and offered no preview"
            shot["error"] = reason
            msg = f"capture: shot {shot['index']} was taken but could not be identified: {reason}"
        code = to_bus_error(exc).code if exc is not None else ErrorCode.CAMERA_REFUSED
    else:
        shot["error"] = _shot_error(exc, t)
        if t is not None:
            shot["received"] = t.position
        msg = f"capture: image left on the camera, handle 0x{shot['handle']:08X} ({shot.get('filename', '')}): {shot['error']}"
        code = to_bus_error(exc).code
    ptp = getattr(exc, "code", None) if isinstance(exc, ResponseError) else None
    raise ShotsLeft(code, msg, handles, shots, ptp)


@handler("liveview.start")
async def _lv_start(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    if not d.link.connected:
        raise BusError(ErrorCode.NOT_CONNECTED, f"camera is {d.link.connection.value}")
    if d.link.liveview_unsupported:
        raise BusError(ErrorCode.UNSUPPORTED, f"live view: {d.link.liveview_unsupported}")
    d.link.request_liveview(True)
    return {"on": True}


@handler("liveview.stop")
async def _lv_stop(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    d.link.request_liveview(False)
    return {"on": d.link.liveview_wanted, "subscribers": d.link.liveview_watchers}


@handler("objects")
async def _objects(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    objs = await d.link.call("objects", lambda c: c.objects(), _timeout(d, 4))
    return {"objects": [object_dict(o) for o in objs]}


@handler("download")
async def _download(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    handle, offset, out_dir = _handle(a), a["offset"], a["dir"]
    if not 0 <= offset <= U32_MAX:
        raise BusError(ErrorCode.BAD_REQUEST, "offset must be 0..0xFFFFFFFF")
    if out_dir is not None:
        if offset:
            raise BusError(ErrorCode.BAD_REQUEST, "dir writes the whole object: not with offset")
        await _check_dir(out_dir)
    t = Transfer(handle, start=offset)

    async def fetch_once(cam: Camera) -> bytes | bytearray:
        info = await _object_info(cam, handle)
        if info is not None:
            t.filename, t.format = info.filename, info.object_format
            if info.object_compressed_size != SIZE_UNKNOWN:
                t.size = info.object_compressed_size
        # One GetObject first: the camera's own buffer goes into the reply (a blob frame,
        # never copied). GetPartialObject steps only for a resume, below.
        return await fetch(cam, t, False, d.progress_reporter(ctx, handle))

    connects = d.link.connects
    try:
        data = await d.link.call("download", fetch_once, _timeout(d, 8))
    except TransferInterrupted as exc:
        # after the reconnect, fetch() takes it up again, in GetPartialObject steps where
        # the camera has them, so that a second drop costs one step, not the object
        _note_loss(d, exc)
        try:
            data = await _resume(d, t, ctx, connects)
        except Exception as exc2:
            _note_loss(d, exc2)
            err = to_bus_error(exc2)
            raise BusError(err.code, f"download of handle 0x{handle:08X} interrupted ({t.so_far}; "
                                     f"resume with offset): {err.message}", err.ptp_code) from None
    result: dict[str, Any] = {"handle": handle, "filename": t.filename, "size": len(data) + offset, "offset": offset}
    if t.resumes:
        result["resumed"] = t.resumes
    if out_dir is not None:
        name = safe_filename(t.filename or "", f"object-{handle:08x}")
        result["path"] = await _write_into(out_dir, name, data, t.size, t.format)
        return result
    result["data"] = data
    return result


def _handle(a: dict[str, Any]) -> int:
    """The ``handle`` argument, refused here when it cannot be a PTP object handle (u32):
    encoding it would fail inside the camera layer, which takes that for a broken link."""
    handle = a["handle"]
    if not 0 <= handle <= U32_MAX:
        raise BusError(ErrorCode.BAD_REQUEST, "handle must be 0..0xFFFFFFFF")
    return handle


async def _object_info(cam: Camera, handle: int) -> ObjectInfo | None:
    """The object's ObjectInfo from one GetObjectInfo (not a listing of the whole card);
    None when the camera will not say (the download itself then reports any error)."""
    try:
        res = await cam.raw(OperationCode.GetObjectInfo, (handle,))
    except (Unsupported, ResponseError):
        return None
    if res.code != ResponseCode.OK:
        return None
    try:
        return ObjectInfo.decode(res.data)
    except ProtocolError:
        return None  # a dataset we cannot read costs the name, not the download


@handler("delete")
async def _delete(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    handle = _handle(a)
    await d.link.call("delete", lambda c: c.delete(handle), _timeout(d))
    return {"handle": handle}


@handler("opreq")
async def _opreq(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    code, params, data = a["code"], tuple(a["params"] or ()), a["data"]
    if not 0 <= code <= 0xFFFF:
        raise BusError(ErrorCode.BAD_REQUEST, "code must be a 16-bit operation code")
    if len(params) > 5 or any(not 0 <= p <= 0xFFFFFFFF for p in params):
        raise BusError(ErrorCode.BAD_REQUEST, "params: up to 5 unsigned 32-bit integers")
    res = await d.link.call("opreq", lambda c: c.raw(code, params, bytes(data) if data is not None else None), _timeout(d))
    return {"code": res.code, "code_name": response_name(res.code), "params": list(res.params), "data": res.data}


@handler("sim.fault")
async def _sim_fault(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    return await d.sim_fault(a["action"], a["options"] or {})


def datatype_name(code: int) -> str:
    """``"UINT32"``, ``"STR"``, ...: the :class:`ptpd.protocol.codes.DataType` name;
    ``"0x...."`` for a code outside the table."""
    try:
        return DataType(code).name
    except ValueError:
        return f"0x{code:04X}"


def response_name(code: int) -> str:
    return code_name("response", code)
