"""The bus contract: the one module the daemon and every client import.

``docs/bus.md`` documents this module and must match it (a test checks).

Sockets (daemon side; clients connect):

* **command** — ROUTER. A client sends one msgpack map per request and gets one per
  reply. DEALER clients send ``[b"", request]``; REQ clients send ``[request]`` and their
  socket adds the empty delimiter. Replies come back the same way.
* **event** — PUB. Multipart ``[topic, meta]``: camera events, ``state.<prop>``
  changes, connection status, a heartbeat every second. Every message carries ``seq``.
* **liveview** — XPUB, frames only (its own socket, so a flood of frames never drops an
  event). Multipart ``[b"liveview.frame", meta, jpeg]``; the daemon runs live view on the
  camera only while someone subscribes.

Request ``{"id": int|str, "cmd": str, "args": {...}, "timeout_ms"?: int, "lease"?: str}``; reply
``{"id", "ok": True, "result": ...}`` or ``{"id", "ok": False, "error": {"code",
"message", "ptp_code"?}}``. Error codes are the stable strings of :class:`ErrorCode`.
``timeout_ms`` is the request's deadline: how long its client waits for the reply. The
daemon never starts a request once that time has passed since it arrived (the client has
given up): it answers ``expired`` instead. ``cancel`` stops a request of the same client.
``lease`` is the token of the control lease its client holds (``lock``): while someone
holds the lease, the commands that change settings or release the shutter
(:attr:`Command.guarded`) answer ``locked`` to everyone else.

Jobs (``job.start``) run in the daemon, independent of the client that started them;
each reports on the topic ``job.<id>``.

Blobs: binary payloads (image data, ``opreq`` data) may travel as extra frames after the
msgpack header, ``[header, blob0, blob1, ...]``, so that nobody copies them into or out
of msgpack. In the header a blob is the map ``{"$blob": i}`` (:data:`BLOB`) where its
bytes belong. A request may carry blobs; a reply carries them only when the request said
``"blobs": true`` (:func:`encode_request_frames` does), so clients that read one frame
keep getting every byte inline as msgpack ``bin``.
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

import msgpack

from ptpd import endpoints as _endpoints

#: Bumped when a request, reply or topic changes incompatibly.
PROTOCOL_VERSION = 2

#: A request larger than this is refused unread (bad_request). Only ``opreq``'s data-out
#: carries bytes to the daemon; a connection holds about three one-frame requests in the
#: daemon at once (queued, arriving, being read): this times three is its cost at most.
MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: Requests of one connection libzmq holds ahead of the daemon's reading (the command
#: socket's ``ZMQ_RCVHWM``, a count: libzmq's default of 1,000 let big requests pile up);
#: past it libzmq reads no more of that connection (its sender waits, nothing is dropped).
QUEUED_REQUESTS = 1
#: The longest deadline a request may carry (``timeout_ms``): a week.
MAX_TIMEOUT_MS = 7 * 24 * 3600 * 1000
#: The longest lease token a request may carry (the daemon's are 32 characters).
MAX_LEASE_TOKEN = 64
#: Most elements a request header may unpack into, over all its arrays and maps, and its
#: deepest nesting: 60 MiB of one-byte msgpack items unpacked into gigabytes of objects.
MAX_REQUEST_ITEMS = 4096
MAX_REQUEST_DEPTH = 32
#: Longest string in a request (names, values, paths); bytes travel as ``bin`` or blobs.
MAX_REQUEST_STR = 64 * 1024
#: Longest request id: a str id of more UTF-8 bytes is refused (and never echoed back).
MAX_ID_BYTES = 256
#: Longest message a subscriber may send the daemon's publishing sockets, in bytes: a
#: subscription or a handshake command (CURVE's INITIATE is about 300); a longer one ends
#: that connection unread. libzmq keeps about 50 bytes per byte of a distinct topic.
MAX_SUBSCRIPTION_MESSAGE = 1024
#: Most subscriptions one peer (a process on ipc://, a host on tcp://) may hold on one
#: of the daemon's publishing sockets; past it all its connections there are closed.
MAX_SUBSCRIPTIONS_PER_PEER = 128


class ErrorCode(str, enum.Enum):
    """Stable error codes of a failed reply (``error.code``)."""

    BAD_REQUEST = "bad_request"  #: not a msgpack map, missing/mistyped field or argument
    UNKNOWN_COMMAND = "unknown_command"  #: ``cmd`` is not in :data:`COMMANDS`
    INVALID_VALUE = "invalid_value"  #: a property or value the camera's description refuses
    NOT_CONNECTED = "not_connected"  #: the daemon has no session with the camera right now
    CAMERA_BUSY = "camera_busy"  #: the camera answered DeviceBusy, the queue is full, or replies wait unread
    CAMERA_REFUSED = "camera_refused"  #: the camera said no; ``ptp_code`` has its response code
    UNSUPPORTED = "unsupported"  #: this camera or mode cannot do it
    TIMEOUT = "timeout"  #: the camera did not answer in time
    CANCELLED = "cancelled"  #: its client cancelled it (``cancel``) before it started
    EXPIRED = "expired"  #: its deadline (``timeout_ms``) passed before it could start: nothing ran
    LOCKED = "locked"  #: another client or a job holds the control lease; ``holder`` names it
    INTERNAL = "internal"  #: a bug in the daemon; the message says what


class Topic:
    """Topic names and prefixes on the event and live-view sockets (dotted, prefix-filterable)."""

    EVENT = "event."  #: camera events: ``event.object_added``, ``event.capture_complete``, ...
    STATE = "state."  #: property changes: ``state.iso`` with meta ``{name, code, value, label}``
    CONNECTION = "status.connection"  #: ``{state, detail}``: connecting, connected, pairing, disconnected
    HEARTBEAT = "heartbeat"  #: every second: the ``status`` summary
    PROGRESS = "progress.transfer"  #: ``{id, handle, done, total}`` while a download runs
    FRAME = "liveview.frame"  #: on the live-view socket: ``[topic, meta, jpeg]``
    JOB = "job."  #: a job's progress and results: ``job.<id>``
    LEASE = "lease"  #: the control lease was taken, released or expired: ``{state, holder}``

    @staticmethod
    def event(name: str) -> str:
        return f"event.{name}"

    @staticmethod
    def job(job_id: int) -> str:
        return f"job.{job_id}"

    @staticmethod
    def state(prop: str) -> str:
        return f"state.{prop}"


class ConnectionState(str, enum.Enum):
    """Values of ``status.connection`` and of ``status().connection``."""

    CONNECTING = "connecting"
    PAIRING = "pairing"  #: waiting for the user to press OK on the camera
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    STOPPING = "stopping"


class Arg(NamedTuple):
    """One argument of a command."""

    name: str
    type: str  #: "str", "int", "float", "bool", "bytes", "prop", "value", "list[int]", "map", "id"
    required: bool = False
    default: Any = None
    help: str = ""


class Command(NamedTuple):
    """A command the daemon answers: its name, arguments and what it returns.

    The table's records are named tuples: a dataclass costs every ptpctl run about
    0.4 ms to build, a named tuple a tenth of that (the CLI's start-up budget).
    """

    name: str
    summary: str
    args: tuple[Arg, ...] = ()
    result: str = ""
    #: True when running it twice fires the shutter twice, deletes twice, ...: the daemon
    #: answers a repeated request id from its reply cache instead of running it again.
    side_effects: bool = False
    #: True when it needs no camera (answered even while disconnected)
    local: bool = False
    #: True when its result may hold bytes: sent as blob frames to a client that asks
    binary: bool = False
    #: True when only a daemon with an embedded simulated camera (``ptpd run --simulate``)
    #: can do it; any other daemon answers ``unsupported``
    simulate_only: bool = False
    #: True when it changes the camera's settings or releases its shutter: while another
    #: client or a job holds the control lease (``lock``) it answers ``locked``
    guarded: bool = False


_PROP = Arg("prop", "prop", True, help="property name (iso, whitebalance, ...) or hex code (0x500F)")

# a table: one entry a line, laid out by hand
# fmt: off
COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("ping", "Check that the daemon answers; its clocks (for a rig's clock offsets).", result="{pong: true, time, clock}", local=True),
        Command("version", "Daemon and bus protocol versions.", result="{ptpd, protocol, endpoints}", local=True),
        Command(
            "status",
            "Connection state, camera model, queue depth, subscribers, live-view fps.",
            result="{connection, vendor, model, queue, subscribers, liveview: {on, fps, subscribers}, seq, uptime}",
            local=True,
        ),
        Command(
            "snapshot",
            "All cached state and the event sequence number it reflects (for late joiners).",
            result="{seq, status, info, state: {prop: {code, value, label}}}",
            local=True,
        ),
        Command("help", "Commands with their arguments.", result="{commands: [{name, summary, args}]}", local=True),
        Command(
            "cancel",
            "Stop a request this client sent: a queued one never starts, a running capture stops after the shot in progress.",
            (Arg("id", "id", True, help="the id of the request to stop (sent by this client)"),),
            "{id, state}",
            local=True,
        ),
        Command("info", "Camera model, firmware, versions, supported operations and properties.", result="{vendor, manufacturer, model, version, serial, operations, properties, extra}"),
        Command("properties", "Every property name the camera answers to.", result="{names: [str]}"),
        Command("describe", "A property's datatype, access, current/default value and allowed values.", (_PROP,), "{code, name, datatype, writable, current, default, form, allowed, range}"),
        Command("get", "A property's current value, raw and as a label.", (_PROP,), "{code, name, value, label}"),
        Command(
            "set",
            "Set a property from a human label or a raw value; refused before sending if not allowed.",
            (_PROP, Arg("value", "value", True, help='human label ("800", "1/250", "+2/3", "Velvia") or raw (0x2)')),
            "{code, name, value, label}",
            side_effects=True,
            guarded=True,
        ),
        Command("state", "The camera's current settings summary.", result="{properties: [{code, name, value, label}]}"),
        Command(
            "capture",
            "Release the shutter COUNT times; optionally download each image and its preview.",
            (
                Arg("count", "int", False, 1, "number of shots (1-999)"),
                Arg("download", "bool", False, False, "return (or write) each image"),
                Arg("preview", "bool", False, False, "return each preview JPEG"),
                Arg("dir", "str", False, None, "write downloads here on the daemon's side instead of returning bytes"),
                Arg("keep", "bool", False, True, "keep the image on the camera after download"),
                Arg("at", "float", False, None, "release the first shot at this time of the daemon's clock (ping's clock), not at once"),
            ),
            "{shots: [{handle, filename, size, released, planned?, data?, path?, preview?}]}",
            side_effects=True,
            binary=True,
            guarded=True,
        ),
        Command("liveview.start", "Keep live view running even with no subscriber.", result="{on: true}", side_effects=True),
        Command("liveview.stop", "Drop the request made by liveview.start (stops when no one watches).", result="{on}", side_effects=True),
        Command("storage", "The camera's stores (capacity, free space) and how many more shots fit.", result="{stores: [{id, description, capacity, free_bytes, free_images}], shots_left}"),
        Command("objects", "List the objects on the camera's storage.", result="{objects: [{handle, filename, size, format, parent, is_folder, captured}]}"),
        Command(
            "download",
            "An object's bytes (progress on the progress.transfer topic).",
            (
                Arg("handle", "int", True, help="object handle (from objects)"),
                Arg("offset", "int", False, 0, "resume from this byte"),
                Arg("dir", "str", False, None, "write the object here on the daemon's side (verified, never replacing a file) instead of returning bytes"),
            ),
            "{handle, filename, size, offset, data | path, resumed?}",
            binary=True,
        ),
        Command(
            "delete",
            "Delete an object on the camera, or every object with all: true.",
            (
                Arg("handle", "int", False, None, "object handle (0xFFFFFFFF, every object, is refused: say all)"),
                Arg("all", "bool", False, False, "delete every object on the camera (instead of a handle)"),
            ),
            "{handle} | {all: true}",
            side_effects=True,
        ),
        Command(
            "opreq",
            "Run a raw PTP operation (for reverse engineering); a non-OK response is returned, not an error.",
            (
                Arg("code", "int", True, help="operation code"),
                Arg("params", "list[int]", False, (), "up to 5 u32 parameters"),
                Arg("data", "bytes", False, None, "data to send in a data-out phase"),
            ),
            "{code, code_name, params, data}",
            side_effects=True,
            binary=True,
            guarded=True,
        ),
        Command(
            "sim.fault",
            "Drive the embedded simulator's faults (only with ptpd run --simulate; for tests).",
            (
                Arg("action", "str", True, help="configure, clear, snapshot, drop_next, stall_next, slow_next, malformed_next, busy_for, refuse_next_inits, sleep_now"),
                Arg("options", "map", False, None, "keyword arguments of the action"),
            ),
            "{action, faults: {settings..., injected}}",
            side_effects=True,
            simulate_only=True,
        ),
        Command(
            "sim.shutter",
            "Press the shutter button on the embedded simulated body (only with ptpd run --simulate; for tests).",
            (Arg("count", "int", False, 1, "how many pictures the photographer takes (1-100)"),),
            "{handles: [int]}",
            side_effects=True,
            simulate_only=True,
        ),
        Command(
            "lock",
            "Hold the control lease: others get 'locked' from set, capture, opreq and jobs until it is released or expires.",
            (
                Arg("holder", "str", False, None, "a name for the holder, shown to those refused"),
                Arg("ttl", "float", False, 60.0, "seconds the lease lasts without a renewal (1-86400)"),
            ),
            "{lease, holder, ttl, expires_in}",
            local=True,
        ),
        Command(
            "unlock",
            "Release the control lease this client holds (force: whoever holds it, unless a job).",
            (Arg("force", "bool", False, False, "release a lease another client holds"),),
            "{released, holder}",
            local=True,
        ),
        Command(
            "job.start",
            "Start a job in the daemon (timelapse, bracket, focus-stack, tether); it runs on without its client.",
            (
                Arg("kind", "str", True, help="timelapse, bracket, focus-stack or tether"),
                Arg("options", "map", False, None, "the kind's options (see docs/bus.md)"),
            ),
            "{id, kind, state, ...}",
            side_effects=True,
        ),
        Command("job.list", "The jobs: running ones and those ended lately.", (Arg("all", "bool", False, False, "every ended job too"),), "{jobs: [{id, kind, state, ...}]}", local=True),
        Command("job.get", "One job, with its shots or files.", (Arg("id", "int", True, help="the job's id"),), "{id, kind, state, ..., shots}", local=True),
        Command(
            "job.stop",
            "Stop a job after its shot in progress (settings it changed are put back).",
            (Arg("id", "int", True, help="the job's id"),),
            "{id, kind, state, ...}",
            side_effects=True,
        ),
    )
}
# fmt: on


class Request(NamedTuple):
    """A decoded request."""

    id: int | str
    cmd: str
    args: dict[str, Any]
    #: the client takes binary results as extra frames (``"blobs": true`` in the request)
    blobs: bool = False
    #: seconds the client waits for the reply (``timeout_ms``), ``None`` when it did not say
    timeout: float | None = None
    #: the control lease token its client holds (``lease``), if it sent one
    lease: str | None = None


class BusError(Exception):
    """A failed request: a stable :class:`ErrorCode`, a message, and the camera's PTP code if any."""

    def __init__(self, code: ErrorCode | str, message: str, ptp_code: int | None = None) -> None:
        self.code = ErrorCode(code)
        self.message = message
        self.ptp_code = ptp_code
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.ptp_code is not None:
            d["ptp_code"] = self.ptp_code
        return d


def pack(obj: Any) -> bytes:
    """Encode one bus message (msgpack, bytes stay bytes)."""
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data: Buffer) -> Any:
    """Decode one bus message; raises ``ValueError`` on anything that is not msgpack."""
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ValueError(f"not a msgpack message: {exc}") from exc


