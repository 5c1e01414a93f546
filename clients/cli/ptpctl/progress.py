"""Progress of a multi-shot capture on a terminal: a line per shot, as the daemon reports
each one taken (``event.capture_done``), with its download filling in behind it
(``progress.transfer``). Shots whose events were missed (published before the
subscription took hold) get their line from the reply, so every shot has one."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from . import output

__all__ = ["ShotProgress"]

#: erase to the end of the line (ANSI): a rewritten line leaves nothing of the longer one before
_CLEAR = "\x1b[K"


class ShotProgress:
    """Prints ``  2/10  DSCF0002.JPG  0x2A  12.3 MB 40%`` lines on ``stream`` (a terminal)."""

    def __init__(self, count: int, stream: TextIO | None = None) -> None:
        self.count = count
        self.stream = stream if stream is not None else sys.stderr
        #: on a terminal a shot's line fills in as it downloads; elsewhere each line is
        #: written once, whole (no carriage returns in a log file)
        self.rewrite = self.stream.isatty()
        self.shown: set[int] = set()  #: shot indexes that have their line
        self._open: str | None = None  #: the line being rewritten, if any
        self._shot: dict[str, Any] | None = None  #: the shot that line is about

    def __enter__(self) -> ShotProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            return  # the interrupt's own line follows the echoed ^C
        self._close()

    def on_event(self, event: Any) -> None:
        """A ``Client.capture`` ``on_event`` callback."""
        data = event.data
        if event.topic.endswith("capture_done"):
            index = data.get("index")
            if isinstance(index, int):
                self._close()
                self._shot = {"index": index, "filename": data.get("filename"), "handle": data.get("handle")}
                self._write(self._line(self._shot))
                self.shown.add(index)
        elif self.rewrite and self._shot is not None and data.get("handle") == self._shot.get("handle"):
            done, total = int(data.get("done") or 0), int(data.get("total") or 0)
            pct = f" {100 * done // total}%" if total else ""
            self._write(f"{self._line(self._shot)}  {output.human_size(done)}{pct}")

    def finish(self, shots: list[Any]) -> None:
        """The lines of the shots the events did not bring (by their place in the reply)."""
        self._close()
        for i, shot in enumerate(shots, 1):
            if i not in self.shown:
                line = self._line({"index": i, "filename": shot.filename, "handle": shot.handle})
                if shot.data is not None and self.rewrite:
                    line += f"  {output.human_size(len(shot.data))} 100%"
                self._write(line)
                self._close()
                self.shown.add(i)

    def _line(self, shot: dict[str, Any]) -> str:
        width = len(str(self.count))
        handle = output.hexv(shot["handle"]) if shot.get("handle") is not None else "-"
        return f"  {shot['index']:>{width}}/{self.count}  {shot.get('filename') or '-'}  {handle}"

    def _write(self, text: str) -> None:
        if not self.rewrite:
            self.stream.write(f"{text}\n")
            self.stream.flush()
            return
        self.stream.write(f"\r{text}{_CLEAR}")
        self.stream.flush()
        self._open = text

    def _close(self) -> None:
        if self._open is not None:
            self.stream.write("\n")
            self.stream.flush()
            self._open = None
