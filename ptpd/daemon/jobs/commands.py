"""The job commands of the bus: ``job.start``, ``job.list``, ``job.get``, ``job.stop``."""

from __future__ import annotations

from typing import Any

from ptpd.daemon.context import Context, Request


async def job_start(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    return await ctx.jobs.start_job(a["kind"], a["options"], request)


async def job_list(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    return {"jobs": ctx.jobs.list(bool(a["all"]))}


async def job_get(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    return ctx.jobs.get(int(a["id"]))


async def job_stop(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    return await ctx.jobs.stop_job(int(a["id"]))
