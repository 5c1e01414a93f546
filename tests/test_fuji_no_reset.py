"""Only a broken byte stream resets a Fuji link: each kind of semantic error is an error on
its command, and the session stays up.

The daemon runs as a real process (``ptpd run --vendor fuji``) against a simulated X-T4
served by this test process, whose answers a test changes for one operation: a refusal, a
value the body does not have ("OK with no data"), a description that cannot be read, an
ObjectInfo that cannot be read, a data container where none is due, a refusal in a
response for another transaction id. After each, ``status`` shows the same session (no
reconnect, the camera saw one OpenSession) and the next command works.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ptpd.fuji.packets import Container
from ptpd.protocol.codes import OperationCode as OP
from ptpd.protocol.codes import ResponseCode as RC
from ptpd.simulator.fuji import session as fuji_session
from ptpd.simulator.fuji.session import FujiSession, Reply
from sim_thread import SimThread
from test_daemon_sim import Daemon, wait_status

pytestmark = pytest.mark.timeout(90)

Handler = Callable[[FujiSession, int, tuple[int, ...], "bytes | None"], Reply]


class Body:
    """A simulated X-T4 (:class:`tests.sim_thread.SimThread`); ``trouble[(op, param1)]``
    answers in place of the body for that operation (param1 None: any)."""

    def __init__(self) -> None:
        self.trouble: dict[tuple[int, int | None], Handler] = {}
        self.served = SimThread()
        self.sim = self.served.start("fuji", model="X-T4", pairing_delay=0.0)

    def wrap(self, code: int) -> Handler:
        real = fuji_session.HANDLERS[code]

        def handler(s: FujiSession, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
            bad = self.trouble.get((code, p[0])) or self.trouble.get((code, None))
            return bad(s, tid, p, data) if bad is not None else real(s, tid, p, data)

        return handler

    def close(self) -> None:
        self.served.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Body, Daemon]]:
    body = Body()
    mp = pytest.MonkeyPatch()
    for code in (
        OP.GetDevicePropValue,
        OP.GetDevicePropDesc,
        OP.GetObjectInfo,
        OP.InitiateCapture,
        OP.SetDevicePropValue,
    ):
        mp.setitem(fuji_session.HANDLERS, code, body.wrap(code))
    d: Daemon | None = None
    try:
        d = Daemon(
            tmp_path_factory.mktemp("fuji-no-reset"),
            "--vendor",
            "fuji",
            "--camera",
            "127.0.0.1",
            "--cmd-port",
            str(body.sim.port),
            "--keepalive",
            "0",
            "--timeout",
            "5",
        )
        wait_status(d.c, "connected", timeout=20)
        yield body, d
    finally:
        if d is not None:
            assert d.close() == 0
        mp.undo()
        body.close()


def same_session(body: Body, d: Daemon, before: dict[str, Any]) -> None:
    st = d.c.ok("status")
    assert st["connection"] == "connected" and st["reconnects"] == before["reconnects"], st
    assert body.sim.sessions_opened == 1
    assert d.c.ok("get", {"prop": "whitebalance"})["name"] == "whitebalance"  # and it answers


def error_of(d: Daemon, cmd: str, args: dict[str, Any]) -> dict[str, Any]:
    r = d.c.call(cmd, args, timeout=20)
    assert not r["ok"], r
    return dict(r["error"])


def kinds() -> dict[str, tuple[tuple[int, int | None], Handler, str, dict[str, Any], str, str]]:
    """name -> (where, answer, command, args, error code, text in the message)."""
    truncated_desc = bytes.fromhex("05500400010200")  # a WhiteBalance description cut short
    return {
        "refused operation": (
            (OP.InitiateCapture, None),
            lambda s, t, p, d: Reply(RC.StoreFull),
            "capture",
            {},
            "camera_refused",
            "StoreFull",
        ),
        "missing value": (
            (OP.GetDevicePropValue, 0xD0F0),
            lambda s, t, p, d: Reply(RC.OK, b""),
            "get",
            {"prop": "0xD0F0"},
            "unsupported",
            "no value",
        ),
        "value that does not decode": (
            (OP.GetDevicePropDesc, 0x5005),
            lambda s, t, p, d: Reply(RC.OK, truncated_desc),
            "describe",
            {"prop": "whitebalance"},
            "unsupported",
            "cannot be read",
        ),
        "unexpected dataset": (
            (OP.GetObjectInfo, None),
            lambda s, t, p, d: Reply(RC.OK, b"\x01\x00\x01\x00"),
            "download",
            {"handle": 3},
            "unsupported",
            "ObjectInfo",
        ),
    }


@pytest.mark.parametrize("kind", list(kinds()))
def test_a_semantic_error_is_an_error_of_its_command_and_the_session_stays(
    setup: tuple[Body, Daemon], kind: str
) -> None:
    body, d = setup
    where, answer, cmd, args, code, text = kinds()[kind]
    before = d.c.ok("status")
    body.trouble[where] = answer
    try:
        err = error_of(d, cmd, args)
    finally:
        body.trouble.clear()
    assert err["code"] == code and text in err["message"], err
    same_session(body, d, before)


def test_a_data_container_where_none_is_due_is_set_aside(setup: tuple[Body, Daemon]) -> None:
    """The camera answers InitiateCapture with a data container before its response: the
    stream is whole, the capture goes on, the session stays."""
    body, d = setup
    before = d.c.ok("status")

    def with_data(s: FujiSession, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        r = FujiSession._initiate_capture(s, tid, p, data)
        return Reply(r.code, b"\x00\x00", capture=r.capture)

    body.trouble[(OP.InitiateCapture, None)] = with_data
    try:
        got = d.c.ok("capture", {}, timeout=30)
    finally:
        body.trouble.clear()
    assert got["shots"][0]["handle"], got
    same_session(body, d, before)


def test_a_refusal_for_another_transaction_id_is_the_cameras_refusal(setup: tuple[Body, Daemon]) -> None:
    """A response that carries another transaction id: one transaction is open at a time, so
    it is that one's answer, and a refusal is shown as the camera's refusal."""
    body, d = setup
    before = d.c.ok("status")
    writer_hook: dict[str, Any] = {}

    def wrong_tid(s: FujiSession, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        writer_hook["tid"] = tid
        return Reply(RC.DevicePropNotSupported)

    body.trouble[(OP.GetDevicePropValue, 0xD0F1)] = wrong_tid
    orig = Container.response

    def response(code: int, transaction_id: int, params: Any = ()) -> Container:
        if transaction_id == writer_hook.get("tid"):
            transaction_id = 0  # what an emulator of real bodies stamps on some refusals
        return orig(code, transaction_id, params)

    mp = pytest.MonkeyPatch()
    mp.setattr(Container, "response", staticmethod(response))
    try:
        err = error_of(d, "get", {"prop": "0xD0F1"})
    finally:
        mp.undo()
        body.trouble.clear()
    assert err["code"] == "camera_refused" and err["ptp_code"] == RC.DevicePropNotSupported, err
    assert "transaction 0" in err["message"], err
    same_session(body, d, before)
