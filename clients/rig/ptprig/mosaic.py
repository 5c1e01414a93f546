"""Every camera's live view in one picture: a grid of tiles, one per camera, named.

Each camera's frames come through its own subscription (a receiver thread keeps only the
newest, so a slow mosaic skips frames and never holds a camera up). The mosaic is drawn
at its own rate (``fps``): each tick decodes the newest frame of each camera that has a
new one, at a reduced size where the frame is much bigger than its tile (libjpeg scales
while it decodes: a quarter of the work at half size), and puts it in its tile. A camera
without live view, or with no frame yet, shows why in its tile.

The picture goes to a window, to browsers (MJPEG, :mod:`ptpd_console.mjpeg`) or to a file.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ptpd_client import Client, ClientError, RigCamera

log = logging.getLogger("ptprig")

#: a tile's size, pixels (width, height)
TILE = (320, 240)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


class Mosaic:
    """A grid of tiles, one per camera, in rig order."""

    def __init__(self, names: list[str], tile: tuple[int, int] = TILE, columns: int | None = None) -> None:
        self.names = list(names)
        self.tile = tile
        n = max(1, len(self.names))
        self.columns = max(1, min(columns or math.ceil(math.sqrt(n)), n))
        self.rows = math.ceil(n / self.columns)
        w, h = tile
        self.canvas = np.zeros((self.rows * h, self.columns * w, 3), np.uint8)
        self.frames: dict[str, int] = {}  #: frames put, per camera
        for name in self.names:
            self.note(name, "waiting for live view")

    def _origin(self, name: str) -> tuple[int, int]:
        i = self.names.index(name)
        return (i % self.columns) * self.tile[0], (i // self.columns) * self.tile[1]

    def _label(self, x: int, y: int, text: str) -> None:
        (tw, th), _ = cv2.getTextSize(text, _FONT, 0.5, 1)
        cv2.rectangle(self.canvas, (x, y), (x + tw + 8, y + th + 8), (0, 0, 0), -1)
        cv2.putText(self.canvas, text, (x + 4, y + th + 4), _FONT, 0.5, (255, 255, 255), 1, cv2.LINE_AA)

    def note(self, name: str, text: str) -> None:
        """Say ``text`` in ``name``'s tile instead of a picture."""
        x, y = self._origin(name)
        w, h = self.tile
        self.canvas[y : y + h, x : x + w] = (32, 32, 32)
        self._label(x, y, name)
        cv2.putText(self.canvas, text[:48], (x + 6, y + h // 2), _FONT, 0.42, (180, 180, 255), 1, cv2.LINE_AA)

    def put(self, name: str, jpeg: Any, width: int = 0) -> bool:
        """Decode ``jpeg`` (reduced when ``width`` says it is much wider than a tile) into
        ``name``'s tile, aspect kept; False when it does not decode."""
        w, h = self.tile
        flag = cv2.IMREAD_COLOR
        if width >= 4 * w:
            flag = cv2.IMREAD_REDUCED_COLOR_4
        elif width >= 2 * w:
            flag = cv2.IMREAD_REDUCED_COLOR_2
        img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), flag)
        if img is None:
            return False
        ih, iw = img.shape[:2]
        scale = min(w / iw, h / ih)
        sw, sh = max(1, int(iw * scale)), max(1, int(ih * scale))
        small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
        x, y = self._origin(name)
        self.canvas[y : y + h, x : x + w] = 0
        ox, oy = x + (w - sw) // 2, y + (h - sh) // 2
        self.canvas[oy : oy + sh, ox : ox + sw] = small
        self._label(x, y, name)
        self.frames[name] = self.frames.get(name, 0) + 1
        return True


class Source:
    """One camera's live view: its client and frame stream (a receiver thread)."""

    def __init__(self, cam: RigCamera, timeout: float) -> None:
        self.name = cam.name
        self.client = Client(
            cam.command,
            cam.event,
            cam.liveview,
            timeout=timeout,
            curve_server_key=cam.server_key,
            curve_client_key=cam.client_key,
        )
        self.stream: Any = None
        self.problem: str | None = None

    def open(self) -> None:
        """Ask the daemon whether the camera has live view, then subscribe (which starts it)."""
        try:
            st = self.client.status()
            if st.liveview.unsupported:
                self.problem = f"no live view ({st.liveview.unsupported})"
                return
            if st.connection != "connected":
                self.problem = f"camera {st.connection}"
            self.stream = self.client.frames()
        except ClientError as exc:
            self.problem = f"unreachable: {exc}"

    def recheck(self) -> None:
        """A camera that sends nothing: has the daemon learnt meanwhile that it cannot?"""
        try:
            st = self.client.status()
        except ClientError as exc:
            self.problem = f"unreachable: {exc}"
            return
        if st.liveview.unsupported:
            self.problem = f"no live view ({st.liveview.unsupported})"
        elif st.connection != "connected":
            self.problem = f"camera {st.connection}"

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
        self.client.close()


def open_sources(cameras: list[RigCamera], timeout: float) -> list[Source]:
    """A :class:`Source` per camera, opened side by side (a camera that does not answer
    costs its timeout once, not once per camera)."""
    sources = [Source(c, timeout) for c in cameras]
    with ThreadPoolExecutor(max_workers=min(16, len(sources) or 1)) as pool:
        list(pool.map(Source.open, sources))
    return sources


