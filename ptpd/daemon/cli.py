"""``ptpd run`` (the daemon) and ``ptpd keys`` (CURVE key pairs for TCP beyond loopback)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from ptpd.camera import vendors
from ptpd.daemon.config import LOG_LEVELS, VENDORS, ConfigError, load_config
from ptpd.extras import require
from ptpd.ptpip_ini import IniError, parse_port

#: exit status when the configuration is unusable (the ptp-ip tool's "config file error")
EXIT_CONFIG = 102
#: exit status after SIGINT (Ctrl-C), as a shell reports a process killed by it (128 + 2)
EXIT_INTERRUPTED = 130

log = logging.getLogger("ptpd")


class PortParam(click.ParamType):
    """A TCP port, decimal or ``0x`` hex as the ptp-ip tool's INI takes it, 1-65535:
    refused when the command line is read, not retried forever at connect time."""

    name = "PORT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            return parse_port(value)
        except IniError:
            self.fail(f"{value!r} is not a port number in 1-65535 (decimal or 0x hex)", param, ctx)


PORT = PortParam()

# syslog priorities journald reads from a "<N>" line prefix (sd-daemon(3))
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class _JournalFormatter(logging.Formatter):
    """One line per record; ``<N>`` priority prefix when stderr goes to journald."""

    def __init__(self, journal: bool) -> None:
        fmt = "%(name)s: %(message)s" if journal else "%(asctime)s %(levelname)s %(name)s: %(message)s"
        super().__init__(fmt)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\n", " | ")  # tracebacks too stay one line
        if self.journal:
            return f"<{_PRIORITY.get(record.levelno, 6)}>{text}"
        return text


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JournalFormatter(bool(os.environ.get("JOURNAL_STREAM"))))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-f",
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    envvar="PTPD_CONFIG",
    metavar="FILE",
    help="TOML config file, or the ptp-ip tool's INI ([initiator], [responder], [server]).",
)
@click.option("--camera", "host", metavar="HOST[:PORT]", help="Camera address (PTPD_CAMERA).")
@click.option(
    "--vendor",
    type=click.Choice(VENDORS),
    help="Camera dialect (default: auto on port 15740, else generic): "
    + "; ".join(f"{v.name}, {v.description}" for v in (*vendors.VENDORS.values(), vendors.AUTO))
    + ".",
)
@click.option("--port", type=PORT, help="Generic: the camera's one PTP/IP port (15740).")
@click.option("--cmd-port", type=PORT, help="Fuji: command/data port (55740).")
@click.option("--event-port", type=PORT, help="Fuji: event port (55741).")
@click.option("--stream-port", type=PORT, help="Fuji: live-view port (55742).")
@click.option("--guid", help="Initiator GUID (default: generated once, kept in the state directory).")
@click.option("--name", help="Initiator friendly name the camera shows (default ptpd).")
@click.option("--command-endpoint", help="Command socket (ROUTER) endpoint.")
@click.option("--event-endpoint", help="Event socket (PUB) endpoint.")
@click.option("--liveview-endpoint", help="Live-view socket (PUB) endpoint.")
@click.option(
    "--curve-secret-key",
    type=click.Path(dir_okay=False),
    help="Server secret key file (from 'ptpd keys'); needed for TCP beyond loopback.",
)
@click.option("--curve-clients", type=click.Path(file_okay=False), help="Directory of allowed client public keys.")
@click.option(
    "--simulate", type=click.Choice(VENDORS), help="Run a simulated camera inside the daemon instead of a real one."
)
@click.option("--sim-model", help="Simulated camera model.")
@click.option("--sim-latency", type=float, help="Simulated per-transaction latency, ms.")
@click.option("--timeout", type=float, help="Seconds a camera transaction may take (10).")
@click.option("--keepalive", type=float, help="Idle seconds before a keep-awake poll; 0 turns it off (10).")
@click.option("--reconnect-max", type=float, help="Longest wait between reconnect attempts, seconds (5).")
@click.option(
    "--release-priority",
    type=click.IntRange(0, 99),
    help="Real-time priority (SCHED_FIFO) of a scheduled release, 1-99; 0 off (0). See docs/rigs.md.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    help="Where the GUID is kept ($STATE_DIRECTORY, $XDG_STATE_HOME/ptpd).",
)
@click.option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False), help="Log level (info).")
@click.option("-v", "--verbose", count=True, help="-v info, -vv debug (like the ptp-ip tool's -v).")
def run(config_file: str | None, verbose: int, **flags: Any) -> None:
    """Run the daemon for one camera (or an embedded simulated one).

    Precedence: flags > config file > PTPD_* environment > defaults. Exit status: 0 after
    SIGTERM, 130 after SIGINT (Ctrl-C), 1 when the bus cannot be bound, 102 for an
    unusable configuration.
    """
    if verbose and not flags.get("log_level"):
        flags["log_level"] = "debug" if verbose > 1 else "info"
    try:
        cfg = load_config(flags, config_file)
    except ConfigError as exc:
        click.echo(f"ptpd: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    if cfg.simulate:  # before anything starts: one line naming the extra (ptpd.cli prints it)
        require("sim", "ptpd run --simulate")
    setup_logging(cfg.log_level)
    for warning in cfg.warnings:
        log.warning("%s", warning)
    interrupted = [False]
    try:
        code = asyncio.run(_serve_noting_sigint(cfg, interrupted))
    except KeyboardInterrupt:  # a second ^C while stopping
        interrupted[0] = True
        code = 0
    if interrupted[0] and code == 0:
        click.echo("ptpd: interrupted", err=True)
        code = EXIT_INTERRUPTED
    sys.exit(code)


async def _serve_noting_sigint(cfg: Any, interrupted: list[bool]) -> int:
    """Run the daemon; note whether it was SIGINT that stopped it (exit 130, not 0).

    The daemon stops the same way on SIGTERM and SIGINT. Once it has taken both
    signals (in its first step), SIGINT is taken over here: it is noted, then turned
    into the SIGTERM the daemon stops on.
    """
    import signal

    from ptpd.daemon.server import serve

    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(serve(cfg))
    await asyncio.sleep(0)  # serve() installs its signal handlers before its first await

    def on_sigint() -> None:
        interrupted[0] = True
        os.kill(os.getpid(), signal.SIGTERM)

    if not task.done():
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    return await task


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--name", default="server", show_default=True, help="Base name: NAME.key (public) and NAME.key_secret.")
def keys(directory: str, name: str) -> None:
    """Make a CURVE key pair in DIRECTORY for TCP beyond loopback.

    \b
    Server:  ptpd keys /etc/ptpd/keys            -> server.key, server.key_secret
             run with --curve-secret-key /etc/ptpd/keys/server.key_secret
                      --curve-clients /etc/ptpd/clients.d
    Client:  ptpd keys ~/.config/ptpd --name laptop
             copy laptop.key (public) into /etc/ptpd/clients.d on the server;
             the client uses laptop.key_secret and the server's server.key.
    """
    import zmq.auth

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    for suffix in (".key", ".key_secret"):
        if (d / f"{name}{suffix}").exists():
            raise click.ClickException(f"{d / (name + suffix)} exists; not overwriting")
    public, secret = zmq.auth.create_certificates(str(d), name)
    os.chmod(secret, 0o600)
    click.echo(f"public key: {public}")
    click.echo(f"secret key: {secret}")
