"""``make demo``: the daemon with a simulated camera and every client against it (a client
of the daemon like the others, so it lives beside them, not in the daemon's package)."""
