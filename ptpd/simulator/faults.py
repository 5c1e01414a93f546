"""Fault injection for the simulated cameras: what a camera on Wi-Fi does to its host.

A :class:`Faults` object decides, it does not act: the simulator's server asks it at a
few points (a connection arrives, an init request arrives, a transaction starts) and
carries out the answer (a :class:`Plan`). That keeps one fault model for the generic and
the Fuji simulator, lets tests drive it deterministically (``seed``, explicit one-shot
triggers, ``now`` passed in), and lets a daemon or a test change it at run time.

Faults (issue 8):

=====================  ==========================================================
drop                   close every socket of the session (Wi-Fi loss) at a random
                       moment of a transaction: before the data phase, in the
                       middle of it, or just before the response
stall                  stop answering for ``stall_s`` seconds, then go on
slow                   answer ``slow_ms`` later than usual
busy                   answer DeviceBusy (0x2019) to everything but Close/Open
                       session for ``busy_s`` seconds
malformed              send one malformed packet: a bad length field, an unknown
                       packet type, a truncated dataset, a string without its
                       terminator, or an array count of a billion
refuse init            answer the init handshake with Init Fail
sleep / wake           after ``sleep_after_s`` idle seconds close everything and
                       refuse connections for ``wake_after_s`` seconds
=====================  ==========================================================

Every fault carried out is counted in :attr:`Faults.injected`.
"""

from __future__ import annotations

import math
import random
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import Enum, unique
from typing import Any

from ptpd.protocol.codes import OperationCode as OP


@unique
class Malformed(str, Enum):
    """Kinds of malformed packet the simulator can send."""

    BAD_LENGTH = "bad-length"  #: a packet whose u32 length is below 8 (framing is lost)
    UNKNOWN_TYPE = "unknown-type"  #: a well-framed packet of an undefined type
    TRUNCATED_DATASET = "truncated-dataset"  #: a data phase cut short (consistent framing)
    UNTERMINATED_STRING = "unterminated-string"  #: a PTP string whose last unit is not NUL
    ABSURD_ARRAY_COUNT = "absurd-array-count"  #: an array count of 1,000,000,000

    @classmethod
    def parse(cls, text: str) -> tuple[Malformed, ...]:
        """``"bad-length,unknown-type"`` or ``"all"`` -> kinds."""
        if text.strip() in ("", "all"):
            return tuple(cls)
        return tuple(cls(t.strip()) for t in text.split(",") if t.strip())


@unique
class DropPoint(str, Enum):
    """Where in a transaction the connection is closed."""

    BEFORE_DATA = "before-data"  #: right after the request arrived
    MID_DATA = "mid-data"  #: part of the data phase was sent
    BEFORE_RESPONSE = "before-response"  #: the data went out, the response never does


#: operations a busy camera still answers (a host must be able to close and reopen)
_BUSY_EXEMPT = frozenset({OP.GetDeviceInfo, OP.OpenSession, OP.CloseSession})

#: DataSets whose first PTP string can be broken, by the operation that returns them:
#: op code -> byte offset of the string's u8 count (ptp.md §10)
_FIRST_STRING_OFFSET: dict[int, int] = {
    OP.GetDeviceInfo: 8,  # DeviceInfo.VendorExtensionDesc
    OP.GetStorageInfo: 26,  # StorageInfo.StorageDescription
    OP.GetObjectInfo: 52,  # ObjectInfo.Filename
}


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do to one transaction; the default plan does nothing."""

    delay_s: float = 0.0  #: answer this much later (slow)
    stall_s: float = 0.0  #: say nothing for this long first (stall)
    busy: bool = False  #: answer DeviceBusy instead of doing the operation
    drop: DropPoint | None = None  #: close every socket at this point
    drop_fraction: float = 0.5  #: for MID_DATA: how much of the data goes out first
    malformed: Malformed | None = None  #: send this kind of malformed packet

    @property
    def quiet(self) -> bool:
        return self == _QUIET


_QUIET = Plan()


# -- what each setting may be (checked before a bus command or a test changes it) --------


def number(name: str, value: Any, lo: float = 0.0, hi: float = math.inf) -> float:
    """``value`` as a float from ``lo`` to ``hi``; ``ValueError`` for anything else (text, NaN, bools)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        bound = f"from {lo:g} to {hi:g}" if hi != math.inf else f"of at least {lo:g}"
        raise ValueError(f"{name} must be a number {bound}, not {value!r}")
    return float(value)