def run(
    sources: list[Source], mosaic: Mosaic, fps: float, show: Callable[[np.ndarray], bool], stop: threading.Event
) -> None:
    """Draw the mosaic ``fps`` times a second and hand it to ``show`` until ``show``
    returns False or ``stop`` is set."""
    period = 1.0 / fps
    noted: dict[str, str | None] = {}
    next_check = time.monotonic() + 1.0
    while not stop.is_set():
        began = time.monotonic()
        if began >= next_check:  # cameras still dark: ask their daemons why, now and then
            for s in sources:
                if s.stream is not None and not mosaic.frames.get(s.name):
                    s.recheck()
            next_check = began + 2.0
        for s in sources:
            frame = s.stream.mailbox.take() if s.stream is not None else None
            if frame is not None:
                mosaic.put(s.name, frame.jpeg, frame.width)
                noted[s.name] = None
            elif s.problem and noted.get(s.name) != s.problem and not mosaic.frames.get(s.name):
                mosaic.note(s.name, s.problem)
                noted[s.name] = s.problem
        if not show(mosaic.canvas):
            return
        left = period - (time.monotonic() - began)
        if left > 0:
            stop.wait(left)


def snapshot(sources: list[Source], mosaic: Mosaic, path: Path, timeout: float) -> list[str]:
    """Wait (up to ``timeout``) for a frame from every camera that can send one, write the
    mosaic to ``path`` (PNG or JPEG by its name); the cameras that gave none."""
    deadline = time.monotonic() + timeout
    stop = threading.Event()

    def done(_img: np.ndarray) -> bool:
        waiting = [s for s in sources if s.stream is not None and not s.problem and not mosaic.frames.get(s.name)]
        return bool(waiting) and time.monotonic() < deadline

    run(sources, mosaic, 20.0, done, stop)
    ext = path.suffix.lower() or ".png"
    ok, buf = cv2.imencode(ext if ext in (".png", ".jpg", ".jpeg") else ".png", mosaic.canvas)
    if not ok:
        raise ValueError(f"cannot encode {path}")
    from ptpd_console.files import write_atomic

    write_atomic(path, buf.tobytes(), overwrite=True, jpeg=ext in (".jpg", ".jpeg"))
    return [s.name for s in sources if not mosaic.frames.get(s.name)]


def main(
    cameras: list[RigCamera],
    *,
    timeout: float,
    http_addr: str | None,
    snapshot_path: Path | None,
    fps: float,
    tile: tuple[int, int],
    columns: int | None,
) -> None:
    """``ptprig liveview``: the mosaic in a window, served to browsers, or saved once."""
    import click

    from ptpd_console.errors import CliError, Exit, Interrupted
    from ptpd_console.mjpeg import parse_hostport
    from ptpd_console.targets import has_display

    if snapshot_path is None and http_addr is None:
        if not has_display():
            raise CliError("no display (DISPLAY is not set); use --snapshot FILE or --http HOST:PORT", Exit.ERROR)
    host_port = parse_hostport(http_addr) if http_addr else None
    mosaic = Mosaic([c.name for c in cameras], tile, columns)
    sources = open_sources(cameras, timeout)
    try:
        if snapshot_path is not None:
            dark = snapshot(sources, mosaic, snapshot_path, max(timeout, 5.0))
            click.echo(
                f"ptprig: mosaic of {len(sources) - len(dark)} of {len(sources)} camera(s) saved to {snapshot_path}"
                + (f"; no frame from {', '.join(dark)}" if dark else ""),
                err=True,
            )
            return
        stop = threading.Event()
        if host_port is not None:
            if _serve(sources, mosaic, fps, host_port, stop) == 2:  # SIGINT
                raise Interrupted()
            return
        title = "ptprig"
        try:
            cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)
        except cv2.error:
            raise CliError(
                "this OpenCV cannot open windows (opencv-python-headless); use --snapshot FILE or --http HOST:PORT",
                Exit.CLIENT,
            ) from None

        def show(img: np.ndarray) -> bool:
            cv2.imshow(title, img)
            key = cv2.waitKey(1) & 0xFF
            return key not in (ord("q"), 27) and cv2.getWindowProperty(title, cv2.WND_PROP_VISIBLE) >= 1

        try:
            run(sources, mosaic, fps, show, stop)
        finally:
            cv2.destroyAllWindows()
    finally:
        for s in sources:
            s.close()


def _serve(
    sources: list[Source], mosaic: Mosaic, fps: float, host_port: tuple[str, int], stop: threading.Event
) -> int | None:
    import click

    from ptpd_console.mjpeg import FrameHub, page, serve_until_stopped

    hub = FrameHub()

    def publish(img: np.ndarray) -> bool:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            hub.publish(buf.tobytes())
        return True

    def produce() -> None:
        try:
            run(sources, mosaic, fps, publish, stop)
        except Exception as exc:  # the server stays up and says why the mosaic stopped
            log.error("mosaic stopped: %s", exc)
        finally:
            hub.close()

    def announce(h: str, p: int) -> None:
        click.echo(
            f"ptprig: serving the mosaic of {len(sources)} camera(s) on http://{h}:{p}/ (MJPEG at /stream.mjpg)",
            err=True,
        )

    producer = threading.Thread(target=produce, name="ptprig-mosaic", daemon=True)
    producer.start()
    names = ", ".join(s.name for s in sources)
    try:
        return serve_until_stopped(
            hub,
            host_port[0],
            host_port[1],
            page("ptprig live view", f"ptprig &middot; {names}"),
            name="ptprig",
            stop=stop,
            announce=announce,
        )
    finally:
        stop.set()
        producer.join(2.0)
