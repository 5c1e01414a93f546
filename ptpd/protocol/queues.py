"""The bounded, drop-oldest queue both dialects' links hand events and frames through.

A socket's read callback puts items in and must never wait for whoever takes them out:
when the queue is full the oldest item goes (counted in :attr:`DropOldestQueue.dropped`),
so a slow consumer loses stale items and holds no one up. The queue ends once, with an
exception: :class:`StopAsyncIteration` for an orderly end (iteration stops quietly),
anything else (:class:`~ptpd.protocol.errors.CameraDisconnected`, a protocol error) is
raised to the consumer, after the items already queued.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from ptpd.protocol.errors import Timeout

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    """A bounded queue whose :meth:`put` never waits; an async iterator and context manager.

    ``on_close`` is told when the consumer :meth:`close` s it (so the producer stops
    feeding it); ``on_drop`` each time an item is dropped; ``what`` names an item in the
    :class:`~ptpd.protocol.errors.Timeout` of :meth:`get`.
    """

    def __init__(
        self,
        maxsize: int,
        *,
        on_close: Callable[[DropOldestQueue[T]], None] | None = None,
        on_drop: Callable[[], None] | None = None,
        what: str = "item",
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self._items: deque[T] = deque(maxlen=maxsize)
        self._waiter: asyncio.Future[None] | None = None
        self._end: BaseException | None = None
        self._on_close = on_close
        self._on_drop = on_drop
        self._what = what
        self.dropped = 0  #: items lost because the consumer fell behind

    def __len__(self) -> int:
        return len(self._items)

    @property
    def ended(self) -> bool:
        """True once :meth:`finish` (or :meth:`close`) was called."""
        return self._end is not None

    def put(self, item: T) -> None:
        """Queue ``item``; if the queue is full its oldest item is dropped."""
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
            if self._on_drop is not None:
                self._on_drop()
        self._items.append(item)
        self._wake()

    def finish(self, exc: BaseException) -> None:
        """End the queue with ``exc`` (raised by :meth:`get` once the queue is empty).
        The first end counts."""
        if self._end is None:
            self._end = exc
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self, timeout: float | None = None) -> T:
        """The next item; :class:`Timeout` after ``timeout`` seconds (``None``: wait
        forever), the end's exception once the queue ended and is empty. Only an empty
        queue arms a timer."""
        while not self._items:
            if self._end is not None:
                raise self._end
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                if timeout is None:
                    await self._waiter
                else:
                    async with asyncio.timeout(timeout):
                        await self._waiter
            except TimeoutError:
                raise Timeout(f"no {self._what} within {timeout:g}s") from None
            finally:
                self._waiter = None
        return self._items.popleft()

    def drain(self) -> list[T]:
        """Every item already queued, without waiting."""
        items = list(self._items)
        self._items.clear()
        return items

    def close(self) -> None:
        """Stop receiving items (the producer is told); iteration ends."""
        if self._on_close is not None:
            self._on_close(self)
        self.finish(StopAsyncIteration())

    def __aiter__(self) -> DropOldestQueue[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.get()
        except StopAsyncIteration:
            raise
        except Exception:
            self.close()
            raise

    def __enter__(self) -> DropOldestQueue[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> DropOldestQueue[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


__all__ = ["DropOldestQueue"]
