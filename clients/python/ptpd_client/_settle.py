"""What a client does when it stops waiting for a request, without the I/O.

A client stops waiting when its user presses Ctrl-C, or when its timeout passes. A
request it gives up on must not do its work later for no one (a capture nobody saves, a
``set`` reported as failed and applied after all), and what it did do must be reported.
So the client sends ``cancel`` for it and listens a little longer (:class:`Settling`):

* ``queued``: it never started; its own reply (``cancelled``) follows at once;
* ``running``: it is on the camera; a capture stops after the shot in progress, which
  is still downloaded; its reply follows, and is waited for up to a grace period;
* ``done`` / ``unknown``: it was answered already, or its deadline (``timeout_ms``, which
  every request carries) passed and the daemon dropped it; a reply on its way still counts.

Both clients use this on Ctrl-C (:class:`~ptpd_client.RequestInterrupted`) and, for a
command with side effects, when the timeout passes (:class:`~ptpd_client.RequestTimeout`
says whether it started).
"""

from __future__ import annotations

from typing import Any

from ptpd import bus

from ._errors import CommandFailed, RequestInterrupted, RequestTimeout

#: seconds to wait for the daemon's answer to ``cancel`` (a local command: it is at once)
CANCEL_ANSWER = 1.0
#: seconds a reply already on its way may take to arrive
LATE_REPLY = 0.3
#: least seconds to wait for a running request to end after ``cancel``
MIN_GRACE = 5.0

#: the daemon's codes for a request that never started
NOT_STARTED = (bus.ErrorCode.CANCELLED.value, bus.ErrorCode.EXPIRED.value)


def has_side_effects(cmd: str) -> bool:
    """A command that changes the camera (its outcome matters after a timeout)."""
    c = bus.COMMANDS.get(cmd)
    return bool(c and c.side_effects)


def grace(read: float | None) -> float:
    """How long to wait for a running request to end, for a call that waited ``read``."""
    return max(MIN_GRACE, read or 0.0)


class Settling:
    """One request being given up on: fed the replies that arrive, it says how much
    longer to listen (:meth:`left`) and what became of the request."""

    def __init__(self, rid: str, cancel_id: str, grace: float, now: float) -> None:
        self.rid = rid
        self.cancel_id = cancel_id
        self.grace = grace
        self.state: str | None = None  #: the daemon's answer to ``cancel``
        self.reply: dict[str, Any] | None = None  #: the request's own reply, if it came
        self._until = now + CANCEL_ANSWER

    def feed(self, reply: dict[str, Any], now: float) -> None:
        rid = reply.get("id")
        if rid == self.rid:
            self.reply = reply
        elif rid == self.cancel_id:
            result = reply.get("result") if reply.get("ok") else None
            self.state = result.get("state") if isinstance(result, dict) else None
            if self.state == "running":
                self._until = now + self.grace
            elif self.state == "queued":
                self._until = now + CANCEL_ANSWER  # its reply follows at once
            else:  # answered already, dropped, or a daemon without cancel
                self._until = min(self._until, now + LATE_REPLY)

    def done(self, now: float) -> bool:
        return self.reply is not None or now >= self._until

    def left(self, now: float) -> float:
        return max(0.0, self._until - now)


def interrupted(cmd: str, s: Settling, parse: bool) -> RequestInterrupted:
    """What Ctrl-C raises once the daemon said what became of the request."""
    from ._core import result_of

    result, error = None, None
    if s.reply is not None:
        try:
            result = result_of(cmd, s.reply, parse)
        except CommandFailed as exc:
            error = exc
    return RequestInterrupted(cmd, s.rid, s.state, result, error)


def _head(cmd: str, read: float | None) -> str:
    return f"{cmd}: no reply from the daemon within {read:g} s" if read is not None else f"{cmd}: no reply"


def timed_out(cmd: str, read: float | None, s: Settling) -> RequestTimeout:
    """The timeout of a command with side effects, saying whether it ran (no reply came)."""
    head = _head(cmd, read)
    if s.state == "queued":
        return RequestTimeout(f"{head}; it never started: nothing was done", read, started=False)
    if s.state == "running":
        return RequestTimeout(
            f"{head}; it was still running on the camera {s.grace:g} s later: what it did is unknown",
            read,
            started=True,
        )
    if s.state in ("unknown", "done"):
        return RequestTimeout(
            f"{head}; the daemon holds no such request any more (its deadline passed: it never "
            "started, or the daemon restarted)",
            read,
        )
    return RequestTimeout(f"{head}; nor to a cancel of it: what it did is unknown", read)


def late(cmd: str, read: float | None, s: Settling, parse: bool) -> Any:
    """The reply that came after the timeout: a result (the work was done and is reported),
    its error, or for a request that never started the timeout saying so."""
    from ._core import result_of

    assert s.reply is not None
    err = s.reply.get("error") if not s.reply.get("ok") else None
    if isinstance(err, dict) and err.get("code") in NOT_STARTED:
        raise RequestTimeout(
            f"{_head(cmd, read)}; it never started ({err.get('code')}): nothing was done", read, started=False
        )
    return result_of(cmd, s.reply, parse)
