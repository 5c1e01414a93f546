"""What the blocking and the asyncio client share: endpoints, timeouts, request ids,
reply parsing, error mapping, event sequencing and the latest-frame mailbox.

No I/O here except the cheap ipc:// probe; the two clients do the socket work.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from ptpd import bus

from ._errors import ClientError, CommandFailed, DaemonUnavailable, ProtocolMismatch
from ._models import parser

if TYPE_CHECKING:
    from ._status import Snapshot
    from ._stream_models import Event, Frame

#: seconds a call waits for its reply unless told otherwise
DEFAULT_TIMEOUT = 5.0
#: seconds to wait for the connection to the command socket to come up
DEFAULT_CONNECT_TIMEOUT = 1.0


class Timeout(NamedTuple):
    """How long to wait: ``read`` for a reply, ``connect`` for the command socket to come up.

    ``Timeout(5.0)`` waits 5 s for replies and at most 1 s to connect; ``None`` waits forever.
    """

    read: float | None = DEFAULT_TIMEOUT
    connect: float | None = DEFAULT_CONNECT_TIMEOUT

    @classmethod
    def of(cls, value: Timeout | float | None) -> Timeout:
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, DEFAULT_CONNECT_TIMEOUT)
        return cls(float(value), min(float(value), DEFAULT_CONNECT_TIMEOUT))


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else max(0, int(seconds * 1000))


# -- endpoints ----------------------------------------------------------------------------


class EndpointPlan(NamedTuple):
    """Which endpoints to use; ``None`` means "ask the daemon (``version``), else derive"."""

    command: str
    event: str | None
    liveview: str | None


def plan_endpoints(command: str | None = None, event: str | None = None, liveview: str | None = None) -> EndpointPlan:
    """Endpoints from arguments, else ``PTPD_*`` environment, else the bus defaults.

    When the command endpoint was chosen (argument or environment) but the event or
    live-view endpoint was not, they are left ``None`` so the client learns them from the
    daemon's ``version`` reply: pointing a client at a daemon's command socket is enough.
    """
    env = os.environ
    cmd_explicit = command or env.get(bus.ENV_COMMAND)
    ev = event or env.get(bus.ENV_EVENT)
    lv = liveview or env.get(bus.ENV_LIVEVIEW)
    if not cmd_explicit:
        defaults = bus.default_endpoints()
        return EndpointPlan(
            defaults.command, ev or defaults.event, lv or (bus.liveview_endpoint_for(ev) if ev else defaults.liveview)
        )
    return EndpointPlan(cmd_explicit, ev, lv)


def plan_curve(server: Any = None, client: Any = None) -> Any:
    """:class:`~ptpd_client._curve.CurveKeys` from arguments or ``PTPD_CURVE_*`` environment,
    or ``None`` (no CURVE; nothing of it imported)."""
    env = os.environ
    if not (server or client or env.get(bus.ENV_CURVE_SERVER_KEY) or env.get(bus.ENV_CURVE_CLIENT_KEY)):
        return None
    from ._curve import curve_keys

    return curve_keys(server, client)


def connectable(advertised: str, command: str) -> str:
    """A bind address the daemon advertises made connectable: ``tcp://*:P`` or
    ``tcp://0.0.0.0:P`` takes the host of the command endpoint we reached it by."""
    if not advertised.startswith("tcp://"):
        return advertised
    host, _, port = advertised[6:].rpartition(":")
    if host in ("*", "0.0.0.0", "[::]", "::"):
        from urllib.parse import urlsplit

        chost = urlsplit(command).hostname if command.startswith("tcp://") else None
        return f"tcp://{chost or '127.0.0.1'}:{port}"
    return advertised


def learned_endpoints(plan: EndpointPlan, version_result: Any) -> tuple[str, str]:
    """Event and live-view endpoints: planned ones, else from ``version``, else derived."""
    advertised: dict[str, Any] = {}
    if isinstance(version_result, dict):
        advertised = version_result.get("endpoints") or {}
    ev = plan.event or (connectable(advertised["event"], plan.command) if advertised.get("event") else None)
    if ev is None:
        ev = bus.default_endpoints().event
    lv = plan.liveview or (connectable(advertised["liveview"], plan.command) if advertised.get("liveview") else None)
    if lv is None:
        lv = bus.liveview_endpoint_for(ev)
    return ev, lv