def rate(name: str, value: Any) -> float:
    """A probability per transaction, 0..1."""
    return number(name, value, 0.0, 1.0)


def duration(name: str, value: Any) -> float:
    """Seconds or milliseconds: a number of at least 0."""
    return number(name, value)


def integer(name: str, value: Any, lo: int = 0, hi: int = 0xFFFFFFFF) -> int:
    """An int from ``lo`` to ``hi``."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer from {lo} to {hi}, not {value!r}")
    return value


def kinds(name: str, value: Any) -> tuple[Malformed, ...]:
    """Malformed kinds: ``"all"``, a comma list, or a list of kind names."""
    try:
        if isinstance(value, str):
            return Malformed.parse(value)
        if isinstance(value, (list, tuple)):
            return tuple(Malformed(k) for k in value)
    except ValueError:
        pass
    known = ", ".join(k.value for k in Malformed)
    raise ValueError(f"{name} must be 'all' or a list of {known}, not {value!r}")


def optional(check: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    """``check``, or None allowed."""

    def check_or_none(name: str, value: Any) -> Any:
        return None if value is None else check(name, value)

    return check_or_none


#: How each setting of :class:`Faults` is checked, by name.
SETTINGS: dict[str, Callable[[str, Any], Any]] = {
    "drop_rate": rate,
    "stall_rate": rate,
    "stall_s": duration,
    "slow_rate": rate,
    "slow_ms": duration,
    "busy_rate": rate,
    "busy_s": duration,
    "malformed_rate": rate,
    "malformed_kinds": kinds,
    "refuse_init_rate": rate,
    "refuse_init_reason": lambda name, value: integer(name, value, 1),
    "sleep_after_s": optional(duration),
    "wake_after_s": duration,
    "seed": optional(lambda name, value: integer(name, value, -(2**63), 2**63 - 1)),
}


def check_setting(name: str, value: Any) -> Any:
    """``value`` as setting ``name`` of :class:`Faults` takes it; ``ValueError`` if it cannot be."""
    check = SETTINGS.get(name)
    if check is None:
        raise ValueError(f"unknown fault setting {name!r}; known: {', '.join(SETTINGS)}")
    return check(name, value)


@dataclass
class Faults:
    """The fault model of one simulated camera; change its fields at any time.

    Rates are probabilities per transaction (0..1). One-shot triggers
    (:meth:`drop_next`, :meth:`stall_next`, :meth:`busy_for`, :meth:`malformed_next`,
    :meth:`refuse_next_inits`, :meth:`sleep_now`) apply to the next transaction,
    init or moment regardless of the rates.
    """

    drop_rate: float = 0.0
    stall_rate: float = 0.0
    stall_s: float = 10.0
    slow_rate: float = 0.0
    slow_ms: float = 500.0
    busy_rate: float = 0.0
    busy_s: float = 2.0
    malformed_rate: float = 0.0
    malformed_kinds: tuple[Malformed, ...] = tuple(Malformed)
    refuse_init_rate: float = 0.0
    refuse_init_reason: int = 2  #: Init Fail reason: 1 rejected, 2 busy, 3 unspecified
    sleep_after_s: float | None = None
    wake_after_s: float = 5.0
    seed: int | None = None

    injected: Counter[str] = field(default_factory=Counter, init=False)
    _rng: random.Random = field(init=False, repr=False)
    _pending: list[Plan] = field(default_factory=list, init=False, repr=False)
    _refuse_inits: int = field(default=0, init=False, repr=False)
    _busy_until: float = field(default=float("-inf"), init=False, repr=False)
    _asleep_until: float = field(default=float("-inf"), init=False, repr=False)
    _last_activity: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        if isinstance(self.malformed_kinds, str):
            self.malformed_kinds = Malformed.parse(self.malformed_kinds)

    # -- control -------------------------------------------------------------------

    def configure(self, **changes: Any) -> None:
        """Change settings by name (what a bus command or a test sends).

        Every value is checked first (:func:`check_setting`): an unknown name or a value of
        the wrong type or range raises ``ValueError`` and changes nothing.
        """
        checked = {name: check_setting(name, value) for name, value in changes.items()}
        for name, value in checked.items():
            if name == "seed":
                self._rng.seed(value)
            setattr(self, name, value)

    def clear(self) -> None:
        """No faults from now on (counters are kept)."""
        self.drop_rate = self.stall_rate = self.slow_rate = self.busy_rate = 0.0
        self.malformed_rate = self.refuse_init_rate = 0.0
        self.sleep_after_s = None
        self._pending.clear()
        self._refuse_inits = 0
        self._busy_until = self._asleep_until = float("-inf")

    def snapshot(self) -> dict[str, Any]:
        """Settings and counters as plain data."""
        d: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        d["malformed_kinds"] = [k.value for k in self.malformed_kinds]
        d["injected"] = dict(self.injected)
        return d

    @property
    def total(self) -> int:
        """Faults carried out so far."""
        return sum(self.injected.values())

    def drop_next(self, point: DropPoint | str | None = None, fraction: float | None = None) -> None:
        """Close every socket during the next transaction (at ``point``; random if None)."""
        where = DropPoint(point) if point is not None else self._rng.choice(list(DropPoint))
        self._pending.append(Plan(drop=where, drop_fraction=self._fraction(fraction)))

    def stall_next(self, seconds: float | None = None) -> None:
        self._pending.append(Plan(stall_s=self.stall_s if seconds is None else seconds))

    def slow_next(self, ms: float | None = None) -> None:
        self._pending.append(Plan(delay_s=(self.slow_ms if ms is None else ms) / 1000))

    def malformed_next(self, kind: Malformed | str | None = None) -> None:
        k = Malformed(kind) if kind is not None else self._rng.choice(self.malformed_kinds or tuple(Malformed))
        self._pending.append(Plan(malformed=k))

    def busy_next(self) -> None:
        """Answer DeviceBusy to the next transaction only."""
        self._pending.append(Plan(busy=True))

    def busy_for(self, seconds: float | None = None, now: float | None = None) -> None:
        """Answer DeviceBusy for ``seconds`` (default ``busy_s``) from ``now`` (monotonic clock)."""
        now = time.monotonic() if now is None else now
        self._busy_until = max(self._busy_until, now + (self.busy_s if seconds is None else seconds))
        self.injected["busy"] += 1

    def refuse_next_inits(self, count: int = 1, reason: int | None = None) -> None:
        self._refuse_inits += count
        if reason is not None:
            self.refuse_init_reason = reason

    def sleep_now(self, seconds: float | None = None, now: float | None = None) -> None:
        """Fall asleep at once for ``seconds`` (default ``wake_after_s``): the server closes
        every socket and refuses new connections until then."""
        now = time.monotonic() if now is None else now
        self._asleep_until = now + (self.wake_after_s if seconds is None else seconds)
        self.injected["sleep"] += 1

    # -- decisions (called by the server) ----------------------------------------------

    def asleep(self, now: float | None = None) -> bool:
        """True while the camera sleeps; also falls asleep here after enough idle time."""
        now = time.monotonic() if now is None else now
        if now < self._asleep_until:
            return True
        if (
            self.sleep_after_s is not None
            and self._last_activity is not None
            and now - self._last_activity >= self.sleep_after_s
        ):
            self._last_activity = None
            self.sleep_now(now=now)
            return True
        return False

    def sleep_deadline(self) -> float | None:
        """When the camera falls asleep if nothing happens before (None: never)."""
        if self.sleep_after_s is None or self._last_activity is None:
            return None
        return self._last_activity + self.sleep_after_s

    def activity(self, now: float | None = None) -> None:
        """Something happened on a session (resets the idle timer)."""
        self._last_activity = time.monotonic() if now is None else now

    def on_init(self, now: float | None = None) -> int | None:
        """An Init Command/Event Request arrived: the Init Fail reason, or None to accept."""
        now = time.monotonic() if now is None else now
        self.activity(now)
        if self._refuse_inits > 0:
            self._refuse_inits -= 1
        elif not self._roll(self.refuse_init_rate):
            return None
        self.injected["refuse_init"] += 1
        return self.refuse_init_reason

    def on_transaction(self, op_code: int, data_in: bool, now: float | None = None) -> Plan:
        """A transaction starts: what to do to it. ``data_in`` = it answers with data."""
        now = time.monotonic() if now is None else now
        self.activity(now)
        if self._pending:
            plan = self._pending.pop(0)
        else:
            plan = self._random_plan(data_in)
            if plan.busy:  # a busy spell lasts, it is not one answer (counted there)
                self.busy_for(self.busy_s, now)
                plan = Plan()
        if plan.drop == DropPoint.MID_DATA and not data_in:
            plan = Plan(drop=DropPoint.BEFORE_RESPONSE)
        if (
            plan.malformed is not None
            and not data_in
            and plan.malformed
            not in (
                Malformed.BAD_LENGTH,
                Malformed.UNKNOWN_TYPE,
            )
        ):
            # Only a data phase carries a dataset to break; send a bad packet instead.
            plan = Plan(malformed=self._rng.choice([Malformed.BAD_LENGTH, Malformed.UNKNOWN_TYPE]))
        if plan.malformed is Malformed.UNTERMINATED_STRING and op_code not in _FIRST_STRING_OFFSET:
            plan = Plan(malformed=Malformed.TRUNCATED_DATASET)
        if plan.busy:  # a one-shot busy from the queue
            plan = Plan(delay_s=plan.delay_s)
            self.busy_for(0.0, now)
        for name, on in (
            ("drop", plan.drop is not None),
            ("stall", plan.stall_s > 0),
            ("slow", plan.delay_s > 0),
            ("malformed", plan.malformed is not None),
        ):
            if on:
                self.injected[name] += 1
        if op_code not in _BUSY_EXEMPT and now <= self._busy_until:
            plan = Plan(busy=True, delay_s=plan.delay_s, stall_s=plan.stall_s)
        return plan

    def _random_plan(self, data_in: bool) -> Plan:
        if self._roll(self.drop_rate):
            points = list(DropPoint) if data_in else [DropPoint.BEFORE_DATA, DropPoint.BEFORE_RESPONSE]
            return Plan(drop=self._rng.choice(points), drop_fraction=self._fraction(None))
        if self._roll(self.stall_rate):
            return Plan(stall_s=self.stall_s)
        if self._roll(self.malformed_rate) and self.malformed_kinds:
            return Plan(malformed=self._rng.choice(self.malformed_kinds))
        if self._roll(self.busy_rate):
            return Plan(busy=True)
        if self._roll(self.slow_rate):
            return Plan(delay_s=self.slow_ms / 1000 * self._rng.uniform(0.5, 1.5))
        return _QUIET

    def _roll(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def _fraction(self, fraction: float | None) -> float:
        return self._rng.uniform(0.05, 0.95) if fraction is None else fraction


# -- turning a fault into bytes (pure functions the servers call) ------------------------


def bad_length_packet() -> bytes:
    """A PTP/IP header whose length (4) is below the 8-byte minimum: framing is lost."""
    return struct.pack("<II", 4, 7) + b"\x01\x20"


def unknown_type_packet(transaction_id: int) -> bytes:
    """A well-framed packet of undefined type 0x77 (a receiver may skip it or give up)."""
    return struct.pack("<III", 12, 0x77, transaction_id)


def corrupt_payload(kind: Malformed, op_code: int, payload: bytes) -> bytes:
    """The data phase ``payload`` of ``op_code`` broken as ``kind`` says.

    The framing around it stays consistent (StartData announces the broken length), so
    only a dataset decoder can notice.
    """
    if kind is Malformed.ABSURD_ARRAY_COUNT:
        off = _first_array_offset(op_code, payload)
        if off is not None:
            return payload[:off] + struct.pack("<I", 1_000_000_000) + payload[off + 4 :]
        kind = Malformed.TRUNCATED_DATASET
    if kind is Malformed.UNTERMINATED_STRING:
        off = _FIRST_STRING_OFFSET.get(op_code)
        if off is not None and off < len(payload) and payload[off] > 0:
            end = off + 1 + 2 * payload[off]  # just past the NUL unit
            if end <= len(payload):
                return payload[: end - 2] + "X".encode("utf-16-le") + payload[end:]
        kind = Malformed.TRUNCATED_DATASET
    # TRUNCATED_DATASET (and the fallback): keep a little less than half
    return payload[: max(0, len(payload) // 2 - 1)]


def _first_array_offset(op_code: int, payload: bytes) -> int | None:
    if op_code in (OP.GetStorageIDs, OP.GetObjectHandles) and len(payload) >= 4:
        return 0
    if op_code == OP.GetDeviceInfo and len(payload) > 9:  # OperationsSupported after 2 fields + string + u16
        off = 8 + 1 + 2 * payload[8] + 2
        return off if off + 4 <= len(payload) else None
    return None
