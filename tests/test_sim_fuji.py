"""The simulated Fuji camera over real sockets, driven by a raw client.

Golden bytes come from fuji-ptpip.md (real X-T1 dumps published by malc0mn/ptp-ip), not
from our encoders. The raw client below builds requests by hand with ``struct`` so the
simulator's answers are checked against the reference, not against our own codec.
"""

from __future__ import annotations

import asyncio
import functools
import io
import struct
import time
from fractions import Fraction

import pytest
from PIL import Image

from ptpd.simulator import jpeg
from ptpd.simulator.fuji import FujiDevice, start_fuji_simulator
from ptpd.simulator.fuji.profiles import PROFILES, X_T1, get_profile

pytestmark = pytest.mark.timeout(60)


def aio(fn):
    """Run an async test in a fresh loop (the project has no asyncio pytest plugin)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        return asyncio.run(asyncio.wait_for(fn(*args, **kwargs), 50))

    return run


GUID = bytes.fromhex("9fe5160c4951404d950510baaf725606")

# fuji-ptpip.md §5.4: the X-T1's 0x902B payload (count 8, then the eight entries)
GOLDEN_902B = bytes.fromhex(
    """
    08 00 00 00
    16 00 00 00 12 50 04 00 01 00 00 00 00 02 03 00 00 00 02 00 04 00
    14 00 00 00 0c 50 04 00 01 02 00 09 80 02 02 00 09 80 0a 80
    24 00 00 00 05 50 04 00 01 02 00 02 00 02 0a 00 02 00 04 00 06 80 01 80 02 80 03 80 06 00 0a 80 0b 80 0c 80
    36 00 00 00 10 50 03 00 01 00 00 00 00 02 13 00 48 f4 95 f5 e3 f6 30 f8 7d f9 cb fa 18 fc 65 fd b3 fe
                00 00 4d 01 9b 02 e8 03 35 05 83 06 d0 07 1d 09 6b 0a b8 0b
    26 00 00 00 01 d0 04 00 01 01 00 02 00 02 0b 00 01 00 02 00 03 00 04 00 05 00 06 00 07 00 08 00 09 00 0a 00 0b 00
    78 00 00 00 2a d0 06 00 01 ff ff ff ff 00 19 00 80 02 19 00 90 01 00 80 20 03 00 80 40 06 00 80 80 0c 00 80
                00 19 00 80 64 00 00 40 c8 00 00 00 fa 00 00 00 40 01 00 00 90 01 00 00 f4 01 00 00 80 02 00 00
                20 03 00 00 e8 03 00 00 e2 04 00 00 40 06 00 00 d0 07 00 00 c4 09 00 00 80 0c 00 00 a0 0f 00 00
                88 13 00 00 00 19 00 00 00 32 00 40 00 64 00 40 00 c8 00 40
    14 00 00 00 19 d0 04 00 01 01 00 01 00 02 02 00 00 00 01 00
    1e 00 00 00 7c d1 06 00 01 00 00 00 00 04 04 02 03 01 00 00 00 00 07 07 09 10 01 00 00 00
    """
)
# fuji-ptpip.md §5.5: the X-T1's 0xD212 state (P mode, auto ISO S6400), 17 entries
GOLDEN_STATE = bytes.fromhex(
    "1100"
    "015003000000"
    "41d20a000000"
    "055002000000"
    "0a5001800000"
    "0c500a800000"
    "0e5002000000"
    "105000000000"
    "125000000000"
    "01d002000000"
    "18d004000000"
    "28d000000000"
    "2ad000190080"
    "7cd104040203"
    "09d200000000"
    "1bd200000000"
    "29d297050000"
    "2ad28f060000"
)


def test_golden_constants_parse():
    """The golden bytes above are the reference's, re-typed: check their own framing."""
    assert len(GOLDEN_902B) + 12 == 356  # the dump's packet length
    assert len(GOLDEN_STATE) + 12 == 116
    off, n = 4, struct.unpack_from("<I", GOLDEN_902B)[0]
    for _ in range(n):
        off += struct.unpack_from("<I", GOLDEN_902B, off)[0]
    assert off == len(GOLDEN_902B)


