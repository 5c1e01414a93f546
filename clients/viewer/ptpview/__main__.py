"""``python -m ptpview``."""

from ptpview.cli import main

main()
