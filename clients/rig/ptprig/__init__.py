"""ptprig: many cameras, each held by its own ptpd daemon, driven as one (see :mod:`ptprig.cli`)."""

from __future__ import annotations


def main() -> None:
    """Console entry point (``ptprig``, ``python -m ptprig``)."""
    from ptprig.cli import main as run

    run()
