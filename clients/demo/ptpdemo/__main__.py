"""``python -m ptpdemo`` (``make demo``)."""

from ptpdemo.demo import main

main()
