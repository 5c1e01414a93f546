"""``ptpctl``: the command line of the ptpd daemon.

The ptp-ip tool's command set (capture, describe, get, set, info, state, liveview, opreq,
help) plus status, events, ls, download, jobs (job), the control lease (lock, unlock) and
an interactive shell. The connection to the
daemon is made lazily on first use (in the manner of flask's ``ScriptInfo``), so ``--help``
works with no daemon. Only click, zmq, msgpack and our light modules are imported on the
command path; OpenCV loads only for ``capture --view``, and ``liveview`` runs ptpview as a
process of its own.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import Any, NoReturn

import click

from ptpd_client import ClientError
from ptpd_console.errors import (
    EXIT_HELP,
    CliError,
    Exit,
    Interrupted,
    error_line,
    from_client_error,
    interrupt_line,
    interrupted,
    report,
)
from ptpd_console.options import daemon_options

from .params import pass_session
from .session import UNIFIED_NAMES, Session

__all__ = ["ALIASES", "COMMANDS", "UNIFIED_NAMES", "Session", "cli", "main", "pass_session"]

#: what click (8.2 on) raises for a bare ``ptpctl``; older click prints the help itself
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())

#: alias -> command (the ptp-ip tool's names for capture)
ALIASES = {"shoot": "capture", "shutter": "capture", "snap": "capture"}

#: command -> (its module in ptpctl.commands, its name there). A command's module is
#: imported when the command is asked for: every ptpctl run pays for what it imports, and
#: a ``get`` need not load capture, jobs or the lease (a test checks the table)
COMMANDS = {
    "capture": ("capture", "capture"),
    "delete": ("storage", "delete"),
    "describe": ("props", "describe"),
    "download": ("storage", "download"),
    "events": ("stream", "events"),
    "get": ("props", "get"),
    "help": ("misc", "help_"),
    "info": ("props", "info"),
    "job": ("jobs", "job"),
    "liveview": ("misc", "liveview"),
    "lock": ("lease", "lock"),
    "ls": ("storage", "ls_"),
    "opreq": ("raw", "opreq"),
    "set": ("props", "set_"),
    "shell": ("misc", "shell"),
    "state": ("props", "state"),
    "status": ("props", "status"),
    "unlock": ("lease", "unlock"),
}


# -- the group -----------------------------------------------------------------------------


class PtpctlGroup(click.Group):
    """Resolves aliases, turns client errors into exit codes, and prints every error as one
    line on stderr (also usage errors), never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        name = ALIASES.get(name, name)
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        command = getattr(import_module(f"ptpctl.commands.{module}"), attr)
        assert isinstance(command, click.Command)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        _, cmd, rest = super().resolve_command(ctx, args)
        return (cmd.name if cmd else None), cmd, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClientError as exc:
            raise from_client_error(exc) from None
        except KeyboardInterrupt:  # before click turns it into a bare Abort
            raise Interrupted() from None

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from .compat import translate

        verbose = 0
        argv = translate(sys.argv[1:] if args is None else args, ALIASES)
        for a in argv:
            if a == "--verbose" or (a.startswith("-v") and set(a[1:]) == {"v"}):
                verbose += a.count("v") if a != "--verbose" else 1
        try:
            rv = super().main(
                args=argv, prog_name=prog_name or "ptpctl", complete_var=complete_var, standalone_mode=False, **extra
            )
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except _NO_ARGS_IS_HELP as exc:  # bare 'ptpctl': the help, as it is laid out
            assert exc.ctx is not None
            click.echo(exc.ctx.get_help())
            code = Exit.USAGE
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            error_line(f"{exc.format_message()}{hint}")
            code = Exit.USAGE
        except Interrupted as exc:
            code = interrupt_line("ptpctl", exc.format_message())
        except click.ClickException as exc:
            error_line(exc.format_message())
            code = exc.exit_code
        except click.Abort as exc:
            if interrupted(exc):
                code = interrupt_line("ptpctl")
            else:
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
    """ptpctl's TOML, or the ptp-ip tool's INI: its ``[server]`` is where the daemon's bus
    listens when ``ptpd run -f`` reads the same file."""
    import tomllib

    from ptpd.ptpip_ini import IniError, is_ptpip_ini, read_ptpip_ini, server_endpoints

    if os.path.isfile(path) and is_ptpip_ini(path):
        try:
            server = read_ptpip_ini(path).server
            if not server.enabled:
                return {}  # the daemon listens where it does by default
            eps = server_endpoints(server.address, server.port, f"{path}: [server] port")
        except IniError as exc:
            raise CliError(str(exc), Exit.CONFIG) from None
        return {"command_endpoint": eps.command, "event_endpoint": eps.event, "liveview_endpoint": eps.liveview}
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise CliError(f"config file {path}: {exc.strerror or exc}", Exit.CONFIG) from None
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"config file {path}: {exc}", Exit.CONFIG) from None
    section = data.get("ptpctl", data)
    allowed = {
        "command_endpoint",
        "event_endpoint",
        "liveview_endpoint",
        "timeout",
        "curve_server_key",
        "curve_client_key",
    }
    unknown = {k for k in section if not isinstance(section[k], dict)} - allowed
    if unknown:
        raise CliError(f"config file {path}: unknown key(s) {', '.join(sorted(unknown))}", Exit.CONFIG)
    return {k: section[k] for k in allowed if k in section}


def _conf_path(conf: dict[str, Any], key: str, config_path: str | None) -> str | None:
    """A key file named in the config file, relative to the config file's directory."""
    value = conf.get(key)
    if not value:
        return None
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
@daemon_options
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.05),
    default=None,
    metavar="SECONDS",
    help="How long to wait for each reply [default: 5].",
)
@click.option(
    "-f",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="TOML file with command_endpoint, event_endpoint, liveview_endpoint, timeout, "
    "curve_server_key, curve_client_key; or the ptp-ip tool's INI (its [server]).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for every command that prints data.")
@click.option("-v", "--verbose", count=True, help="More detail (-vv: debug log and tracebacks).")
@click.version_option(package_name="ptpd", prog_name="ptpctl")
@click.pass_context
def cli(
    ctx: click.Context,
    command_endpoint: str | None,
    event_endpoint: str | None,
    liveview_endpoint: str | None,
    timeout: float | None,
    config_path: str | None,
    curve_server_key: str | None,
    curve_client_key: str | None,
    as_json: bool,
    verbose: int,
) -> None:
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

        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            stream=sys.stderr,
            format="ptpctl: %(levelname)s %(name)s: %(message)s",
        )
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


def main() -> NoReturn:
    """Run ptpctl with ``sys.argv`` and exit with its exit code (the console entry point,
    :func:`ptpctl.main.main`, loads this module and calls it)."""
    code = cli.main(prog_name="ptpctl", standalone_mode=False)
    try:
        sys.stdout.flush()  # here, so that a reader gone away (``| head -0``) still means exit 1
    except OSError:
        code = code or Exit.ERROR
    sys.stderr.flush()
    # Every file is flushed and the client closed: what is left is the interpreter's
    # teardown, which frees every module one by one: about 10 ms of a 70 ms ``get``
    # (measured: 80 ms against 68 ms). A script calling ptpctl in a loop should not pay it.
    os._exit(code)
