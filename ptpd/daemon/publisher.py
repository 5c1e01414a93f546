"""The event socket: sequenced ``[topic, meta]`` messages, and XPUB subscription counting.

Both publishing sockets are XPUB with ``XPUB_VERBOSER``, so the daemon sees every
subscribe and unsubscribe (also when a subscriber dies) and can count who listens:
``status`` reports it, and live view runs only while someone watches
(:mod:`ptpd.daemon.liveview`). To clients they look like plain PUB sockets.

Sends never wait: a subscriber that does not read loses messages at its high-water
mark; nobody else notices (PUB semantics). Every event carries ``seq``, one counter
for the whole event socket, so a client detects gaps and a late joiner can line its
``snapshot`` up with the stream (the Clone pattern).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from typing import Any, cast

import zmq
import zmq.asyncio

from ptpd import bus

log = logging.getLogger(__name__)


class Subscriptions:
    """Counts the live subscriptions an XPUB_VERBOSER socket reports."""

    def __init__(self) -> None:
        self.topics: collections.Counter[bytes] = collections.Counter()

    def feed(self, msg: bytes) -> bool:
        """Account one subscription message; True when it was one."""
        if not msg or msg[0] not in (0, 1):
            return False
        topic = bytes(msg[1:])
        if msg[0] == 1:
            self.topics[topic] += 1
        elif self.topics[topic] > 0:
            self.topics[topic] -= 1
            if not self.topics[topic]:
                del self.topics[topic]
        return True

    def total(self) -> int:
        return sum(self.topics.values())

    def matching(self, topic: bytes) -> int:
        """How many subscriptions would receive a message on ``topic`` (prefix match)."""
        return sum(n for t, n in self.topics.items() if topic.startswith(t))


def make_xpub(ctx: zmq.asyncio.Context, hwm: int, linger_ms: int) -> zmq.asyncio.Socket:
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.XPUB_VERBOSER, 1)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.LINGER, linger_ms)
    sock.setsockopt(zmq.RCVHWM, 0)  # subscription messages must never be dropped
    return sock


async def read_subscriptions(
    sock: zmq.asyncio.Socket, subs: Subscriptions, on_change: Callable[[], None] | None = None
) -> None:
    """Forever: read XPUB subscription messages into ``subs``, call ``on_change`` after each."""
    while True:
        msg = await sock.recv()
        if subs.feed(msg) and on_change is not None:
            on_change()


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
        self.seq = 0
        self.dropped = 0

    def publish(self, topic: str, data: dict[str, Any]) -> int:
        """Send ``[topic, {seq, t, **data}]``; returns the seq it used."""
        self.seq += 1
        meta = {**data, "seq": self.seq, "t": time.time()}
        if not send_nowait(self.sock, [topic.encode(), bus.pack(meta)]):
            self.dropped += 1
        return self.seq

    async def run(self) -> None:
        await read_subscriptions(self.sock, self.subs)


def cancel_and_wait(task: asyncio.Task[Any] | None) -> asyncio.Future[Any] | None:
    """Cancel a task; returns something to await (or None)."""
    if task is None or task.done():
        return None
    task.cancel()
    return asyncio.gather(task, return_exceptions=True)
