"""Exit codes, the one line on stderr each failure gets, and the runner that gives every
console client (ptpctl, ptpview, ptptrigger) both: never a traceback."""

from __future__ import annotations

import enum
import sys
from typing import NoReturn

import click

from ptpd.bus import ErrorCode
from ptpd.extras import extra_for
from ptpd_client import ClientError, CommandFailed, DaemonUnavailable, ProtocolMismatch, RequestTimeout
from ptpd_console.text import printable

__all__ = [
    "EXIT_HELP",
    "INTERRUPTED_MESSAGE",
    "CliError",
    "Exit",
    "Interrupted",
    "describe_client_error",
    "error_line",
    "from_client_error",
    "interrupt_line",
    "interrupted",
    "interrupts_as_errors",
    "report",
    "run_console",
]


@enum.unique
class Exit(enum.IntEnum):
    """The console clients' exit codes (those of the ptp-ip tool, plus REFUSED)."""

    OK = 0  #: success
    ERROR = 1  #: unspecified failure
    USAGE = 2  #: invalid arguments or options (also a value the camera does not allow)
    CONFIG = 102  #: the config file cannot be read or parsed
    CLIENT = 104  #: the client cannot be set up or the daemon does not understand it
    UNREACHABLE = 105  #: cannot reach the daemon, or the daemon cannot reach the camera
    REFUSED = 106  #: the camera refused (PTP error), is busy, cannot do it, or is locked by another
    INTERRUPTED = 130  #: Ctrl-C (SIGINT), as a shell reports a process it stopped (128 + 2)


EXIT_HELP = """\b
Exit codes:
  0    ok
  1    unspecified error
  2    invalid arguments (or a value the camera does not allow)
  102  config file error
  104  client error (bad endpoint, daemon does not understand the request)
  105  cannot reach the daemon or the camera
  106  the camera refused (PTP error, busy, unsupported), or it is locked
  130  interrupted (Ctrl-C)"""

_BY_CODE = {
    ErrorCode.INVALID_VALUE: Exit.USAGE,
    ErrorCode.BAD_REQUEST: Exit.CLIENT,
    ErrorCode.UNKNOWN_COMMAND: Exit.CLIENT,
    ErrorCode.NOT_CONNECTED: Exit.UNREACHABLE,
    ErrorCode.TIMEOUT: Exit.UNREACHABLE,
    ErrorCode.CAMERA_BUSY: Exit.REFUSED,
    ErrorCode.CAMERA_REFUSED: Exit.REFUSED,
    ErrorCode.UNSUPPORTED: Exit.REFUSED,
    ErrorCode.LOCKED: Exit.REFUSED,
    ErrorCode.INTERNAL: Exit.ERROR,
}


def describe_client_error(exc: ClientError) -> tuple[str, Exit]:
    """One readable line and the exit code for a client error."""
    if isinstance(exc, DaemonUnavailable):
        hint = "" if "CURVE" in str(exc) else " (is 'ptpd run' running?)"
        return f"cannot reach the daemon: {exc}{hint}", Exit.UNREACHABLE
    if isinstance(exc, RequestTimeout):
        return f"the daemon did not answer: {exc}", Exit.UNREACHABLE
    if isinstance(exc, CommandFailed):
        code = exc.code if isinstance(exc.code, ErrorCode) else None
        exit_code = _BY_CODE.get(code, Exit.ERROR) if code is not None else Exit.ERROR
        what = (
            "refused"
            if code is ErrorCode.LOCKED
            else {
                Exit.UNREACHABLE: "cannot reach the camera",
                Exit.REFUSED: "the camera refused",
                Exit.USAGE: "invalid value",
                Exit.CLIENT: "the daemon did not accept the request",
            }.get(exit_code, "failed")
        )
        return f"{exc.command or 'request'}: {what}: {exc} [{exc.code_name}]", exit_code
    if isinstance(exc, ProtocolMismatch):
        return f"the daemon sent something unexpected: {exc}", Exit.CLIENT
    return str(exc), Exit.CLIENT


