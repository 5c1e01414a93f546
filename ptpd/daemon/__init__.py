"""ptpd.daemon"""
