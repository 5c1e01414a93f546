"""ptpd: a daemon that holds a camera's PTP/IP session and serves it on a ZeroMQ bus."""

__version__ = "0.1.0"
