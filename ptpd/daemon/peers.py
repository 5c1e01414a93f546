"""Subscriptions per peer on a publishing socket: a peer past its budget is cut off.

libzmq keeps every subscription a peer sends in its own trie (about 50 bytes per byte
of a distinct topic) until that peer's connection ends, and offers no call to end one
peer's connection. Two budgets keep a hostile subscriber from filling the daemon's
memory that way:

* a subscription is at most :data:`~ptpd.bus.MAX_SUBSCRIPTION_MESSAGE` long: the
  socket's ``ZMQ_MAXMSGSIZE`` (set in :func:`ptpd.daemon.publisher.make_xpub`), so
  libzmq drops a connection that sends a longer one before reading it;
* a peer holds at most :data:`~ptpd.bus.MAX_SUBSCRIPTIONS_PER_PEER` subscriptions:
  :class:`PeerBudget` counts them from the ``Peer-Address`` libzmq attaches to every
  subscription message, and when a peer passes the budget it shuts down the sockets of
  all that peer's connections (a monitor of the socket gives each accepted connection's
  file descriptor). libzmq then drops the connection, its trie entries, and reports
  the unsubscriptions.

A *peer* is what libzmq can tell apart: a process on ``ipc://`` (its pid, from the
socket's credentials) and a host on ``tcp://`` (its address; libzmq does not give the
port). A SUB that was cut off reconnects and subscribes again on its own, so a
well-behaved client on the same host as a hostile one loses a few messages (its ``seq``
shows the gap), never its subscription.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import socket
import struct

import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message

from ptpd import bus

log = logging.getLogger(__name__)

_UCRED = struct.Struct("3i")  # pid, uid, gid


def peer_of_fd(fd: int) -> str | None:
    """The peer key of a connected socket: ``pid:N`` (Unix socket) or ``host:ADDR`` (TCP);
    ``None`` if ``fd`` is no longer a connected socket."""
    try:
        s = socket.socket(fileno=os.dup(fd))
    except OSError:
        return None
    try:
        if s.family == socket.AF_UNIX:
            pid, _, _ = _UCRED.unpack(s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))
            return f"pid:{pid}"
        return f"host:{s.getpeername()[0]}"
    except OSError:
        return None
    finally:
        s.close()  # only the duplicate: libzmq's descriptor stays open


def peer_of_address(address: str, ipc: bool) -> str:
    """The peer key from libzmq's ``Peer-Address`` property: ``...:uid:gid:pid`` on a Unix
    socket, the host's address on TCP."""
    if ipc:
        return f"pid:{address.rsplit(':', 1)[-1]}"
    return f"host:{address}"


def _shutdown(fd: int) -> None:
    """End the connection behind ``fd`` (a duplicate is shut down; libzmq's own
    descriptor sees the end and closes)."""
    with contextlib.suppress(OSError):
        s = socket.socket(fileno=os.dup(fd))
        try:
            s.shutdown(socket.SHUT_RDWR)
        finally:
            s.close()


class PeerBudget:
    """Counts each peer's subscriptions on one XPUB socket and cuts off a peer past
    :data:`~ptpd.bus.MAX_SUBSCRIPTIONS_PER_PEER` (see the module docstring)."""

    def __init__(self, sock: zmq.asyncio.Socket, endpoint: str, limit: int = bus.MAX_SUBSCRIPTIONS_PER_PEER) -> None:
        self.limit = limit
        self.ipc = endpoint.startswith("ipc://")
        # read without waiting whenever a subscription comes (and every second): a
        # plain socket over the monitor's, so no task of its own is needed
        self._monitor_owner = sock.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CLOSED)
        self._monitor: zmq.Socket[bytes] = zmq.Socket.shadow(self._monitor_owner.underlying)
        self._fds: dict[int, str | None] = {}  #: accepted connection -> its peer
        self._subs: dict[str, collections.Counter[bytes]] = {}  #: peer -> topic -> count
        self._count: collections.Counter[str] = collections.Counter()  #: peer -> subscriptions
        self._recently_left: collections.deque[str] = collections.deque(maxlen=64)
        #: peers cut off (for status and tests)
        self.cut_off = 0

    def follow(self) -> None:
        """Apply the connections accepted and ended since the last look."""
        while True:
            try:
                frames = self._monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            except zmq.ZMQError:  # the socket is closing
                return
            self._on_monitor(frames)

    def _on_monitor(self, frames: list[bytes]) -> None:
        ev = parse_monitor_message(frames)
        fd = ev["value"]
        if ev["event"] == zmq.EVENT_ACCEPTED:
            self._fds[fd] = peer_of_fd(fd)
        elif ev["event"] in (zmq.EVENT_DISCONNECTED, zmq.EVENT_CLOSED):
            peer = self._fds.pop(fd, None)
            if peer is not None:
                self._recently_left.append(peer)
                if peer not in self._fds.values():
                    # its last connection: whatever it still held is gone with it
                    self._count.pop(peer, None)
                    self._subs.pop(peer, None)

    def close(self) -> None:
        with contextlib.suppress(zmq.ZMQError):
            self._monitor_owner.close(0)

    def feed(self, msg: bytes, address: str | None) -> bool:
        """Account one subscription message from the peer at ``address`` (``None`` for an
        unsubscription libzmq made itself when a connection ended); True when the peer
        is within its budget (else it has just been cut off)."""
        if not msg or msg[0] not in (0, 1):
            return True
        self.follow()
        topic = bytes(msg[1:])
        if address:
            peer = peer_of_address(address, self.ipc)
        elif msg[0] == 0:
            held = self._holder(topic)
            if held is None:
                return True
            peer = held
        else:
            return True
        subs = self._subs.setdefault(peer, collections.Counter())
        if msg[0] == 1:
            subs[topic] += 1
            self._count[peer] += 1
            if self._count[peer] > self.limit:
                self._cut_off(peer)
                return False
        elif subs[topic] > 0:
            subs[topic] -= 1
            self._count[peer] -= 1
            if not subs[topic]:
                del subs[topic]
        return True

    def _holder(self, topic: bytes) -> str | None:
        """Whose subscription an unattributed unsubscription ends: a peer whose connection
        just ended if it held ``topic``, else any that holds it."""
        for peer in reversed(self._recently_left):
            held = self._subs.get(peer)
            if held is not None and held.get(topic):
                return peer
        for peer, subs in self._subs.items():
            if subs.get(topic):
                return peer
        return None

    def _cut_off(self, peer: str) -> None:
        self.follow()
        closed = 0
        for fd in [fd for fd, p in self._fds.items() if p == peer]:
            if peer_of_fd(fd) == peer:  # still that peer's (a descriptor number can be reused)
                _shutdown(fd)
                closed += 1
        if closed:
            self.cut_off += 1
            log.warning(
                "subscriber %s held more than %d subscriptions: %d connection(s) closed", peer, self.limit, closed
            )
        # libzmq reports each subscription's end as the connections go (and what the
        # peer had queued before it was cut off still comes): count afresh
        self._count[peer] = 0
        self._subs.pop(peer, None)


__all__ = ["PeerBudget", "peer_of_address", "peer_of_fd"]