class RawClient:
    """A minimal Fuji initiator written from the reference tables with ``struct``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.r, self.w = reader, writer
        self.tid = 0

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def packet(self, timeout: float = 10.0) -> bytes:
        head = await asyncio.wait_for(self.r.readexactly(4), timeout)
        (length,) = struct.unpack("<I", head)
        return head + await asyncio.wait_for(self.r.readexactly(length - 4), timeout)

    async def init(self, name: str = "tester", version: int = 0x8F53E4F2, fixed: bool = True) -> bytes:
        raw = name.encode("utf-16-le")
        field = raw.ljust(54, b"\0") if fixed else raw + b"\0\0"
        self.w.write(struct.pack("<III", 28 + len(field), 1, version) + GUID + field)
        return await self.packet()

    async def transact(
        self, code: int, params: tuple[int, ...] = (), data: bytes | None = None, timeout: float = 10.0
    ) -> tuple[int, bytes | None]:
        self.tid += 1
        p = tuple(params) + (0,) * (5 - len(params))
        self.w.write(struct.pack("<IHHI5I", 32, 1, code, self.tid, *p))
        if data is not None:
            self.w.write(struct.pack("<IHHI", 12 + len(data), 2, code, self.tid) + data)
        payload = None
        while True:
            pkt = await self.packet(timeout)
            kind, pcode, tid = struct.unpack_from("<HHI", pkt, 4)
            assert tid == self.tid
            if kind == 2:
                assert pcode == code
                payload = pkt[12:]
            else:
                assert kind == 3
                return pcode, payload

    async def bring_up(self, name: str = "tester", timeout: float = 10.0) -> float:
        """The five-step bring-up of §3.3; returns how long 0xDF01 took (the prompt)."""
        ack = await self.init(name)
        assert struct.unpack_from("<I", ack, 4)[0] == 2
        assert (await self.transact(0x1002, (1,)))[0] == 0x2001
        t0 = time.monotonic()
        code, _ = await self.transact(0x1016, (0xDF01,), struct.pack("<I", 5) + bytes(16), timeout=timeout)
        took = time.monotonic() - t0
        assert code == 0x2001
        code, ver = await self.transact(0x1015, (0xDF24,))
        assert code == 0x2001 and ver == bytes.fromhex("01000200")
        assert (await self.transact(0x1016, (0xDF24,), ver))[0] == 0x2001
        assert (await self.transact(0x101C))[0] == 0x2001
        return took

    def close(self) -> None:
        self.w.close()


async def read_event(reader: asyncio.StreamReader, timeout: float = 10.0) -> tuple[int, ...]:
    pkt = await asyncio.wait_for(reader.readexactly(28), timeout)
    return struct.unpack("<IHHIIIII", pkt)


# ---------------------------------------------------------------- device (no sockets)


def test_fresh_x_t1_answers_the_dumped_902b_list_and_state():
    dev = FujiDevice(X_T1, initial_images=0)
    assert dev.property_list() == GOLDEN_902B
    # the two dumps come from different moments: flash was 0x8009 in the list and
    # 0x800A in the state; everything else matches byte for byte
    dev.set(0x500C, 0x800A)
    assert dev.state() == GOLDEN_STATE


def test_white_balance_descriptor_matches_the_dump():
    # fuji-ptpip.md §5.2 example (data container payload)
    golden = bytes.fromhex("05500400010200020002 0a00 02000400068001800280038006000a800b800c80".replace(" ", ""))
    assert FujiDevice(X_T1, initial_images=0).describe(0x5005) == golden


@pytest.mark.parametrize(
    ("program", "iso", "added", "removed"),
    [
        (2, 0x80001900, set(), set()),  # P, auto: the dump
        (3, 0x80001900, {0x5007}, set()),  # A adds the F-number
        (4, 0x80001900, {0xD240}, set()),  # S adds the shutter speed
        (1, 0x80001900, {0x5007, 0xD240}, set()),  # M, auto ISO
        (1, 800, {0x5007, 0xD240}, {0x5010}),  # M, manual ISO: no exposure bias
    ],
)
def test_state_list_depends_on_program_and_iso(program, iso, added, removed):
    dev = FujiDevice(X_T1, initial_images=0)
    base = set(dev.state_codes())
    dev.set(0x500E, program)
    dev.set(0xD02A, iso)
    codes = dev.state_codes()
    assert set(codes) == (base | added) - removed
    data = dev.state()
    (count,) = struct.unpack_from("<H", data)
    assert count == len(codes) and len(data) == 2 + 6 * count


def test_labels_follow_the_reference_formatting():
    # what the body prints on its pictures and shapes its scene with: the dialect's labels
    dev = FujiDevice(X_T1, initial_images=0)
    isos = []
    for v in (0xFFFFFFFF, 0x80001900, 0x40000064, 0x4000C800, 800):
        dev.set(0xD02A, v, force=True)
        isos.append(dev.settings_labels()["iso"])
    assert isos == ["auto", "S6400", "L100", "H51200", "800"]
    biases = []
    for v in (0, -333, 667, -2333, 1667, 3000):
        dev.set(0x5010, v)
        biases.append(dev.settings_labels()["exp-bias"])
    assert biases == ["0", "-1/3", "2/3", "-2 1/3", "1 2/3", "3"]
    dev.set(0xD001, 11)
    assert dev.settings_labels()["effect"] == "Classic Chrome"


def test_profiles_by_model_name():
    assert get_profile(None) is X_T1
    assert get_profile("X-T1") is X_T1 and get_profile("xt1") is X_T1
    assert set(PROFILES) == {"x-t1", "x-t2", "x-t20", "x-t3", "x-t30", "x-t4", "x-s10", "x-h1", "x-a2", "x-f10", "x30"}
    for key, prof in PROFILES.items():
        assert get_profile(prof.model) is prof and get_profile(key) is prof
        dev = FujiDevice(prof, initial_images=0)
        if prof.remote:
            assert struct.unpack_from("<I", dev.encode_value(0xDF24))[0] == prof.app_version
        else:
            assert 0xDF24 not in dev.values  # answered with no data: no remote shooting
        assert prof.model.encode() in dev.encode_value(0xD228)
    # versions the real bodies reported (libfuji docs/testsuite), where they differ from vcam's
    assert get_profile("X-T4").app_version == 0x0002000A and get_profile("X-T2").app_version == 0x00020004
    assert get_profile("fuji_x_t4") is get_profile("X-T4")  # vcam's body names
    assert get_profile("X-A2").app_version is None and get_profile("X-A2").camera_state == 2
    with pytest.raises(ValueError, match="known"):
        get_profile("X-Pro9")


def test_picture_exif_carries_the_settings_in_force():
    dev = FujiDevice(X_T1, initial_images=0)
    dev.set(0xD02A, 800)
    dev.set(0x5010, -333)
    dev.set(0xD001, 4)  # Monochrome
    dev.set(0x500E, 3)  # A
    dev.set(0x5007, 1100)
    preview, obj = dev.shoot()
    with Image.open(io.BytesIO(obj.data)) as im:
        assert im.size == X_T1.capture_size
        exif = im.getexif()
        sub = exif.get_ifd(0x8769)
        rgb = im.convert("RGB").resize((32, 24))
    assert exif[0x010F] == "FUJIFILM" and exif[0x0110] == "X-T1"
    assert sub[0x8827] == 800
    assert Fraction(sub[0x9204].numerator, sub[0x9204].denominator) == Fraction(-1, 3)
    assert float(sub[0x829D]) == pytest.approx(11.0)
    assert sub[0x8822] == 3
    # Monochrome: the picture itself is grey
    px = [rgb.getpixel((x, y)) for y in range(24) for x in range(32)]
    assert max(max(p) - min(p) for p in px) <= 6
    with Image.open(io.BytesIO(preview)) as im:
        assert im.size == (640, 480) and im.format == "JPEG"
    assert obj.filename == "DSCF0001.JPG"
    assert dev.values[0xD229] == 1430  # one capture counted down from the dump's 1431


# --------------------------------------------------------------------- over sockets


async def _sim(**kw):
    kw.setdefault("pairing_delay", 0.0)
    kw.setdefault("initial_images", 1)
    kw.setdefault("liveview_fps", 30)
    return await start_fuji_simulator(**kw)


@aio
async def test_three_ports_and_ack_layout():
    sim = await _sim(port=0)
    try:
        assert (sim.event_port, sim.liveview_port) == (sim.port + 1, sim.port + 2)
        c = await RawClient.connect(sim.port)
        ack = await c.init()
        length, ptype, conn = struct.unpack_from("<III", ack)
        assert (length, ptype) == (68, 2) and len(ack) == 68  # the X-T100's 68-byte ack (#517)
        name = ack[28:-4].decode("utf-16-le")
        assert name.split("\0")[0] == "X-T1" and name.endswith("\0")  # NUL terminated, padded
        # libgphoto2 sends the request a second time on the same socket: acked again
        again = await c.init(fixed=False)
        assert struct.unpack_from("<I", again, 4)[0] == 2
        c.close()
    finally:
        await sim.close()


@aio
async def test_wrong_version_and_strict_name_get_init_fail():
    sim = await _sim(strict_name=True, paired_names=["owner"])
    try:
        c = await RawClient.connect(sim.port)
        assert await c.init(version=0x00010000) == bytes.fromhex("0c000000050000001d200000")
        c.close()
        c = await RawClient.connect(sim.port)
        assert await c.init(name="stranger") == bytes.fromhex("0c0000000500000019200000")
        c.close()
        c = await RawClient.connect(sim.port)
        assert struct.unpack_from("<I", await c.init(name="owner"), 4)[0] == 2
        c.close()
    finally:
        await sim.close()


@aio
async def test_pairing_prompt_waits_once_per_name():
    sim = await _sim(pairing_delay=0.6)
    try:
        c = await RawClient.connect(sim.port)
        took = await c.bring_up("phone")
        assert took >= 0.5 and sim.pairing_prompts == 1
        c.close()
        c = await RawClient.connect(sim.port)
        assert await c.bring_up("phone") < 0.5  # the camera remembers the name now
        assert sim.pairing_prompts == 1
        c.close()
    finally:
        await sim.close()


@aio
async def test_refused_pairing_answers_busy_and_closes():
    sim = await _sim(pairing_delay=0.2, refuse_pairing=True)
    try:
        c = await RawClient.connect(sim.port)
        await c.init("phone")
        assert (await c.transact(0x1002, (1,)))[0] == 0x2001
        code, _ = await c.transact(0x1016, (0xDF01,), struct.pack("<H", 5))
        assert code == 0x2019
        assert await asyncio.wait_for(c.r.read(100), 5) == b""  # the camera hangs up
        c.close()
    finally:
        await sim.close()


@aio
async def test_descriptors_incomplete_before_902b_and_state_over_wire():
    sim = await _sim()
    try:
        c = await RawClient.connect(sim.port)
        await c.bring_up()
        code, desc = await c.transact(0x1014, (0x500A,))  # focus mode, not in the 0x902B list
        assert code == 0x2001 and desc[5:9] == bytes.fromhex("01800000")  # default 0x8001, current 0
        code, value = await c.transact(0x1015, (0x500A,))
        assert value == bytes.fromhex("0180")  # the value itself is right
        code, plist = await c.transact(0x902B)
        assert code == 0x2001 and plist == GOLDEN_902B
        _, desc = await c.transact(0x1014, (0x500A,))
        assert desc[5:9] == bytes.fromhex("01800180")  # complete now
        # unknown property: OK, no data (quirk 13)
        assert await c.transact(0x1014, (0xD999,)) == (0x2001, None)
        assert (await c.transact(0x1015, (0xD999,)))[0] == 0x200A
        # state in P, then A, S, M
        sizes = {}
        for program in (2, 3, 4, 1):
            assert (await c.transact(0x1016, (0x500E,), struct.pack("<H", program)))[0] == 0x2001
            _, state = await c.transact(0x1015, (0xD212,))
            sizes[program] = struct.unpack_from("<H", state)[0]
        assert sizes == {2: 17, 3: 18, 4: 18, 1: 19}
        # values outside the descriptor are refused; padded data-out (malc0mn) is fine
        assert (await c.transact(0x1016, (0xD001,), struct.pack("<I", 99) + bytes(16)))[0] == 0x201C
        assert (await c.transact(0x1016, (0xD001,), struct.pack("<I", 3) + bytes(16)))[0] == 0x2001
        assert (await c.transact(0x1015, (0xD001,)))[1] == b"\x03\x00"
        assert (await c.transact(0x1016, (0xD229,), struct.pack("<I", 5)))[0] == 0x200F  # read-only
        c.close()
    finally:
        await sim.close()


@aio
async def test_capture_sequence_and_preview_lock_quirk():
    sim = await _sim()
    try:
        c = await RawClient.connect(sim.port)
        await c.bring_up()
        er, ew = await asyncio.open_connection("127.0.0.1", sim.event_port)
        await asyncio.sleep(0.05)
        remaining0 = struct.unpack("<I", (await c.transact(0x1015, (0xD229,)))[1])[0]
        objects0 = len((await c.transact(0x1007, (0xFFFFFFFF, 0, 0)))[1]) // 4 - 1

        assert (await c.transact(0x100E))[0] == 0x2001
        cap_tid = c.tid
        ev1 = await read_event(er)
        ev2 = await read_event(er)
        # X-T1 layout (§7): 28 bytes, kind 4, amount 1, tid, tid, param2 = preview size
        assert ev1[:8] == (28, 4, 0xC004, 1, cap_tid, cap_tid, 0, 0)
        assert ev2[:6] == (28, 4, 0xC001, 1, cap_tid, cap_tid) and ev2[7] == 0
        preview_size = ev2[6]

        # the quirk: a second capture before 0x9022 is accepted and ignored
        assert (await c.transact(0x100E))[0] == 0x2001
        with pytest.raises(asyncio.TimeoutError):
            await read_event(er, timeout=0.5)

        code, preview = await c.transact(0x9022)
        assert code == 0x2001 and len(preview) == preview_size and preview[:3] == b"\xff\xd8\xff"
        ev3 = await read_event(er)
        assert ev3[:6] == (28, 4, 0x400D, 1, c.tid, c.tid)
        with Image.open(io.BytesIO(preview)) as im:
            assert im.size == (640, 480)

        # now the next capture works again, and captures remaining counted down
        assert (await c.transact(0x100E))[0] == 0x2001
        assert (await read_event(er))[2] == 0xC004
        assert (await read_event(er))[2] == 0xC001
        assert (await c.transact(0x9022))[0] == 0x2001
        assert (await read_event(er))[2] == 0x400D
        remaining = struct.unpack("<I", (await c.transact(0x1015, (0xD229,)))[1])[0]
        assert remaining == remaining0 - 2

        # the full-size JPEGs are in the store, with EXIF
        code, hdata = await c.transact(0x1007, (0xFFFFFFFF, 0, 0))
        handles = struct.unpack_from(f"<{len(hdata) // 4 - 1}I", hdata, 4)
        assert len(handles) == objects0 + 2
        newest = handles[-1]
        code, info = await c.transact(0x1008, (newest,))
        size = struct.unpack_from("<I", info, 8)[0]
        parts = []
        offset = 0
        while offset < size:
            code, chunk = await c.transact(0x101B, (newest, offset, 100_000))
            assert code == 0x2001
            parts.append(chunk)
            offset += len(chunk)
        full = b"".join(parts)
        assert len(full) == size and full[-2:] == b"\xff\xd9"
        assert jpeg.read_exif(full)["model"] == "X-T1"
        c.close()
        ew.close()
    finally:
        await sim.close()


@aio
async def test_pc_style_session_gets_standard_capture_events():
    """OpenSession with transaction id 0 (libgphoto2): ObjectAdded(handle) + CaptureComplete."""
    sim = await _sim()
    try:
        c = await RawClient.connect(sim.port)
        await c.init()
        c.tid = -1  # the next transaction is 0
        assert (await c.transact(0x1002, (1,)))[0] == 0x2001
        assert (await c.transact(0x1016, (0xDF01,), struct.pack("<H", 5)))[0] == 0x2001
        assert (await c.transact(0x101C, (0, 0)))[0] == 0x2001  # the event port opens now
        er, ew = await asyncio.open_connection("127.0.0.1", sim.event_port)
        code, info = await c.transact(0x1001)
        assert code == 0x2001 and info == b""  # over Wi-Fi an empty DeviceInfo (the X-T4's)
        for _ in range(2):  # no preview lock in this style
            assert (await c.transact(0x100E, (0, 0)))[0] == 0x2001
            added = await asyncio.wait_for(er.readexactly(16), 10)
            done = await asyncio.wait_for(er.readexactly(12), 10)
            length, kind, code, tid, handle = struct.unpack("<IHHII", added)
            assert (length, kind, code, tid) == (16, 4, 0x4002, c.tid)
            assert struct.unpack("<IHHI", done) == (12, 4, 0x400D, c.tid)
            _, oi = await c.transact(0x1008, (handle,))
            assert oi[4:6] == b"\x01\x38"  # EXIF/JPEG
        c.close()
        ew.close()
    finally:
        await sim.close()


@aio
async def test_liveview_streams_frames_and_survives_a_stalled_client():
    sim = await _sim(liveview_fps=30)
    try:
        c = await RawClient.connect(sim.port)
        await c.bring_up()  # the live-view port serves after InitiateOpenCapture
        stuck_r, stuck_w = await asyncio.open_connection("127.0.0.1", sim.liveview_port)  # never reads
        r, w = await asyncio.open_connection("127.0.0.1", sim.liveview_port)
        counters = []
        t0 = time.monotonic()
        while len(counters) < 60:
            head = await asyncio.wait_for(r.readexactly(18), 10)
            length, zero, counter = struct.unpack_from("<IIB", head)
            assert zero == 0
            body = await asyncio.wait_for(r.readexactly(length - 18), 10)
            assert body[:2] == b"\xff\xd8" and body[-2:] == b"\xff\xd9"
            counters.append(counter)
        elapsed = time.monotonic() - t0
        with Image.open(io.BytesIO(body)) as im:
            assert im.size == (640, 480)
        # roughly 30 fps: 60 frames take about 2 s (loose bounds, shared CI machines)
        assert 0.8 < elapsed < 8.0
        assert all((b - a) % 256 >= 1 for a, b in zip(counters, counters[1:]))
        # the live-view size follows 0xD174
        assert (await c.transact(0x1016, (0xD174,), b"320x280\0"))[0] == 0x2001
        for _ in range(40):
            head = await asyncio.wait_for(r.readexactly(18), 10)
            body = await asyncio.wait_for(r.readexactly(struct.unpack_from("<I", head)[0] - 18), 10)
            with Image.open(io.BytesIO(body)) as im:
                if im.size == (320, 240):
                    break
        else:
            pytest.fail("live-view size did not change")
        c.close()
        stuck_w.close()
        w.close()
    finally:
        await sim.close()


@aio
async def test_liveview_on_frame_sees_each_frame_before_the_client_does():
    """The hook a benchmark times the camera's send with: each frame's counter and JPEG,
    noted before the frame reaches the client."""
    sim = await _sim(liveview_fps=30)
    noted: list[tuple[int, bytes, float]] = []
    sim.liveview.on_frame = lambda counter, jpeg: noted.append((counter, jpeg, time.monotonic()))
    try:
        c = await RawClient.connect(sim.port)
        await c.bring_up()
        r, w = await asyncio.open_connection("127.0.0.1", sim.liveview_port)
        for _ in range(5):
            head = await asyncio.wait_for(r.readexactly(18), 10)
            length, _, counter = struct.unpack_from("<IIB", head)
            body = await asyncio.wait_for(r.readexactly(length - 18), 10)
            got = time.monotonic()
            mine = [(n, j, t) for n, j, t in noted if n & 0xFF == counter]
            assert mine and mine[-1][1] == body and mine[-1][2] <= got
        w.close()
        c.close()
    finally:
        await sim.close()


@aio
async def test_our_fuji_initiator_against_the_simulator():
    """The fuji engineer's FujiCamera does the bring-up, state and a capture."""
    fuji_camera = pytest.importorskip("ptpd.camera.fuji")
    sim = await _sim(pairing_delay=0.3)
    try:
        cam = fuji_camera.FujiCamera("127.0.0.1", sim.port)
        await asyncio.wait_for(cam.connect(), 20)
        try:
            state = await cam.state()
            assert len(state) == 18  # the 17 of 0xD212, and recmode from 0x902B
            got = await cam.get("iso")
            assert got.label == "S6400"
        finally:
            await cam.close()
    finally:
        await sim.close()


