"""The event socket: sequenced ``[topic, meta]`` messages, and XPUB subscription counting.

Both publishing sockets are XPUB with ``XPUB_VERBOSER``, so the daemon sees every
subscribe and unsubscribe (also when a subscriber dies) and can count who listens:
``status`` reports it, and live view runs only while someone watches
(:mod:`ptpd.daemon.liveview`). To clients they look like plain PUB sockets.

Sends never wait: a subscriber that does not read loses messages at its high-water
mark; nobody else notices (PUB semantics). Every event carries ``seq``, one counter
for the whole event socket, so a client detects gaps and a late joiner can line its
``snapshot`` up with the stream (the Clone pattern).

Subscribers have budgets (:mod:`ptpd.daemon.peers`): a message from a subscriber is at
most :data:`~ptpd.bus.MAX_SUBSCRIPTION_MESSAGE` long (the socket's ``ZMQ_MAXMSGSIZE``: a
longer subscription, or any other message past it, ends its connection unread), and a peer
holds at most :data:`~ptpd.bus.MAX_SUBSCRIPTIONS_PER_PEER` subscriptions. Counting costs
O(1) a subscription message, however many topics are live.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import zmq
import zmq.asyncio

from ptpd import bus
from ptpd.daemon.peers import PeerBudget

log = logging.getLogger(__name__)

#: messages a reading loop takes in one go before it lets other tasks run (a socket
#: that always has a message ready never makes ``await`` wait)
BATCH = 64


class Subscriptions:
    """Counts the live subscriptions an XPUB_VERBOSER socket reports, in O(1) a message:
    the total, and how many match each topic in ``watched`` (kept as they change)."""

    def __init__(self, watched: tuple[bytes, ...] = ()) -> None:
        self.topics: collections.Counter[bytes] = collections.Counter()
        self._total = 0
        self._watched = dict.fromkeys(watched, 0)

    def feed(self, msg: bytes) -> bool:
        """Account one subscription message; True when it was one."""
        if not msg or msg[0] not in (0, 1):
            return False
        topic = bytes(msg[1:])
        if msg[0] == 1:
            self.topics[topic] += 1
            step = 1
        elif self.topics[topic] > 0:
            self.topics[topic] -= 1
            if not self.topics[topic]:
                del self.topics[topic]
            step = -1
        else:
            self.topics.pop(topic, None)
            return True  # an unsubscription of nothing we counted
        self._total += step
        for watched in self._watched:
            if watched.startswith(topic):
                self._watched[watched] += step
        return True

    def total(self) -> int:
        return self._total

    def matching(self, topic: bytes) -> int:
        """How many subscriptions would receive a message on ``topic`` (prefix match);
        O(1) for a watched topic."""
        n = self._watched.get(topic)
        if n is not None:
            return n
        return sum(n for t, n in self.topics.items() if topic.startswith(t))


def make_xpub(ctx: zmq.asyncio.Context, hwm: int, linger_ms: int) -> zmq.asyncio.Socket:
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.XPUB_VERBOSER, 1)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.LINGER, linger_ms)
    # a subscriber only sends subscriptions and its handshake: anything longer is refused
    # (libzmq ends that connection before reading the message)
    sock.setsockopt(zmq.MAXMSGSIZE, bus.MAX_SUBSCRIPTION_MESSAGE)
    # subscriptions are never dropped here: a full pipe stops reading from that peer
    sock.setsockopt(zmq.RCVHWM, 256)
    return sock


async def read_subscriptions(
    sock: zmq.asyncio.Socket,
    subs: Subscriptions,
    on_change: Callable[[], None] | None = None,
    budget: PeerBudget | None = None,
) -> None:
    """Forever: read XPUB subscription messages into ``subs`` (and each peer's into
    ``budget``), call ``on_change`` after each (see :func:`drained`)."""
    async for frame in drained(sock):
        msg = frame.bytes
        if budget is not None:
            try:
                got = frame.get("Peer-Address")
                address = got if isinstance(got, str) else None
            except zmq.ZMQError:  # libzmq's own unsubscription for a connection that ended
                address = None
            budget.feed(msg, address)
        if subs.feed(msg) and on_change is not None:
            on_change()


async def drained(sock: zmq.asyncio.Socket, *, multipart: bool = False) -> AsyncIterator[Any]:
    """Forever: each message ``sock`` receives (a ``zmq.Frame``, or with ``multipart`` a
    list of them; nothing copied). What is already waiting is taken without waiting,
    :data:`BATCH` messages at a time; then other tasks run, so that a peer that never stops
    sending cannot starve the rest. A receive error ends it (raised)."""
    now: zmq.Socket[bytes] = zmq.Socket.shadow(sock.underlying)  # the same socket, read without asyncio
    take = now.recv_multipart if multipart else now.recv
    while True:
        yield await (sock.recv_multipart(copy=False) if multipart else sock.recv(copy=False))
        for _ in range(BATCH - 1):
            try:
                msg = take(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            yield msg
            del msg  # not held while the next one is awaited (a request may be 16 MiB)
        else:
            await asyncio.sleep(0)


def send_nowait(sock: zmq.asyncio.Socket, parts: list[Any], copy: bool = True) -> bool:
    """Send without ever waiting; False if the message was dropped."""
    # the asyncio socket returns a Future (done at once with DONTWAIT); pyzmq types it Awaitable
    fut = cast("asyncio.Future[Any]", sock.send_multipart(parts, flags=zmq.DONTWAIT, copy=copy, track=False))
    if fut.done():
        exc = fut.exception()
        if exc is None:
            return True
        if not isinstance(exc, zmq.Again):
            log.warning("publish failed: %s", exc)
        return False
    return True  # queued by pyzmq (it had pending sends); it will go out


class EventPublisher:
    """The event socket: ``publish(topic, data)`` adds ``seq`` and ``t`` and sends."""

    def __init__(self, ctx: zmq.asyncio.Context, hwm: int = 10_000) -> None:
        self.sock = make_xpub(ctx, hwm, linger_ms=200)
        self.subs = Subscriptions()
        #: each peer's subscriptions (set by :meth:`guard` before the socket is bound)
        self.budget: PeerBudget | None = None
        self.seq = 0
        self.dropped = 0

    def guard(self, endpoint: str) -> None:
        """Count each subscriber's subscriptions on ``endpoint`` (see :mod:`.peers`)."""
        self.budget = PeerBudget(self.sock, endpoint)

    def publish(self, topic: str, data: dict[str, Any]) -> int:
        """Send ``[topic, {seq, t, **data}]``; returns the seq it used."""
        self.seq += 1
        meta = {**data, "seq": self.seq, "t": time.time()}
        if not send_nowait(self.sock, [topic.encode(), bus.pack(meta)]):
            self.dropped += 1
        return self.seq

    async def run(self) -> None:
        await read_subscriptions(self.sock, self.subs, budget=self.budget)


def cancel_and_wait(task: asyncio.Task[Any] | None) -> asyncio.Future[Any] | None:
    """Cancel a task; returns something to await (or None)."""
    if task is None or task.done():
        return None
    task.cancel()
    return asyncio.gather(task, return_exceptions=True)
