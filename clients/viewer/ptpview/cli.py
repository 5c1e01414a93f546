"""Entry point of `ptpview` (placeholder until its client lands)."""

import sys


def main() -> None:
    print("ptpview: not yet available", file=sys.stderr)
    sys.exit(0)
