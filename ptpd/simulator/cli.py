"""``ptpd simulate``: serve a simulated camera over real PTP/IP sockets until stopped.

Prints one line saying where it listens, e.g.
``ptpd simulate: generic camera "ptpd Virtual Camera" on 127.0.0.1:15740``, then serves
until SIGINT or SIGTERM and exits 0. SIGUSR1 presses the shutter button on the body (a
picture no host asked for, as a photographer takes one: ObjectAdded to a connected host).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any

import click

from ptpd.simulator import DEFAULT_PORTS, VENDORS, start_simulator
from ptpd.simulator.faults import Faults, Malformed


class _KindsType(click.ParamType):
    name = "KINDS"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[Malformed, ...]:
        if isinstance(value, tuple):
            return value
        try:
            return Malformed.parse(str(value))
        except ValueError:
            self.fail(f"{value!r}: use 'all' or a comma list of {', '.join(k.value for k in Malformed)}", param, ctx)


def _rate(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise click.BadParameter("a rate is a probability per transaction, 0..1")
    return value


#: the vendor options each simulated body takes
_VENDOR_OPTIONS = {
    "fuji": frozenset({"pairing_delay", "refuse_pairing", "strict_name", "liveview_fps", "subject", "capture_style"}),
    "canon": frozenset({"pairing_delay", "refuse_pairing", "liveview_fps", "subject"}),
}


@click.command(short_help="Serve a simulated camera over real PTP/IP sockets.")
@click.option(
    "--vendor", type=click.Choice(VENDORS), default="generic", show_default=True, help="Which camera to simulate."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Command port (0 = any free port). Default 15740 generic and canon, 55740 fuji.",
)
@click.option(
    "--latency",
    "latency_ms",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Delay each transaction by this many ms, as a Wi-Fi link and a camera would.",
)
@click.option(
    "--jitter",
    "latency_jitter_ms",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Add to each transaction's --latency up to this many ms more (uniform).",
)
@click.option(
    "--link-mbps",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Generic: send object data at most this many MB/s, as a camera's link would (0: no limit).",
)
@click.option("--model", default=None, help="Model name the camera reports.")
@click.option(
    "--images",
    "initial_images",
    type=click.IntRange(0, 1000),
    default=None,
    help="Images on the card at start (default 3).",
)
@click.option(
    "--big-object-mb",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Also put one image of about this many MB on the card (benchmarks).",
)
@click.option(
    "--image-mb",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Generic: every picture grown to about this many MB, a real JPEG still (benchmarks).",
)
@click.option(
    "--drop-rate",
    type=float,
    default=0.0,
    callback=_rate,
    help="Fault: chance per transaction to close every socket (also mid data phase).",
)
@click.option(
    "--stall-rate",
    type=float,
    default=0.0,
    callback=_rate,
    help="Fault: chance per transaction to stop answering for --stall-seconds.",
)
@click.option(
    "--stall-seconds", type=click.FloatRange(0), default=10.0, show_default=True, help="How long a stall lasts."
)
@click.option(
    "--slow-rate",
    type=float,
    default=0.0,
    callback=_rate,
    help="Fault: chance per transaction to answer --slow-ms late.",
)
@click.option(
    "--slow-ms", type=click.FloatRange(0), default=500.0, show_default=True, help="How late a slow answer is (about)."
)
@click.option(
    "--busy-rate",
    type=float,
    default=0.0,
    callback=_rate,
    help="Fault: chance per transaction to turn DeviceBusy for --busy-seconds.",
)
@click.option(
    "--busy-seconds", type=click.FloatRange(0), default=2.0, show_default=True, help="How long a busy spell lasts."
)
@click.option(
    "--malformed-rate",
    type=float,
    default=0.0,
    callback=_rate,
    help="Fault: chance per transaction to send a malformed packet.",
)
@click.option(
    "--malformed-kinds",
    type=_KindsType(),
    default="all",
    show_default=True,
    help="Which malformed packets: all, or a comma list of " + ", ".join(k.value for k in Malformed) + ".",
)
@click.option(
    "--refuse-init-rate",
    type=float,
    default=0.0,
    callback=_rate,
    help="Fault: chance to answer an init request with Init Fail.",
)
@click.option("--refuse-inits", type=click.IntRange(0), default=0, help="Fault: refuse the first N init requests.")
@click.option(
    "--sleep-after", type=click.FloatRange(0), default=None, help="Fault: fall asleep after this many idle seconds."
)
@click.option(
    "--wake-after",
    type=click.FloatRange(0),
    default=5.0,
    show_default=True,
    help="Asleep, come back after this many seconds.",
)
@click.option("--fault-seed", type=int, default=None, help="Seed for the fault dice (reproducible runs).")
@click.option(
    "--pairing-delay",
    type=click.FloatRange(0),
    default=None,
    help="Fuji, Canon: seconds until the camera's user accepts a new client (Fuji default 1, Canon 0: no prompt).",
)
@click.option("--refuse-pairing", is_flag=True, default=False, help="Fuji, Canon: the user declines new clients.")
@click.option(
    "--strict-name",
    is_flag=True,
    default=False,
    help="Fuji: refuse (Init Fail 0x2019) names other than the paired client's.",
)
@click.option(
    "--fps",
    "liveview_fps",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Fuji, Canon: live-view frames per second (default 30).",
)
@click.option(
    "--subject",
    default=None,
    help="Fuji, Canon: what the scene shows: object (default), none, face, or a schedule such as "
    "'none,object@3' (object from t=3 s) or 'face@2-5'.",
)
@click.option(
    "--capture-style",
    type=click.Choice(["auto", "fuji", "standard"]),
    default=None,
    help="Fuji: X-T1 capture events with preview lock, or standard PTP events (auto: by client).",
)
@click.option("-v", "--verbose", count=True, help="Log to stderr (-v info, -vv debug).")
def simulate(
    vendor: str,
    host: str,
    port: int | None,
    latency_ms: float,
    latency_jitter_ms: float,
    link_mbps: float,
    model: str | None,
    initial_images: int | None,
    big_object_mb: float,
    image_mb: float,
    drop_rate: float,
    stall_rate: float,
    stall_seconds: float,
    slow_rate: float,
    slow_ms: float,
    busy_rate: float,
    busy_seconds: float,
    malformed_rate: float,
    malformed_kinds: tuple[Malformed, ...],
    refuse_init_rate: float,
    refuse_inits: int,
    sleep_after: float | None,
    wake_after: float,
    fault_seed: int | None,
    pairing_delay: float | None,
    refuse_pairing: bool,
    strict_name: bool,
    liveview_fps: float | None,
    subject: str | None,
    capture_style: str | None,
    verbose: int,
) -> None:
    """Serve a simulated camera (generic PTP/IP, Fujifilm Wi-Fi or Canon EOS) on real TCP sockets.

    SIGUSR1 presses the generic body's shutter button: a picture taken on the camera
    itself, announced to a connected host (what a tethered download picks up).

    Point any PTP/IP client at it, e.g.

    \b
      gphoto2 --camera "PTP/IP Camera" --port ptpip:127.0.0.1:15740:15740 --summary
      gphoto2 --camera "Fuji X (WLAN)" --port ptpip:127.0.0.1:55740:55741 --summary
      gphoto2 --camera "PTP/IP Camera" --port ptpip:127.0.0.1:15740:15740 --summary   (--vendor canon)
    """
    logging.basicConfig(
        level=logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    faults = Faults(
        drop_rate=drop_rate,
        stall_rate=stall_rate,
        stall_s=stall_seconds,
        slow_rate=slow_rate,
        slow_ms=slow_ms,
        busy_rate=busy_rate,
        busy_s=busy_seconds,
        malformed_rate=malformed_rate,
        malformed_kinds=malformed_kinds,
        refuse_init_rate=refuse_init_rate,
        sleep_after_s=sleep_after,
        wake_after_s=wake_after,
        seed=fault_seed,
    )
    if refuse_inits:
        faults.refuse_next_inits(refuse_inits)
    # Only what the user asked for goes to the vendor's simulator, so each keeps its defaults.
    options: dict[str, Any] = {"faults": faults}
    if initial_images is not None:
        options["initial_images"] = initial_images
    if big_object_mb:
        options["big_object_mb"] = big_object_mb
    if latency_jitter_ms:
        options["latency_jitter_ms"] = latency_jitter_ms
    if image_mb:
        if vendor != "generic":
            raise click.UsageError("--image-mb is for --vendor generic only")
        options["image_mb"] = image_mb
    if link_mbps:
        if vendor != "generic":
            raise click.UsageError("--link-mbps is for --vendor generic only")
        options["link_mbps"] = link_mbps
    fuji_options = {
        "pairing_delay": pairing_delay,
        "refuse_pairing": refuse_pairing or None,
        "strict_name": strict_name or None,
        "liveview_fps": liveview_fps,
        "subject": subject,
        "capture_style": capture_style,
    }
    fuji_options = {k: v for k, v in fuji_options.items() if v is not None}
    taken = _VENDOR_OPTIONS.get(vendor, frozenset())
    for key in fuji_options:
        if key not in taken:
            flag = {"liveview_fps": "fps"}.get(key, key)
            users = " or ".join(v for v, keys in _VENDOR_OPTIONS.items() if key in keys)
            raise click.UsageError(f"--{flag.replace('_', '-')} is for --vendor {users} only")
    if subject is not None:
        from ptpd.simulator.scene import SceneSchedule

        try:
            SceneSchedule.parse(subject)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--subject") from exc
    options.update(fuji_options)
    port = DEFAULT_PORTS[vendor] if port is None else port
    try:
        asyncio.run(_serve(vendor, host, port, model, latency_ms, options))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


async def _serve(
    vendor: str, host: str, port: int, model: str | None, latency_ms: float, options: dict[str, Any]
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sim = await start_simulator(vendor, host, port, model=model, latency_ms=latency_ms, **options)
    presses: set[asyncio.Task[Any]] = set()
    press = getattr(sim, "press_shutter", None)
    if press is not None:

        def pressed() -> None:
            task = loop.create_task(press(1))
            presses.add(task)
            task.add_done_callback(presses.discard)

        loop.add_signal_handler(signal.SIGUSR1, pressed)
    try:
        where = f"{sim.host}:{sim.port}"
        extra = ""
        if vendor == "fuji":
            extra = f" (events {sim.event_port}, live view {getattr(sim, 'liveview_port', sim.port + 2)})"
        model_name = getattr(sim, "model", None) or getattr(getattr(sim, "profile", None), "model", None)
        label = f' "{model_name}"' if isinstance(model_name, str) and model_name else ""
        click.echo(f"ptpd simulate: {vendor} camera{label} on {where}{extra}")
        sys.stdout.flush()
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await sim.close()
