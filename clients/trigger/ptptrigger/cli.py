"""Entry point of `ptptrigger` (placeholder until its client lands)."""

import sys


def main() -> None:
    print("ptptrigger: not yet available", file=sys.stderr)
    sys.exit(0)
