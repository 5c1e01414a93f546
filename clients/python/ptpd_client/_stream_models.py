"""Items of the event and frame streams."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ._models import _jsonable, _Model


@dataclass(frozen=True, slots=True)
class Event(_Model):
    """One message from the event socket.

    ``data`` is the message's meta map (``seq`` included); ``payload`` the optional third
    frame; ``missed`` how many messages were lost just before this one.
    """

    topic: str
    seq: int | None
    data: dict[str, Any] = field(default_factory=dict)
    payload: bytes | None = None
    missed: int = 0
    received: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        d = _Model.to_dict(self)
        if self.payload is not None:
            d["payload"] = len(self.payload)
        return d


@dataclass(frozen=True, slots=True)
class Frame(_Model):
    """One live-view frame: the camera's JPEG, untouched, and its meta.

    ``dropped`` counts frames the daemon published that this consumer never saw since the
    previous one it got (the latest-frame mailbox replaced them, or the bus dropped them).
    """

    seq: int
    jpeg: bytes
    width: int = 0
    height: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    dropped: int = 0
    received: float = 0.0  #: time.time() when the receiver got it

    def decode(self) -> Any:
        """The frame as a BGR numpy array (imports OpenCV on first use)."""
        import cv2  # heavy: only for callers that want pixels
        import numpy as np

        return cv2.imdecode(np.frombuffer(self.jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "bytes": len(self.jpeg), "width": self.width, "height": self.height,
                "dropped": self.dropped, "meta": _jsonable(self.meta)}


def _frame_maker() -> Any:
    """``Frame(seq, jpeg, width, height, meta, dropped, received)`` without the frozen
    dataclass's ``__init__``, which sets each field through ``object.__setattr__``.

    For the frame ring's readers: woken among many with caches gone cold, building a
    frame that way costs one of them about twice what setting its slots does, and the
    last reader of a frame waits for all the others' work.
    """
    setters = tuple(Frame.__dict__[f].__set__ for f in ("seq", "jpeg", "width", "height", "meta", "dropped", "received"))
    new = object.__new__

    def make(seq: int, jpeg: bytes, width: int, height: int, meta: dict[str, Any], dropped: int, received: float) -> Frame:
        s_seq, s_jpeg, s_width, s_height, s_meta, s_dropped, s_received = setters
        frame = new(Frame)
        s_seq(frame, seq)
        s_jpeg(frame, jpeg)
        s_width(frame, width)
        s_height(frame, height)
        s_meta(frame, meta)
        s_dropped(frame, dropped)
        s_received(frame, received)
        return frame

    return make


#: a :class:`Frame` from all its fields, set straight into its slots (see _frame_maker)
make_frame = _frame_maker()
