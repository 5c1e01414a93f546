"""Benchmarks: ptpd against what users run today, and against the limit of this machine.

Every script runs alone (``python -m bench.rpc [--quick]``) and prints what it compared,
the machine, median and p99 per side and the ratios; ``python -m bench.run_all`` runs
them all and writes ``bench/results.md`` plus the fan-out plot. A benchmark reports: a
missed target is printed, never turned into a non-zero exit.
"""
