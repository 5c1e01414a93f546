"""``python -m ptptrigger``."""

from ptptrigger.cli import main

main()
