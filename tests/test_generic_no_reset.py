"""Only a broken byte stream resets a camera link: a dataset that arrives whole but cannot
be read (a property description, a property value, a list of handles cut short inside a
consistent data phase) is an error on its command, ``unsupported``, and the session goes on.

The daemon runs as a real process (``ptpd run --vendor generic``) against a simulated
generic body served by this test process; the body's fault model breaks the data phase of
one chosen operation, once. After each, ``status`` shows the same session (no reconnect,
the camera saw one OpenSession) and the next command works.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ptpd.protocol.codes import OperationCode as OP
from ptpd.simulator.faults import Malformed, Plan
from sim_thread import SimThread
from test_daemon_sim import Daemon, wait_status

pytestmark = pytest.mark.timeout(90)


class Body:
    """A simulated generic body; :meth:`break_next` cuts the next data phase of one operation."""

    def __init__(self) -> None:
        self.served = SimThread()
        self.sim = self.served.start("generic")
        self.armed: set[int] = set()
        plan = self.sim.faults.on_transaction

        def on_transaction(op_code: int, *args: Any, **kw: Any) -> Plan:
            if op_code in self.armed:
                self.armed.discard(op_code)
                return Plan(malformed=Malformed.TRUNCATED_DATASET)
            return plan(op_code, *args, **kw)

        self.sim.faults.on_transaction = on_transaction

    def break_next(self, op: int) -> None:
        self.armed.add(op)

    def close(self) -> None:
        self.served.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Body, Daemon]]:
    body = Body()
    d: Daemon | None = None
    try:
        d = Daemon(
            tmp_path_factory.mktemp("generic-no-reset"),
            "--vendor",
            "generic",
            "--camera",
            f"127.0.0.1:{body.sim.port}",
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
        body.close()


def refused_on_the_command(body: Body, d: Daemon, op: int, cmd: str, args: dict[str, Any] | None = None) -> str:
    """Break ``op``'s next data phase, run ``cmd``: its error is ``unsupported`` and the
    session is the one it was; the error's message."""
    before = d.c.ok("status")
    body.break_next(op)
    reply = d.c.call(cmd, args, timeout=10)
    assert not body.armed, f"the daemon never sent 0x{op:04X}"
    assert not reply["ok"] and reply["error"]["code"] == "unsupported", reply
    st = d.c.ok("status")
    assert st["connection"] == "connected" and st["reconnects"] == before["reconnects"], st
    assert body.sim.sessions_opened == 1
    assert d.c.ok(cmd, args, timeout=10) is not None  # and the same command works next time
    return str(reply["error"]["message"])


def test_an_unreadable_property_description_fails_describe_only(setup: tuple[Body, Daemon]) -> None:
    message = refused_on_the_command(*setup, OP.GetDevicePropDesc, "describe", {"prop": "0x5001"})
    assert "description of property 0x5001 cannot be read" in message, message


def test_an_unreadable_property_value_fails_get_only(setup: tuple[Body, Daemon]) -> None:
    body, d = setup
    d.c.ok("describe", {"prop": "0x5001"})  # the desc is known: get reads the value alone
    message = refused_on_the_command(body, d, OP.GetDevicePropValue, "get", {"prop": "0x5001"})
    assert "value of property 0x5001 cannot be read" in message, message


def test_an_unreadable_list_of_objects_fails_objects_only(setup: tuple[Body, Daemon]) -> None:
    message = refused_on_the_command(*setup, OP.GetObjectHandles, "objects")
    assert "list of objects in storage" in message, message
