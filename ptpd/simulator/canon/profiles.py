"""The simulated EOS bodies as data: identity, operations, properties and their allowed values.

Facts and their sources (research notes; libgphoto2 2.5.30):

* A real 1300D-class body's GetEvent dump (research notes §2.5) gives the property set,
  the 4-byte scalar values and most allowed lists below: ISO {auto, 100 ... 12800 in full
  stops}, 53 shutter speeds 30 s ... 1/4000 plus bulb, picture styles, white balances,
  drive modes, capture destinations {2, 4, 6}, ModelID 0x80000404, storage 0x00020001.
  Where the dump had no lens (aperture 0, no list) an EF-S 18-55 at 18 mm is fitted here.
* Real bodies over USB report VendorExtensionID 6 with Manufacturer "Canon Inc."
  (ptpwebcam camera reports #50, #75, #95, #136): so does this one, which makes
  libgphoto2 and ``--vendor auto`` look at the Manufacturer.
* The EOS M (libgphoto2 ``is_canon_eos_m``): remote mode 0x15, one "half and full"
  release answered by an OLCInfoChanged Button 4 record, live view on the MOBILE2 output
  bit its prepare sets (library.c:9844-9866, 5940-5984); its EVF outputs {0, 8} are an
  EOS M6's (gphoto2#174).
* Pixel sizes are scaled down from the sensor's (5184 x 3456 for the 1300D): rendering a
  real JPEG of that size costs a second of CPU per shot. Live view keeps the real
  1056 x 704 frame (a real body's GetViewFinderData dump, research notes §5).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ptpd.canon.codes import CanonEventCode as E
from ptpd.canon.codes import CanonOperationCode as EOS
from ptpd.canon.codes import CanonPropCode as C
from ptpd.protocol.codes import OperationCode as OP

Value = int | str

#: the card's StorageID on a real body (its CurrentStorage D11E and CTGInfoCheckComplete value)
STORAGE_ID = 0x00020001

_STANDARD_OPERATIONS = (
    OP.GetDeviceInfo, OP.OpenSession, OP.CloseSession, OP.GetStorageIDs, OP.GetStorageInfo, OP.GetNumObjects,
    OP.GetObjectHandles, OP.GetObjectInfo, OP.GetObject, OP.GetThumb, OP.DeleteObject, OP.GetPartialObject,
)  # fmt: skip
_EOS_OPERATIONS = (
    EOS.GetMACAddress, EOS.GetStorageIDs, EOS.GetStorageInfo, EOS.GetDeviceInfoEx, EOS.SetDevicePropValueEx,
    EOS.GetRemoteMode, EOS.SetRemoteMode, EOS.SetEventMode, EOS.GetEvent, EOS.TransferComplete, EOS.PCHDDCapacity,
    EOS.SetUILock, EOS.ResetUILock, EOS.KeepDeviceOn, EOS.RequestDevicePropValue, EOS.RemoteReleaseOn,
    EOS.RemoteReleaseOff, EOS.SetRequestOLCInfoGroup, EOS.GetViewFinderData, EOS.DriveLens, EOS.AfCancel,
)  # fmt: skip
EVENTS = (
    E.ObjectAddedEx, E.ObjectRemoved, E.RequestObjectTransfer, E.PropValueChanged, E.AvailListChanged,
    E.CameraStatusChanged, E.CTGInfoCheckComplete, E.OLCInfoChanged,
)  # fmt: skip


def _thirds(first: int, last: int) -> tuple[int, ...]:
    """Codes from ``first`` to ``last`` in third stops (+0, +3, +5 within each full stop)."""
    return tuple(c for c in range(first, last + 1) if (c - first) % 8 in (0, 3, 5))


#: -5 ... +5 EV in thirds, as u8 eighths (0xD8 ... 0x28)
_EXP_COMP = tuple(e & 0xFF for e in range(-40, 41) if abs(e) % 8 in (0, 3, 5))
#: the JPEG formats; the simulated body makes no RAW files
_JPEG_FORMATS = (0x0300, 0x0200, 0x1300, 0x1200, 0xD300, 0xD200, 0xE300, 0xF300)


@dataclass(frozen=True)
class CanonProfile:
    """One simulated EOS body."""

    model: str
    nickname: str  #: the camera name in its Init Command Ack (the Wi-Fi nickname)
    version: str
    serial: str
    model_id: int
    eos_m: bool = False
    manufacturer: str = "Canon Inc."
    vendor_extension_id: int = 6  #: what real bodies report (Microsoft), not Canon's 0xB
    #: pixel sizes of each JPEG size class, scaled down (module docstring)
    sizes: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {
            "L": (1536, 1024),
            "M": (1152, 768),
            "S": (768, 512),
            "S1": (768, 512),
            "S2": (576, 384),
            "S3": (480, 320),
        }
    )
    liveview_size: tuple[int, int] = (1056, 704)
    #: property -> (value, allowed values; () = the body sends no list)
    properties: dict[int, tuple[Value, tuple[Value, ...]]] = field(default_factory=dict)

    @property
    def operations(self) -> tuple[int, ...]:
        return _STANDARD_OPERATIONS + _EOS_OPERATIONS

    @property
    def live_bit(self) -> int:
        """The EVF output bit GetViewFinderData serves frames on."""
        return 8 if self.eos_m else 2


def _properties(*, evf_output: tuple[int, tuple[int, ...]], focus: int) -> dict[int, tuple[Value, tuple[Value, ...]]]:
    return {
        C.Aperture: (0x30, _thirds(0x25, 0x50)),
        C.ShutterSpeed: (0x78, (0x0C, *_thirds(0x10, 0x98))),
        C.ISOSpeed: (0x48, (0x00, 0x48, 0x50, 0x58, 0x60, 0x68, 0x70, 0x78, 0x80)),
        C.ExpCompensation: (0x00, _EXP_COMP),
        C.AutoExposureMode: (3, ()),
        C.DriveMode: (0x00, (0x00, 0x01, 0x10, 0x11, 0x07)),
        C.MeteringMode: (3, (3, 4, 5)),
        C.FocusMode: (focus, (0, 2, 1)),
        C.WhiteBalance: (0, (0, 0x17, 1, 8, 2, 3, 4, 5, 6)),
        C.ColorTemperature: (5200, ()),
        C.ColorSpace: (1, (1, 2)),
        C.PictureStyle: (0x87, (0x87, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x21, 0x22, 0x23)),
        C.BatteryPower: (2, ()),
        C.AvailableShots: (3075, ()),
        C.CaptureDestination: (2, (2, 4, 6)),
        C.ImageFormat: (0x0300, _JPEG_FORMATS),
        C.ImageFormatSD: (0x0300, _JPEG_FORMATS),
        C.EVFOutputDevice: evf_output,
        C.EVFMode: (1, (1, 0)),
        C.ModelID: (0, ()),  # filled from the profile
        C.PTPExtensionVersion: (0x100, ()),
        C.CurrentStorage: (STORAGE_ID, ()),
        C.CurrentFolder: (0x00640000, ()),
        C.ShutterCounter: (0x99A9, ()),
        C.SerialNumber: ("", ()),  # filled from the profile
        C.LensName: ("EF-S18-55mm f/3.5-5.6 IS II", ()),
        C.Owner: ("", ()),
        C.Artist: ("", ()),
        C.Copyright: ("", ()),
        C.QuickReviewTime: (2, (0, 2, 4, 8)),  # a property ptpd's table leaves unnamed
        C.AEB: (0, ()),
    }


PROFILES: dict[str, CanonProfile] = {
    p.model: p
    for p in (
        CanonProfile(
            "Canon EOS 1300D",
            "EOS1300D",
            "3-1.1.0",
            "143021000123",
            0x80000404,
            properties=_properties(evf_output=(0, tuple(range(1, 12))), focus=0),
        ),
        CanonProfile(
            "Canon EOS M",
            "EOSM",
            "1-2.0.3",
            "063021004567",
            0x80000285,
            eos_m=True,
            properties=_properties(evf_output=(0, (0, 8)), focus=0),
        ),
    )
}
DEFAULT_MODEL = "Canon EOS 1300D"


def get_profile(model: str | None) -> CanonProfile:
    """The profile called ``model`` (the default body when None); ValueError naming the choices."""
    if model is None:
        return PROFILES[DEFAULT_MODEL]
    for name, p in PROFILES.items():
        if name.lower() == model.lower() or name.lower().removeprefix("canon ") == model.lower():
            return p
    raise ValueError(f"no simulated Canon body {model!r}; choose one of {', '.join(PROFILES)}")


__all__ = ["DEFAULT_MODEL", "EVENTS", "PROFILES", "STORAGE_ID", "CanonProfile", "get_profile"]
