"""``python -m ptpview``."""

from ptpview import main

main()
