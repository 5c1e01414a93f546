"""ptpd.fuji"""
