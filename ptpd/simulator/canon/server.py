"""The simulated EOS body's sockets: standard PTP/IP on one port, as a real body's Wi-Fi.

An EOS body speaks standard PTP/IP (libgphoto2 has no Canon-specific PTP/IP code, research
notes §7), so this is the generic server (:mod:`ptpd.simulator.server`: the handshake,
one transaction at a time, data phases, faults and latency) with the body's own
sessions (:class:`~.session.CanonSession`). Its event channel stays silent: an EOS body
reports through GetEvent only.

Pairing: the body remembers the GUIDs its user accepted. A new GUID brings up its prompt;
the body holds back its Init Command Ack while the prompt is up, at most ``pairing_hold``
seconds, then refuses the init (Init Fail, rejected initiator) and keeps the prompt up.
The user accepts ``pairing_delay`` seconds after the prompt came up: from then on that
GUID gets its Ack at once. So an initiator that waits long enough, or tries again within
the prompt's time, gets in; libgphoto2 (2.5 s per read, no retry, ptpip.c) gets in only
when the user is quick (an EOS 6D's behaviour with gphoto2, libgphoto2#1133).
``refuse_pairing``: the user declines every new GUID.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from ptpd.protocol import events as ev
from ptpd.protocol.codes import InitFailReason
from ptpd.simulator import faults as flt
from ptpd.simulator import scene
from ptpd.simulator.canon.device import CanonDevice
from ptpd.simulator.canon.profiles import get_profile
from ptpd.simulator.canon.session import DATA_IN_OPERATIONS, DATA_OUT_OPERATIONS, CanonSession
from ptpd.simulator.frames import FrameSource
from ptpd.simulator.server import Simulator

log = logging.getLogger(__name__)

#: Longest the body holds back its Init Ack while asking its user.
PAIRING_HOLD = 5.0


class CanonSimulator(Simulator):
    """A running simulated EOS body. Make one with :func:`start_canon_simulator`."""

    vendor = "canon"
    data_out_operations = Simulator.data_out_operations | DATA_OUT_OPERATIONS
    data_in_operations = Simulator.data_in_operations | DATA_IN_OPERATIONS

    def __init__(
        self,
        device: CanonDevice,
        *,
        faults: flt.Faults | None = None,
        latency_ms: float = 0.0,
        pairing_delay: float = 0.0,
        pairing_hold: float = PAIRING_HOLD,
        refuse_pairing: bool = False,
        schedule: scene.SceneSchedule | None = None,
        liveview_fps: float = 30.0,
    ) -> None:
        profile = device.profile
        guid = hashlib.md5(b"ptpd-canon-" + profile.model.encode()).digest()
        super().__init__(device, faults=faults, latency_ms=latency_ms, guid=guid, name=profile.nickname)  # type: ignore[arg-type]  # a body the generic server can serve
        self.device = device
        self.profile = profile
        self.pairing_delay = pairing_delay
        self.pairing_hold = pairing_hold
        self.refuse_pairing = refuse_pairing
        self.schedule = schedule or scene.SceneSchedule("object")
        self.frames = FrameSource(self.schedule, fps=liveview_fps, settings=device.labels)
        self._t0 = time.monotonic()
        #: pairing prompts shown (for tests)
        self.pairing_prompts = 0

    @property
    def model(self) -> str:
        return self.profile.model

    def new_session(self) -> CanonSession:
        return CanonSession(self.device, frame=self._frame)

    def _frame(self) -> bytes:
        return self.frames.frame(time.monotonic() - self._t0, self.profile.liveview_size)

    async def admit(self, init: ev.InitCommandRequest) -> int | None:
        """The pairing prompt (module docstring)."""
        dev = self.device
        if init.guid in dev.paired or (self.pairing_delay <= 0 and not self.refuse_pairing):
            dev.paired.add(init.guid)
            return None
        now = time.monotonic()
        if init.guid not in dev.prompts:
            dev.prompts[init.guid] = now
            self.pairing_prompts += 1
            log.info("camera asks its user to accept %r", init.name)
        if self.refuse_pairing:
            await asyncio.sleep(min(self.pairing_hold, 1.0))
            log.info("the user declines %r", init.name)
            return InitFailReason.RejectedInitiator
        wait = dev.prompts[init.guid] + self.pairing_delay - now
        if wait > self.pairing_hold:
            await asyncio.sleep(self.pairing_hold)
            return InitFailReason.RejectedInitiator
        await asyncio.sleep(max(0.0, wait))
        dev.paired.add(init.guid)
        del dev.prompts[init.guid]
        log.info("the user accepts %r", init.name)
        return None


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


async def start_canon_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    model: str | None = None,
    latency_ms: float = 0.0,
    pairing_delay: float = 0.0,
    pairing_hold: float = PAIRING_HOLD,
    refuse_pairing: bool = False,
    subject: str | scene.SceneSchedule | None = "object",
    liveview_fps: float = 30.0,
    initial_images: int = 3,
    faults: flt.Faults | None = None,
    clock: Callable[[], _dt.datetime] | None = None,
    **options: Any,
) -> CanonSimulator:
    """Start a simulated EOS body in the running loop; it serves until ``close()``.

    ``model``: a profile of :mod:`.profiles` ("Canon EOS 1300D" by default, or "Canon EOS
    M"). ``pairing_delay``: seconds until the user accepts a new initiator (0: no prompt);
    ``pairing_hold``: longest the body holds its Init Ack meanwhile; ``refuse_pairing``:
    the user declines. ``subject``: what the scene shows (a
    :class:`~ptpd.simulator.scene.SceneSchedule` spec). Unknown ``options`` are refused.
    """
    if options:
        raise TypeError(f"unknown Canon simulator options: {', '.join(sorted(options))}")
    # options may come from a config file as text: take them as the types they mean
    pairing_delay, pairing_hold, liveview_fps = float(pairing_delay), float(pairing_hold), float(liveview_fps)
    refuse_pairing, initial_images = _flag(refuse_pairing), int(initial_images)
    profile = get_profile(model)
    schedule = scene.SceneSchedule.parse(subject)
    kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
    # Rendering the card's first pictures takes CPU: keep the loop free meanwhile.
    device = await asyncio.to_thread(lambda: CanonDevice(profile, initial_images=initial_images, **kwargs))
    sim = CanonSimulator(
        device,
        faults=faults,
        latency_ms=latency_ms,
        pairing_delay=pairing_delay,
        pairing_hold=pairing_hold,
        refuse_pairing=refuse_pairing,
        schedule=schedule,
        liveview_fps=liveview_fps,
    )
    await sim.start(host, port)
    return sim


__all__ = ["PAIRING_HOLD", "CanonSimulator", "start_canon_simulator"]
