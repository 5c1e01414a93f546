"""Golden bytes from a real Fujifilm X-T1 (fw 5.51), as published in fuji-ptpip.md.

Every constant below is transcribed from the reference (its hex dumps of the X-T1's
0x902B list, 0xD212 state, capture events and bring-up), never produced by our encoder.
Other Fuji test modules import them from here.
"""

from __future__ import annotations


def h(text: str) -> bytes:
    """Hex with any whitespace; ``00x16`` style repeats are spelled out by callers."""
    return bytes.fromhex("".join(text.split()))


Z16 = "00" * 16
Z20 = "00" * 20

# §3.1 worked example: GUID 9fe5160c-4951-404d-9505-10baaf725606, name "ptpd" (variable form)
INIT_REQUEST_VARIABLE = h(
    """26 00 00 00  01 00 00 00  f2 e4 53 8f
    9f e5 16 0c 49 51 40 4d 95 05 10 ba af 72 56 06
    70 00 74 00 70 00 64 00 00 00"""
)
INIT_GUID = h("9f e5 16 0c 49 51 40 4d 95 05 10 ba af 72 56 06")

# §3.1 [xref] Fuji app's constant GUID
FUJI_APP_GUID = h("ad a5 48 5d 87 b2 7f 0b d3 d5 de d0 02 78 a8 c0")

# §3.2 Ack example: conn 1, name "X-T1", version 1.0
INIT_ACK = h(
    """2a 00 00 00  02 00 00 00  01 00 00 00
    3e 86 26 cc 50 59 42 25 bd d6 d1 60 b2 e6 a6 0f
    58 00 2d 00 54 00 31 00 00 00
    00 00 01 00"""
)
ACK_GUID = h("3e 86 26 cc 50 59 42 25 bd d6 d1 60 b2 e6 a6 0f")

# §3.2 InitFail with the Fuji reasons
INIT_FAIL_NAME = h("0c 00 00 00 05 00 00 00 19 20 00 00")
INIT_FAIL_VERSION = h("0c 00 00 00 05 00 00 00 1d 20 00 00")

# §3.3 the whole bring-up, (direction, bytes); "→" initiator to camera
BRING_UP = [
    ("→", h("20 00 00 00 01 00 02 10 01 00 00 00 01 00 00 00" + Z16)),
    ("←", h("0c 00 00 00 03 00 01 20 01 00 00 00")),
    ("→", h("20 00 00 00 01 00 16 10 02 00 00 00 01 df 00 00" + Z16)),
    ("→", h("20 00 00 00 02 00 16 10 02 00 00 00 05 00 00 00" + Z16)),
    ("←", h("0c 00 00 00 03 00 01 20 02 00 00 00")),
    ("→", h("20 00 00 00 01 00 15 10 03 00 00 00 24 df 00 00" + Z16)),
    ("←", h("10 00 00 00 02 00 15 10 03 00 00 00 01 00 02 00")),
    ("←", h("0c 00 00 00 03 00 01 20 03 00 00 00")),
    ("→", h("20 00 00 00 01 00 16 10 04 00 00 00 24 df 00 00" + Z16)),
    ("→", h("20 00 00 00 02 00 16 10 04 00 00 00 01 00 02 00" + Z16)),
    ("←", h("0c 00 00 00 03 00 01 20 04 00 00 00")),
    ("→", h("20 00 00 00 01 00 1c 10 05 00 00 00 00 00 00 00" + Z16)),
    ("←", h("0c 00 00 00 03 00 01 20 05 00 00 00")),
]