def probe_ipc(endpoint: str) -> None:
    """Fail fast when an ipc:// endpoint has no daemon behind it.

    A missing socket file or a refused connection means no daemon; zmq itself would
    retry silently until the timeout.
    """
    if not endpoint.startswith("ipc://"):
        return
    path = endpoint[6:]
    if not path or path.startswith("@"):  # abstract namespace: nothing to look at
        return
    if not os.path.exists(path):
        raise DaemonUnavailable(f"no daemon at {endpoint} (socket file missing)", endpoint)
    import _socket  # the C module: "socket" itself costs milliseconds of start-up

    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        raise DaemonUnavailable(f"no daemon at {endpoint} (connection refused)", endpoint) from None
    except OSError:
        pass  # e.g. permission: let zmq report what it can
    finally:
        s.close()


# -- requests and replies -----------------------------------------------------------------


class RequestIds:
    """Request ids unique across clients and processes (the daemon caches replies by id)."""

    def __init__(self) -> None:
        self._prefix = os.urandom(6).hex()
        self._n = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._n += 1
            return f"{self._prefix}-{self._n}"


def clean_args(args: dict[str, Any] | None) -> dict[str, Any]:
    """Arguments without ``None`` values (the daemon applies its defaults)."""
    return {k: v for k, v in (args or {}).items() if v is not None}


def request_frames(
    rid: str, cmd: str, args: dict[str, Any] | None, timeout: float | None = None, lease: str | None = None
) -> list[Any]:
    """The frames of a request (after the delimiter): ``[header, blob0, ...]``.

    Bytes-like arguments go as blob frames, and the header asks the daemon for binary
    results as blob frames too (``"blobs": true``), so neither side copies image data
    into or out of msgpack. ``timeout``: how long the caller waits for the reply, sent as
    the request's deadline (``timeout_ms``): the daemon does not start it after that.
    ``lease``: the control lease token the client holds.
    """
    return bus.encode_request_frames(rid, cmd, clean_args(args), timeout=timeout, lease=lease)


def parse_reply_frames(frames: list[Any]) -> dict[str, Any]:
    """The reply map from a DEALER's frames ``[b"", header, blob0, ...]`` (delimiter
    optional). Frames received with ``copy=False`` stay where ZeroMQ put them: a blob in
    the result is a ``memoryview`` of its frame, not a copy."""
    try:
        return bus.decode_reply(frames)
    except ValueError as exc:
        raise ProtocolMismatch(f"daemon reply is not a bus reply: {exc}") from exc


def _connected(context: Any, kind: int, endpoint: str, curve: Any, options: dict[int, Any]) -> Any:
    """A socket of ``kind`` (``zmq.Context`` or ``zmq.asyncio.Context``) with no linger,
    CURVE keys when ``curve`` holds some, ``options`` set, connected to ``endpoint``; a bad
    endpoint is a :class:`ClientError` and leaves no socket behind."""
    import zmq

    s = context.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    if curve is not None:
        curve.apply(s)
    for option, value in options.items():
        s.setsockopt(option, value)
    if bus.needs_ipv6(endpoint):
        s.setsockopt(zmq.IPV6, 1)
    try:
        s.connect(endpoint)
    except zmq.ZMQError as exc:
        s.close(0)
        raise ClientError(f"cannot use endpoint {endpoint!r}: {exc}") from exc
    return s


def open_sub(context: Any, endpoint: str, curve: Any = None, topic: bytes | tuple[bytes, ...] = b"") -> Any:
    """A SUB socket on ``endpoint`` subscribed to ``topic`` (or to each of several), for
    ``zmq.Context`` or ``zmq.asyncio.Context``; a CURVE client when ``curve`` holds keys."""
    import zmq

    topics = (topic,) if isinstance(topic, bytes) else topic
    s = _connected(context, zmq.SUB, endpoint, curve, {zmq.SUBSCRIBE: topics[0]})
    for t in topics[1:]:
        s.setsockopt(zmq.SUBSCRIBE, t)
    return s


