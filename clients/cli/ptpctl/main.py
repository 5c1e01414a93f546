"""ptpctl's console entry point: the quick path (:mod:`ptpctl.fast`) for a plain ``get`` or
``set``, the click application (:mod:`ptpctl.cli`) for everything else."""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run ptpctl with ``sys.argv`` and exit with its exit code."""
    from .fast import run

    code = run(sys.argv[1:])
    if code is None:
        from .cli import main as click_main

        click_main()
        return
    # The reply is in and the socket closed: nothing is left but the interpreter's
    # teardown, which frees every module one by one and costs about as much as the
    # daemon's answer. A script that calls ptpctl in a loop should not pay for it.
    sys.stderr.flush()
    os._exit(code)