# §3.3 with the correction there and §4.1 [xref]: the same bring-up as Fuji's app and
# libgphoto2 send it, each request carrying only the parameters its operation takes
# (OpenSession 16 bytes, InitiateOpenCapture(0, 0) 20 bytes: the byte counts of the real
# X-T4/X-T5 logs in petabyt/libfuji docs/testsuite) and each value exactly its size
# (§4.4 [xref]: DF01 is a u16, DF24 a u32). Camera replies as above.
BRING_UP_EXACT = [
    ("→", h("10 00 00 00 01 00 02 10 01 00 00 00 01 00 00 00")),
    ("←", h("0c 00 00 00 03 00 01 20 01 00 00 00")),
    ("→", h("10 00 00 00 01 00 16 10 02 00 00 00 01 df 00 00")),
    ("→", h("0e 00 00 00 02 00 16 10 02 00 00 00 05 00")),
    ("←", h("0c 00 00 00 03 00 01 20 02 00 00 00")),
    ("→", h("10 00 00 00 01 00 15 10 03 00 00 00 24 df 00 00")),
    ("←", h("10 00 00 00 02 00 15 10 03 00 00 00 01 00 02 00")),
    ("←", h("0c 00 00 00 03 00 01 20 03 00 00 00")),
    ("→", h("10 00 00 00 01 00 16 10 04 00 00 00 24 df 00 00")),
    ("→", h("10 00 00 00 02 00 16 10 04 00 00 00 01 00 02 00")),
    ("←", h("0c 00 00 00 03 00 01 20 04 00 00 00")),
    ("→", h("14 00 00 00 01 00 1c 10 05 00 00 00 00 00 00 00 00 00 00 00")),
    ("←", h("0c 00 00 00 03 00 01 20 05 00 00 00")),
]

# §4.4 [xref] Fuji app's exact-size data-out: white balance = shade
SET_WB_REQUEST = h("10 00 00 00 01 00 16 10 68 00 00 00 05 50 00 00")
SET_WB_DATA = h("0e 00 00 00 02 00 16 10 68 00 00 00 06 80")
# §4.4 malc0mn's padded data-out: film simulation = ASTIA (3)
SET_FILM_DATA_PADDED = h("20 00 00 00 02 00 16 10 09 00 00 00 03 00 00 00" + Z16)

# §5.1 get film simulation
GET_FILM_REQUEST = h("20 00 00 00 01 00 15 10 01 00 00 00 01 d0 00 00" + Z16)
GET_FILM_DATA = h("0e 00 00 00 02 00 15 10 01 00 00 00 02 00")
OK_TID1 = h("0c 00 00 00 03 00 01 20 01 00 00 00")

# §5.2 white balance descriptor (data container, tid 0x15)
WB_DESC_CONTAINER = h(
    """2c 00 00 00 02 00 14 10 15 00 00 00
    05 50 04 00 01 02 00 02 00 02 0a 00
    02 00 04 00 06 80 01 80 02 80 03 80 06 00 0a 80 0b 80 0c 80"""
)

# §5.4 the 0x902B list: u32 count then 8 entries (each u32 length incl. itself + desc)
PROP_LIST_ENTRIES = [
    "16 00 00 00 12 50 04 00 01 00 00 00 00 02 03 00 00 00 02 00 04 00",
    "14 00 00 00 0c 50 04 00 01 02 00 09 80 02 02 00 09 80 0a 80",
    "24 00 00 00 05 50 04 00 01 02 00 02 00 02 0a 00 02 00 04 00 06 80 01 80 02 80 03 80 06 00 0a 80 0b 80 0c 80",
    """36 00 00 00 10 50 03 00 01 00 00 00 00 02 13 00 48 f4 95 f5 e3 f6 30 f8 7d f9 cb fa 18 fc 65 fd b3 fe
       00 00 4d 01 9b 02 e8 03 35 05 83 06 d0 07 1d 09 6b 0a b8 0b""",
    "26 00 00 00 01 d0 04 00 01 01 00 02 00 02 0b 00 01 00 02 00 03 00 04 00 05 00 06 00 07 00 08 00 09 00 0a 00 0b 00",
    """78 00 00 00 2a d0 06 00 01 ff ff ff ff 00 19 00 80 02 19 00 90 01 00 80 20 03 00 80 40 06 00 80 80 0c 00 80
       00 19 00 80 64 00 00 40 c8 00 00 00 fa 00 00 00 40 01 00 00 90 01 00 00 f4 01 00 00 80 02 00 00
       20 03 00 00 e8 03 00 00 e2 04 00 00 40 06 00 00 d0 07 00 00 c4 09 00 00 80 0c 00 00 a0 0f 00 00
       88 13 00 00 00 19 00 00 00 32 00 40 00 64 00 40 00 c8 00 40""",
    "14 00 00 00 19 d0 04 00 01 01 00 01 00 02 02 00 00 00 01 00",
    "1e 00 00 00 7c d1 06 00 01 00 00 00 00 04 04 02 03 01 00 00 00 00 07 07 09 10 01 00 00 00",
]
PROP_LIST_PAYLOAD = h("08 00 00 00") + b"".join(h(e) for e in PROP_LIST_ENTRIES)
# the data container as the camera sent it (length 356), tid 6
PROP_LIST_CONTAINER = h("64 01 00 00 02 00 2b 90 06 00 00 00") + PROP_LIST_PAYLOAD

