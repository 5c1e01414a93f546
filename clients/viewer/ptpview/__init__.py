"""ptpview: a thin client of the ptpd daemon."""
