"""``ptpctl``: the command line of the ptpd daemon.

The ptp-ip tool's command set (capture, describe, get, set, info, state, liveview, opreq,
help) plus status, events, ls, download and an interactive shell. The connection to the
daemon is made lazily on first use (in the manner of flask's ``ScriptInfo``), so ``--help``
works with no daemon. Only click, zmq, msgpack and our light modules are imported on the
command path; OpenCV loads only for ``liveview`` and ``capture --view``.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ptpd import bus
from ptpd_client import ClientError

from .errors import EXIT_HELP, CliError, Exit, from_client_error
from .exits import error_line, report
from .session import UNIFIED_NAMES, Session

__all__ = ["ALIASES", "COMMANDS", "UNIFIED_NAMES", "Session", "cli", "main", "pass_session"]

#: alias -> command (the ptp-ip tool's names for capture)
ALIASES = {"shoot": "capture", "shutter": "capture", "snap": "capture"}

pass_session = click.make_pass_decorator(Session)


def _want_json(session: Session, flag: bool) -> bool:
    return flag or session.json


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (indented on a terminal).")


# -- the group -----------------------------------------------------------------------------


class PtpctlGroup(click.Group):
    """Resolves aliases, turns client errors into exit codes, and prints every error as one
    line on stderr (also usage errors), never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(ALIASES.get(name, name))
        if target is None:
            return None
        import importlib

        module, _, attr = target[0].partition(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # from the table, so that --help imports no command module
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in sorted(COMMANDS)])

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        _, cmd, rest = super().resolve_command(ctx, args)
        return (cmd.name if cmd else None), cmd, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClientError as exc:
            raise from_client_error(exc) from None

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        verbose = 0
        argv = list(sys.argv[1:] if args is None else args)
        for a in argv:
            if a == "--verbose" or (a.startswith("-v") and set(a[1:]) == {"v"}):
                verbose += a.count("v") if a != "--verbose" else 1
        try:
            rv = super().main(args=argv, prog_name=prog_name or "ptpctl", complete_var=complete_var,
                              standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            error_line(f"{exc.format_message()}{hint}")
            code = Exit.USAGE
        except click.ClickException as exc:
            error_line(exc.format_message())
            code = exc.exit_code
        except click.Abort:
            error_line("aborted")
            code = Exit.ERROR
        except (KeyboardInterrupt, Exception) as exc:  # client errors, ^C, broken pipe, bugs
            code = report(exc, verbose)
        else:
            code = rv if isinstance(rv, int) else Exit.OK
        if standalone_mode:
            sys.exit(int(code))
        return int(code)


def _load_config(path: str) -> dict[str, Any]:
    import tomllib

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise CliError(f"config file {path}: {exc.strerror or exc}", Exit.CONFIG) from None
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"config file {path}: {exc}", Exit.CONFIG) from None
    section = data.get("ptpctl", data)
    allowed = {"command_endpoint", "event_endpoint", "liveview_endpoint", "timeout", "curve_server_key", "curve_client_key"}
    unknown = set(k for k in section if not isinstance(section[k], dict)) - allowed
    if unknown:
        raise CliError(f"config file {path}: unknown key(s) {', '.join(sorted(unknown))}", Exit.CONFIG)
    return {k: section[k] for k in allowed if k in section}


def _conf_path(conf: dict[str, Any], key: str, config_path: str | None) -> str | None:
    """A key file named in the config file, relative to the config file's directory."""
    value = conf.get(key)
    if not value:
        return None
    import os

    value = os.path.expanduser(str(value))
    if config_path and not os.path.isabs(value):
        candidate = os.path.join(os.path.dirname(os.path.abspath(config_path)), value)
        if os.path.exists(candidate):
            return candidate
    return value


@click.group(
    "ptpctl",
    cls=PtpctlGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_HELP,
)
@click.option("--command-endpoint", metavar="ENDPOINT", envvar=bus.ENV_COMMAND,
              help="The daemon's command socket (default: ipc:// in the runtime dir; env PTPD_COMMAND_ENDPOINT).")
@click.option("--event-endpoint", metavar="ENDPOINT", envvar=bus.ENV_EVENT,
              help="The daemon's event socket (default: asked from the daemon; env PTPD_EVENT_ENDPOINT).")
@click.option("--liveview-endpoint", metavar="ENDPOINT", envvar=bus.ENV_LIVEVIEW,
              help="The daemon's live-view socket (default: asked from the daemon).")
@click.option("--timeout", type=click.FloatRange(min=0.05), default=None, metavar="SECONDS",
              help="How long to wait for each reply [default: 5].")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="TOML file with command_endpoint, event_endpoint, liveview_endpoint, timeout, "
                   "curve_server_key, curve_client_key.")
@click.option("--curve-server-key", metavar="FILE", envvar=bus.ENV_CURVE_SERVER_KEY,
              help="CURVE: the daemon's public key (server.key from 'ptpd keys', or z85); env PTPD_CURVE_SERVER_KEY.")
