"""A malicious PTP/IP camera: a responder that breaks the rules in one chosen way.

``python -m bench.hostile_camera --mode MODE [--port 0] [--scale 1.0]`` listens on
127.0.0.1 (command and event channel on the one port, as a standard PTP/IP camera),
prints ``ready HOST PORT`` and serves until killed. A line ``mode NAME`` on its stdin
switches the mode for what comes next (the next transaction; the floods start on the
open event channel) and prints ``mode NAME``; ``mode NAME drop`` also closes every
connection, so that the initiator reconnects into it (the DeviceInfo modes need that). It behaves like a small, plain camera (one storage, one
10 KB JPEG, two properties) except for what its mode changes:

=========================  =================================================================
mode                        what the camera does
=========================  =================================================================
``normal``                  nothing hostile (the baseline)
``deviceinfo-huge``         a DeviceInfo of 28 MB: 14 M operation codes (27 s of event-loop
                            stalls at every connect before budgets)
``deviceinfo-absurd``       a DeviceInfo whose OperationsSupported count is 0xFFFFFFFF in a
                            60-byte dataset (read as "0 operations" before)
``deviceinfo-endless``      GetDeviceInfo's data phase of unknown length that never ends
                            (``scale`` x 200 MB, then End Data)
``object-overrun``          ObjectInfo declares 10 KB; GetObject sends ``scale`` x 1.5 GB in
                            a phase of unknown length (RSS 3 GB, a 1 GiB file saved before)
``object-overrun-announced``  the same, Start Data announcing 1.5 GB
``trickle``                 GetObject's data phase at one byte a second
``probe-flood``             Probe Requests on the event channel without end, never reading
``event-flood``             events (a vendor code) on the event channel without end
``handles-huge``            GetObjectHandles lists 10 M handles (40 MB)
``enum-huge``               every DevicePropDesc is an Enumeration of 65,535 values
=========================  =================================================================

Loopback only. The camera's own code is as plain as it can be: it writes packets with
:mod:`ptpd.protocol.packets` and datasets with :mod:`ptpd.protocol.datasets`, and crafts
by hand only what those encoders refuse to make.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import struct
import sys

from ptpd.protocol import packets as pk
from ptpd.protocol.codes import DataType, DevicePropCode, ObjectFormat, OperationCode, ResponseCode
from ptpd.protocol.datasets import DeviceInfo, DevicePropDesc, Enumeration, ObjectInfo, Range, StorageInfo

MODES = (
    "normal",
    "deviceinfo-huge",
    "deviceinfo-absurd",
    "deviceinfo-endless",
    "object-overrun",
    "object-overrun-announced",
    "trickle",
    "probe-flood",
    "event-flood",
    "handles-huge",
    "enum-huge",
)

GUID = bytes.fromhex("686f7374696c652d63616d6572612121")
STORAGE = 0x00010001
HANDLE = 1
#: what ObjectInfo declares for the one image
DECLARED = 10 * 1024
OPS = (
    OperationCode.GetDeviceInfo,
    OperationCode.OpenSession,
    OperationCode.CloseSession,
    OperationCode.GetStorageIDs,
    OperationCode.GetStorageInfo,
    OperationCode.GetObjectHandles,
    OperationCode.GetObjectInfo,
    OperationCode.GetObject,
    OperationCode.DeleteObject,
    OperationCode.GetDevicePropDesc,
    OperationCode.GetDevicePropValue,
    OperationCode.SetDevicePropValue,
)
PROPS = (DevicePropCode.BatteryLevel, DevicePropCode.ExposureIndex)


def _jpeg(size: int) -> bytes:
    body = b"\xff\xd8\xff\xe0" + bytes(max(0, size - 6))
    return (body + b"\xff\xd9")[:size]


IMAGE = _jpeg(DECLARED)


def device_info(mode: str, scale: float) -> bytes:
    info = DeviceInfo(
        operations_supported=OPS,
        events_supported=(0x4002, 0x400D),
        device_properties_supported=PROPS,
        capture_formats=(ObjectFormat.EXIF_JPEG,),
        image_formats=(ObjectFormat.EXIF_JPEG,),
        manufacturer="Hostile",
        model="Evil-1",
        device_version="6.6.6",
        serial_number="666",
    ).encode()
    if mode == "deviceinfo-huge":
        n = int(14_000_000 * scale)
        head = struct.pack("<HIHBH", 100, 0, 0, 0, 0)  # versions, empty description, mode
        return head + struct.pack("<I", n) + bytes(2 * n) + info[len(head) :]
    if mode == "deviceinfo-absurd":
        head = struct.pack("<HIHBH", 100, 0, 0, 0, 0)
        return head + struct.pack("<I", 0xFFFFFFFF) + info[len(head) + 4 :]
    return info


def prop_desc(code: int, mode: str) -> bytes:
    if mode == "enum-huge":
        w = struct.pack("<HHBHHBH", code, DataType.UINT16, 1, 1, 1, 2, 65535)
        return w + struct.pack("<65535H", *range(65535))
    if code == DevicePropCode.BatteryLevel:
        return DevicePropDesc(code, DataType.UINT8, 0, 100, 80, Range(0, 100, 1)).encode()
    return DevicePropDesc(code, DataType.UINT16, 1, 100, 200, Enumeration((100, 200, 400, 800))).encode()


class Camera:
    """One camera: its mode, and the connections it serves."""

    def __init__(self, mode: str, scale: float) -> None:
        self.mode = mode
        self.scale = scale
        self.tasks: set[asyncio.Task[None]] = set()

    def switch(self, mode: str, drop: bool) -> None:
        """Take ``mode``; with ``drop``, close every connection (the initiator comes back
        into the new mode)."""
        self.mode = mode
        if drop:
            for t in list(self.tasks):
                t.cancel()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            pass
        finally:
            self.tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, OSError):
            first = pk.decode_packet(await _packet(reader))
            if isinstance(first, pk.InitCommandRequest):
                writer.write(pk.InitCommandAck(1, GUID, "hostile camera").encode())
                await self._commands(reader, writer)
            elif isinstance(first, pk.InitEventRequest):
                writer.write(pk.InitEventAck().encode())
                await self._event_channel(reader, writer)
        with contextlib.suppress(Exception):
            writer.close()

    async def _event_channel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while self.mode not in ("probe-flood", "event-flood"):  # answer probes, else idle
            try:
                data = await asyncio.wait_for(reader.read(65536), 0.05)
            except TimeoutError:
                continue
            if not data:
                return
            writer.write(pk.ProbeResponse().encode())
        if self.mode == "probe-flood":
            packets = pk.ProbeRequest().encode() * 8192  # and never read what comes back
        else:
            packets = pk.Event(0xC0DE, 0xFFFFFFFF, (1, 2, 3)).encode() * 4096
        while True:
            writer.write(packets)
            await writer.drain()
            await asyncio.sleep(0)

    async def _commands(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            p = pk.decode_packet(await _packet(reader))
            if isinstance(p, pk.ProbeRequest):
                writer.write(pk.ProbeResponse().encode())
                continue
            if not isinstance(p, pk.OperationRequest):
                continue  # a Cancel: this camera does not care
            if p.data_phase == 2:  # data-out: read it and answer OK
                while True:
                    d = pk.decode_packet(await _packet(reader))
                    if isinstance(d, pk.EndData):
                        break
            await self._answer(p, writer)
            await writer.drain()

    async def _answer(self, p: pk.OperationRequest, writer: asyncio.StreamWriter) -> None:
        tid, op, mode = p.transaction_id, p.code, self.mode
        data: bytes | None = None
        if op == OperationCode.GetDeviceInfo:
            if mode == "deviceinfo-endless":
                await self._endless(writer, tid, int(200e6 * self.scale))
                return
            data = device_info(mode, self.scale)
        elif op == OperationCode.GetStorageIDs:
            data = struct.pack("<II", 1, STORAGE)
        elif op == OperationCode.GetStorageInfo:
            data = StorageInfo(max_capacity=1 << 30, free_space_in_bytes=1 << 29).encode()
        elif op == OperationCode.GetObjectHandles:
            n = int(10_000_000 * self.scale) if mode == "handles-huge" else 1
            data = struct.pack("<I", n) + struct.pack("<I", HANDLE) * n
        elif op == OperationCode.GetObjectInfo:
            data = ObjectInfo(
                STORAGE,
                ObjectFormat.EXIF_JPEG,
                object_compressed_size=DECLARED,
                filename="IMG_0001.JPG",
                capture_date="20261207T120000",
            ).encode()
        elif op == OperationCode.GetObject:
            if mode in ("object-overrun", "object-overrun-announced"):
                total = int(1.5e9 * self.scale)
                await self._endless(writer, tid, total, announce=mode.endswith("announced"))
                return
            if mode == "trickle":
                writer.write(pk.StartData(tid, DECLARED).encode() + pk.Data(tid, IMAGE).encode()[:12])
                for byte in IMAGE:  # the payload of one Data packet, a byte a second
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(1.0)
                return
            data = IMAGE
        elif op == OperationCode.GetDevicePropDesc:
            data = prop_desc(p.params[0] if p.params else 0, mode)
        elif op == OperationCode.GetDevicePropValue:
            data = b"\x50" if p.params and p.params[0] == DevicePropCode.BatteryLevel else struct.pack("<H", 200)
        elif op not in OPS:
            writer.write(pk.OperationResponse(ResponseCode.OperationNotSupported, tid).encode())
            return
        if data is not None:
            writer.write(pk.StartData(tid, len(data)).encode())
            for k in range(0, len(data), 1 << 20):
                writer.write(pk.Data(tid, data[k : k + (1 << 20)]).encode())
                await writer.drain()
            writer.write(pk.EndData(tid, b"").encode())
        writer.write(pk.OperationResponse(ResponseCode.OK, tid).encode())

    @staticmethod
    async def _endless(writer: asyncio.StreamWriter, tid: int, total: int, announce: bool = False) -> None:
        """``total`` bytes of data phase (Start Data says unknown, or ``total``), whatever
        the initiator says meanwhile, then End Data and OK."""
        writer.write(pk.StartData(tid, total if announce else pk.UNKNOWN_DATA_LENGTH).encode())
        chunk = pk.Data(tid, _jpeg(1 << 20)).encode()
        sent = 0
        while sent < total:
            writer.write(chunk)
            sent += 1 << 20
            await writer.drain()
        writer.write(pk.EndData(tid, b"").encode() + pk.OperationResponse(ResponseCode.OK, tid).encode())


async def _packet(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(8)
    return head + await reader.readexactly(int.from_bytes(head[:4], "little") - 8)


async def main(mode: str, port: int, scale: float) -> None:
    cam = Camera(mode, scale)
    server = await asyncio.start_server(cam.serve, "127.0.0.1", port, limit=1 << 20)
    host, bound = server.sockets[0].getsockname()[:2]
    print(f"ready {host} {bound}", flush=True)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    async with server:
        while line := (await stdin.readline()).decode().split():
            if line[0] == "mode" and len(line) in (2, 3) and line[1] in MODES:
                cam.switch(line[1], drop=line[2:] == ["drop"])
            print(f"mode {cam.mode}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=MODES, default="normal")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument(
        "--scale", type=float, default=1.0, help="size of the floods and overruns (1.0: the issue's figures)"
    )
    ns = ap.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(ns.mode, ns.port, ns.scale))
    sys.exit(0)