def unpack_request(data: Buffer) -> Any:
    """Decode a request header within the request budgets (:data:`MAX_REQUEST_ITEMS`
    elements in all, :data:`MAX_REQUEST_DEPTH` levels, strings of
    :data:`MAX_REQUEST_STR`; bytes up to the message's size): ``ValueError`` past them,
    before the items are built."""
    items = 0

    def count(container: Any) -> Any:
        nonlocal items
        items += len(container) + 1
        if items > MAX_REQUEST_ITEMS:
            raise ValueError(f"more than {MAX_REQUEST_ITEMS} items")
        return container

    try:
        msg = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=False,
            list_hook=count,
            object_hook=count,
            max_array_len=MAX_REQUEST_ITEMS,
            max_map_len=MAX_REQUEST_ITEMS,
            max_str_len=MAX_REQUEST_STR,
            max_bin_len=MAX_REQUEST_BYTES,
            max_ext_len=1024,
        )
    except Exception as exc:  # msgpack raises several unrelated types
        raise ValueError(f"not a msgpack message within the request budgets: {exc or type(exc).__name__}") from exc
    if _depth(msg) > MAX_REQUEST_DEPTH:
        raise ValueError(f"request nested deeper than {MAX_REQUEST_DEPTH} levels")
    return msg


def _depth(obj: Any) -> int:
    """How deep ``obj`` nests (a scalar is 0), without recursion (at most
    :data:`MAX_REQUEST_ITEMS` containers to visit)."""
    deepest, todo = 0, [(obj, 1)]
    while todo:
        o, d = todo.pop()
        if not isinstance(o, (dict, list)):
            continue
        children: Any = o.values() if isinstance(o, dict) else o
        deepest = max(deepest, d)
        todo.extend((c, d + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def check_id(rid: Any) -> int | str | None:
    """``rid`` if it can be a request id (an int, or a str of at most
    :data:`MAX_ID_BYTES` UTF-8 bytes), else ``None``."""
    if isinstance(rid, bool) or not isinstance(rid, (int, str)):
        return None
    if isinstance(rid, str) and (len(rid) > MAX_ID_BYTES or len(rid.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES):
        return None
    return rid


# -- blobs: binary payloads as extra frames ------------------------------------------

#: The key of a blob reference: ``{"$blob": 0}`` stands for the first frame after the header.
BLOB = "$blob"

#: What a blob may be: sent zero-copy from any buffer, received as a ``memoryview``.
Buffer = bytes | bytearray | memoryview
_BUFFERS = (bytes, bytearray, memoryview)
_BLOB_KEY = pack(BLOB)  #: how the key looks inside a packed header


def split_blobs(obj: Any) -> tuple[Any, list[Buffer]]:
    """``obj`` with every bytes-like value replaced by ``{"$blob": i}``, and the values in
    order. The buffers themselves are not copied (send them with ``copy=False``)."""
    blobs: list[Buffer] = []

    def walk(o: Any) -> Any:
        if isinstance(o, _BUFFERS):
            blobs.append(o)
            return {BLOB: len(blobs) - 1}
        if isinstance(o, dict):
            return {k: walk(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [walk(v) for v in o]
        return o

    return walk(obj), blobs


def join_blobs(obj: Any, blobs: list[Any] | tuple[Any, ...]) -> Any:
    """``obj`` with every ``{"$blob": i}`` replaced by ``blobs[i]`` (in place: ``obj`` is
    a freshly decoded message); ``ValueError`` on a reference to a missing blob or a blob
    nothing refers to."""
    used = [False] * len(blobs)

    def blob(ref: dict[Any, Any]) -> Any:
        i = ref[BLOB]
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(blobs):
            raise ValueError(f"blob reference {i!r} out of range ({len(blobs)} blob frame(s))")
        used[i] = True
        return blobs[i]

    def is_ref(o: Any) -> bool:
        return isinstance(o, dict) and len(o) == 1 and BLOB in o

    def walk(o: Any) -> None:
        # replacing a value under an existing key (or index) is safe while iterating
        for k, v in o.items() if isinstance(o, dict) else enumerate(o):
            if is_ref(v):
                o[k] = blob(v)
            elif isinstance(v, (dict, list)):
                walk(v)

    try:
        if is_ref(obj):
            obj = blob(obj)
        elif isinstance(obj, (dict, list)):
            walk(obj)
    except RecursionError:
        raise ValueError("message nested too deeply") from None
    if not all(used):
        raise ValueError(f"blob frame {used.index(False)} is not referred to by {BLOB!r}")
    return obj


# -- requests and replies ---------------------------------------------------------------


def _timeout_ms(timeout: float) -> int:
    return min(MAX_TIMEOUT_MS, max(1, round(timeout * 1000)))


def encode_request(
    id: int | str,
    cmd: str,
    args: dict[str, Any] | None = None,
    *,
    timeout: float | None = None,
    lease: str | None = None,
) -> bytes:
    """A one-frame request: bytes inline, the reply inline too. ``timeout``: seconds the
    client will wait for the reply (sent as ``timeout_ms``); ``lease``: the token of the
    control lease the client holds."""
    msg: dict[str, Any] = {"id": id, "cmd": cmd, "args": args or {}}
    if timeout is not None:
        msg["timeout_ms"] = _timeout_ms(timeout)
    if lease:
        msg["lease"] = lease
    return pack(msg)


def encode_request_frames(
    id: int | str,
    cmd: str,
    args: dict[str, Any] | None = None,
    *,
    timeout: float | None = None,
    lease: str | None = None,
) -> list[Buffer]:
    """``[header, blob0, ...]``: bytes-like arguments as blob frames, and binary results
    asked for as blob frames (``"blobs": true``); ``timeout`` and ``lease`` as for
    :func:`encode_request`."""
    header, blobs = split_blobs(args or {})
    msg: dict[str, Any] = {"id": id, "cmd": cmd, "args": header, "blobs": True}
    if timeout is not None:
        msg["timeout_ms"] = _timeout_ms(timeout)
    if lease:
        msg["lease"] = lease
    return [pack(msg), *blobs]


def decode_request(data: Buffer, blobs: list[Any] | tuple[Any, ...] = ()) -> Request:
    """Decode and validate a request map (and resolve its blob references); raises
    :class:`BusError` (bad_request)."""
    size = len(data) + sum(len(b) for b in blobs)
    if size > MAX_REQUEST_BYTES:
        raise BusError(ErrorCode.BAD_REQUEST, f"request of {size} bytes exceeds {MAX_REQUEST_BYTES}")
    try:
        msg = unpack_request(data)
    except ValueError as exc:
        raise BusError(ErrorCode.BAD_REQUEST, str(exc)) from exc
    if not isinstance(msg, dict):
        raise BusError(ErrorCode.BAD_REQUEST, "a request is a msgpack map {id, cmd, args}")
    rid = msg.get("id")
    if not isinstance(rid, (int, str)) or isinstance(rid, bool):
        raise BusError(ErrorCode.BAD_REQUEST, "request needs an 'id' (int or str)")
    if check_id(rid) is None:
        raise BusError(ErrorCode.BAD_REQUEST, f"request 'id' longer than {MAX_ID_BYTES} bytes")
    cmd = msg.get("cmd")
    if not isinstance(cmd, str):
        raise BusError(ErrorCode.BAD_REQUEST, "request needs a 'cmd' (str)")
    args = msg.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise BusError(ErrorCode.BAD_REQUEST, "'args' must be a map")
    timeout_ms = msg.get("timeout_ms")
    if timeout_ms is not None and (
        not isinstance(timeout_ms, (int, float)) or isinstance(timeout_ms, bool) or not 0 < timeout_ms <= MAX_TIMEOUT_MS
    ):
        raise BusError(ErrorCode.BAD_REQUEST, f"'timeout_ms' must be a number of milliseconds, 1 to {MAX_TIMEOUT_MS}")
    lease = msg.get("lease")
    if lease is not None and (not isinstance(lease, str) or len(lease) > MAX_LEASE_TOKEN):
        raise BusError(
            ErrorCode.BAD_REQUEST, f"'lease' must be a lease token (a string of at most {MAX_LEASE_TOKEN} characters)"
        )
    if blobs or _BLOB_KEY in data:  # no walk through a request that has nothing to resolve
        try:  # a walk of at most MAX_REQUEST_ITEMS items
            args = join_blobs(args, blobs)
        except ValueError as exc:
            raise BusError(ErrorCode.BAD_REQUEST, str(exc)) from exc
    return Request(
        rid, cmd, args, msg.get("blobs") is True, None if timeout_ms is None else timeout_ms / 1000, lease or None
    )


#: how much of a bad request :func:`request_id_of` reads
_ID_SCAN = 64 * 1024
#: msgpack type bytes of maps and arrays (fixmap, fixarray, array 16/32, map 16/32)
_CONTAINERS = frozenset(range(0x80, 0xA0)) | {0xDC, 0xDD, 0xDE, 0xDF}


def request_id_of(data: bytes | memoryview) -> int | str | None:
    """Best-effort id of a request that failed validation, so the error can still be
    matched: the top-level ``id``, looked for in the first 64 KiB among the keys before
    the first array or map value (clients send it first), so that a hostile message
    costs next to nothing. ``None`` when there is none, or it is not a valid id
    (:func:`check_id`)."""
    view = memoryview(data).cast("B")[:_ID_SCAN]
    unpacker = msgpack.Unpacker(
        raw=False,
        strict_map_key=False,
        max_buffer_size=_ID_SCAN,
        max_str_len=MAX_ID_BYTES * 4,
        max_bin_len=MAX_ID_BYTES * 4,
        max_array_len=0,
        max_map_len=0,
        max_ext_len=0,
    )
    try:
        unpacker.feed(view)
        for _ in range(min(unpacker.read_map_header(), 16)):
            key = unpacker.unpack()
            if key == "id":
                return check_id(unpacker.unpack())
            if unpacker.tell() >= len(view) or view[unpacker.tell()] in _CONTAINERS:
                return None  # skipping a container could walk millions of items
            unpacker.skip()
    except Exception:  # not a map, truncated, over a limit: no readable id
        return None
    return None


def encode_reply(id: int | str | None, result: Any) -> bytes:
    """A one-frame reply: bytes inline as msgpack ``bin``."""
    return pack({"id": id, "ok": True, "result": result})


def encode_reply_frames(id: int | str | None, result: Any, blobs: bool) -> list[Buffer]:
    """The reply frames: ``[header, blob0, ...]`` when ``blobs`` (the request asked), else
    ``[header]`` with bytes inline. Blobs are the result's own buffers, not copies."""
    if not blobs:
        return [encode_reply(id, result)]
    header, parts = split_blobs(result)
    return [encode_reply(id, header), *parts]


def encode_error(id: int | str | None, error: BusError) -> bytes:
    return pack({"id": id, "ok": False, "error": error.to_dict()})


def decode_reply(frames: list[Any]) -> dict[str, Any]:
    """A reply map from its frames ``[b"", header, blob0, ...]`` (delimiter optional; frames
    may be ``bytes``, ``memoryview`` or ``zmq.Frame``), with blob references resolved to the
    blob frames as given. ``ValueError`` if it is not a bus reply."""
    parts = [f.buffer if hasattr(f, "buffer") else f for f in frames]
    if parts and len(parts[0]) == 0:
        parts = parts[1:]  # the delimiter (a header is never empty)
    if not parts:
        raise ValueError("empty reply")
    reply = unpack(parts[0])
    if not isinstance(reply, dict) or "ok" not in reply:
        raise ValueError(f"not a bus reply: {reply!r:.200}")
    if "result" in reply:
        # read-only like bytes (and hashable); toreadonly() is a new view, not a copy
        if len(parts) > 1:  # without blob frames the header is the whole reply, as it was
            blobs = [p.toreadonly() if isinstance(p, memoryview) else p for p in parts[1:]]
            reply["result"] = join_blobs(reply["result"], blobs)
    elif len(parts) > 1:
        raise ValueError(f"an error reply with {len(parts) - 1} blob frame(s)")
    return reply


# -- endpoints: part of the contract, kept in ptpd.endpoints ---------------------------

ENV_COMMAND = _endpoints.ENV_COMMAND
ENV_EVENT = _endpoints.ENV_EVENT
ENV_LIVEVIEW = _endpoints.ENV_LIVEVIEW
ENV_RUNTIME = _endpoints.ENV_RUNTIME
ENV_LEASE = _endpoints.ENV_LEASE
ENV_CURVE_SERVER_KEY = _endpoints.ENV_CURVE_SERVER_KEY
ENV_CURVE_CLIENT_KEY = _endpoints.ENV_CURVE_CLIENT_KEY
runtime_dir = _endpoints.runtime_dir
Endpoints = _endpoints.Endpoints
default_endpoints = _endpoints.default_endpoints
needs_ipv6 = _endpoints.needs_ipv6
liveview_endpoint_for = _endpoints.liveview_endpoint_for
event_endpoint_for = _endpoints.event_endpoint_for
