"""Exit codes and the mapping from client errors to them (one line on stderr each)."""

from __future__ import annotations

import enum
import sys
from typing import NoReturn

import click

from ptpd.bus import ErrorCode
from ptpd_client import ClientError, CommandFailed, DaemonUnavailable, ProtocolMismatch, RequestTimeout


@enum.unique
class Exit(enum.IntEnum):
    """ptpctl's exit codes (those of the ptp-ip tool, plus CAMERA_REFUSED)."""

    OK = 0  #: success
    ERROR = 1  #: unspecified failure
    USAGE = 2  #: invalid arguments or options (also a value the camera does not allow)
    CONFIG = 102  #: the config file cannot be read or parsed
    CLIENT = 104  #: the client cannot be set up or the daemon does not understand it
    UNREACHABLE = 105  #: cannot reach the daemon, or the daemon cannot reach the camera
    REFUSED = 106  #: the camera refused (PTP error), is busy, or cannot do it


EXIT_HELP = """\b
Exit codes:
  0    ok
  1    unspecified error
  2    invalid arguments (or a value the camera does not allow)
  102  config file error
  104  client error (bad endpoint, daemon does not understand the request)
  105  cannot reach the daemon or the camera
  106  the camera refused (PTP error, busy, unsupported)"""

_BY_CODE = {
    ErrorCode.INVALID_VALUE: Exit.USAGE,
    ErrorCode.BAD_REQUEST: Exit.CLIENT,
    ErrorCode.UNKNOWN_COMMAND: Exit.CLIENT,
    ErrorCode.NOT_CONNECTED: Exit.UNREACHABLE,
    ErrorCode.TIMEOUT: Exit.UNREACHABLE,
    ErrorCode.CAMERA_BUSY: Exit.REFUSED,
    ErrorCode.CAMERA_REFUSED: Exit.REFUSED,
    ErrorCode.UNSUPPORTED: Exit.REFUSED,
    ErrorCode.INTERNAL: Exit.ERROR,
}


class CliError(click.ClickException):
    """An error ptpctl reports in one line and an exit code."""

    def __init__(self, message: str, exit_code: int = Exit.ERROR) -> None:
        super().__init__(message)
        self.exit_code = int(exit_code)


def from_client_error(exc: ClientError) -> CliError:
    """One readable line and the exit code for a client error."""
    if isinstance(exc, DaemonUnavailable):
        hint = "" if "CURVE" in str(exc) else " (is 'ptpd run' running?)"
        return CliError(f"cannot reach the daemon: {exc}{hint}", Exit.UNREACHABLE)
    if isinstance(exc, RequestTimeout):
        return CliError(f"the daemon did not answer: {exc}", Exit.UNREACHABLE)
    if isinstance(exc, CommandFailed):
        code = exc.code if isinstance(exc.code, ErrorCode) else None
        exit_code = _BY_CODE.get(code, Exit.ERROR) if code is not None else Exit.ERROR
        what = {
            Exit.UNREACHABLE: "cannot reach the camera",
            Exit.REFUSED: "the camera refused",
            Exit.USAGE: "invalid value",
            Exit.CLIENT: "the daemon did not accept the request",
        }.get(exit_code, "failed")
        return CliError(f"{exc.command or 'request'}: {what}: {exc} [{exc.code_name}]", exit_code)
    if isinstance(exc, ProtocolMismatch):
        return CliError(f"the daemon sent something unexpected: {exc}", Exit.CLIENT)
    return CliError(str(exc), Exit.CLIENT)


def run_console(command: click.Command, prog_name: str) -> NoReturn:
    """Run a click command as a console entry point: one line on stderr for any error,
    never a traceback, and ptpctl's exit codes (ptpview and ptptrigger share them)."""
    try:
        command.main(prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        click.echo(f"{prog_name}: error: {exc.format_message()}", err=True)
        sys.exit(Exit.USAGE)
    except click.ClickException as exc:
        click.echo(f"{prog_name}: error: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        sys.exit(Exit.ERROR)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        click.echo(f"{prog_name}: error: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(Exit.ERROR)
    sys.exit(0)