# §5.5 the 0xD212 state, P mode, auto ISO max 6400: data container tid 6 then OK
STATE_CONTAINER = h(
    """74 00 00 00 02 00 15 10 06 00 00 00 11 00
    01 50 03 00 00 00  41 d2 0a 00 00 00  05 50 02 00 00 00  0a 50 01 80 00 00
    0c 50 0a 80 00 00  0e 50 02 00 00 00  10 50 00 00 00 00  12 50 00 00 00 00
    01 d0 02 00 00 00  18 d0 04 00 00 00  28 d0 00 00 00 00  2a d0 00 19 00 80
    7c d1 04 04 02 03  09 d2 00 00 00 00  1b d2 00 00 00 00  29 d2 97 05 00 00
    2a d2 8f 06 00 00"""
)
STATE_OK = h("0c 00 00 00 03 00 01 20 06 00 00 00")
STATE_TABLE = [
    (0x5001, 3),
    (0xD241, 0x0A),
    (0x5005, 2),
    (0x500A, 0x8001),
    (0x500C, 0x800A),
    (0x500E, 2),
    (0x5010, 0),
    (0x5012, 0),
    (0xD001, 2),
    (0xD018, 4),
    (0xD028, 0),
    (0xD02A, 0x80001900),
    (0xD17C, 0x03020404),
    (0xD209, 0),
    (0xD21B, 0),
    (0xD229, 1431),
    (0xD22A, 1679),
]

# §7 capture, tids 7/8 ("⇐" = event socket)
CAPTURE_REQUEST = h("20 00 00 00 01 00 0e 10 07 00 00 00" + Z20)
CAPTURE_OK = h("0c 00 00 00 03 00 01 20 07 00 00 00")
EVENT_OBJECT_ADDED = h("1c 00 00 00 04 00 04 c0 01 00 00 00 07 00 00 00 07 00 00 00 00 00 00 00 00 00 00 00")
EVENT_PREVIEW = h("1c 00 00 00 04 00 01 c0 01 00 00 00 07 00 00 00 07 00 00 00 29 f1 00 00 00 00 00 00")
PREVIEW_REQUEST = h("20 00 00 00 01 00 22 90 08 00 00 00" + Z20)
PREVIEW_DATA_HEADER = h("35 f1 00 00 02 00 22 90 08 00 00 00")
PREVIEW_OK = h("0c 00 00 00 03 00 01 20 08 00 00 00")
EVENT_CAPTURE_COMPLETE = h("1c 00 00 00 04 00 0d 40 01 00 00 00 08 00 00 00 08 00 00 00 00 00 00 00 00 00 00 00")

# §9 minimal fake live-view frame (4-byte dummy JPEG, counter 0x2A)
LIVEVIEW_FRAME = h("16 00 00 00 00 00 00 00 2a 00 00 00 00 00 00 00 ff ff ff d8 ff db")


def test_golden_lengths_are_self_consistent() -> None:
    """The transcription itself: every length field matches its bytes."""
    assert len(PROP_LIST_CONTAINER) == 356
    assert len(STATE_CONTAINER) == 116
    assert len(INIT_REQUEST_VARIABLE) == 0x26
    assert len(INIT_ACK) == 0x2A
    for _, pkt in BRING_UP:
        assert int.from_bytes(pkt[:4], "little") == len(pkt)
    for e in PROP_LIST_ENTRIES:
        b = h(e)
        assert int.from_bytes(b[:4], "little") == len(b)
