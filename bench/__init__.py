"""Benchmarks: ptpd against what users run today (gphoto2), on the links cameras really have.

Every script runs alone (``python -m bench.capture [--quick] [--profiles wifi-n]``) and
prints what it compared, the machine, median and p99 per side and the ratios; ``python
-m bench.run_all`` runs them all and writes ``bench/results.md`` plus a plot per link
profile. The camera's link is made by the kernel (:mod:`bench.netns`: network namespaces,
a veth pair, ``tc tbf``). A benchmark reports: a missed target is printed, never turned
into a non-zero exit.
"""