def test_frame_source_follows_the_schedule_and_caches():
    from ptpd.simulator.frames import FrameSource
    from ptpd.simulator.scene import SceneSchedule

    src = FrameSource(SceneSchedule.parse("none,object@1,face@5"), fps=30)
    still = {src.frame(t, (320, 240)) for t in (0.0, 0.3, 0.6, 0.99)}
    assert len(still) == 1  # the still scene is one identical frame
    moving = {src.frame(1.0 + i / 30, (320, 240)) for i in range(10)}
    assert len(moving) == 10 and not moving & still
    rendered = src.rendered
    src.frame(1.0 + 4.0, (320, 240))  # the face now
    src.frame(1.0 + 1 / 30, (320, 240))  # the same object position as before: cached
    assert src.rendered == rendered + 1


def test_liveview_face_frames_are_detected_by_the_bundled_cascade():
    import cv2
    import numpy as np

    from ptpd.simulator.frames import FrameSource
    from ptpd.simulator.scene import SceneSchedule

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    src = FrameSource(SceneSchedule.parse("face"), fps=30)
    for size in ((320, 240), (640, 480), (1024, 768)):
        grey = cv2.imdecode(np.frombuffer(src.frame(0.0, size), np.uint8), cv2.IMREAD_GRAYSCALE)
        assert grey.shape == (size[1], size[0])
        assert len(cascade.detectMultiScale(grey, 1.1, 5)) == 1


