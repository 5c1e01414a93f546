from ptpd.cli import main

main()
