"""The command table: one handler per command in :data:`ptpd.bus.COMMANDS`.

Arguments are checked against the command's :class:`ptpd.bus.Arg` list before anything
runs (:mod:`ptpd.daemon.args`). Local commands (``ping``, ``status``, ...) answer at
once; camera commands go through :meth:`CameraLink.call`, one at a time. Handlers take
the daemon's narrow :class:`~ptpd.daemon.context.Context`, never the server. Exceptions
become stable error codes in :func:`ptpd.daemon.errors.to_bus_error`. The handlers with
more to them have modules of their own: :mod:`ptpd.daemon.capture`,
:mod:`ptpd.daemon.objects`, :mod:`ptpd.daemon.jobs.commands`. ``lock`` and ``unlock`` are
the control lease's (:mod:`ptpd.daemon.lease`).
"""

from __future__ import annotations

import time
from typing import Any

from ptpd import __version__, bus
from ptpd.bus import BusError, ErrorCode
from ptpd.camera import Camera, PropertyValue, RawResult, response_name
from ptpd.daemon import schedule
from ptpd.daemon.args import parse_prop
from ptpd.daemon.capture import capture
from ptpd.daemon.context import Context, Handler, Request, on_camera
from ptpd.daemon.jobs.commands import job_get, job_list, job_start, job_stop
from ptpd.daemon.objects import delete, download, objects
from ptpd.daemon.shapes import desc_dict, info_dict, prop_dict


async def ping(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    # clock: the one capture's ``at`` and a shot's ``released`` are in (a rig's offsets)
    return {"pong": True, "time": time.time(), "clock": schedule.clock()}


async def version(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    return {"ptpd": __version__, "protocol": bus.PROTOCOL_VERSION, "endpoints": ctx.config.endpoints.as_dict()}


async def status(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    return ctx.status()


async def snapshot(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    # one loop turn, no await: state and seq are consistent with each other
    return {
        "seq": ctx.events.seq,
        "status": ctx.status(),
        "info": info_dict(ctx.link.info),
        "state": {name: dict(v) for name, v in ctx.link.props.items()},
    }


async def help_(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    return {
        "commands": [
            {
                "name": c.name,
                "summary": c.summary,
                "result": c.result,
                "args": [
                    {
                        "name": x.name,
                        "type": x.type,
                        "required": x.required,
                        "default": list(x.default) if isinstance(x.default, tuple) else x.default,
                        "help": x.help,
                    }
                    for x in c.args
                ],
            }
            for c in bus.COMMANDS.values()
        ]
    }


async def cancel(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    return {"id": a["id"], "state": ctx.cancel(request, a["id"])}


async def info(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    result = await on_camera(ctx, request, "info", lambda cam: cam.info())
    ctx.link.info = result
    return info_dict(result)


async def properties(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    return {"names": list(await on_camera(ctx, request, "properties", lambda cam: cam.property_names()))}


async def describe(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    prop = parse_prop(a["prop"])
    desc = await on_camera(ctx, request, "describe", lambda cam: cam.describe(prop))
    ctx.link.update_prop(desc.current)
    return desc_dict(desc)


async def get(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    prop = parse_prop(a["prop"])
    pv = await on_camera(ctx, request, "get", lambda cam: cam.get(prop))
    ctx.link.update_prop(pv)
    return prop_dict(pv)


async def set_(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    prop = parse_prop(a["prop"])
    value = a["value"]
    if isinstance(value, float):
        value = str(value)

    async def apply(cam: Camera) -> tuple[PropertyValue, bool]:
        pv = await cam.set(prop, value)
        return pv, cam.reapplies(pv.code)

    pv, reapply = await on_camera(ctx, request, "set", apply)
    ctx.link.note_set(pv.name or prop, pv, reapply=reapply)
    return prop_dict(pv)


async def state(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    pvs = await on_camera(ctx, request, "state", lambda cam: cam.state())
    for pv in pvs:
        ctx.link.update_prop(pv)
    return {"properties": [prop_dict(pv) for pv in pvs]}


async def storage(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    st = await on_camera(ctx, request, "storage", lambda cam: cam.storage(), transactions=4)
    return {
        "stores": [
            {
                "id": e.storage_id,
                "description": e.description,
                "capacity": e.capacity,
                "free_bytes": e.free_bytes,
                "free_images": e.free_images,
            }
            for e in st.stores
        ],
        "shots_left": st.shots_left,
    }


async def liveview_start(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    link = ctx.link
    if not link.connected:
        raise BusError(ErrorCode.NOT_CONNECTED, f"camera is {link.connection.value}")
    if link.liveview_unsupported:
        raise BusError(ErrorCode.UNSUPPORTED, f"live view: {link.liveview_unsupported}")
    link.request_liveview(True)
    return {"on": True}


async def liveview_stop(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    ctx.link.request_liveview(False)
    return {"on": ctx.link.liveview_wanted, "subscribers": ctx.link.liveview_watchers}


async def opreq(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    code, params, data = a["code"], tuple(a["params"] or ()), a["data"]
    if not 0 <= code <= 0xFFFF:
        raise BusError(ErrorCode.BAD_REQUEST, "code must be a 16-bit operation code")
    if len(params) > 5 or any(not 0 <= p <= 0xFFFFFFFF for p in params):
        raise BusError(ErrorCode.BAD_REQUEST, "params: up to 5 unsigned 32-bit integers")

    async def run(cam: Camera) -> RawResult:
        ctx.reply_room(request)  # its turn on the camera: is there room for its bytes?
        return await cam.raw(code, params, bytes(data) if data is not None else None)

    res = await on_camera(ctx, request, "opreq", run)
    return {"code": res.code, "code_name": response_name(res.code), "params": list(res.params), "data": res.data}


async def sim_fault(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    return await ctx.sim_fault(a["action"], a["options"] or {})


async def sim_shutter(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    return {"handles": await ctx.sim_shutter(int(a["count"]))}


async def lock(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    lease = ctx.leases.acquire(request.identity, request.lease, a["holder"], float(a["ttl"]))
    return {"lease": lease.token, **lease.summary(ctx.leases.now()), "ttl": lease.ttl}


async def unlock(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    lease = ctx.leases.release(request.identity, request.lease, bool(a["force"]))
    return {"released": lease is not None, "holder": lease.holder if lease is not None else None}


#: command name -> its handler; the server dispatches through this table only
HANDLERS: dict[str, Handler] = {
    "ping": ping,
    "version": version,
    "status": status,
    "snapshot": snapshot,
    "help": help_,
    "cancel": cancel,
    "info": info,
    "properties": properties,
    "describe": describe,
    "get": get,
    "set": set_,
    "state": state,
    "capture": capture,
    "storage": storage,
    "liveview.start": liveview_start,
    "liveview.stop": liveview_stop,
    "objects": objects,
    "download": download,
    "delete": delete,
    "opreq": opreq,
    "sim.fault": sim_fault,
    "sim.shutter": sim_shutter,
    "lock": lock,
    "unlock": unlock,
    "job.start": job_start,
    "job.list": job_list,
    "job.get": job_get,
    "job.stop": job_stop,
}
