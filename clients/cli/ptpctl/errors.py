"""The click side of ptpctl's errors: :class:`CliError` and the console runner that
ptpview and ptptrigger share. Exit codes and messages live in :mod:`ptpctl.exits`."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from ptpd_client import ClientError

from .exits import EXIT_HELP, Exit, describe_client_error, error_line, report

__all__ = ["EXIT_HELP", "CliError", "Exit", "from_client_error", "run_console"]


class CliError(click.ClickException):
    """An error ptpctl reports in one line and an exit code."""

    def __init__(self, message: str, exit_code: int = Exit.ERROR) -> None:
        super().__init__(message)
        self.exit_code = int(exit_code)


def from_client_error(exc: ClientError) -> CliError:
    """One readable line and the exit code for a client error."""
    return CliError(*describe_client_error(exc))


def run_console(command: click.Command, prog_name: str) -> NoReturn:
    """Run a click command as a console entry point: one line on stderr for any error,
    never a traceback, and ptpctl's exit codes (ptpview and ptptrigger share them)."""
    try:
        command.main(prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        error_line(exc.format_message(), prog_name)
        sys.exit(Exit.USAGE)
    except click.ClickException as exc:
        error_line(exc.format_message(), prog_name)
        sys.exit(exc.exit_code)
    except click.Abort:
        sys.exit(Exit.ERROR)
    except (KeyboardInterrupt, Exception) as exc:
        sys.exit(report(exc, prog=prog_name))
    sys.exit(0)
