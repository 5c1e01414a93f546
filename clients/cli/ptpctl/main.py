"""ptpctl's console entry point (``ptpctl``, ``python -m ptpctl``)."""

from __future__ import annotations

import gc


def main() -> None:
    """Load the click application and run it with ``sys.argv``."""
    # Loading click, the client and the commands makes tens of thousands of objects and
    # no garbage, and the cyclic collector would walk them again and again while they
    # load (about 4 ms of a 70 ms 'get'). It waits until they are loaded and leaves them
    # out of its walks afterwards (freeze); whatever the command makes is collected as usual.
    gc.disable()
    from .cli import main as run

    gc.freeze()
    gc.enable()
    run()
