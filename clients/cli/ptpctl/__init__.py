"""ptpctl: a thin client of the ptpd daemon."""
