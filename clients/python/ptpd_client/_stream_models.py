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
        """The frame as a BGR numpy array (imports OpenCV on first use).

        Without OpenCV it raises :class:`~ptpd.extras.MissingExtra` (a
        ``ModuleNotFoundError``) naming the extra to install.
        """
        try:
            import cv2  # heavy: only for callers that want pixels
            import numpy as np
        except ModuleNotFoundError as exc:
            from ptpd.extras import extra_for

            raise (extra_for(exc, "Frame.decode()") or exc) from None

        return cv2.imdecode(np.frombuffer(self.jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "bytes": len(self.jpeg),
            "width": self.width,
            "height": self.height,
            "dropped": self.dropped,
            "meta": _jsonable(self.meta),
        }
