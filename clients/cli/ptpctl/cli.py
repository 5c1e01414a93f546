"""Entry point of `ptpctl` (placeholder until its client lands)."""

import sys


def main() -> None:
    print("ptpctl: not yet available", file=sys.stderr)
    sys.exit(0)