@click.option("--curve-client-key", metavar="FILE", envvar=bus.ENV_CURVE_CLIENT_KEY,
              help="CURVE: this client's NAME.key_secret (or z85 secret key); env PTPD_CURVE_CLIENT_KEY.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for every command that prints data.")
@click.option("-v", "--verbose", count=True, help="More detail (-vv: debug log and tracebacks).")
@click.version_option(package_name="ptpd", prog_name="ptpctl")
@click.pass_context
def cli(ctx: click.Context, command_endpoint: str | None, event_endpoint: str | None, liveview_endpoint: str | None,
        timeout: float | None, config_path: str | None, curve_server_key: str | None, curve_client_key: str | None,
        as_json: bool, verbose: int) -> None:
    """Control a camera through the ptpd daemon.

    Properties are named (iso, whitebalance, exposure, exp-bias, effect, delay, flashmode,
    focusmtr, recmode, battery, or any name the camera lists) or given as hex codes
    (0x500F); values are human ("800", "1/250", "+2/3", "Velvia") or raw hex ("0x2").
    """
    if isinstance(ctx.obj, Session):  # the shell passes its session in: keep it
        return
    conf: dict[str, Any] = _load_config(config_path) if config_path else {}
    if verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO, stream=sys.stderr,
                            format="ptpctl: %(levelname)s %(name)s: %(message)s")
    session = Session(
        command_endpoint=command_endpoint or conf.get("command_endpoint"),
        event_endpoint=event_endpoint or conf.get("event_endpoint"),
        liveview_endpoint=liveview_endpoint or conf.get("liveview_endpoint"),
        timeout=float(timeout if timeout is not None else conf.get("timeout", 5.0)),
        verbose=verbose,
        json=as_json,
        curve_server_key=curve_server_key or _conf_path(conf, "curve_server_key", config_path),
        curve_client_key=curve_client_key or _conf_path(conf, "curve_client_key", config_path),
    )
    ctx.obj = session
    ctx.call_on_close(session.close)


# -- parameter types ---------------------------------------------------------------------


class IntParam(click.ParamType):
    """An integer in decimal or hex (``0x``), e.g. an object handle."""

    name = "INT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return int(str(value), 0)
        except ValueError:
            self.fail(f"{value!r} is not an integer (decimal or 0x hex)", param, ctx)


class HexParam(click.ParamType):
    """A hex number, ``0x`` optional (as the ptp-ip tool reads opcodes and params)."""

    name = "HEX"

    def __init__(self, bits: int) -> None:
        self.bits = bits

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        try:
            n = int(text[2:] if text.startswith("0x") else text, 16)
        except ValueError:
            self.fail(f"{value!r} is not a hex number", param, ctx)
        if not 0 <= n < (1 << self.bits):
            self.fail(f"{value!r} does not fit in {self.bits} bits", param, ctx)
        return n


class PropParam(click.ParamType):
    """A property name or hex code; completes from the daemon's property names."""

    name = "PROP"

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        session = ctx.find_object(Session)
        names = session.property_names() if session else UNIFIED_NAMES
        return [CompletionItem(n) for n in names if n.startswith(incomplete)]


PROP = PropParam()


# -- commands (imported on first use) ------------------------------------------------------

#: command -> ("module:attribute", short help); the module loads only when the command runs
COMMANDS: dict[str, tuple[str, str]] = {
    "capture": ("ptpctl.commands.capture:capture", "Release the shutter (aliases: shoot, shutter, snap)."),
    "describe": ("ptpctl.commands.props:describe", "A property's type, access and allowed values."),
    "download": ("ptpctl.commands.storage:download", "Download images by handle."),
    "events": ("ptpctl.commands.stream:events", "Print events as they happen."),
    "get": ("ptpctl.commands.props:get", "A property's current value."),
    "help": ("ptpctl.commands.misc:help_", "Help on a command."),
    "info": ("ptpctl.commands.props:info", "Camera model, firmware, operations and properties."),
    "liveview": ("ptpctl.commands.misc:liveview", "Open the live view window (ptpview)."),
    "ls": ("ptpctl.commands.storage:ls_", "List the images on the camera."),
    "opreq": ("ptpctl.commands.raw:opreq", "Run a raw PTP operation and hex-dump the answer."),
    "set": ("ptpctl.commands.props:set_", "Set a property."),
    "shell": ("ptpctl.commands.misc:shell", "An interactive shell with history and completion."),
    "state": ("ptpctl.commands.props:state", "The camera's current settings."),
    "status": ("ptpctl.commands.props:status", "Daemon and camera connection status."),
}


def main() -> None:
    """Console entry point of the click application (``ptpctl.main:main`` tries the quick
    path for ``get`` and ``set`` first)."""
    cli.main(prog_name="ptpctl")

