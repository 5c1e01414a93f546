"""ptpview: a thin client of the ptpd daemon."""

from __future__ import annotations


def main() -> None:
    """Console entry point: the viewer, or one line naming the extra that brings OpenCV."""
    from ptpd.extras import MissingExtra, require

    try:
        require("viewer", "ptpview")
    except MissingExtra as exc:
        from ptpd_console.errors import Exit, error_line

        error_line(str(exc), "ptpview")
        raise SystemExit(Exit.CLIENT) from None
    from ptpview.cli import main as run

    run()
