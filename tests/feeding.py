"""Feeding a sans-I/O channel the way TCP delivers: whole, in odd chunks, one byte at a time.

Shared by the tests of both dialects (trio's "data whose flow gets broken up in weird
ways"): a channel must make the same events of the same bytes however they are split.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ptpd.protocol.sansio import NEED_DATA, ConnectionClosed

#: The three ways every byte-level test feeds its bytes.
SPLITS = ("whole", "odd", "bytewise")
#: Chunk sizes of the "odd" split, cycled: small primes, so packet and header
#: boundaries fall everywhere.
ODD_SIZES = (1, 7, 3, 13, 2, 31, 5)


def pieces(data: bytes, split: str, sizes: tuple[int, ...] = ODD_SIZES) -> Iterator[bytes]:
    """``data`` cut the ``split`` way."""
    if split == "whole":
        yield data
    elif split == "odd":
        pos, i = 0, 0
        while pos < len(data):
            n = sizes[i % len(sizes)]
            yield data[pos : pos + n]
            pos += n
            i += 1
    elif split == "bytewise":
        for i in range(len(data)):
            yield data[i : i + 1]
    else:
        raise ValueError(f"unknown split {split!r}")


def feed(conn: Any, data: bytes, split: str = "whole", now: float | None = None) -> list[Any]:
    """Feed ``data`` into ``conn`` cut the ``split`` way; return every event it made
    (up to and including a :class:`ConnectionClosed`)."""
    out: list[Any] = []
    for piece in pieces(data, split):
        conn.receive_data(piece, now)
        while (e := conn.next_event()) is not NEED_DATA:
            out.append(e)
            if isinstance(e, ConnectionClosed):
                return out
    return out


__all__ = ["ODD_SIZES", "SPLITS", "feed", "pieces"]
