"""What the camera layer reads from a JPEG without decoding it: its size, for the
live-view frames of every vendor (the width and height clients are told)."""

from __future__ import annotations

#: Start-of-frame markers (baseline, progressive, lossless, arithmetic): where a JPEG's
#: height and width are written (ITU-T T.81 B.2.2)
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def jpeg_size(jpeg: bytes | memoryview) -> tuple[int, int]:
    """(width, height) from a JPEG's SOFn marker, (0, 0) if none is found early enough."""
    data = jpeg[:65536]
    i = 2
    n = len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return 0, 0
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        length = (data[i + 2] << 8) | data[i + 3]
        if marker in _SOF:
            height = (data[i + 5] << 8) | data[i + 6]
            width = (data[i + 7] << 8) | data[i + 8]
            return width, height
        i += 2 + length
    return 0, 0


__all__ = ["jpeg_size"]