#: topics whose events report on one request, named by its ``id``: a shot of a
#: ``capture`` taken, bytes of a download received
REQUEST_TOPICS = (bus.Topic.event("capture_done"), bus.Topic.PROGRESS)


def request_topics(progress: bool, on_event: bool) -> tuple[bytes, ...]:
    """What to subscribe to for a request's ``progress`` and ``on_event`` callbacks."""
    if on_event:
        return tuple(t.encode() for t in REQUEST_TOPICS)
    return (bus.Topic.PROGRESS.encode(),) if progress else ()


def dispatch_request_event(event: Event, rid: str, args: dict[str, Any], progress: Any, on_event: Any) -> None:
    """Hand an event about request ``rid`` to its callbacks: ``progress(done, total)`` for
    transfer progress, ``on_event(event)`` for every event that names this request."""
    if progress is not None and event.topic == bus.Topic.PROGRESS:
        done = progress_of(event, rid, args)
        if done is not None:
            progress(*done)
    if on_event is not None and event.data.get("id") == rid:
        on_event(event)


def open_dealer(context: Any, endpoint: str, curve: Any = None) -> Any:
    """A DEALER connected to the command endpoint (``zmq.Context`` or ``zmq.asyncio.Context``),
    a CURVE client when ``curve`` holds keys."""
    import zmq

    # IMMEDIATE: queue only to a connected peer, so "nobody there" shows up as not writable;
    # ZMTP heartbeats: a daemon that is gone without closing (frozen, host gone) drops the
    # connection within HEARTBEAT_IVL + HEARTBEAT_TIMEOUT, which the monitor reports
    options: dict[int, Any] = {
        zmq.IMMEDIATE: 1,
        zmq.HEARTBEAT_IVL: HEARTBEAT_IVL_MS,
        zmq.HEARTBEAT_TIMEOUT: HEARTBEAT_TIMEOUT_MS,
    }
    return _connected(context, zmq.DEALER, endpoint, curve, options)


#: ZMTP heartbeats on the command socket: a ping every 0.5 s, a peer silent for 2 s after
#: one is gone, so a vanished daemon is noticed within 2.5 s, not at the call's timeout
HEARTBEAT_IVL_MS = 500
HEARTBEAT_TIMEOUT_MS = 2000


def open_monitor(sock: Any) -> Any:
    """A monitor of ``sock`` that reports when its connection to the daemon drops."""
    import zmq

    return sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)


def connection_lost(frames: list[Any]) -> bool:
    """True when a monitor message says the connection dropped."""
    import zmq
    from zmq.utils.monitor import parse_monitor_message

    try:
        return bool(parse_monitor_message(frames)["event"] == zmq.EVENT_DISCONNECTED)
    except Exception:  # not a monitor message: nothing to say
        return False


def gone(cmd: str, endpoint: str) -> DaemonUnavailable:
    """The error of a call whose daemon went away while it waited."""
    return DaemonUnavailable(
        f"{cmd}: the daemon went away while the request waited for its reply (connection to {endpoint} lost)", endpoint
    )


def progress_of(event: Event, rid: str, args: dict[str, Any]) -> tuple[int, int] | None:
    """``(done, total)`` when ``event`` reports progress of request ``rid`` (or of the
    same handle, for daemons that leave the id out), else ``None``."""
    d = event.data
    if d.get("id") not in (None, rid) and d.get("handle") != args.get("handle"):
        return None
    if "done" not in d:
        return None
    return int(d.get("done") or 0), int(d.get("total") or 0)


