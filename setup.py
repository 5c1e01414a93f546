"""The one part pyproject.toml cannot declare: the frame ring reader's C hot path.

``optional``: without a compiler (or off Linux) the install goes on without it, and
:mod:`ptpd.framering` reads in Python.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("ptpd._ringwait", ["ptpd/_ringwait.c"], optional=True)])
