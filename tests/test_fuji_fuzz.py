"""Fuji decoders on arbitrary bytes: they raise ProtocolError or succeed, nothing else."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ptpd.fuji.connection import FujiEventChannel, FujiInitiatorConnection, FujiResponderConnection
from ptpd.fuji.events import NEED_DATA, ConnectionClosed, InitRequest
from ptpd.fuji.packets import Container, LiveViewSplitter, decode_handshake
from ptpd.fuji.state import decode_property_desc, decode_property_list, decode_state
from ptpd.protocol.errors import ProtocolError
from test_fuji_golden import BRING_UP, PROP_LIST_PAYLOAD, STATE_CONTAINER

FAST = settings(max_examples=300, deadline=None)


def mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """The seed with a few bytes overwritten, truncated or extended."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        b = bytearray(seed)
        for _ in range(draw(st.integers(0, 4))):
            if b:
                b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
        cut = draw(st.integers(0, len(b)))
        return bytes(b[:cut]) + draw(st.binary(max_size=8))

    return mutate()


def _only_protocol_errors(fn, data: bytes) -> None:
    try:
        fn(data)
    except ProtocolError:
        pass


@FAST
@given(st.one_of(st.binary(max_size=64), mutations(PROP_LIST_PAYLOAD)))
def test_property_list(data: bytes) -> None:
    _only_protocol_errors(decode_property_list, data)
    _only_protocol_errors(decode_property_desc, data[8:])


@FAST
@given(st.one_of(st.binary(max_size=64), mutations(STATE_CONTAINER[12:])))
def test_state(data: bytes) -> None:
    _only_protocol_errors(decode_state, data)


@FAST
@given(st.one_of(st.binary(max_size=64), mutations(BRING_UP[6][1])))
def test_containers_and_handshake(data: bytes) -> None:
    _only_protocol_errors(Container.decode, data)
    _only_protocol_errors(decode_handshake, data)


def _drain(conn, data: bytes) -> None:
    conn.receive_data(data)
    for _ in range(1000):
        ev = conn.next_event()
        if ev is NEED_DATA or isinstance(ev, ConnectionClosed):
            return


@FAST
@given(st.binary(max_size=200))
def test_connections(data: bytes) -> None:
    c = FujiInitiatorConnection(max_container=1 << 16)
    c.send(InitRequest(bytes(16), "x"))
    for conn in (c, FujiResponderConnection(max_container=1 << 16), FujiEventChannel()):
        _only_protocol_errors(lambda d, conn=conn: _drain(conn, d), data)


@FAST
@given(st.binary(max_size=200))
def test_liveview(data: bytes) -> None:
    _only_protocol_errors(LiveViewSplitter(max_length=1 << 16).feed, data)