@aio
async def test_show_subject_on_demand():
    sim = await _sim(subject="none")
    try:
        t = sim.device.scene_clock()
        assert sim.schedule.subject_at(t) == "none"
        sim.show_subject("object", duration=60)
        assert sim.schedule.subject_at(sim.device.scene_clock()) == "object"
    finally:
        await sim.close()


@aio
async def test_faults_refuse_init_and_drop_mid_transaction():
    from ptpd.simulator.faults import DropPoint, Faults

    faults = Faults()
    sim = await _sim(faults=faults, big_object_mb=1.0)
    try:
        faults.refuse_next_inits(1, reason=2)
        c = await RawClient.connect(sim.port)
        assert await c.init() == bytes.fromhex("0c0000000500000002000000")
        c.close()
        c = await RawClient.connect(sim.port)
        await c.bring_up()
        er, ew = await asyncio.open_connection("127.0.0.1", sim.event_port)
        _, hdata = await c.transact(0x1007, (0xFFFFFFFF, 0, 0))
        big = struct.unpack_from("<I", hdata, len(hdata) - 4)[0]
        _, info = await c.transact(0x1008, (big,))
        assert struct.unpack_from("<I", info, 8)[0] > 1_000_000
        faults.drop_next(DropPoint.MID_DATA, 0.5)
        with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
            await c.transact(0x1009, (big,))
        # every socket of the session goes, as on Wi-Fi loss
        assert await asyncio.wait_for(er.read(100), 5) == b""
        assert faults.injected["drop"] == 1
        c.close()
    finally:
        await sim.close()
