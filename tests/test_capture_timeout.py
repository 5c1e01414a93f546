"""A capture whose new picture never comes is an error on the capture, not a broken link.

A simulated body (generic, Canon EOS, Fujifilm) over real sockets takes the release and answers
every transaction after it, but never makes the picture (as a body without a card, or
one whose focus never locks). The capture's wait runs out: the error is not one of the
link errors (the daemon would drop and rebuild the session), the bus answers ``timeout``,
and the same session goes on serving commands.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from ptpd.bus import ErrorCode
from ptpd.camera import LINK_ERRORS
from ptpd.camera.canon import CanonCamera
from ptpd.camera.fuji import FujiCamera
from ptpd.camera.generic import GenericCamera
from ptpd.canon.codes import CanonOperationCode as EOS
from ptpd.daemon.errors import to_bus_error
from ptpd.protocol.codes import OperationCode as OP
from ptpd.protocol.codes import ResponseCode as RC
from ptpd.simulator import generic as generic_sim
from ptpd.simulator import start_simulator
from ptpd.simulator.canon import session as canon_session
from ptpd.simulator.fuji import session as fuji_session
from ptpd.simulator.generic import Reply

pytestmark = pytest.mark.timeout(60)

#: seconds the camera waits for the new picture in these tests (the products wait 30-90 s)
WAIT = 1.0


def takes_no_picture(real: Any, *, shoots: Any) -> Any:
    """A handler that answers OK where ``shoots(params)`` but starts no capture."""

    def handler(*args: Any) -> Reply:
        params = args[-2]
        return Reply(RC.OK) if shoots(params) else real(*args)

    return handler


async def session_goes_on(sim: Any, cam: Any) -> None:
    before = sim.sessions_opened
    with pytest.raises(Exception) as caught:
        await cam.capture()
    exc = caught.value
    assert not isinstance(exc, LINK_ERRORS), f"{type(exc).__name__} would drop the link: {exc}"
    err = to_bus_error(exc)
    assert err.code == ErrorCode.TIMEOUT and "within" in err.message, err.to_dict()
    assert cam.connected
    assert (await cam.get("iso")).name == "iso"  # the same session answers
    assert sim.sessions_opened == before == 1


def test_generic_capture_that_never_names_a_picture(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        generic_sim._HANDLERS,
        OP.InitiateCapture,
        takes_no_picture(generic_sim._HANDLERS[OP.InitiateCapture], shoots=lambda p: True),
    )

    async def main() -> None:
        sim = await start_simulator("generic", "127.0.0.1", 0)
        cam = GenericCamera(sim.host, sim.port, timeout=WAIT, capture_timeout=WAIT)
        try:
            await cam.connect()
            await session_goes_on(sim, cam)
        finally:
            await cam.close()
            await sim.close()

    asyncio.run(main())


def test_canon_capture_that_never_names_a_picture(monkeypatch: pytest.MonkeyPatch) -> None:
    # a half press (1) focuses as before; the full press (2, 3) is taken and makes nothing
    monkeypatch.setitem(
        canon_session._HANDLERS,
        EOS.RemoteReleaseOn,
        takes_no_picture(canon_session._HANDLERS[EOS.RemoteReleaseOn], shoots=lambda p: p[0] != 1),
    )

    async def main() -> None:
        sim = await start_simulator("canon", "127.0.0.1", 0)
        cam = CanonCamera("127.0.0.1", sim.port, guid=uuid.uuid4().bytes, timeout=2 * WAIT, capture_timeout=WAIT)
        try:
            await cam.connect()
            await session_goes_on(sim, cam)
        finally:
            await cam.close()
            await sim.close()

    asyncio.run(main())


def test_fuji_capture_that_never_reports_a_shot(monkeypatch: pytest.MonkeyPatch) -> None:
    # InitiateCapture answers OK and the body sends no event and adds no object
    monkeypatch.setitem(fuji_session.HANDLERS, OP.InitiateCapture, lambda *args: fuji_session.Reply(RC.OK))

    async def main() -> None:
        sim = await start_simulator("fuji", "127.0.0.1", 0, pairing_delay=0.0)
        cam = FujiCamera("127.0.0.1", sim.port, timeout=WAIT)
        try:
            await cam.connect()
            await session_goes_on(sim, cam)
        finally:
            await cam.close()
            await sim.close()

    asyncio.run(main())
