"""``focus-stack``: ``steps`` frames, the focus moved ``step`` drive steps farther before
each one after the first.

The stack starts where the focus is (focus on the nearest part of the subject first, as
a camera's own focus bracketing does) and goes away from the camera. It needs a body
with a focus drive (:meth:`Camera.supports_focus_drive
<ptpd.camera.Camera.supports_focus_drive>`): the standard FocusDistance, or a vendor's
lens drive; elsewhere it is refused ``unsupported`` before anything changes. The
settings a drive changes (FocusDistance and FocusMode on a standard body) are put back
afterwards. A focus that reaches the far end of its travel ends the stack there. Each
move is written down once made, so a stack resumed after a restart moves no step twice.
"""

from __future__ import annotations

from typing import Any

from ptpd.bus import BusError, ErrorCode
from ptpd.camera import Camera, ResponseError, Unsupported
from ptpd.daemon.context import Request, on_camera
from ptpd.daemon.jobs.job import LINK_CODES, SHOT_OPTIONS, WAIT_OPTION, Job, JobFailed, Opt, between
from ptpd.daemon.jobs.shooting import NOT_TAKEN


async def _probe(cam: Camera) -> tuple[bool, list[list[Any]]]:
    """Whether the body can drive its focus, and the values of the settings it changes."""
    if not await cam.supports_focus_drive():
        return False, []
    values = []
    for name in cam.focus_drive_settings:
        try:
            values.append([name, (await cam.get(name)).value])
        except (ValueError, Unsupported, ResponseError):
            continue  # the body has no such setting: nothing to put back
    return True, values


class FocusStack(Job):
    """See the module docstring."""

    kind = "focus-stack"
    OPTIONS = {
        "steps": Opt("int", 10, between(2, 500)),
        "step": Opt("int", 1, between(1, 100)),
        **SHOT_OPTIONS,
        **WAIT_OPTION,
    }

    @classmethod
    async def prepare(
        cls, engine: Any, options: dict[str, Any], request: Request
    ) -> tuple[dict[str, Any], list[list[Any]]]:
        options, _ = await super().prepare(engine, options, request)
        ok, restore = await on_camera(engine.ctx, request, "focus-stack", _probe)
        if not ok:
            model = engine.ctx.link.info.model if engine.ctx.link.info else "this camera"
            raise BusError(
                ErrorCode.UNSUPPORTED,
                f"focus-stack: {model} offers no focus drive (no writable "
                "FocusDistance, no lens drive): the focus cannot be stepped",
            )
        return options, restore

    @property
    def total(self) -> int | None:
        return int(self.options["steps"])

    def final_detail(self) -> str:
        text = super().final_detail()
        end = self.row.cursor.get("far_end")
        return f"{text}; the focus reached its far end after {end} frame(s)" if end is not None else text

    async def run(self) -> None:
        self.settle_interrupted()
        cursor = self.row.cursor
        step = int(self.options["step"])
        if not cursor.get("ready"):
            await self.patiently("focus", lambda cam: cam.focus_step(0))  # e.g. manual focus, before frame 1
            cursor["ready"] = True
            self.store.set_cursor(self.id, cursor)
        for i in range(int(self.options["steps"])):
            if cursor.get("far_end") is not None:
                break
            if i in self.shots:
                continue
            if int(cursor.get("at", 0)) < i:
                self.checkpoint()
                if self.stop_asked:
                    return
                self.say(f"frame {i + 1} of {self.total}: moving the focus {step} step(s) farther")
                moved = await self.patiently("focus", lambda cam: cam.focus_step(step))
                if not moved:
                    cursor["far_end"] = i
                    self.store.set_cursor(self.id, cursor)
                    break
                cursor["at"] = i  # the focus stands at frame i's place: never moved twice
                self.store.set_cursor(self.id, cursor)
            while True:
                self.checkpoint()
                if self.stop_asked:
                    return
                self.say(f"frame {i + 1} of {self.total}")
                r = await self.shoot(i, frame=i + 1)
                self.checkpoint()
                if r.state != NOT_TAKEN:
                    break
                err = r.error
                if err is not None and err.code not in (*LINK_CODES, ErrorCode.CAMERA_BUSY):
                    raise JobFailed(f"frame {i + 1}: {err.code.value}: {err.message}")
                await self.camera_back(f"frame {i + 1}")
        await self.collect()