def error_line(message: str, prog: str = "ptpctl") -> None:
    """``PROG: error: MESSAGE`` on stderr, on one line whatever the message held (a
    camera's words in it with their control characters escaped)."""
    message = printable(" ".join(str(message).split()))
    sys.stderr.write(f"{prog}: error: {message}\n")
    sys.stderr.flush()


def interrupt_line(prog: str = "ptpctl", message: str = "interrupted") -> int:
    """The one line every console client prints on Ctrl-C; returns exit 130. On a
    terminal it starts on a line of its own, not after the echoed ``^C``."""
    try:
        if sys.stderr.isatty():
            sys.stderr.write("\n")
    except (OSError, ValueError):
        pass
    error_line(message, prog)
    return Exit.INTERRUPTED


def report(exc: BaseException, verbose: int = 0, prog: str = "ptpctl") -> int:
    """Report a failure that is not a click one in one line; return the exit code.

    Never a traceback, unless asked for with ``-vv``.
    """
    if isinstance(exc, ClientError):
        message, code = describe_client_error(exc)
        error_line(message, prog)
        return code
    if interrupted(exc):
        return interrupt_line(prog)
    if isinstance(exc, BrokenPipeError):  # the reader went away (``| head``): silent, as click does
        return Exit.ERROR
    missing = extra_for(exc, prog)
    if missing is not None:  # an optional dependency: which extra brings it
        error_line(str(missing), prog)
        return Exit.CLIENT
    if verbose >= 2:
        import traceback

        traceback.print_exception(exc)
    error_line(f"internal error: {type(exc).__name__}: {exc}", prog)
    return Exit.ERROR


class CliError(click.ClickException):
    """An error a console client reports in one line and an exit code."""

    def __init__(self, message: str, exit_code: int = Exit.ERROR) -> None:
        super().__init__(message)
        self.exit_code = int(exit_code)  # type: ignore[misc]  # click: a ClassVar, but read from the instance


#: what every console client says on Ctrl-C
INTERRUPTED_MESSAGE = "interrupted"


class Interrupted(CliError):
    """Ctrl-C: one line and exit 130, whatever was running."""

    def __init__(self, message: str = INTERRUPTED_MESSAGE) -> None:
        super().__init__(message, Exit.INTERRUPTED)


def interrupted(exc: BaseException) -> bool:
    """True for Ctrl-C, also as the ``Abort`` click turns it into."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    return isinstance(exc, click.Abort) and isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt)


def from_client_error(exc: ClientError) -> CliError:
    """One readable line and the exit code for a client error."""
    return CliError(*describe_client_error(exc))


def run_console(command: click.Command, prog_name: str) -> NoReturn:
    """Run a click command as a console entry point: one line on stderr for any error,
    never a traceback, and the exit codes of :class:`Exit` (a command that returns an int
    exits with it)."""
    try:
        rv = command.main(prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        error_line(exc.format_message(), prog_name)
        sys.exit(Exit.USAGE)
    except Interrupted as exc:
        sys.exit(interrupt_line(prog_name, exc.format_message()))
    except click.ClickException as exc:
        error_line(exc.format_message(), prog_name)
        sys.exit(exc.exit_code)
    except click.Abort as exc:
        sys.exit(interrupt_line(prog_name) if interrupted(exc) else Exit.ERROR)
    except (KeyboardInterrupt, Exception) as exc:
        sys.exit(report(exc, prog=prog_name))
    sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)


def interrupts_as_errors(command: click.Command) -> click.Command:
    """Let Ctrl-C in ``command`` end as :class:`Interrupted` (one line, exit 130) rather
    than reach click, which prints a blank line and turns it into a bare ``Abort``."""
    callback = command.callback
    assert callback is not None

    def guarded(*args: object, **kwargs: object) -> object:
        try:
            return callback(*args, **kwargs)
        except KeyboardInterrupt:
            raise Interrupted() from None

    import functools

    command.callback = functools.update_wrapper(guarded, callback)
    return command
