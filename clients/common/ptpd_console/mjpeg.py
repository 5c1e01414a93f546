"""Live view for browsers: the newest JPEG of a producer, served as an MJPEG stream.

``ptpview --http`` serves one camera's frames, ``ptprig liveview --http`` a mosaic of many;
both put each JPEG they make into a :class:`FrameHub` and serve it with
:func:`serve_until_stopped`: ``/`` (a page), ``/stream.mjpg`` (``multipart/x-mixed-replace``)
and ``/snapshot.jpg``, until SIGINT or SIGTERM. A slow browser skips frames, it never
holds the producer up: each connection waits for a frame newer than the one it sent.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["BOUNDARY", "FrameHub", "page", "parse_hostport", "serve_until_stopped"]

log = logging.getLogger("ptpd_console.mjpeg")

#: the multipart boundary of ``/stream.mjpg``
BOUNDARY = b"ptpviewframe"


class FrameHub:
    """The newest JPEG and its number; HTTP handlers wait for a newer one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.jpeg: bytes | None = None
        self.seq = 0
        self.closed = False

    def publish(self, jpeg: bytes) -> None:
        with self._cond:
            self.jpeg = jpeg
            self.seq += 1
            self._cond.notify_all()

    def wait_newer(self, seq: int, timeout: float) -> tuple[int, bytes | None]:
        with self._cond:
            self._cond.wait_for(lambda: self.seq > seq or self.closed, timeout)
            return self.seq, self.jpeg

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{margin:0;background:#111;color:#ddd;font:14px sans-serif}}
header{{padding:6px 10px}}img{{display:block;max-width:100%}}</style></head>
<body><header>{header}</header>
<img id="lv" src="/stream.mjpg" alt="live view"></body></html>
"""


def page(title: str, header: str) -> bytes:
    """The HTML page at ``/``: a header line over the stream (``header`` is HTML)."""
    return _PAGE.format(title=title, header=header).encode()


def serve_until_stopped(
    hub: FrameHub,
    host: str,
    port: int,
    html: bytes,
    *,
    name: str,
    stop: threading.Event,
    announce: Callable[[str, int], None],
    ready: Callable[[str, int], None] | None = None,
) -> int | None:
    """Serve ``hub`` on ``host:port`` until SIGINT/SIGTERM; the signal that stopped it.
    ``stop`` is set then (producers watch it); a producer that ends closes ``hub`` and the
    server stays up. ``announce(host, port)`` says where it serves once bound (port 0
    takes a free one), ``ready`` is told the same (tests)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        server_version = name

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s " + fmt, self.address_string(), *args)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", html)
            elif path == "/snapshot.jpg":
                _, jpeg = hub.wait_newer(0, 5.0)
                if jpeg is None:
                    self._send(503, "text/plain", b"no frame yet\n")
                else:
                    self._send(200, "image/jpeg", jpeg)
            elif path == "/stream.mjpg":
                self._stream()
            else:
                self._send(404, "text/plain", b"not found\n")

        def _send(self, code: int, ctype: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=" + BOUNDARY.decode())
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            seq = 0
            # A part's closing CRLF goes out in front of the next boundary, so that the
            # JPEG is written as it is, never copied into one message with its header.
            lead = b""
            try:
                while not stop.is_set():
                    seq, jpeg = hub.wait_newer(seq, 1.0)
                    if hub.closed:
                        break
                    if jpeg is None:
                        continue
                    self.wfile.write(
                        b"%s--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                        % (lead, BOUNDARY, len(jpeg))
                    )
                    self.wfile.write(jpeg)
                    self.wfile.flush()
                    lead = b"\r\n"
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    got: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        got.append(signum)
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        h, p = server.server_address[:2]
        announce(str(h), int(p))
        if ready is not None:
            ready(str(h), int(p))
        server.serve_forever(poll_interval=0.2)
    finally:
        stop.set()
        hub.close()
        server.server_close()
        for s, handler in old.items():
            signal.signal(s, handler)
    return got[0] if got else None


def parse_hostport(text: str) -> tuple[str, int]:
    """``PORT``, ``:PORT`` or ``HOST:PORT`` (loopback when no host)."""
    import click

    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or "127.0.0.1"
    try:
        p = int(port)
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected [HOST:]PORT") from None
    if not 0 <= p <= 65535:
        raise click.BadParameter(f"{text!r}: port out of range")
    return host, p