def result_of(cmd: str, reply: dict[str, Any], parse: bool = True) -> Any:
    """The typed result of a reply, or :class:`CommandFailed` raised from its error."""
    if not reply.get("ok"):
        err = reply.get("error") or {}
        if not isinstance(err, dict):
            err = {"code": bus.ErrorCode.INTERNAL.value, "message": str(err)}
        if err.get("code") == bus.ErrorCode.EXPIRED.value:
            # the daemon did not start it in time for us: a timeout, and one that did nothing
            from ._errors import RequestTimeout

            raise RequestTimeout(
                f"{cmd}: {err.get('message') or 'its deadline passed before it could start'}", None, started=False
            )
        raise CommandFailed(
            err.get("code", bus.ErrorCode.INTERNAL.value),
            str(err.get("message", "")) or "the daemon refused the request",
            err.get("ptp_code"),
            cmd,
            err,
        )
    result = reply.get("result")
    fn = parser(cmd) if parse else None
    return fn(result) if fn else result


# -- events -------------------------------------------------------------------------------


def parse_event(frames: list[bytes]) -> Event:
    """``[topic, meta]`` or ``[topic, meta, payload]`` -> :class:`Event`."""
    from ._stream_models import Event

    if len(frames) < 2:
        raise ProtocolMismatch(f"event with {len(frames)} frame(s)")
    topic = bytes(frames[0]).decode("utf-8", "replace")
    try:
        meta = bus.unpack(frames[1])
    except ValueError as exc:
        raise ProtocolMismatch(f"event meta is not msgpack: {exc}") from exc
    if not isinstance(meta, dict):
        meta = {"value": meta}
    seq = meta.get("seq")
    payload = bytes(frames[2]) if len(frames) > 2 else None
    return Event(topic=topic, seq=seq if isinstance(seq, int) else None, data=meta, payload=payload)


def topic_matches(topic: str, prefixes: tuple[str, ...]) -> bool:
    return not prefixes or any(topic.startswith(p) for p in prefixes)


class Sequencer:
    """Clone-pattern bookkeeping for one event stream.

    ``accept(event)`` says what to do with a message: ``"old"`` (already in the snapshot
    or a duplicate: drop), ``"gap"`` (messages were lost: take a new snapshot), or
    ``"ok"``. The whole socket is sequenced, so the stream subscribes to everything and
    filters by prefix afterwards (a prefix subscription would look like constant gaps).
    """

    def __init__(self) -> None:
        self.last: int | None = None
        self.gaps = 0
        self.missed = 0

    def reset(self, seq: int) -> None:
        self.last = seq

    def accept(self, event: Event) -> str:
        if event.seq is None:
            return "ok"
        if self.last is None:
            self.last = event.seq
            return "ok"
        if event.seq <= self.last:
            return "old"
        if event.seq > self.last + 1:
            self.gaps += 1
            self.missed += event.seq - self.last - 1
            return "gap"
        self.last = event.seq
        return "ok"


class EventFeed:
    """What an event stream does with each message, without the I/O (both clients use it).

    ``feed(event)`` files a matching event in ``pending`` and returns ``None``, or, when a
    sequence gap shows lost messages and the stream keeps a snapshot, returns the gap
    ``(expected, got)``: the client then takes a snapshot, hands it to
    :meth:`snapshot_taken` and calls :meth:`after_gap` with the same event.
    """

    def __init__(self, prefixes: tuple[str, ...], snapshot: bool) -> None:
        self.prefixes = prefixes
        self.want_snapshot = snapshot
        self.sequencer = Sequencer()
        self.pending: list[Event | Snapshot] = []

    def snapshot_taken(self, snap: Snapshot, gap: tuple[int, int] | None) -> None:
        if gap is not None:
            from dataclasses import replace

            snap = replace(snap, gap=gap)
        self.sequencer.reset(snap.seq)
        self.pending.append(snap)

    def feed(self, ev: Event) -> tuple[int, int] | None:
        verdict = self.sequencer.accept(ev)
        if verdict == "old":
            return None
        if verdict == "gap":
            expected = (self.sequencer.last or 0) + 1
            if self.want_snapshot:
                return expected, ev.seq or 0
            from dataclasses import replace

            ev = replace(ev, missed=(ev.seq or 0) - expected)
            self.sequencer.reset(ev.seq or 0)
        self._file(ev)
        return None

    def after_gap(self, ev: Event) -> None:
        """The event that showed the gap, once the new snapshot is in."""
        if ev.seq is not None and ev.seq <= (self.sequencer.last or 0):
            return  # already reflected in the snapshot
        self.sequencer.reset(ev.seq or 0)
        self._file(ev)

    def _file(self, ev: Event) -> None:
        if topic_matches(ev.topic, self.prefixes):
            self.pending.append(ev)

    def next_pending(self) -> Event | Snapshot | None:
        return self.pending.pop(0) if self.pending else None


