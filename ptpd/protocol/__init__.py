"""PTP (ISO 15740) and PTP/IP (CIPA DC-X005), sans-I/O; plus one asyncio initiator module."""
