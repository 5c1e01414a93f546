"""``ptpview``: live view with the viewfinder overlay, in a window, a file, or a browser.

The overlay follows the camera state through the ``state.*`` events after one
``snapshot`` (never polled). Frames come through the client's latest-frame mailbox, so a
slow window or browser always shows the newest frame. Any number of viewers can run at
once; each has its own subscription.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click
import cv2
import numpy as np

from ptpd import __version__
from ptpd_client import Client, ClientError, Event, RequestTimeout
from ptpd_console.errors import (
    EXIT_HELP,
    CliError,
    Exit,
    Interrupted,
    from_client_error,
    interrupts_as_errors,
    run_console,
)
from ptpd_console.files import FileExists, write_atomic
from ptpd_console.liveview import check_liveview, next_frame
from ptpd_console.mjpeg import FrameHub, page, parse_hostport, serve_until_stopped
from ptpd_console.options import daemon_options, open_client
from ptpd_console.targets import has_display

from .overlay import ViewState, draw

log = logging.getLogger("ptpview")


class StateFollower(threading.Thread):
    """Keeps a :class:`ViewState` current from ``snapshot`` + ``state.*`` events, and its
    running jobs from ``job.list`` + ``job.<id>`` events."""

    def __init__(self, client: Client, state: ViewState) -> None:
        super().__init__(name="ptpview-state", daemon=True)
        self.client = client
        self.state = state
        self._stop_event = threading.Event()
        self.ready = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(2.0)

    def run(self) -> None:
        try:
            with self.client.events(["state.", "job."]) as stream:
                while not self._stop_event.is_set():
                    try:
                        item = stream.get(0.2)
                    except RequestTimeout:
                        continue
                    if isinstance(item, Event):
                        self.state.apply_event(item.topic, item.data)
                    else:  # a snapshot: the first one, or a resync after a gap
                        load_state(self.client, self.state, item)
                        self.ready.set()
        except ClientError as exc:
            log.warning("state updates stopped: %s", exc)
        finally:
            self.ready.set()


def load_state(client: Client, state: ViewState, snapshot: Any | None = None) -> None:
    """Fill ``state`` from a snapshot (taken now if not given); if the daemon has not
    cached any state yet, ask the camera once. Then the battery's scale (see
    :func:`load_ranges`) and the jobs running."""
    snap = snapshot if snapshot is not None else client.snapshot()
    try:
        for job in client.jobs.list():
            state.update_job(job)
    except ClientError as exc:  # a daemon without jobs: nothing to show
        log.info("no jobs for the overlay: %s", exc)
    if snap.state:
        state.replace(snap.state)
    else:
        try:
            for p in client.state():
                state.update(p.name, p)
        except ClientError as exc:
            log.info("no camera state for the overlay: %s", exc)
    load_ranges(client, state)


def load_ranges(client: Client, state: ViewState) -> None:
    """The battery's lowest and highest values, from its description: a state entry
    carries the level but not what full is (3 on a Fuji body, 100 on others)."""
    p = state.find("battery")
    code = p.get("code") if p is not None else None
    if not isinstance(code, int) or state.range_of(code) is not None:
        return
    try:
        d = client.describe(code)
    except ClientError as exc:
        log.info("no scale for the battery: %s", exc)
        return
    values = [a.value for a in d.allowed if isinstance(a.value, int)]
    if d.range and len(d.range) >= 2:
        state.set_range(code, d.range[0], d.range[1])
    elif values:
        state.set_range(code, min(values), max(values))


def render(frame: Any, state: ViewState | None) -> np.ndarray:
    """The frame decoded, with the overlay when ``state`` is given."""
    img = frame.decode()
    if img is None:
        raise CliError(f"frame {frame.seq} is not a decodable JPEG", Exit.ERROR)
    if state is not None:
        draw(img, state)
    return img


def save_image(path: Path, img: np.ndarray, overwrite: bool) -> None:
    ext = path.suffix.lower() or ".png"
    if ext not in (".png", ".jpg", ".jpeg"):
        raise CliError(f"{path}: use .png or .jpg", Exit.USAGE)
    ok, buf = cv2.imencode(ext, img, [cv2.IMWRITE_JPEG_QUALITY, 92] if ext != ".png" else [])
    if not ok:
        raise CliError(f"cannot encode {path}", Exit.ERROR)
    try:
        write_atomic(path, buf.tobytes(), overwrite=overwrite)
    except FileExists:
        raise CliError(f"{path} exists; use --overwrite to replace it", Exit.USAGE) from None


# -- modes --------------------------------------------------------------------------------


def run_snapshot(
    client: Client, path: Path, overlay: bool, timeout: float, overwrite: bool, bare: Path | None = None
) -> int:
    """Save one frame (with the overlay) and return its sequence number."""
    for p in (path, bare):
        if p is not None and p.exists() and not overwrite:
            raise CliError(f"{p} exists; use --overwrite to replace it", Exit.USAGE)
    check_liveview(client.status())  # known to have none: say so now, not after the timeout
    state = None
    if overlay:
        state = ViewState()
        load_state(client, state)
    with client.frames() as frames:
        frame = next_frame(client, frames, timeout)
    img = frame.decode()
    if img is None:
        raise CliError(f"frame {frame.seq} is not a decodable JPEG", Exit.ERROR)
    if bare is not None:
        save_image(bare, img.copy(), overwrite)
    if state is not None:
        draw(img, state)
    save_image(path, img, overwrite)
    return frame.seq


def run_window(client: Client, overlay: bool = True, title: str = "ptpview") -> None:
    """Show live view in an OpenCV window: space captures, q or Esc quits."""
    if not has_display():
        raise CliError("no display (DISPLAY is not set); use --snapshot FILE or --http HOST:PORT", Exit.ERROR)
    try:
        cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)
    except cv2.error:  # opencv-python-headless ([vision-headless]) has no window code
        raise CliError(
            "this OpenCV cannot open windows (opencv-python-headless); use --snapshot FILE or "
            "--http HOST:PORT, or install 'ptpd[viewer]' instead",
            Exit.CLIENT,
        ) from None
    state = ViewState() if overlay else None
    follower = None
    if state is not None:
        follower = StateFollower(client, state)
        follower.start()
        follower.ready.wait(2.0)
    message: list[Any] = ["", 0.0]

    def shoot() -> None:
        try:
            r = client.capture()
            names = ", ".join(s.filename or hex(s.handle or 0) for s in r.shots)
            message[:] = [f"captured {names}", time.monotonic() + 3]
        except ClientError as exc:
            message[:] = [f"capture failed: {exc}", time.monotonic() + 5]

    try:
        with client.frames(timeout=0.1) as frames:
            while True:
                try:
                    frame = frames.get(0.05)
                    img = render(frame, state)
                    if message[0] and time.monotonic() < message[1]:
                        cv2.putText(
                            img, message[0], (10, img.shape[0] // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2
                        )
                    cv2.imshow(title, img)
                except RequestTimeout:
                    pass
                key = cv2.waitKey(1) & 0xFF
                if key in (ord("q"), 27):
                    break
                if key == ord(" "):
                    threading.Thread(target=shoot, daemon=True).start()
                if cv2.getWindowProperty(title, cv2.WND_PROP_VISIBLE) < 1:
                    break
    finally:
        cv2.destroyAllWindows()
        if follower is not None:
            follower.stop()


def run_http(client: Client, host: str, port: int, overlay: bool, ready: Any = None) -> None:
    """Serve ``/`` (a page), ``/stream.mjpg`` (MJPEG) and ``/snapshot.jpg`` until SIGINT/SIGTERM."""
    hub = FrameHub()
    state = ViewState() if overlay else None
    follower = StateFollower(client, state) if state is not None else None
    if follower is not None:
        follower.start()
        follower.ready.wait(2.0)
    stop = threading.Event()

    def produce() -> None:
        try:
            with client.frames() as frames:
                while not stop.is_set():
                    try:
                        frame = frames.get(0.2)
                    except RequestTimeout:
                        continue
                    if state is None:
                        hub.publish(frame.jpeg)  # the camera's bytes, untouched
                        continue
                    img = render(frame, state)
                    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
                    if ok:
                        hub.publish(buf.tobytes())
        except Exception as exc:  # the server stays up and says why frames stopped
            log.error("live view stopped: %s", exc)
        finally:
            hub.close()

    def announce(h: str, p: int) -> None:
        click.echo(f"ptpview: serving live view on http://{h}:{p}/ (MJPEG at /stream.mjpg)", err=True)

    producer = threading.Thread(target=produce, name="ptpview-frames", daemon=True)
    producer.start()
    html = page("ptpview live view", f"ptpview &middot; live view from {client.command_endpoint}")
    try:
        stopped_by = serve_until_stopped(
            hub, host, port, html, name="ptpview", stop=stop, announce=announce, ready=ready
        )
    finally:
        stop.set()
        producer.join(2.0)
        if follower is not None:
            follower.stop()
    if stopped_by == signal.SIGINT:
        raise Interrupted()  # SIGTERM is the way to stop a server for good: exit 0


# -- command line ----------------------------------------------------------------------------


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=EXIT_HELP)
@daemon_options
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds to wait for replies and the first frame.",
)
@click.option("--no-overlay", is_flag=True, help="Bare frames, without the viewfinder overlay.")
@click.option(
    "--snapshot",
    "snapshot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save one frame (PNG or JPEG by extension) and exit.",
)
@click.option(
    "--bare",
    "bare_path",
    type=click.Path(dir_okay=False, path_type=Path),
    hidden=True,
    help="With --snapshot: also save the same frame without overlay.",
)
@click.option("--overwrite", is_flag=True, help="With --snapshot: replace an existing file.")
@click.option(
    "--http",
    "http_addr",
    metavar="[HOST:]PORT",
    help="Serve an MJPEG stream and a page on HOST:PORT (default host 127.0.0.1).",
)
@click.option("-v", "--verbose", count=True, help="More detail.")
@click.version_option(__version__, prog_name="ptpview")
def cli(
    command_endpoint: str | None,
    event_endpoint: str | None,
    liveview_endpoint: str | None,
    curve_server_key: str | None,
    curve_client_key: str | None,
    timeout: float,
    no_overlay: bool,
    snapshot_path: Path | None,
    bare_path: Path | None,
    overwrite: bool,
    http_addr: str | None,
    verbose: int,
) -> None:
    """Live view from the ptpd daemon with the camera's viewfinder overlay.

    Without options: a window (space captures, q quits). --snapshot FILE saves one
    frame and exits; --http [HOST:]PORT serves the live view to browsers.
    """
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            stream=sys.stderr,
            format="ptpview: %(levelname)s %(message)s",
        )
    if snapshot_path and http_addr:
        raise click.UsageError("--snapshot and --http exclude each other")
    hostport = parse_hostport(http_addr) if http_addr else None
    client = open_client(
        command_endpoint, event_endpoint, liveview_endpoint, timeout, curve_server_key, curve_client_key
    )
    with client:
        try:
            client.ping()
            if snapshot_path is not None:
                seq = run_snapshot(client, snapshot_path, not no_overlay, timeout, overwrite, bare_path)
                click.echo(f"ptpview: frame {seq} saved to {snapshot_path}", err=True)
            elif hostport is not None:
                run_http(client, hostport[0], hostport[1], not no_overlay)
            else:
                run_window(client, not no_overlay)
        except ClientError as exc:
            raise from_client_error(exc) from None


interrupts_as_errors(cli)


def main() -> None:
    """Console entry point: one line on stderr for any error, the console clients' exit codes."""
    run_console(cli, "ptpview")
