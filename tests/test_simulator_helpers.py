"""A small PTP/IP host for the simulator tests, on the protocol-wire sans-I/O connections.

Deliberately not the project's asyncio initiator: the simulator tests must not depend on
the code they are meant to check it against, and they need to see raw behaviour (an
unanswered request, a closed socket) without a library's retries or recovery.
"""

from __future__ import annotations

import asyncio
import contextlib

from ptpd.protocol import events as ev
from ptpd.protocol.codes import OperationCode
from ptpd.protocol.connection import InitiatorConnection
from ptpd.protocol.errors import CameraDisconnected

GUID = bytes(range(16))
TIMEOUT = 10.0


class Channel:
    """One asyncio TCP connection driven by an InitiatorConnection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.conn = InitiatorConnection()

    def send(self, event: ev.ConnectionEvent) -> None:
        self.writer.write(self.conn.send(event))

    async def next(self, timeout: float = TIMEOUT) -> ev.ConnectionEvent:
        async def _next() -> ev.ConnectionEvent:
            while True:
                e = self.conn.next_event()
                if e is not ev.NEED_DATA:
                    assert isinstance(e, ev.ConnectionEvent)
                    return e
                out = self.conn.data_to_send()
                if out:
                    self.writer.write(out)
                try:
                    data = await self.reader.read(256 * 1024)
                except ConnectionError:
                    data = b""
                self.conn.receive_data(data)

        return await asyncio.wait_for(_next(), timeout)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class SimClient:
    """Command + event channel to a simulator; ``transact`` runs one operation."""

    def __init__(self, cmd: Channel, evt: Channel | None, number: int) -> None:
        self.cmd, self.evt, self.number = cmd, evt, number
        self.events: asyncio.Queue[ev.Event] = asyncio.Queue()
        self._pump = asyncio.create_task(self._read_events()) if evt is not None else None

    @classmethod
    async def connect(cls, port: int, *, open_session: bool = True, name: str = "pytest") -> SimClient:
        cmd = Channel(*await asyncio.open_connection("127.0.0.1", port))
        cmd.send(ev.InitCommandRequest(GUID, name))
        ack = await cmd.next()
        if not isinstance(ack, ev.InitCommandAck):
            cmd.close()
            raise ConnectionRefusedError(f"init refused: {ack}")
        evt = Channel(*await asyncio.open_connection("127.0.0.1", port))
        evt.send(ev.InitEventRequest(ack.connection_number))
        eack = await evt.next()
        if not isinstance(eack, ev.InitEventAck):
            cmd.close()
            evt.close()
            raise ConnectionRefusedError(f"event init refused: {eack}")
        client = cls(cmd, evt, ack.connection_number)
        if open_session:
            resp, _ = await client.transact(OperationCode.OpenSession, (1,))
            assert resp.code == 0x2001, hex(resp.code)
        return client

    async def _read_events(self) -> None:
        assert self.evt is not None
        with contextlib.suppress(Exception):
            while True:
                e = await self.evt.next(timeout=3600)
                if isinstance(e, ev.Event):
                    self.events.put_nowait(e)
                elif isinstance(e, ev.ConnectionClosed):
                    return

    async def transact(
        self, code: int, params: tuple[int, ...] = (), data_out: bytes | None = None, timeout: float = TIMEOUT
    ) -> tuple[ev.OperationResponse, bytes | None]:
        req = self.cmd.conn.request(code, params, data_out=data_out is not None)
        self.cmd.send(req)
        if data_out is not None:
            self.cmd.send(ev.DataOut(req.transaction_id, data_out))
        data: bytes | None = None
        while True:
            e = await self.cmd.next(timeout)
            if isinstance(e, ev.DataIn):
                data = bytes(e.payload)
            elif isinstance(e, ev.OperationResponse):
                return e, data
            elif isinstance(e, ev.ConnectionClosed):
                raise CameraDisconnected("simulator closed the command connection")

    async def data(self, code: int, params: tuple[int, ...] = ()) -> bytes:
        """The data-in phase of one operation (which must have one)."""
        _, data = await self.transact(code, params)
        assert data is not None, f"operation 0x{code:04X} sent no data"
        return data

    async def event(self, timeout: float = TIMEOUT) -> ev.Event:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def event_of(self, *codes: int, timeout: float = TIMEOUT) -> ev.Event:
        """The next event with one of ``codes``, skipping others (e.g. DevicePropChanged)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            e = await self.event(max(0.01, deadline - loop.time()))
            if e.code in codes:
                return e

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(BaseException):
                await self._pump
        self.cmd.close()
        if self.evt is not None:
            self.evt.close()
