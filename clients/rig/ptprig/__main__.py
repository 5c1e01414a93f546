"""``python -m ptprig``."""

from ptprig import main

main()
