"""What a Fuji body offers, decided from what it says while the session comes up.

Fuji bodies come in generations, and nothing in the handshake names one: the bring-up
asks, and each answer decides the next step (libfuji ``fuji_setup``, libgphoto2's Fuji
Wi-Fi init, malc0mn's X-T1 sequence; facts in ``docs/cameras.md``)::

    OpenSession(1)
    0xD212 (state list)      answered?  -> DF00, the camera state; 0 = waiting for the user
    0xDF24 (remote version)  4 bytes    -> remote shooting offered; empty = not offered
    0xDF01 := mode                      5 (remote) with a remote version, else by DF00
    echo 0xDF24 (remote) or 0xDF22 (no remote)
    InitiateOpenCapture(0, 0)           remote only; opens the event and live-view ports

:class:`BodyOffer` is the result: what the camera said, kept for the camera layer (which
features exist) and for ``info``. Pure code: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ptpd.fuji.codes import CameraState, ClientMode
from ptpd.fuji.codes import FujiPropCode as F
from ptpd.fuji.state import StateEntry, decode_state
from ptpd.protocol.errors import ProtocolError

#: The control entries a later body lists in 0xD212 right after OpenSession (camera state,
#: 0xD220, object count, 0xD52F, 0xD400, object count again) [real X-T2, X-T20, X-T4, X-T5
#: logs in petabyt/libfuji docs/testsuite]: they are not repeated in its later lists.
CONTROL_STATE_CODES = frozenset(
    {F.Unknown_DF00, F.Unknown_D220, F.Unknown_D222, F.Unknown_D52F, F.Unknown_D400, F.Unknown_D401}
)
#: A 0xD212 answer with at least this many property entries is a whole state (the X-T1's
#: 17 to 19 on every poll, the X-T4's 20 and X-T5's 21 during open capture), not a list
#: of changes: what it leaves out is not in force now (the X-T1 lists the F-number only
#: in A and M). Lists of changes are short (often empty).
WHOLE_STATE_MIN = 10

#: How often the bring-up polls 0xD212 while the camera waits for its user (libfuji: 100 ms;
#: a slower poll costs the user nothing and keeps a Wi-Fi link quieter).
USER_POLL_INTERVAL = 0.25


def client_mode(camera_state: int | None, remote_version: int | None) -> int:
    """The 0xDF01 value to ask for (libfuji ``fuji_setup``): remote shooting when the body
    has a remote version (or says it is in remote state); otherwise what the camera state
    calls for (1 selected images, 3 PC AutoSave), else browsing all images."""
    if remote_version is not None or camera_state == CameraState.Remote:
        return ClientMode.Remote
    if camera_state == CameraState.SelectedImages:
        return ClientMode.ViewSelected
    if camera_state == CameraState.PCAutoSave:
        return ClientMode.OldRemote
    return ClientMode.ViewAll


def u32_or_none(payload: bytes | None) -> int | None:
    """A version property's value: ``None`` when the body sent no data ("no value here",
    what real X-T2/X-T20 answer for properties they do not have); shorter values are
    zero-extended, longer ones read as their first four bytes."""
    if not payload:
        return None
    return int.from_bytes(bytes(payload[:4]), "little")


def state_entries(payload: bytes | None) -> tuple[StateEntry, ...] | None:
    """A 0xD212 answer as entries; ``None`` when it cannot be read (a semantic problem of
    that answer, not a broken stream). An empty data phase is an empty list."""
    if payload is None:
        return None
    if not payload:
        return ()
    try:
        return decode_state(payload)
    except ProtocolError:
        return None


def camera_state_of(entries: tuple[StateEntry, ...] | None) -> int | None:
    """DF00 from a 0xD212 list, if it is there."""
    for e in entries or ():
        if e.code == F.Unknown_DF00:
            return e.value
    return None


@dataclass(frozen=True, slots=True)
class BodyOffer:
    """What the body said during bring-up (see the module docstring)."""

    state_list: bool = False  #: 0xD212 answered with a list
    camera_state: int | None = None  #: DF00 when the session came up
    waited_for_user: bool = False  #: DF00 was 0: the camera asked its user first
    remote_version: int | None = None  #: DF24; None = no remote shooting
    mode: int | None = None  #: DF01 as accepted
    open_capture: bool = False  #: InitiateOpenCapture answered OK (capture, events, live view)
    open_capture_tid: int | None = None  #: its transaction id (TerminateOpenCapture's parameter)
    events: bool = False  #: the event channel is connected

    @property
    def remote(self) -> bool:
        """Remote shooting is on: capture and live view may be asked for."""
        return self.open_capture

    def but(self, **changes: Any) -> BodyOffer:
        """A copy with ``changes``."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """For ``info``: plain values, versions in hex."""
        return {
            "state_list": self.state_list,
            "camera_state": _name(CameraState, self.camera_state),
            "waited_for_user": self.waited_for_user,
            "remote_version": f"0x{self.remote_version:08X}" if self.remote_version is not None else "",
            "mode": _name(ClientMode, self.mode),
            "open_capture": self.open_capture,
            "events": self.events,
        }


def _name(enum: Any, value: int | None) -> str:
    if value is None:
        return ""
    try:
        return f"{enum(value).name} ({value})"
    except ValueError:
        return str(value)


__all__ = [
    "CONTROL_STATE_CODES",
    "USER_POLL_INTERVAL",
    "WHOLE_STATE_MIN",
    "BodyOffer",
    "camera_state_of",
    "client_mode",
    "state_entries",
    "u32_or_none",
]
