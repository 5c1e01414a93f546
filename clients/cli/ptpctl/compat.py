"""The ptp-ip tool's words on ptpctl's command line, put into ptpctl's own before click
reads it, so old scripts keep working and ptpctl's options stay what they are.

=================================  =======================================
the ptp-ip tool                    ptpctl
=================================  =======================================
``info json``, ``state json``      ``info --json``, ``state --json``
``describe 0x5005 json pretty``    ``describe 0x5005 --json --pretty``
``liveview novf`` (README: nolv)   ``liveview --no-overlay``
``-f FILE`` (its INI)              ``-f FILE`` (ptpctl's ``--config``)
=================================  =======================================

Only trailing words are read this way and only after the commands that took them, so a
property or a file name that happens to be ``json`` elsewhere keeps its meaning. What is
not kept is listed in docs/cli.md ("Coming from the ptp-ip tool"): ``set`` values are
human (``set iso 320`` is ISO 320; hex needs ``0x``), and the JSON is ptpd's shape.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["JSON_WORD_COMMANDS", "translate"]

#: commands that took a trailing ``json [pretty]`` -> positional words they need before it
JSON_WORD_COMMANDS = {"info": 0, "state": 0, "describe": 1}
#: the tool's live-view argument (its code reads ``novf``, its README says ``nolv``)
NO_OVERLAY_WORDS = {"novf", "nolv"}

#: group options that take a value (so the word after them is not the command)
_GROUP_VALUE_OPTIONS = {
    "--command-endpoint",
    "--event-endpoint",
    "--liveview-endpoint",
    "--curve-server-key",
    "--curve-client-key",
    "--timeout",
    "--config",
    "-f",
}


def _command_index(argv: Sequence[str]) -> int | None:
    """Where the command word is: the first word that is neither a group option nor its value."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return i + 1 if i + 1 < len(argv) else None
        if not word.startswith("-") or word == "-":
            return i
        if word in _GROUP_VALUE_OPTIONS:
            i += 2
            continue
        i += 1
    return None


def translate(argv: Sequence[str], aliases: dict[str, str] | None = None) -> list[str]:
    """``argv`` with the ptp-ip tool's trailing words replaced by ptpctl's options."""
    args = list(argv)
    at = _command_index(args)
    if at is None:
        return args
    command = (aliases or {}).get(args[at], args[at])
    tail = args[at + 1 :]
    positional = [w for w in tail if not w.startswith("-")]
    if command in JSON_WORD_COMMANDS:
        need = JSON_WORD_COMMANDS[command]
        if tail[-2:] == ["json", "pretty"] and len(positional) - 2 >= need:
            return args[: at + 1] + tail[:-2] + ["--json", "--pretty"]
        if tail[-1:] == ["json"] and len(positional) - 1 >= need:
            return args[: at + 1] + tail[:-1] + ["--json"]
    if command == "liveview" and tail[-1:] and tail[-1] in NO_OVERLAY_WORDS:
        return args[: at + 1] + tail[:-1] + ["--no-overlay"]
    return args