class EventStreamBase:
    """What :class:`~ptpd_client.EventStream` and ``AsyncEventStream`` share; they add
    only the waiting (blocking or awaited) and the snapshot request."""

    def __init__(self, client: Any, prefixes: tuple[str, ...], snapshot: bool, timeout: float | None) -> None:
        self._client = client
        self.timeout = timeout
        self.feed = EventFeed(prefixes, snapshot)
        self._sub: Any = None

    def _subscribe(self, endpoint: str) -> None:
        # the whole socket is sequenced: subscribe to all, filter by prefix here
        self._sub = open_sub(self._client._context, endpoint, self._client._curve)

    @property
    def prefixes(self) -> tuple[str, ...]:
        return self.feed.prefixes

    @property
    def sequencer(self) -> Sequencer:
        return self.feed.sequencer

    @property
    def gaps(self) -> int:
        """How many times events were found missing."""
        return self.feed.sequencer.gaps

    @staticmethod
    def _time_left(deadline: float | None, timeout: float | None) -> float | None:
        """Seconds left to wait; :class:`RequestTimeout` once there are none."""
        left = remaining(deadline)
        if left is not None and left <= 0:
            from ._errors import RequestTimeout

            raise RequestTimeout(f"no event within {timeout:g} s", timeout)
        return left

    def _take(self, frames: list[Any]) -> tuple[Event, tuple[int, int]] | None:
        """Feed one received message; ``(event, gap)`` when a new snapshot is due."""
        try:
            ev = parse_event(frames)
        except ProtocolMismatch:
            return None
        gap = self.feed.feed(ev)
        return None if gap is None else (ev, gap)

    def _detach(self) -> None:
        if self._sub is not None:
            self._sub.close(0)
            self._sub = None
        if self in self._client._streams:
            self._client._streams.remove(self)


def remaining(deadline: float | None) -> float | None:
    """Seconds left until ``deadline`` (``None``: no deadline)."""
    return None if deadline is None else deadline - time.monotonic()


def poll_ms(left: float | None) -> int | None:
    """A poll timeout in ms for ``left`` seconds (at least 1 ms; ``None``: forever)."""
    return None if left is None else max(1, int(left * 1000))


# -- frames -------------------------------------------------------------------------------


def parse_frame(frames: list[Any], received: float) -> Frame | None:
    """``[b"liveview.frame", meta, jpeg]`` -> :class:`Frame` (None if malformed)."""
    from ._stream_models import Frame

    if len(frames) < 3:
        return None
    try:
        meta = bus.unpack(frames[1])
    except ValueError:
        return None
    if not isinstance(meta, dict):
        return None
    jpeg = frames[-1]
    jpeg = jpeg.bytes if hasattr(jpeg, "bytes") else bytes(jpeg)
    seq = meta.get("seq", 0)
    return Frame(
        seq=seq if isinstance(seq, int) else 0,
        jpeg=jpeg,
        width=int(meta.get("width") or meta.get("w") or 0),
        height=int(meta.get("height") or meta.get("h") or 0),
        meta=meta,
        received=received,
    )


