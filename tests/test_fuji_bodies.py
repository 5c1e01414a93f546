"""Our Fuji initiator against every simulated body, over real loopback sockets.

Each body (``ptpd/simulator/fuji/profiles.py``) is brought up by :class:`FujiCamera` the way
it offers: the bring-up reads what the body is (its 0xD212 list, its remote version) and
records it; ``info`` names the body, ``state`` gives its settings, ``get``/``describe iso``
answer, a set is taken, and where the body has remote shooting a capture names the new
file, its download is the file, and live view gives frames. A body without remote
shooting (the X-A2) says ``Unsupported`` at once for capture and live view, and still lists
and downloads its pictures. Every body keeps its one session throughout. The bodies run
side by side in one event loop.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from ptpd.camera.errors import Unsupported
from ptpd.camera.fuji import FujiCamera
from ptpd.camera.transfer import verify
from ptpd.simulator import start_simulator
from ptpd.simulator.fuji.profiles import PROFILES

pytestmark = pytest.mark.timeout(120)


async def exercise(model: str) -> dict[str, Any]:
    sim = await start_simulator("fuji", "127.0.0.1", 0, model=model, pairing_delay=0.05)
    seen: dict[str, Any] = {"model": model}
    try:
        cam = FujiCamera(sim.host, sim.port, event_port=sim.event_port, liveview_port=sim.liveview_port, timeout=10)
        t0 = time.monotonic()
        await cam.connect()
        seen["connect_s"] = time.monotonic() - t0
        try:
            seen["offer"] = cam.link.offer
            seen["requests"] = cam.link.last_tid
            info = await cam.info()
            seen["info"] = (info.manufacturer, info.model)
            seen["state"] = {v.name: v.label for v in await cam.state()}
            seen["iso"] = (await cam.get("iso")).label
            seen["describe_iso"] = (await cam.describe("iso")).form
            seen["set"] = (await cam.set("whitebalance", "daylight")).label
            objects = [o for o in await cam.objects() if not o.is_folder]
            first = objects[0]
            data = await cam.download(first.handle)
            verify(data, first.size, first.format, first.filename)
            seen["download"] = (first.filename, len(data))
            if sim.profile.remote:
                shot = await cam.capture()
                assert shot.object is not None, f"{model}: the capture named no file"
                data = await cam.download(shot.object.handle)
                verify(data, shot.object.size, shot.object.format, shot.object.filename)
                seen["capture"] = (shot.object.filename, len(data))
                frames = cam.liveview()
                frame = await asyncio.wait_for(frames.__anext__(), 10)
                await frames.aclose()
                seen["liveview"] = (frame.width, frame.height)
            else:
                t0 = time.monotonic()
                for attempt in (cam.capture(), _first_frame(cam)):
                    with pytest.raises(Unsupported, match="no remote"):
                        await attempt
                seen["unsupported_s"] = time.monotonic() - t0
            seen["connected"] = cam.connected
        finally:
            await cam.close()
        seen["sessions"] = sim.sessions_opened
    finally:
        await sim.close()
    return seen


async def _first_frame(cam: FujiCamera) -> Any:
    async for frame in cam.liveview():
        return frame
    return None


def test_our_initiator_against_every_body() -> None:
    async def main() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(exercise(p.model) for p in PROFILES.values())))

    for seen in asyncio.run(main()):
        model, offer = seen["model"], seen["offer"]
        prof = next(p for p in PROFILES.values() if p.model == model)
        assert seen["info"] == ("FUJIFILM", model), seen
        assert seen["connected"] and seen["sessions"] == 1, seen
        assert offer.remote_version == prof.app_version and offer.remote == prof.remote, seen
        assert offer.state_list and offer.events == prof.remote, seen
        assert seen["iso"] == "S6400" and seen["describe_iso"] == "enum", seen
        assert seen["set"] == "daylight" and seen["download"][1] > 10_000, seen
        if prof.generation == "later":
            # the change list of a later body: its control entries, then (remote) the remote list
            assert seen["state"]["camera-state"] == ("Remote" if prof.remote else "FullAccess"), seen
            assert seen["state"]["object-count"] == "2", seen
        else:
            assert len(seen["state"]) == 18, seen
        if prof.remote:
            assert seen["state"]["iso"] == "S6400" and "whitebalance" in seen["state"], seen
            assert seen["capture"][0].endswith(".JPG") and seen["liveview"] == (640, 480), seen
        else:
            assert seen["unsupported_s"] < 0.1, seen  # at once: nothing was asked of the camera
