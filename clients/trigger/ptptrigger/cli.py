"""``ptptrigger``: shoot when the live view shows motion or a face.

Frames come through the client's latest-frame mailbox, so analysis always works on the
newest frame however slow it is. Each trigger is logged (one line, or JSON) with the
frame sequence that fired it, what was seen, and the capture latency.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from ptpd import __version__
from ptpd.extras import require
from ptpd_client import Client, ClientError
from ptpd_console.errors import (
    EXIT_HELP,
    CliError,
    Exit,
    Interrupted,
    from_client_error,
    interrupts_as_errors,
    run_console,
)
from ptpd_console.files import Incomplete
from ptpd_console.liveview import NoFrame, check_liveview, next_frame
from ptpd_console.options import daemon_options, open_client
from ptpd_console.shots import capture_shots, save_shot
from ptpd_console.targets import TargetError, check_directory

#: the face detector's defaults: strict enough that the simulator's grass, trees and
#: clouds never pass for a face (its test scene's face scores 26-61 neighbours, the
#: scenery at most 6, tests/test_trigger.py), loose enough for a face filling a tenth of
#: a VGA frame
FACE_NEIGHBOURS = 10
FACE_MIN_SIZE = 40

log = logging.getLogger("ptptrigger")


class Trigger:
    """The loop: frames -> detectors -> (cooldown, max shots) -> capture -> log line."""

    def __init__(
        self,
        client: Client,
        detectors: list[Any],
        *,
        roi: str | None = None,
        cooldown: float = 2.0,
        max_shots: int | None = None,
        dry_run: bool = False,
        output_dir: Path | None = None,
        as_json: bool = False,
        echo: Any = click.echo,
    ) -> None:
        self.client = client
        self.detectors = detectors
        self.roi_spec = roi
        self.cooldown = cooldown
        self.max_shots = max_shots
        self.dry_run = dry_run
        self.output_dir = output_dir
        self.as_json = as_json
        self.echo = echo
        self.shots = 0
        self.frames = 0
        self.triggers: list[dict[str, Any]] = []
        self._stop = False
        self._last = float("-inf")

    def stop(self, *_: Any) -> None:
        self._stop = True

    def run(self, duration: float | None = None, frame_timeout: float = 5.0) -> int:
        """Analyse frames until ``duration`` passes, ``max_shots`` are taken, or stop()."""
        from .detect import parse_roi

        check_liveview(self.client.status())  # known to have none: say so now
        start = time.monotonic()
        roi = None
        with self.client.frames() as frames:
            while not self._stop:
                if duration is not None and time.monotonic() - start >= duration:
                    break
                if self.max_shots is not None and self.shots >= self.max_shots:
                    break
                wait = (
                    frame_timeout
                    if duration is None
                    else max(0.05, min(frame_timeout, duration - (time.monotonic() - start)))
                )
                try:
                    # the run's last wait cut short by its duration: the message names the duration
                    waited = duration if duration is not None and wait < frame_timeout and not self.frames else None
                    frame = next_frame(self.client, frames, wait, waited=waited)
                except NoFrame:
                    # the run's time is up: that is the end, once frames have come at all
                    if duration is not None and time.monotonic() - start >= duration and self.frames:
                        break
                    raise
                img = frame.decode()
                if img is None:
                    continue
                self.frames += 1
                if roi is None and self.roi_spec:
                    roi = parse_roi(self.roi_spec, img.shape[1], img.shape[0])
                if roi is not None:
                    x, y, w, h = roi
                    img = img[y : y + h, x : x + w]
                hit = None
                for det in self.detectors:  # every detector sees every frame (motion keeps learning)
                    found = det(img)
                    hit = hit or found
                if hit is None:
                    continue
                now = time.monotonic()
                if now - self._last < self.cooldown:
                    continue
                self._last = now
                self._fire(frame, hit, now)
        return self.shots

    def _fire(self, frame: Any, hit: Any, detected_at: float) -> None:
        record: dict[str, Any] = {
            "trigger": len(self.triggers) + 1,
            "frame_seq": frame.seq,
            "kind": hit.kind,
            "area": hit.area,
            "box": list(hit.box),
            "frame_age_ms": round((time.time() - frame.received) * 1000, 1) if frame.received else None,
            "dry_run": self.dry_run,
            "t": round(detected_at, 3),  #: time.monotonic() of the detection (cooldown is measured on it)
        }
        if not self.dry_run:
            t0 = time.monotonic()
            # the daemon downloads the shot by the handle the camera reported
            try:
                fetched = capture_shots(
                    self.client,
                    1,
                    want_data=self.output_dir is not None,
                    save_into=[self.output_dir] if self.output_dir is not None else [],
                )
            except TargetError as exc:  # the directory went away since the start: no shot
                raise CliError(f"trigger {len(self.triggers) + 1}: {exc}; nothing was captured", Exit.USAGE) from None
            shot, source = fetched[0] if fetched else (None, None)
            record["latency_s"] = round(time.monotonic() - t0, 3)
            record["handle"] = shot.handle if shot else None
            record["filename"] = shot.filename if shot else None
            if source is not None:
                record["source"] = source
            if shot is not None and shot.data is not None and self.output_dir is not None:
                try:
                    dest = save_shot(shot, source, self.output_dir, f"trigger-{frame.seq}.jpg")
                except Incomplete as exc:
                    raise CliError(
                        f"trigger {len(self.triggers) + 1}: download incomplete ({exc}); {exc.path} not "
                        "written; the image stays on the camera",
                        Exit.ERROR,
                    ) from None
                record["path"] = str(dest)
        else:
            record["latency_s"] = None
        record["reaction_s"] = round(time.monotonic() - detected_at, 3)
        self.shots += 1
        self.triggers.append(record)
        if self.as_json:
            self.echo(json.dumps(record))
        else:
            what = "would capture" if self.dry_run else f"captured {record.get('filename') or record.get('handle')}"
            latency = "" if record["latency_s"] is None else f" latency={record['latency_s']:.3f}s"
            saved = f" saved={record['path']}" if record.get("path") else ""
            self.echo(
                f"trigger {record['trigger']}: frame seq={frame.seq} {hit.kind} area={hit.area}px "
                f"-> {what}{latency}{saved}"
            )
        sys.stdout.flush()


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=EXIT_HELP)
@daemon_options
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds to wait for replies and frames.",
)
@click.option("--motion", is_flag=True, help="Trigger on motion (background subtraction).")
@click.option("--face", is_flag=True, help="Trigger on a face (OpenCV's bundled Haar cascade).")
@click.option(
    "--face-neighbours",
    type=click.IntRange(min=1),
    default=FACE_NEIGHBOURS,
    show_default=True,
    metavar="N",
    help="Overlapping detections a face needs: higher is stricter (fewer false faces).",
)
@click.option(
    "--face-min-size",
    type=click.IntRange(min=8),
    default=FACE_MIN_SIZE,
    show_default=True,
    metavar="PX",
    help="Smallest face that counts, in pixels (width and height).",
)
@click.option(
    "--sensitivity", type=click.FloatRange(0, 100), default=50, show_default=True, help="Motion sensitivity, 0-100."
)
@click.option(
    "--min-area",
    type=click.IntRange(min=1),
    default=400,
    show_default=True,
    help="Smallest moving blob that counts, in pixels.",
)
@click.option("--roi", metavar="X,Y,W,H", help="Only look inside this region (pixels, or fractions of the frame).")
@click.option(
    "--cooldown",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="Quiet time after each trigger.",
)
@click.option("--max-shots", type=click.IntRange(min=1), default=None, help="Stop after N triggers.")
@click.option("--duration", type=click.FloatRange(min=0), default=None, metavar="SECONDS", help="Stop after SECONDS.")
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=8,
    show_default=True,
    help="Frames that only train the motion model.",
)
@click.option("--dry-run", is_flag=True, help="Log triggers without capturing.")
@click.option(
    "-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), help="Download each shot into DIR."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per trigger.")
@click.option("-v", "--verbose", count=True, help="More detail.")
@click.version_option(__version__, prog_name="ptptrigger")
def cli(
    command_endpoint: str | None,
    event_endpoint: str | None,
    liveview_endpoint: str | None,
    curve_server_key: str | None,
    curve_client_key: str | None,
    timeout: float,
    motion: bool,
    face: bool,
    face_neighbours: int,
    face_min_size: int,
    sensitivity: float,
    min_area: int,
    roi: str | None,
    cooldown: float,
    max_shots: int | None,
    duration: float | None,
    warmup: int,
    dry_run: bool,
    output_dir: Path | None,
    as_json: bool,
    verbose: int,
) -> None:
    """Watch the live view and release the shutter when something moves (--motion) or a
    face appears (--face). Each trigger is logged with the frame sequence that fired it
    and the capture latency."""
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            stream=sys.stderr,
            format="ptptrigger: %(levelname)s %(message)s",
        )
    if not (motion or face):
        raise click.UsageError("choose at least one of --motion and --face")
    if roi:
        from .detect import parse_roi

        try:
            parse_roi(roi, 10_000, 10_000)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--roi") from None
    require("trigger", "ptptrigger")
    from .detect import FaceDetector, MotionDetector

    detectors: list[Any] = []
    if motion:
        detectors.append(MotionDetector(sensitivity, min_area, warmup))
    if face:
        detectors.append(FaceDetector(min_size=face_min_size, neighbours=face_neighbours))
    if output_dir is not None and not dry_run:
        try:  # check, then fire: before watching, not at the first trigger
            check_directory(output_dir)
        except TargetError as exc:
            raise CliError(str(exc), Exit.USAGE) from None
    client = open_client(
        command_endpoint, event_endpoint, liveview_endpoint, timeout, curve_server_key, curve_client_key
    )
    with client:
        trig = Trigger(
            client,
            detectors,
            roi=roi,
            cooldown=cooldown,
            max_shots=max_shots,
            dry_run=dry_run,
            output_dir=output_dir,
            as_json=as_json,
        )
        got: list[int] = []

        def on_signal(signum: int, _frame: Any) -> None:
            got.append(signum)  # the shot in progress finishes; then the loop ends
            trig.stop()

        old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        t0 = time.monotonic()
        try:
            client.ping()
            trig.run(duration, frame_timeout=max(timeout, 5.0))
        except ClientError as exc:
            raise from_client_error(exc) from None
        finally:
            for s, h in old.items():
                signal.signal(s, h)
        summary = f"{trig.shots} trigger(s) in {time.monotonic() - t0:.1f} s, {trig.frames} frame(s) analysed"
        if signal.SIGINT in got:
            raise Interrupted(f"interrupted after {summary}")
        click.echo(f"ptptrigger: {summary}", err=True)


interrupts_as_errors(cli)


def main() -> None:
    """Console entry point: one line on stderr for any error, the console clients' exit codes."""
    run_console(cli, "ptptrigger")
