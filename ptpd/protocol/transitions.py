"""The states of a PTP/IP channel and the tables of what moves it (ISO 15740 §9.3; CIPA DC-X005).

Theory of operation
-------------------
Rule 1 of :mod:`ptpd.protocol.connection`: every state change of a channel is an entry
of :data:`INITIATOR_TRANSITIONS` or :data:`RESPONDER_TRANSITIONS`, keyed
``(state, input)``, where an input is something we send (``SEND_*``) or receive
(``RECV_*``). An input not in the table is an error: a local one if we tried to send it,
the peer's if it came off the wire. Nothing outside these tables decides where a channel
goes next; the channel code only maps packets and events to inputs.

Probe Requests and Responses are legal in every open state, Cancel once the channel is
initialised (ptpip.md §6); :func:`_channel_level` adds them to both tables alike.
"""

from __future__ import annotations

from enum import Enum, auto, unique

from ptpd.protocol import packets as pk


@unique
class Channel(Enum):
    """Which of the two PTP/IP connections a channel object drives."""

    COMMAND = auto()  #: command/data connection
    EVENT = auto()  #: event connection


@unique
class State(Enum):
    """States of one channel. Transaction states are shared by both roles and name the phase."""

    IDLE = auto()  #: nothing exchanged yet (a responder may have answered probes)
    AWAIT_INIT_ACK = auto()  #: initiator sent Init Command Request
    AWAIT_EVENT_ACK = auto()  #: initiator sent Init Event Request
    INIT_RECEIVED = auto()  #: responder got Init Command Request; must Ack or Fail
    EVENT_INIT_RECEIVED = auto()  #: responder got Init Event Request; must Ack or Fail
    READY = auto()  #: command channel between transactions
    EVENTS = auto()  #: event channel, bound: events flow responder → initiator
    REQUESTED = auto()  #: request without data-out made; data-in or the response comes next
    DATA_IN = auto()  #: initiator is receiving a data-in phase
    DATA_OUT_PENDING = auto()  #: request with data-out made; the data-out comes next
    DATA_OUT = auto()  #: responder is receiving a data-out phase
    DATA_DONE = auto()  #: data phase over; the response comes next
    CLOSED = auto()  #: after Init Fail or EOF
    ERROR = auto()  #: the peer broke the protocol or a timer ran out


@unique
class Input(Enum):
    """What can happen to a channel: something we send or something we receive."""

    SEND_INIT_COMMAND_REQUEST = auto()
    RECV_INIT_COMMAND_REQUEST = auto()
    SEND_INIT_COMMAND_ACK = auto()
    RECV_INIT_COMMAND_ACK = auto()
    SEND_INIT_EVENT_REQUEST = auto()
    RECV_INIT_EVENT_REQUEST = auto()
    SEND_INIT_EVENT_ACK = auto()
    RECV_INIT_EVENT_ACK = auto()
    SEND_INIT_FAIL = auto()
    RECV_INIT_FAIL = auto()
    SEND_REQUEST = auto()  #: Operation Request, no data-out
    RECV_REQUEST = auto()
    SEND_REQUEST_DATA_OUT = auto()  #: Operation Request announcing a data-out phase
    RECV_REQUEST_DATA_OUT = auto()
    SEND_DATA_IN = auto()  #: whole data-in phase (responder)
    SEND_DATA_OUT = auto()  #: whole data-out phase (initiator)
    RECV_START_DATA = auto()
    RECV_DATA = auto()
    RECV_END_DATA = auto()
    SEND_RESPONSE = auto()
    RECV_RESPONSE = auto()
    SEND_EVENT = auto()
    RECV_EVENT = auto()
    SEND_PROBE_REQUEST = auto()
    RECV_PROBE_REQUEST = auto()
    SEND_PROBE_RESPONSE = auto()
    RECV_PROBE_RESPONSE = auto()
    SEND_CANCEL_CURRENT = auto()  #: Cancel of the transaction in progress
    RECV_CANCEL_CURRENT = auto()
    SEND_CANCEL_OTHER = auto()  #: Cancel naming any other transaction
    RECV_CANCEL_OTHER = auto()


S, I = State, Input  # noqa: E741  # short names keep the tables readable

_TRANSACTION_STATES = (S.REQUESTED, S.DATA_IN, S.DATA_OUT_PENDING, S.DATA_OUT, S.DATA_DONE)
_INITIALISED = (S.READY, S.EVENTS, *_TRANSACTION_STATES)
_OPEN = tuple(s for s in S if s not in (S.CLOSED, S.ERROR))


def _channel_level(table: dict[tuple[State, Input], State]) -> None:
    """Probes (any open state) and Cancel (once initialised) — the same for both roles."""
    s: State
    for s in _OPEN:
        for i in (I.SEND_PROBE_REQUEST, I.RECV_PROBE_REQUEST, I.SEND_PROBE_RESPONSE, I.RECV_PROBE_RESPONSE):
            table[(s, i)] = s
    for s in _INITIALISED:
        table[(s, I.SEND_CANCEL_OTHER)] = s
        table[(s, I.RECV_CANCEL_OTHER)] = s
    for s in _TRANSACTION_STATES:
        table[(s, I.SEND_CANCEL_CURRENT)] = S.READY
        table[(s, I.RECV_CANCEL_CURRENT)] = S.READY


