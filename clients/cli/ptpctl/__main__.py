"""``python -m ptpctl``."""

from ptpctl.cli import main

main()
