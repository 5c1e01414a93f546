"""TCP's own waits on the camera sockets are bounded, for both dialects.

A command in flight when a Wi-Fi link drops waits in TCP's retransmission queue; TCP
doubles the interval between tries from 200 ms, so after a 3 s outage the next try may
come 1.6 s or more after the link is back. The camera sockets cap that back-off at a
second (``TCP_RTO_MAX_MS``, Linux 6.15 and later) and give up on a link whose data stays
unacknowledged for the channel's timeout (``TCP_USER_TIMEOUT``). A kernel without an
option keeps its default, with no error.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import sys
from typing import Any

import pytest

from ptpd.camera.fuji import FujiCamera
from ptpd.camera.generic import GenericCamera
from ptpd.protocol.adapter import RTO_MAX_MS, TCP_RTO_MAX_MS, tune_camera_socket
from ptpd.simulator import start_simulator

pytestmark = [pytest.mark.timeout(60), pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux options")]


def kernel_caps_rto() -> bool:
    """Whether this kernel takes TCP_RTO_MAX_MS (6.15 and later)."""
    with socket.socket() as s:
        try:
            s.setsockopt(socket.IPPROTO_TCP, TCP_RTO_MAX_MS, RTO_MAX_MS)
        except OSError:
            return False
        return True


def options_of(transport: Any) -> tuple[int | None, int]:
    """(TCP_RTO_MAX_MS or None where the kernel has none, TCP_USER_TIMEOUT) of a connection."""
    sock = transport.get_extra_info("socket")
    try:
        rto = sock.getsockopt(socket.IPPROTO_TCP, TCP_RTO_MAX_MS)
    except OSError:
        rto = None
    return rto, sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)


def expected_rto() -> int | None:
    return RTO_MAX_MS if kernel_caps_rto() else None


@pytest.mark.parametrize("vendor", ["generic", "fuji"])
def test_the_camera_connections_of_both_dialects_are_tuned(vendor: str) -> None:
    async def main() -> None:
        options: dict[str, Any] = {"pairing_delay": 0.0} if vendor == "fuji" else {}
        sim = await start_simulator(vendor, "127.0.0.1", 0, **options)
        try:
            if vendor == "fuji":
                cam: Any = FujiCamera(
                    sim.host, sim.port, event_port=sim.event_port, liveview_port=sim.liveview_port, timeout=7
                )
            else:
                cam = GenericCamera(sim.host, sim.port, timeout=7)
            await cam.connect()
            try:
                link = cam.link
                cmd = link._cmd
                assert cmd is not None
                assert options_of(cmd.transport) == (expected_rto(), 7000)
                if vendor == "generic":  # its event channel has the same patience
                    assert options_of(link._evt.transport) == (expected_rto(), 7000)
            finally:
                await cam.close()
        finally:
            await sim.close()

    asyncio.run(main())


def test_the_kernels_default_stays_where_an_option_is_missing() -> None:
    """An older kernel refuses TCP_RTO_MAX_MS (ENOPROTOOPT): no error, the rest still set."""

    class OldKernelSocket:
        family = socket.AF_INET

        def __init__(self) -> None:
            self.set: dict[int, int] = {}

        def setsockopt(self, level: int, option: int, value: int) -> None:
            assert level == socket.IPPROTO_TCP
            if option == TCP_RTO_MAX_MS:
                raise OSError(errno.ENOPROTOOPT, "Protocol not available")
            self.set[option] = value

    s = OldKernelSocket()
    assert tune_camera_socket(s, 2.5) == {"TCP_USER_TIMEOUT": 2500}
    assert s.set == {socket.TCP_USER_TIMEOUT: 2500}
    assert tune_camera_socket(s, None) == {}  # no timeout: no user timeout either


def test_a_real_socket_takes_what_the_kernel_has() -> None:
    with socket.socket() as s:
        done = tune_camera_socket(s, 10.0)
        assert done.get("TCP_USER_TIMEOUT") == 10000
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 10000
        if kernel_caps_rto():
            assert done["TCP_RTO_MAX_MS"] == RTO_MAX_MS == s.getsockopt(socket.IPPROTO_TCP, TCP_RTO_MAX_MS)
        else:
            assert "TCP_RTO_MAX_MS" not in done
    with socket.socket(socket.AF_UNIX) as u:  # not TCP: left alone
        assert tune_camera_socket(u, 10.0) == {}
