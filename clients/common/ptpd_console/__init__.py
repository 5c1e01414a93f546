"""What the console clients of ptpd share: ``ptpctl``, ``ptpview``, ``ptptrigger``, ``ptprig`` and the demo.

- :mod:`.options`: the options that say where the daemon is (endpoints, CURVE keys) and
  the client they name;
- :mod:`.errors`: exit codes, the one error line on stderr, the console runner;
- :mod:`.files`: writing files atomically, never replacing one unasked;
- :mod:`.targets`: check, then fire: can the shot be kept (directory, room, display)?
- :mod:`.shots`: capturing shots and saving them into a directory;
- :mod:`.liveview`: waiting for frames, failing at once when there is no live view;
- :mod:`.mjpeg`: serving live view to browsers (a page and an MJPEG stream);
- :mod:`.tables`: aligned tables, sizes, JSON values.

A package of its own rather than part of ``ptpd_client``: the Python client is a library
for programs and needs neither click nor exit codes, while every console client needs
both. The layers stay one above the other: ``ptpd.bus`` <- ``ptpd_client`` <- this
package <- the console clients, which never import each other.
"""