class LatestMailbox:
    """A one-slot mailbox: ``put`` replaces what is there, ``get`` takes the newest.

    A slow consumer therefore always gets the most recent frame and never a backlog.
    Wakers (``add_waker``) are called after each put, from the putting thread: the asyncio
    client registers ``loop.call_soon_threadsafe``.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Frame | None = None
        self._closed = False
        self._error: BaseException | None = None
        self._wakers: list[Callable[[], object]] = []
        self.replaced = 0  #: frames overwritten before anyone took them
        self.received = 0
        self._last_taken: int | None = None

    def add_waker(self, fn: Callable[[], object]) -> None:
        with self._cond:
            self._wakers.append(fn)

    def put(self, item: Frame) -> None:
        with self._cond:
            if self._item is not None:
                self.replaced += 1
            self._item = item
            self.received += 1
            self._cond.notify_all()
            wakers = list(self._wakers)
        for w in wakers:
            w()

    def close(self, error: BaseException | None = None) -> None:
        with self._cond:
            self._closed = True
            self._error = error
            self._cond.notify_all()
            wakers = list(self._wakers)
        for w in wakers:
            w()

    @property
    def closed(self) -> bool:
        return self._closed

    def take(self) -> Frame | None:
        """The newest frame if one is waiting (no wait), with ``dropped`` filled in."""
        with self._cond:
            return self._take_locked()

    def _take_locked(self) -> Frame | None:
        item = self._item
        if item is None:
            if self._error is not None:
                raise self._error
            return None
        self._item = None
        dropped = 0 if self._last_taken is None else max(0, item.seq - self._last_taken - 1)
        self._last_taken = item.seq
        if dropped:
            from dataclasses import replace

            item = replace(item, dropped=dropped)
        return item

    def get(self, timeout: float | None) -> Frame | None:
        """Wait for a frame; ``None`` on timeout or when closed with nothing left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                item = self._take_locked()
                if item is not None:
                    return item
                if self._closed:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)


class MailboxFeeder(threading.Thread):
    """A thread that fills a :class:`LatestMailbox` until stopped, and closes the mailbox
    when it ends, with the error if one ended it: a dead feeder wakes its consumer."""

    def __init__(self, name: str, mailbox: LatestMailbox) -> None:
        super().__init__(name=name, daemon=True)
        self.mailbox = mailbox
        self._stop_event = threading.Event()
        self.ready = threading.Event()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def run(self) -> None:
        try:
            self.fill()
        except Exception as exc:  # a dead receiver must wake its consumer, not hang it
            self.mailbox.close(exc)
            return
        finally:
            self.ready.set()
            self.release()
        self.mailbox.close()

    def fill(self) -> None:  # pragma: no cover
        """Put frames in the mailbox until ``_stop_event`` is set."""
        raise NotImplementedError

    def release(self) -> None:
        """Let go of what :meth:`fill` used (it runs on this thread, whatever ended it)."""


class FrameReceiver(MailboxFeeder):
    """A thread that reads the live-view socket as fast as frames come and keeps only the
    newest in a :class:`LatestMailbox` (multipart-safe; never ``CONFLATE``)."""

    def __init__(self, context: Any, endpoint: str, mailbox: LatestMailbox, curve: Any = None) -> None:
        super().__init__("ptpd-frames", mailbox)
        self._curve = curve
        self._context = context
        self._endpoint = endpoint
        self._sock: Any = None

    def fill(self) -> None:
        import zmq

        sock = self._sock = open_sub(self._context, self._endpoint, self._curve, bus.Topic.FRAME.encode())
        self.ready.set()
        while not self._stop_event.is_set():
            if not sock.poll(50):
                continue
            # drain everything already here; only the newest becomes a Frame (the older
            # ones are let go as ZeroMQ received them, their JPEGs never copied)
            newest, received, older = None, 0.0, -1
            while True:
                try:
                    newest = sock.recv_multipart(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                received = time.time()
                older += 1
            frame = parse_frame(newest, received) if newest is not None else None
            if frame is not None:
                self.mailbox.replaced += older
                self.mailbox.put(frame)

    def release(self) -> None:
        if self._sock is not None:
            self._sock.close(0)


def normalise_prefixes(prefixes: Iterable[str] | str | None) -> tuple[str, ...]:
    if prefixes is None:
        return ()
    if isinstance(prefixes, str):
        return (prefixes,)
    return tuple(prefixes)
