"""ptptrigger: a thin client of the ptpd daemon."""