#: Initiator (host) transitions.
INITIATOR_TRANSITIONS: dict[tuple[State, Input], State] = {
    # command channel handshake
    (S.IDLE, I.SEND_INIT_COMMAND_REQUEST): S.AWAIT_INIT_ACK,
    (S.AWAIT_INIT_ACK, I.RECV_INIT_COMMAND_ACK): S.READY,
    (S.AWAIT_INIT_ACK, I.RECV_INIT_FAIL): S.CLOSED,
    # event channel handshake
    (S.IDLE, I.SEND_INIT_EVENT_REQUEST): S.AWAIT_EVENT_ACK,
    (S.AWAIT_EVENT_ACK, I.RECV_INIT_EVENT_ACK): S.EVENTS,
    (S.AWAIT_EVENT_ACK, I.RECV_INIT_FAIL): S.CLOSED,
    # transactions
    (S.READY, I.SEND_REQUEST): S.REQUESTED,
    (S.READY, I.SEND_REQUEST_DATA_OUT): S.DATA_OUT_PENDING,
    (S.DATA_OUT_PENDING, I.SEND_DATA_OUT): S.DATA_DONE,
    (S.REQUESTED, I.RECV_START_DATA): S.DATA_IN,
    (S.REQUESTED, I.RECV_RESPONSE): S.READY,  # no data phase, or an error before data
    (S.DATA_IN, I.RECV_DATA): S.DATA_IN,
    (S.DATA_IN, I.RECV_END_DATA): S.DATA_DONE,
    (S.DATA_DONE, I.RECV_RESPONSE): S.READY,
    # events: on the event channel; tolerated on the command channel (harmless)
    (S.EVENTS, I.RECV_EVENT): S.EVENTS,
    (S.READY, I.RECV_EVENT): S.READY,
    **{(s, I.RECV_EVENT): s for s in _TRANSACTION_STATES},
}
_channel_level(INITIATOR_TRANSITIONS)

#: Responder (camera) transitions.
RESPONDER_TRANSITIONS: dict[tuple[State, Input], State] = {
    # classification by the first init packet
    (S.IDLE, I.RECV_INIT_COMMAND_REQUEST): S.INIT_RECEIVED,
    (S.INIT_RECEIVED, I.SEND_INIT_COMMAND_ACK): S.READY,
    (S.INIT_RECEIVED, I.SEND_INIT_FAIL): S.CLOSED,
    (S.IDLE, I.RECV_INIT_EVENT_REQUEST): S.EVENT_INIT_RECEIVED,
    (S.EVENT_INIT_RECEIVED, I.SEND_INIT_EVENT_ACK): S.EVENTS,
    (S.EVENT_INIT_RECEIVED, I.SEND_INIT_FAIL): S.CLOSED,
    # transactions
    (S.READY, I.RECV_REQUEST): S.REQUESTED,
    (S.READY, I.RECV_REQUEST_DATA_OUT): S.DATA_OUT_PENDING,
    (S.REQUESTED, I.SEND_DATA_IN): S.DATA_DONE,
    (S.REQUESTED, I.SEND_RESPONSE): S.READY,
    (S.DATA_OUT_PENDING, I.RECV_START_DATA): S.DATA_OUT,
    (S.DATA_OUT, I.RECV_DATA): S.DATA_OUT,
    (S.DATA_OUT, I.RECV_END_DATA): S.DATA_DONE,
    (S.DATA_DONE, I.SEND_RESPONSE): S.READY,
    # events
    (S.EVENTS, I.SEND_EVENT): S.EVENTS,
}
_channel_level(RESPONDER_TRANSITIONS)

#: States in which the initiator waits for the peer (its deadline runs, see
#: :mod:`ptpd.protocol.sansio` rule 3).
INITIATOR_WAITING = frozenset({S.AWAIT_INIT_ACK, S.AWAIT_EVENT_ACK, S.REQUESTED, S.DATA_IN, S.DATA_DONE})
#: States in which the responder waits for the peer: the data-out phase it was promised.
RESPONDER_WAITING = frozenset({S.DATA_OUT_PENDING, S.DATA_OUT})
#: States in which the received bytes are a data phase's.
DATA_PHASE = frozenset({S.DATA_IN, S.DATA_OUT})
#: States of a transaction in progress.
TRANSACTION_STATES = frozenset(_TRANSACTION_STATES)

#: The input a received packet is, by type (Operation Request and Cancel depend on more).
RECV_INPUT: dict[pk.PacketType, Input] = {
    pk.PacketType.INIT_COMMAND_REQUEST: I.RECV_INIT_COMMAND_REQUEST,
    pk.PacketType.INIT_COMMAND_ACK: I.RECV_INIT_COMMAND_ACK,
    pk.PacketType.INIT_EVENT_REQUEST: I.RECV_INIT_EVENT_REQUEST,
    pk.PacketType.INIT_EVENT_ACK: I.RECV_INIT_EVENT_ACK,
    pk.PacketType.INIT_FAIL: I.RECV_INIT_FAIL,
    pk.PacketType.OPERATION_RESPONSE: I.RECV_RESPONSE,
    pk.PacketType.EVENT: I.RECV_EVENT,
    pk.PacketType.START_DATA: I.RECV_START_DATA,
    pk.PacketType.DATA: I.RECV_DATA,
    pk.PacketType.END_DATA: I.RECV_END_DATA,
    pk.PacketType.PROBE_REQUEST: I.RECV_PROBE_REQUEST,
    pk.PacketType.PROBE_RESPONSE: I.RECV_PROBE_RESPONSE,
}


__all__ = [
    "DATA_PHASE",
    "INITIATOR_TRANSITIONS",
    "INITIATOR_WAITING",
    "RECV_INPUT",
    "RESPONDER_TRANSITIONS",
    "RESPONDER_WAITING",
    "TRANSACTION_STATES",
    "Channel",
    "Input",
    "State",
]
