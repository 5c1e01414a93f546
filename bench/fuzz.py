"""A long fuzz run over every decoder that reads bytes a camera (or a client) sends.

The suite's protocol tests run short hypothesis checks per decoder; this runs the same
idea for much longer, over every decoder at once, and adds an allocation check:

1. **Random and mutated input.** For each target, hypothesis feeds random bytes and
   mutations of valid encodings (bit flips, truncation, insertion, deletion, and u32
   fields overwritten with 0, 1, 0x7FFFFFFF, 0xFFFFFFFF, a billion, the length ±1).
   Only the target's allowed exception (``ProtocolError``; ``BusError`` for the bus)
   may come out; anything else is a finding, shrunk to a minimal input.
2. **Absurd sizes refused before allocation.** Every 4-byte window of every seed is
   overwritten with 0xFFFFFFFF and 1,000,000,000 in turn; decoding runs under
   ``tracemalloc`` and its peak must stay below 1 MiB + 4x the input.

``python -m bench.fuzz --examples 20000`` (``--quick``: 150 per target). Targets whose
module has not landed are listed as skipped. ``docs/fuzzing.md`` records the runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import struct
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.common import Result, Table, main_for

INTERESTING_U32 = (0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 1_000_000_000, 0xFFFF, 0x10000)


@dataclass
class Target:
    name: str
    run: Callable[[bytes], object]
    seeds: list[bytes]
    allowed: tuple[type[BaseException], ...]
    findings: list[tuple[bytes, str]] = field(default_factory=list)
    examples: int = 0
    refused: int = 0  #: inputs that raised the allowed error
    peak_ratio_max: float = 0.0
    #: bytes a decoder may allocate by design before data arrives (a capped preallocation)
    alloc_allow: int = 0
    alloc_failures: list[tuple[bytes, int]] = field(default_factory=list)


def _targets() -> tuple[list[Target], list[str]]:
    """Every decoder that exists in the tree now, with seeds; and what was skipped."""
    from ptpd.protocol.errors import ProtocolError

    out: list[Target] = []
    skipped: list[str] = []

    def add(name: str, build: Callable[[], Target]) -> None:
        try:
            out.append(build())
        except (ImportError, AttributeError) as exc:
            skipped.append(f"{name} ({exc})")

    # -- standard PTP/IP packets and framing --
    def packets() -> Target:
        from ptpd.protocol import packets as p

        g = bytes(range(16))
        seeds = [
            p.InitCommandRequest(g, "ptpd bench").encode(),
            p.InitCommandAck(1, g, "camera").encode(),
            p.InitEventRequest(1).encode(),
            p.InitEventAck().encode(),
            p.InitFail(1).encode(),
            p.OperationRequest(1, 0x1001, 7, (1, 2, 3)).encode(),
            p.OperationResponse(0x2001, 7, (5,)).encode(),
            p.Event(0x4002, 7, (9,)).encode(),
            p.StartData(7, 1000).encode(),
            p.Data(7, b"\x01" * 40).encode(),
            p.EndData(7, b"\x02" * 10).encode(),
            p.Cancel(7).encode(),
            p.ProbeRequest().encode(),
            p.ProbeResponse().encode(),
        ]
        return Target("protocol.packets.decode_packet", p.decode_packet, seeds, (ProtocolError,))

    add("packets", packets)

    def framing() -> Target:
        from ptpd.protocol import packets as p
        from ptpd.protocol.framing import PacketBuffer

        def run(data: bytes) -> None:
            buf = PacketBuffer()
            # odd chunking: a split point taken from the data itself
            k = data[0] % 7 + 1 if data else 1
            for i in range(0, len(data), k):
                buf.feed(data[i : i + k])
                while (pkt := buf.next_packet()) is not None:
                    with contextlib.suppress(ProtocolError):
                        p.decode_packet(pkt)

        seed = p.OperationRequest(1, 0x1001, 7, (1,)).encode() + p.Data(7, b"x" * 30).encode()
        return Target("protocol.framing.PacketBuffer", run, [seed], (ProtocolError,))

    add("framing", framing)

    # -- typed values --
    def datatypes() -> Target:
        from ptpd.protocol import datatypes as d
        from ptpd.protocol.codes import DataType

        types = list(DataType)

        def run(data: bytes) -> None:
            if not data:
                return
            dt = types[data[0] % len(types)]
            if dt == DataType.UNDEF:
                return
            d.decode_value(data[1:], dt)

        seeds = [
            bytes([types.index(DataType.AUINT16)]) + struct.pack("<I3H", 3, 1, 2, 3),
            bytes([types.index(DataType.STR)]) + b"\x03a\x00b\x00\x00\x00",
        ]
        return Target("protocol.datatypes.decode_value", run, seeds, (ProtocolError,))

    add("datatypes", datatypes)

    # -- datasets --
    def dataset(name: str) -> Callable[[], Target]:
        def build() -> Target:
            ds = importlib.import_module("ptpd.protocol.datasets")
            cls = getattr(ds, name)
            return Target(f"protocol.datasets.{name}.decode", cls.decode, _dataset_seeds(name), (ProtocolError,))

        return build

    for name in ("DeviceInfo", "StorageInfo", "ObjectInfo", "DevicePropDesc"):
        add(name, dataset(name))

    # -- sans-I/O connections: random bytes after a valid handshake --
    def connection(side: str) -> Callable[[], Target]:
        def build() -> Target:
            from ptpd.protocol import connection as cn
            from ptpd.protocol import events as ev
            from ptpd.protocol import packets as p

            g = bytes(range(16))
            if side == "initiator":
                # Drive the host side into a data-in transaction (GetDeviceInfo) first, so
                # the fuzzed bytes reach the data-phase reassembly, not just the handshake.
                def fresh() -> cn.InitiatorConnection:
                    c = cn.InitiatorConnection()
                    c.send(ev.InitCommandRequest(g, "fuzz"))
                    return c

                def prime(c: cn.InitiatorConnection) -> None:
                    c.send(c.request(0x1001))

                handshake = p.InitCommandAck(1, g, "cam").encode()
                seeds = [
                    p.StartData(0, 100).encode()
                    + p.Data(0, b"d" * 60).encode()
                    + p.EndData(0, b"e" * 40).encode()
                    + p.OperationResponse(0x2001, 0, ()).encode(),
                    p.OperationResponse(0x2019, 0, ()).encode()
                    + p.Event(0x4002, 0, (5,)).encode()
                    + p.ProbeRequest().encode(),
                ]
                cls_name = "InitiatorConnection (in a GetDeviceInfo transaction)"
            else:

                def fresh() -> cn.ResponderConnection:  # type: ignore[misc]  # the other role's variant
                    return cn.ResponderConnection()

                def prime(c: cn.ResponderConnection) -> None:  # type: ignore[misc]  # as above
                    pass

                handshake = b""
                seeds = [
                    p.InitCommandRequest(g, "host").encode() + p.OperationRequest(1, 0x1002, 0, (1,)).encode(),
                    p.InitCommandRequest(g, "host").encode()
                    + p.OperationRequest(2, 0x1016, 0, (0x500F,)).encode()
                    + p.StartData(0, 2).encode()
                    + p.EndData(0, b"\x90\x01").encode(),
                    p.InitEventRequest(1).encode() + p.ProbeRequest().encode(),
                ]
                cls_name = "ResponderConnection"

            def run(data: bytes) -> None:
                c = fresh()
                if handshake:
                    c.receive_data(handshake)
                    while c.next_event() is not ev.NEED_DATA:
                        pass
                    prime(c)
                c.receive_data(data)
                for _ in range(10_000):
                    e = c.next_event()
                    if e is ev.NEED_DATA or isinstance(e, ev.ConnectionClosed):
                        break

            return Target(f"protocol.connection.{cls_name}", run, seeds, (ProtocolError,))

        return build

    add("InitiatorConnection", connection("initiator"))
    add("ResponderConnection", connection("responder"))

    # -- Fuji dialect --
    def fuji_handshake() -> Target:
        from ptpd.fuji import packets as f

        g = bytes(range(16))
        seeds = [
            f.InitCommandRequest(g, "ptpd").encode(),
            f.InitCommandAck(1, g, "X-T1").encode(),
            f.InitFail(1).encode(),
        ]
        return Target("fuji.packets.decode_handshake", f.decode_handshake, seeds, (ProtocolError,))

    add("fuji handshake", fuji_handshake)

    def fuji_container() -> Target:
        from ptpd.fuji import packets as f

        seeds = [f.Container(f.ContainerKind(k), 0x1001, 3, b"\x01\x00\x00\x00" * 3).encode() for k in (1, 2, 3, 4)]
        return Target("fuji.packets.Container.decode", f.Container.decode, seeds, (ProtocolError,))

    add("fuji container", fuji_container)

    def fuji_liveview() -> Target:
        from ptpd.fuji import packets as f

        def run(data: bytes) -> None:
            sp = f.LiveViewSplitter()
            k = data[0] % 5 + 1 if data else 1
            for i in range(0, len(data), k):
                sp.feed(data[i : i + k])

        jpeg = b"\xff\xd8\xff\xe0" + b"j" * 50 + b"\xff\xd9"
        seeds = [f.encode_liveview_frame(1, jpeg) + f.encode_liveview_frame(2, jpeg)]
        # It sizes each frame's buffer from the length field (one copy per byte), so up to
        # its cap (16 MiB) may be allocated for a frame that never completes: bounded by design.
        return Target(
            "fuji.packets.LiveViewSplitter",
            run,
            seeds,
            (ProtocolError,),
            alloc_allow=f.DEFAULT_MAX_LIVEVIEW_FRAME + 4096,
        )

    add("fuji live view", fuji_liveview)

    def fuji_splitter() -> Target:
        from ptpd.fuji import packets as f
        from ptpd.protocol.framing import PacketBuffer

        def run(data: bytes) -> None:
            sp = PacketBuffer(f.DEFAULT_MAX_CONTAINER, min_packet_size=8)  # as the Fuji channels frame
            sp.feed(data)
            while (pkt := sp.next_packet()) is not None:
                with contextlib.suppress(ProtocolError):
                    f.Container.decode(pkt)

        seeds = [f.Container(f.ContainerKind(1), 0x1001, 3, b"\x01\x00\x00\x00").encode() * 2]
        return Target("fuji containers through PacketBuffer", run, seeds, (ProtocolError,))

    add("fuji splitter", fuji_splitter)

    def fuji_state() -> Target:
        from ptpd.fuji import state as fs

        seeds = [fs.encode_state([(0x5001, 3), (0x500F, 0x80001900), (0xD212, 1)])]
        return Target("fuji.state.decode_state", fs.decode_state, seeds, (ProtocolError,))

    add("fuji state", fuji_state)

    def fuji_props() -> Target:
        from ptpd.fuji import state as fs

        seeds = [
            fs.encode_property_list(
                [
                    ds.DevicePropDesc(0x500F, DataType.UINT16, 1, 200, 400, ds.Enumeration((200, 400, 800))),
                    ds.DevicePropDesc(0xD001, DataType.STR, 1, "a", "b", None),
                ]
            )
        ]
        return Target("fuji.state.decode_property_list", fs.decode_property_list, seeds, (ProtocolError,))

    import ptpd.protocol.datasets as ds
    from ptpd.protocol.codes import DataType

    add("fuji property list", fuji_props)

    def fuji_values() -> Target:
        from ptpd.fuji import properties as fp

        props = list(getattr(fp, "PROPERTIES", ()))
        if not props:
            raise AttributeError("no Fuji property table")

        def run(data: bytes) -> None:
            if not data:
                return
            fp.decode_value(props[data[0] % len(props)], bytes(data[1:]))

        return Target(
            "fuji.properties.decode_value (every property)",
            run,
            [b"\x00\x90\x01", b"\x01\x05A\x00B\x00C\x00\x00\x00"],
            (ProtocolError,),
        )

    add("fuji values", fuji_values)

    def human_values() -> Target:
        # what a client types ("1/250", "+2/3", "S6400"): bad text is a ValueError
        # (the daemon answers invalid_value), never anything else
        from ptpd.fuji import properties as fp

        names = [
            "iso",
            "exp-bias",
            "exposure",
            "whitebalance",
            "effect",
            "delay",
            "flashmode",
            "focusmtr",
            "focus-point",
            "shutter-speed",
            "f-number",
        ]
        names = [n for n in names if _lookup_ok(fp, n)]

        def run(data: bytes) -> None:
            if not data:
                return
            text = bytes(data[1:]).decode("utf-8", "replace")
            fp.parse_value(names[data[0] % len(names)], text)

        seeds = [b"\x00800", b"\x01+2/3", b"\x021/250", b"\x00S6400", b"\x030x2", b"\x04Velvia"]
        return Target("fuji.properties.parse_value (client text)", run, seeds, (ValueError, KeyError))

    add("human values", human_values)

    # -- the bus: what any local process can send the daemon --
    def bus() -> Target:
        from ptpd import bus as b

        seeds = [
            b.encode_request(1, "get", {"prop": "iso"}),
            b.encode_request("x", "capture", {"count": 2, "download": True}),
        ]
        return Target("bus.decode_request", b.decode_request, seeds, (b.BusError,))

    add("bus", bus)
    return out, skipped


def _dataset_seeds(name: str) -> list[bytes]:
    """Valid encodings of a dataset, built from the dataset classes themselves."""
    ds = importlib.import_module("ptpd.protocol.datasets")
    from ptpd.protocol.codes import DataType

    if name == "DeviceInfo":
        objs = [
            ds.DeviceInfo(
                vendor_extension_desc="fujifilm.co.jp: 1.0;",
                operations_supported=(0x1001, 0x1002, 0x1009),
                events_supported=(0x4002,),
                device_properties_supported=(0x5001, 0x500F),
                capture_formats=(0x3801,),
                image_formats=(0x3801, 0x3000),
                manufacturer="FUJIFILM",
                model="X-T1",
                device_version="1.00",
                serial_number="123",
            )
        ]
    elif name == "StorageInfo":
        objs = [
            ds.StorageInfo(
                storage_type=4,
                filesystem_type=2,
                max_capacity=32 << 30,
                free_space_in_bytes=1 << 30,
                storage_description="SD",
                volume_label="CARD",
            )
        ]
    elif name == "ObjectInfo":
        objs = [
            ds.ObjectInfo(
                storage_id=0x10001,
                object_format=0x3801,
                object_compressed_size=123456,
                thumb_format=0x3808,
                image_pix_width=6000,
                image_pix_height=4000,
                parent_object=1,
                filename="DSCF0001.JPG",
                capture_date="20240102T030405",
                modification_date="20240102T030405.0",
                keywords="",
            )
        ]
    else:
        objs = [
            ds.DevicePropDesc(0x500F, DataType.UINT16, 1, 200, 400, ds.Enumeration((200, 400, 800, 1600))),
            ds.DevicePropDesc(0x5010, DataType.INT16, 1, 0, -3, ds.Range(-9, 9, 1)),
            ds.DevicePropDesc(0x5011, DataType.STR, 1, "", "20240102T030405", None),
            ds.DevicePropDesc(0xD001, DataType.AUINT8, 0, (1, 2), (3, 4), None),
        ]
    return [o.encode() for o in objs]


def _lookup_ok(fp: Any, name: str) -> bool:
    try:
        fp.lookup(name)
        return True
    except Exception:
        return False


# -- mutation -------------------------------------------------------------------------------------


def _mutate(seed: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    b = bytearray(seed)
    for kind, pos, val in ops:
        n = len(b)
        if kind == 0 and n:  # flip bits
            b[pos % n] ^= val & 0xFF or 1
        elif kind == 1 and n:  # truncate
            del b[pos % (n + 1) :]
        elif kind == 2:  # insert
            b[pos % (n + 1) : pos % (n + 1)] = bytes([val & 0xFF]) * (val % 9 + 1)
        elif kind == 3 and n:  # delete a run
            i = pos % n
            del b[i : i + val % 9 + 1]
        elif kind == 4 and n >= 4:  # overwrite a u32 with an interesting value
            i = pos % (n - 3)
            v = INTERESTING_U32[val % len(INTERESTING_U32)]
            if val % len(INTERESTING_U32) == 0 and n:
                v = len(b) + (val % 3) - 1
            b[i : i + 4] = struct.pack("<I", v & 0xFFFFFFFF)
    return bytes(b)


def fuzz_target(t: Target, examples: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    op = st.tuples(st.integers(0, 4), st.integers(0, 1 << 16), st.integers(0, 255))
    data_st = st.one_of(
        st.binary(max_size=512),
        st.builds(_mutate, st.sampled_from(t.seeds), st.lists(op, min_size=1, max_size=6)),
    )
    last_bad: list[tuple[bytes, str]] = []

    @settings(
        max_examples=examples, deadline=None, database=None, derandomize=False, suppress_health_check=list(HealthCheck)
    )
    @given(data_st)
    def check(data: bytes) -> None:
        t.examples += 1
        try:
            t.run(data)
        except t.allowed:
            t.refused += 1
        except Exception as exc:
            last_bad.append((data, f"{type(exc).__name__}: {exc}"))
            raise

    try:
        check()
    except Exception:  # hypothesis re-raises the shrunk failure
        if last_bad:
            t.findings.append(last_bad[-1])


def allocation_check(t: Target) -> None:
    """Absurd u32s in every window of every seed: peak allocation stays small."""
    for seed in t.seeds:
        for i in range(0, max(0, len(seed) - 3)):
            for v in (0xFFFFFFFF, 1_000_000_000):
                data = seed[:i] + struct.pack("<I", v) + seed[i + 4 :]
                tracemalloc.start()
                try:
                    with contextlib.suppress(*t.allowed):
                        t.run(data)
                except Exception as exc:
                    if not any(f[0] == data for f in t.findings):
                        t.findings.append((data, f"{type(exc).__name__}: {exc}"))
                finally:
                    _, peak = tracemalloc.get_traced_memory()
                    tracemalloc.stop()
                limit = (1 << 20) + 4 * len(data) + t.alloc_allow
                t.peak_ratio_max = max(t.peak_ratio_max, peak / limit)
                if peak > limit:
                    t.alloc_failures.append((data, peak))


def run_fuzz(examples: int) -> Result:
    targets, skipped = _targets()
    res = Result(
        "fuzz",
        "Decoder fuzzing: only ProtocolError may come out",
        "every byte decoder (packets, framing, values, datasets, connections, Fuji dialect, bus) "
        f"against random and mutated input, {examples} examples each, plus absurd-size allocation checks",
    )
    table = Table("Targets", ["decoder", "examples", "refused cleanly", "findings", "max peak / limit", "seconds"])
    for t in targets:
        t0 = time.monotonic()
        fuzz_target(t, examples)
        allocation_check(t)
        table.rows.append(
            [
                t.name,
                t.examples,
                t.refused,
                len(t.findings) + len(t.alloc_failures),
                f"{t.peak_ratio_max:.3f}",
                f"{time.monotonic() - t0:.1f}",
            ]
        )
        for data, msg in t.findings[:3]:
            res.notes.append(
                f"FINDING {t.name}: {msg} on input {data[:64].hex()}{'...' if len(data) > 64 else ''} ({len(data)} bytes)"
            )
        for data, peak in t.alloc_failures[:3]:
            res.notes.append(
                f"FINDING {t.name}: peak allocation {peak} bytes on {len(data)}-byte input {data[:64].hex()}"
            )
    res.tables.append(table)
    for s in skipped:
        res.notes.append(f"skipped (not in the tree yet): {s}")
    res.raw = {
        "examples_per_target": examples,
        "targets": {
            t.name: {
                "examples": t.examples,
                "refused": t.refused,
                "findings": [(d.hex(), m) for d, m in t.findings],
                "alloc_failures": len(t.alloc_failures),
                "peak_ratio_max": t.peak_ratio_max,
            }
            for t in targets
        },
        "skipped": skipped,
    }
    return res


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--examples", type=int, default=20_000)
    ns, rest = ap.parse_known_args(argv)
    return main_for(lambda quick: run_fuzz(150 if quick else ns.examples), rest, __doc__)


if __name__ == "__main__":
    sys.exit(main())
