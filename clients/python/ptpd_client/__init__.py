"""Python client of the ptpd daemon."""
