"""``python -m ptpctl``."""

from ptpctl.main import main

main()
