"""Bodies the simulated Fuji camera can be: the X-T1 of the reference, and a few more.

A :class:`FujiProfile` is data only: the model name and firmware, the app version the
bring-up reads back (0xDF24), the properties with their descriptors and starting values,
the 0x902B list, and the base of the 0xD212 state list. :mod:`.device` and :mod:`.session`
turn it into behaviour.

Provenance, per fact (tags as in ``shared/reference/fuji-ptpip.md``):

* **[dump]** bytes of a real X-T1 on firmware 5.51 published by malc0mn/ptp-ip: the eight
  0x902B descriptors (byte for byte), the 17-entry 0xD212 state, the enumerated property
  codes with their values, the app version 0x00020001.
* **[xref]** the app versions of other bodies, from the fudge project's virtual camera
  (``vcam`` fuji.c: X-T2, X-S10, X-T4 set 0x0002000A; X-T20 0x00020004) - a simulator,
  not captured bytes.
* **[public]** film simulations by generation, from Fujifilm's published specifications
  (ACROS since X-Pro2/X-T2, ETERNA since X-H1/X-T3, Classic Neg. since X-Pro3/X-T4).
* **[sim]** our own choice where no source says (marked ``inferred=True`` on the
  property or noted on the profile). Example: the non-standard ASCII blobs (0x5003,
  0xD174, 0xD228, 0xD500) have the documented contents but a layout we chose.

Facts with no source are left out rather than made up: the extra bodies differ from the
X-T1 only where a source says so, and say which of their properties are inherited.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ptpd.fuji.codes import FujiPropCode as F
from ptpd.protocol.codes import DataType as DT
from ptpd.protocol.codes import DevicePropCode as P

__all__ = [
    "FujiProfile",
    "PROFILES",
    "PropSpec",
    "LIVEVIEW_ALIASES",
    "LIVEVIEW_LABELS",
    "LIVEVIEW_RENDER",
    "STRUCT",
    "X_T1",
    "get_profile",
    "liveview_sizes",
]

#: struct format per integer datatype
STRUCT = {DT.UINT8: "<B", DT.INT16: "<h", DT.UINT16: "<H", DT.UINT32: "<I"}


@dataclass(frozen=True, slots=True)
class PropSpec:
    """One property: datatype, descriptor form and starting value.

    ``form`` is ``"none"``, ``"range"`` (``values`` = min, max, step) or ``"enum"``.
    A ``DataType.STR`` property is one of Fuji's "string" blobs: fixed-width ASCII, not a
    PTP string (fuji-ptpip.md §5.2); its values and ``values`` are the ASCII labels.
    ``describable=False`` = GetDevicePropDesc answers no data (the X-T1's "cannot
    describe", §5.2).
    """

    code: int
    datatype: DT  #: a ``DataType``; STR is Fuji's ASCII blob
    writable: bool
    default: int | str
    current: int | str
    form: str = "none"
    values: tuple[int | str, ...] = ()
    describable: bool = True
    inferred: bool = False  #: [sim]: form or values not recorded for this body
    note: str = ""


def _enum(code: int, dt: DT, default: int, current: int, values: tuple[int, ...], *, rw: bool = True,
          inferred: bool = False, note: str = "") -> PropSpec:
    return PropSpec(code, dt, rw, default, current, "enum", values, inferred=inferred, note=note)


def _range(code: int, dt: DT, default: int, current: int, lo: int, hi: int, step: int, *, rw: bool = True,
           inferred: bool = False, note: str = "") -> PropSpec:
    return PropSpec(code, dt, rw, default, current, "range", (lo, hi, step), inferred=inferred, note=note)


def _plain(code: int, dt: DT, value: int, *, rw: bool = False, inferred: bool = True, note: str = "") -> PropSpec:
    return PropSpec(code, dt, rw, value, value, "none", (), inferred=inferred, note=note)


#: X-T1 exposure bias enumeration, 1/1000 EV in thirds [dump]
EXPOSURE_BIAS_STEPS = (-3000, -2667, -2333, -2000, -1667, -1333, -1000, -667, -333, 0,
                       333, 667, 1000, 1333, 1667, 2000, 2333, 2667, 3000)
#: X-T1 ISO enumeration, 25 values in the camera's order [dump] (§6.2)
XT1_ISO = (0x80000190, 0x80000320, 0x80000640, 0x80000C80, 0x80001900, 0x40000064,
           200, 250, 320, 400, 500, 640, 800, 1000, 1250, 1600, 2000, 2500, 3200, 4000, 5000, 6400,
           0x40003200, 0x40006400, 0x4000C800)
#: 0xD174 labels as the X-T1 descriptor lists them [dump] (§6.4; their meaning is unverified).
LIVEVIEW_LABELS = ("320x280", "640x480", "1280x960")
#: What the simulator streams for each label: QVGA, VGA, XGA, as the project asks [sim].
LIVEVIEW_RENDER = {"320x280": (320, 240), "640x480": (640, 480), "1280x960": (1024, 768)}
#: Other names a host may send for the labels (set 0xD174) [sim]: sizes, names, 0-based index.
LIVEVIEW_ALIASES = {
    "320x240": "320x280", "qvga": "320x280", "small": "320x280", "0": "320x280",
    "vga": "640x480", "medium": "640x480", "1": "640x480",
    "1024x768": "1280x960", "xga": "1280x960", "large": "1280x960", "2": "1280x960",
}


def liveview_sizes(labels: tuple[int | str, ...]) -> tuple[tuple[int, int], ...]:
    """0xD174 labels -> the frame sizes streamed, ``("640x480",) -> ((640, 480),)``."""
    out = []
    for label in labels:
        text = str(label).strip().lower()
        text = LIVEVIEW_ALIASES.get(text, text)
        if text in LIVEVIEW_RENDER:
            out.append(LIVEVIEW_RENDER[text])
        else:
            w, _, h = text.partition("x")
            out.append((int(w), int(h)))
    return tuple(out)


def _xt1_props(model: str, firmware: str) -> tuple[PropSpec, ...]:
    return (
        _range(P.BatteryLevel, DT.UINT8, 3, 3, 0, 3, 1, rw=False, note="battery, 3 bars [dump]"),
        PropSpec(P.ImageSize, DT.STR, False, "L_4-3", "L_4-3", "enum",
                 tuple(f"{s}_{a}" for s in "SMLA" for a in ("4-3", "3-2", "16-9", "1-1")),
                 inferred=True, note="image size blob [dump contents, sim layout]"),
        _enum(P.WhiteBalance, DT.UINT16, 2, 2, (2, 4, 0x8006, 0x8001, 0x8002, 0x8003, 6, 0x800A, 0x800B, 0x800C),
              note="white balance [dump]"),
        _enum(P.FNumber, DT.UINT16, 350, 710, (350, 530, 710, 1000, 1100, 1600, 0xFFFF),
              note="F-number x100 [dump desc; current value sim]"),
        _enum(P.FocusMode, DT.UINT16, 0x8001, 0x8001, (1, 0x8001, 0x8002), inferred=True,
              note="focus mode; value [dump], enum [sim]"),
        _enum(P.FlashMode, DT.UINT16, 0x0002, 0x8009, (0x8009, 0x800A), note="flash [dump]"),
        _enum(P.ExposureTime, DT.UINT32, 2, 2, (2, 300000, 0xFFFFFFFF), note="exposure time [dump], meaning unclear"),
        _enum(P.ExposureProgramMode, DT.UINT16, 6, 2, (1, 2, 3, 4, 6) + tuple(range(0x8001, 0x8009)),
              note="exposure program [dump]; 1 M, 2 P, 3 A, 4 S"),
        _enum(P.ExposureBiasCompensation, DT.INT16, 0, 0, EXPOSURE_BIAS_STEPS, note="exposure bias [dump]"),
        _enum(P.CaptureDelay, DT.UINT16, 0, 0, (0, 2, 4), note="self-timer [dump]"),
        _enum(F.FilmSimulation, DT.UINT16, 1, 2, tuple(range(1, 12)), note="film simulation [dump]"),
        _enum(F.ImageQuality, DT.UINT16, 4, 4, (1, 2, 3, 4, 5), note="image quality [dump]"),
        _enum(F.RecMode, DT.UINT16, 1, 1, (0, 1), note="rec mode [dump]"),
        _enum(F.Unknown_D01D, DT.UINT16, 1, 1, (), note="unknown, enum with zero values [dump]"),
        _enum(F.CommandDialMode, DT.UINT16, 0, 0, (0, 1, 2, 3), inferred=True, note="command dial; value [dump], enum [sim]"),
        _enum(F.ExposureIndex, DT.UINT32, 0xFFFFFFFF, 0x80001900, XT1_ISO, note="ISO [dump]"),
        _range(F.Unknown_D170, DT.UINT16, 1, 1, 1, 39, 1, note="unknown [dump]"),
        PropSpec(F.LiveViewImageSize, DT.STR, True, LIVEVIEW_LABELS[1], LIVEVIEW_LABELS[1], "enum", LIVEVIEW_LABELS,
                 inferred=True, note="live-view size; labels [dump], frames QVGA/VGA/XGA [sim]"),
        _range(F.FocusPoint, DT.UINT32, 0, 0x03020404, 0, 0x10090707, 1, note="focus point [dump]"),
        _enum(F.FocusLock, DT.UINT32, 0, 0, (0, 1), inferred=True, note="focus lock; in the state list only [dump]"),
        _enum(F.DeviceError, DT.UINT16, 0, 0, tuple(range(15)), rw=False, note="device error [dump]"),
        _range(F.Unknown_D220, DT.UINT32, 0, 0, 0, 1, 1, note="unknown [dump]"),
        _range(F.Unknown_D222, DT.UINT32, 0, 0, 0, 30000, 0, note="unknown [dump]"),
        _enum(F.Unknown_D226, DT.UINT16, 0, 0, (0, 1), note="unknown [dump]"),
        _plain(F.Unknown_D227, DT.UINT16, 0, note="unknown [dump]"),
        PropSpec(F.CameraSummary, DT.STR, False, "", "", describable=False, inferred=True,
                 note=f"65-byte summary blob: model {model!r} at 40, firmware {firmware!r} at 61 [dump contents]"),
        _plain(F.CapturesRemaining, DT.UINT32, 1431, note="captures remaining [dump]"),
        _plain(F.MovieRemainingTime, DT.UINT32, 1679, note="movie remaining time [dump]"),
        _plain(F.ShutterSpeed, DT.UINT32, 0xFFFFFFFF, rw=True, note="shutter speed; X-T1 read 0xFFFFFFFF [dump]"),
        _enum(F.ImageSize, DT.UINT16, 10, 10, (2, 3, 4, 6, 7, 8, 10, 11, 12), inferred=True,
              note="image size/aspect; value [dump], enum from malc0mn labels"),
        _plain(F.Unknown_D400, DT.UINT32, 0, inferred=False, note="unknown [dump]"),
        _plain(F.Unknown_D401, DT.UINT32, 0, inferred=False, note="unknown [dump]"),
        PropSpec(F.GeoTag, DT.STR, True, "", "", describable=False, inferred=True, note="geotag blob [dump contents]"),
        _plain(F.Unknown_D52F, DT.UINT32, 0, inferred=False, note="unknown [dump]"),
        _plain(F.Unknown_DF00, DT.UINT16, 0, inferred=False, note="unknown [dump]"),
        _plain(F.InitSequence, DT.UINT16, 0, rw=True, inferred=False, note="init sequence; write 5, reads 0 [dump]"),
        _plain(F.Unknown_DF21, DT.UINT32, 3, inferred=False, note="unknown [dump]"),
        _plain(F.Unknown_DF22, DT.UINT32, 3, inferred=False, note="unknown [dump]"),
        _plain(F.Unknown_DF23, DT.UINT32, 1, inferred=False, note="unknown [dump]"),
        _plain(F.AppVersion, DT.UINT32, 0x00020001, rw=True, inferred=False, note="app version [dump]"),
        _plain(F.Unknown_DF25, DT.UINT32, 1, inferred=False, note="unknown [dump]"),
        _plain(F.Unknown_DF31, DT.UINT32, 2, inferred=False, note="unknown [dump]"),
    )


#: The 0x902B list of the X-T1, in its order [dump]
XT1_PROPERTY_LIST = (P.CaptureDelay, P.FlashMode, P.WhiteBalance, P.ExposureBiasCompensation, F.FilmSimulation,
                     F.ExposureIndex, F.RecMode, F.FocusPoint)
#: The 0xD212 state of the X-T1 in P mode with auto ISO, in its order [dump]
XT1_STATE_BASE = (P.BatteryLevel, F.ImageSize, P.WhiteBalance, P.FocusMode, P.FlashMode, P.ExposureProgramMode,
                  P.ExposureBiasCompensation, P.CaptureDelay, F.FilmSimulation, F.ImageQuality, F.CommandDialMode,
                  F.ExposureIndex, F.FocusPoint, F.FocusLock, F.DeviceError, F.CapturesRemaining,
                  F.MovieRemainingTime)


@dataclass(frozen=True)
class FujiProfile:
    """One camera body (see the module docstring for where each fact comes from)."""

    key: str  #: ``--model`` name, e.g. ``"x-t1"``
    model: str  #: as the camera names itself (ack name, 0xD228, DeviceInfo)
    firmware: str
    app_version: int  #: 0xDF24 value
    props: tuple[PropSpec, ...]
    property_list: tuple[int, ...] = XT1_PROPERTY_LIST
    state_base: tuple[int, ...] = XT1_STATE_BASE
    #: full-size JPEG the simulator renders (pixels); smaller than the sensor so a
    #: capture costs well under a second on a small machine [sim]
    capture_size: tuple[int, int] = (1920, 1280)
    #: what the body's sensor would write, reported in the EXIF description [public]
    sensor_size: tuple[int, int] = (4896, 3264)
    preview_size: tuple[int, int] = (640, 480)  #: 0x9022 JPEG (the X-T1 fixture is 640x480 [dump])
    #: where the facts come from, and what is inherited or inferred
    notes: tuple[str, ...] = ()

    def spec(self, code: int) -> PropSpec | None:
        for p in self.props:
            if p.code == code:
                return p
        return None

    def with_prop(self, spec: PropSpec) -> tuple[PropSpec, ...]:
        """``props`` with ``spec`` replacing the property of the same code."""
        return tuple(spec if p.code == spec.code else p for p in self.props)


X_T1 = FujiProfile(
    key="x-t1",
    model="X-T1",
    firmware="5.51",
    app_version=0x00020001,
    props=_xt1_props("X-T1", "5.51"),
    notes=("every fact from the reference's X-T1 dumps, unless a property says inferred",),
)


def _derive(base: FujiProfile, key: str, model: str, firmware: str, app_version: int, *,
            film_sims: tuple[int, ...], sensor: tuple[int, int], notes: tuple[str, ...]) -> FujiProfile:
    props = tuple(_xt1_props(model, firmware))
    film = next(p for p in props if p.code == F.FilmSimulation)
    props = tuple(replace(film, values=film_sims, inferred=True,
                          note="film simulation; values by generation [public]") if p.code == F.FilmSimulation else p
                  for p in props)
    props = tuple(replace(p, current=app_version, default=app_version) if p.code == F.AppVersion else p for p in props)
    return replace(base, key=key, model=model, firmware=firmware, app_version=app_version, props=props,
                   sensor_size=sensor, notes=notes + ("properties other than the film simulations and the app "
                                                      "version are inherited from the X-T1 [sim]",))


PROFILES: dict[str, FujiProfile] = {
    "x-t1": X_T1,
    # firmware strings are not sourced for these bodies: "n/a" rather than an invented number
    "x-t2": _derive(X_T1, "x-t2", "X-T2", "n/a", 0x0002000A, film_sims=tuple(range(1, 16)), sensor=(6000, 4000),
                    notes=("app version 0x0002000A [xref fudge vcam]", "ACROS film simulations [public]")),
    "x-t3": _derive(X_T1, "x-t3", "X-T3", "n/a", 0x0002000A, film_sims=tuple(range(1, 17)), sensor=(6240, 4160),
                    notes=("app version inferred from X-T2/X-T4 [sim]", "ETERNA film simulation [public]")),
    "x-t4": _derive(X_T1, "x-t4", "X-T4", "n/a", 0x0002000A, film_sims=tuple(range(1, 17)), sensor=(6240, 4160),
                    notes=("app version 0x0002000A [xref fudge vcam; Fuji's app writes 0x0002000C]",
                           "libgphoto2: the X-T4 needs the fixed 82-byte init and sends an empty DeviceInfo "
                           "[ptpip.md §9]; the simulator still answers a full one")),
    "x-s10": _derive(X_T1, "x-s10", "X-S10", "n/a", 0x0002000A, film_sims=tuple(range(1, 17)), sensor=(6240, 4160),
                     notes=("app version 0x0002000A [xref fudge vcam; Fuji's app writes 0x0002000B]",)),
}


def get_profile(model: str | None) -> FujiProfile:
    """The profile for ``--model`` (``"X-T1"``, ``"x-t1"``, ``"xt1"`` ...); X-T1 when None."""
    if model is None:
        return X_T1
    key = model.strip().lower().replace("_", "-").replace(" ", "-")
    if key.startswith("fujifilm-"):
        key = key[len("fujifilm-"):]
    if key not in PROFILES and key.startswith("x") and not key.startswith("x-"):
        key = "x-" + key[1:]
    try:
        return PROFILES[key]
    except KeyError:
        known = ", ".join(p.model for p in PROFILES.values())
        raise ValueError(f"unknown Fuji model {model!r}; known: {known}") from None

