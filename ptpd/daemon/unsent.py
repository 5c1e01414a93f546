"""Replies sent but not yet read: a client that never reads cannot make the daemon hold
more of them than a budget.

ZeroMQ queues a reply for its client until the client reads it (up to the socket's
high-water mark of 1000 messages, whatever their size), so a client that asks for the
same 50 MB image a thousand times and reads nothing would leave the daemon holding
50 GB. Every big reply is sent with a ZeroMQ tracker that says when libzmq let go of
it; :class:`UnsentReplies` adds up the ones still held, by client and in all, and the
daemon refuses new requests that may answer with bytes (``download``, a capture with
data, ``opreq``) while the sum is over :data:`PER_CLIENT` or :data:`TOTAL` (a
well-behaved client reads its replies as they come and never meets it).
"""

from __future__ import annotations

import collections
from typing import Any

#: replies of at least this size are tracked (smaller ones are counted by the socket's
#: high-water mark alone: 1000 of them are a few megabytes)
TRACKED = 256 * 1024
#: bytes of unread replies one client may leave the daemon holding before its requests
#: that answer with bytes are refused, and all clients together
PER_CLIENT = 32 * 1024 * 1024
TOTAL = 64 * 1024 * 1024


class UnsentReplies:
    """Big replies libzmq still holds (sent to a client that has not read them)."""

    def __init__(self) -> None:
        self._held: collections.deque[tuple[Any, int, bytes]] = collections.deque()  # tracker, size, client
        self._by_client: collections.Counter[bytes] = collections.Counter()
        self._total = 0

    def add(self, client: bytes, tracker: Any, size: int) -> None:
        """A reply of ``size`` bytes went out to ``client`` with ``tracker``."""
        if tracker is None or tracker.done:
            return
        self._held.append((tracker, size, client))
        self._by_client[client] += size
        self._total += size

    def _prune(self) -> None:
        if not self._held:
            return
        keep: collections.deque[tuple[Any, int, bytes]] = collections.deque()
        for entry in self._held:
            tracker, size, client = entry
            if tracker.done:
                self._total -= size
                self._by_client[client] -= size
                if self._by_client[client] <= 0:
                    del self._by_client[client]
            else:
                keep.append(entry)
        self._held = keep

    def over_budget(self, client: bytes) -> str | None:
        """Why ``client`` may not have more bytes now (``None`` when it may)."""
        self._prune()
        mine = self._by_client.get(client, 0)
        if mine > PER_CLIENT:
            return f"{mine / 1e6:.0f} MB of this client's replies are not read yet (at most {PER_CLIENT / 1e6:.0f} MB are held): read them first"
        if self._total > TOTAL:
            return f"{self._total / 1e6:.0f} MB of replies are waiting for their clients (at most {TOTAL / 1e6:.0f} MB are held)"
        return None

    @property
    def total(self) -> int:
        """Bytes of tracked replies still held."""
        self._prune()
        return self._total


__all__ = ["PER_CLIENT", "TOTAL", "TRACKED", "UnsentReplies"]
