"""ptpd.simulator"""
