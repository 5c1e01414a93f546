"""The command table: one handler per command in :data:`ptpd.bus.COMMANDS`.

Arguments are checked against the command's :class:`ptpd.bus.Arg` list before anything
runs (``bad_request`` names the argument). Local commands (``ping``, ``status``, ...)
answer at once; camera commands go through :meth:`CameraLink.call`, one at a time.
Exceptions become stable error codes in :func:`to_bus_error`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ptpd import __version__, bus
from ptpd.bus import BusError, ErrorCode
from ptpd.camera.base import Camera, PropertyDesc, PropertyValue, Unsupported
from ptpd.daemon.link import info_dict, prop_dict
from ptpd.protocol.datasets import ObjectInfo
from ptpd.protocol.errors import CameraDisconnected, InitFailed, ProtocolError, ResponseError, Timeout

if TYPE_CHECKING:
    from ptpd.daemon.server import Daemon

log = logging.getLogger(__name__)

DEVICE_BUSY = 0x2019  #: PTP response code DeviceBusy (ISO 15740 Table 27)
RESPONSE_OK = 0x2001
U32_MAX = 0xFFFFFFFF
GET_OBJECT_INFO = 0x1008  #: PTP GetObjectInfo (ISO 15740 §10.5.8): one object's dataset

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
        if exc.code == DEVICE_BUSY:
            return BusError(ErrorCode.CAMERA_BUSY, str(exc), exc.code)
        return BusError(ErrorCode.CAMERA_REFUSED, str(exc), exc.code)
    if isinstance(exc, (Timeout, asyncio.TimeoutError)):
        return BusError(ErrorCode.TIMEOUT, str(exc) or "the camera did not answer in time")
    if isinstance(exc, (CameraDisconnected, ConnectionError, EOFError, InitFailed)):
        return BusError(ErrorCode.NOT_CONNECTED, f"camera link lost: {exc}" if str(exc) else "camera link lost")
    if isinstance(exc, ProtocolError):
        return BusError(ErrorCode.NOT_CONNECTED, f"camera sent malformed data; link reset: {exc}")
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


def write_atomically(directory: str, filename: str, data: bytes) -> str:
    """Write to a temp name in ``directory`` and rename when complete; never overwrite."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    target = d / filename
    n = 1
    while target.exists():
        target = d / (f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}")
        n += 1
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".ptpd-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, target)  # fails instead of overwriting if the name appeared meanwhile
    finally:
        os.unlink(tmp)
    return str(target)


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
    d.link.update_prop(pv)
    key = pv.name or prop
    d.link.applied.pop(key, None)
    d.link.applied[key] = pv.value  # the raw value in force: re-applies exactly, whatever label was given
    return prop_dict(pv)


@handler("state")
async def _state(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    pvs = await d.link.call("state", lambda c: c.state(), _timeout(d))
    for pv in pvs:
        d.link.update_prop(pv)
    return {"properties": [prop_dict(pv) for pv in pvs]}


@handler("capture")
async def _capture(d: Daemon, a: dict[str, Any], ctx: RequestContext) -> Any:
    count = a["count"]
    if not 1 <= count <= 999:
        raise BusError(ErrorCode.BAD_REQUEST, "count must be 1-999")
    want_data = bool(a["download"])
    out_dir = a["dir"]
    keep = bool(a["keep"])

    async def shoot(cam: Camera) -> list[dict[str, Any]]:
        shots: list[dict[str, Any]] = []
        for i in range(count):
            res = await cam.capture()
            shot: dict[str, Any] = {"index": i + 1, "handle": res.handle}
            obj = res.object
            if obj is not None:
                shot.update(filename=obj.filename, size=obj.size)
            if a["preview"]:
                shot["preview"] = res.preview
            if (want_data or out_dir) and res.handle is not None:
                data = await cam.download(res.handle, d.progress_reporter(ctx, res.handle))
                name = safe_filename(obj.filename if obj else "", f"capture-{res.handle:08x}.jpg")
                shot.setdefault("filename", name)
                shot["size"] = len(data)
                if out_dir:
                    shot["path"] = await asyncio.to_thread(write_atomically, out_dir, name, data)
                else:
                    shot["data"] = data
                if not keep:
                    await cam.delete(res.handle)
                    shot["deleted"] = True
            shots.append(shot)
            d.events.publish("event.capture_done", {"id": ctx.id, "index": i + 1, "count": count, "handle": res.handle, "filename": shot.get("filename")})
        return shots

    return {"shots": await d.link.call("capture", shoot, _timeout(d, count * 4))}


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
    handle, offset = _handle(a), a["offset"]
    if not 0 <= offset <= U32_MAX:
        raise BusError(ErrorCode.BAD_REQUEST, "offset must be 0..0xFFFFFFFF")

    async def fetch(cam: Camera) -> dict[str, Any]:
        filename = await _filename_of(cam, handle)
        # the camera's own buffer goes into the reply: sent as a blob frame, never copied
        data = await cam.download(handle, d.progress_reporter(ctx, handle), offset)
        return {"handle": handle, "filename": filename, "size": len(data) + offset, "offset": offset, "data": data}

    return await d.link.call("download", fetch, _timeout(d, 8))


def _handle(a: dict[str, Any]) -> int:
    """The ``handle`` argument, refused here when it cannot be a PTP object handle (u32):
    encoding it would fail inside the camera layer, which takes that for a broken link."""
    handle = a["handle"]
    if not 0 <= handle <= U32_MAX:
        raise BusError(ErrorCode.BAD_REQUEST, "handle must be 0..0xFFFFFFFF")
    return handle


async def _filename_of(cam: Camera, handle: int) -> str:
    """The object's name from one GetObjectInfo (not a listing of the whole card);
    ``""`` when the camera will not say (the download itself then reports any error)."""
    try:
        res = await cam.raw(GET_OBJECT_INFO, (handle,))
    except (Unsupported, ResponseError):
        return ""
    if res.code != RESPONSE_OK:
        return ""
    try:
        return ObjectInfo.decode(res.data).filename
    except ProtocolError:
        return ""  # a dataset we cannot read costs the name, not the download


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


def response_name(code: int) -> str:
    from ptpd.protocol.codes import code_name

    return code_name("response", code)
