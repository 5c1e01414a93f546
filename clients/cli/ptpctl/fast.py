"""The quick path for the commands scripts run in loops: ``get PROP`` and ``set PROP VALUE``.

Every ptpctl command is a new process, so start-up is most of what it costs: importing
click takes about as long as the daemon takes to answer. When the command line is plainly
one of these two commands (``--json`` allowed; endpoints and keys from the environment,
as the click application reads them too), it is answered here with the client library
alone. Anything else (other options, ``--help``, ``--``, a value that could be read as an
option) returns ``None`` and goes to the click application, which prints the same output
and the same errors for these commands (tests run both paths side by side).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence

#: a value that starts with "-" and is still plainly a value: -1/3, -2, -0.7, -0x3
_NEGATIVE_VALUE = re.compile(r"^-[0-9.]")


def _plain(word: str) -> bool:
    return bool(word) and not word.startswith("-")


def parse(argv: Sequence[str]) -> tuple[str, list[str], bool] | None:
    """``(command, arguments, as_json)`` if ``argv`` is a plain ``get`` or ``set``, else None."""
    words = [a for a in argv if a != "--json"]
    as_json = len(words) != len(argv)
    if len(words) == 2 and words[0] == "get" and _plain(words[1]):
        return "get", words[1:], as_json
    if len(words) == 3 and words[0] == "set" and _plain(words[1]):
        value = words[2]
        if _plain(value) or _NEGATIVE_VALUE.match(value):
            return "set", words[1:], as_json
    return None


def run(argv: Sequence[str]) -> int | None:
    """Answer ``argv`` on the quick path and return the exit code, or None if it is not
    one of the commands this path answers (then nothing was printed or sent)."""
    parsed = parse(argv)
    if parsed is None:
        return None
    command, args, as_json = parsed
    from ptpd import bus

    from . import output
    from .exits import Exit, report
    from .session import Session

    env = os.environ.get
    session = Session(
        command_endpoint=env(bus.ENV_COMMAND) or None,
        event_endpoint=env(bus.ENV_EVENT) or None,
        liveview_endpoint=env(bus.ENV_LIVEVIEW) or None,
        json=as_json,
        curve_server_key=env(bus.ENV_CURVE_SERVER_KEY) or None,
        curve_client_key=env(bus.ENV_CURVE_CLIENT_KEY) or None,
    )
    try:
        if command == "get":
            p = session.client.get(args[0])
            line = output.value_line(p)
        else:
            p = session.client.set(args[0], args[1])
            line = output.set_line(p, args[0])
        if as_json:
            output.emit_json(p.to_dict())
        else:
            print(line)
        sys.stdout.flush()  # here, so that a closed pipe is reported like any other failure
        return Exit.OK
    except (KeyboardInterrupt, Exception) as exc:
        return report(exc)
    finally:
        session.close()
