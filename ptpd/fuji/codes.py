"""Fujifilm vendor codes of the Wi-Fi PTP dialect.

Every member notes where it was observed, with the provenance tags of
``fuji-ptpip.md``:

* *X-T1* — bytes captured from a real X-T1 (fw 5.51) and published by malc0mn/ptp-ip
  (``README.md``, ``docs/fuji_x-t1_known-properties.md``);
* *malc0mn* — a constant malc0mn/ptp-ip defines or sends (``ip/packets_fuji.go``);
* *libgphoto2* — what libgphoto2's Fuji Wi-Fi path (``fujiptpip.c``, ``ptp.c``) sends;
* *hkr* — hkr/fuji-cam-wifi-tool, used only as a cross-check;
* *libfuji* — petabyt/libfuji (``lib/fujiptp.h``, ``lib/fuji.c``) and fudge's test-suite
  logs of real X-T2, X-T20, X-T4 and X-T5 bodies (``docs/testsuite/``);
* *vcam* — petabyt/vcam's bodies (``src/fuji/fuji.c``), an emulator built from captures
  of real cameras (its values are cross-checks, never the only source of a body fact).

Standard ISO 15740 codes (OpenSession 0x1002, the 0x50xx properties, CaptureComplete
0x400D, ...) live in :mod:`ptpd.protocol.codes`; only Fuji's own codes are here.
"""

from __future__ import annotations

from enum import IntEnum, unique

#: The "protocol version" Fuji's InitCommandRequest carries *first* (bytes f2 e4 53 8f).
#: X-T1 answers InitFail 0x201D to anything else (malc0mn code comment).
FUJI_PROTOCOL_VERSION = 0x8F53E4F2

#: Default TCP ports: the standard 15740 plus 40000, then +1 and +2 (fuji-ptpip.md §1).
COMMAND_PORT = 55740
EVENT_PORT = 55741
LIVEVIEW_PORT = 55742

#: Value written to 0xDF01 during bring-up; 5 = remote shooting (malc0mn, hkr, libgphoto2).
INIT_SEQUENCE_REMOTE = 5


@unique
class CameraState(IntEnum):
    """What 0xDF00 says the camera is doing (libfuji ``fujiptp.h``; real X-T2/X-T20/X-T4/X-T5
    logs list it first in 0xD212 right after OpenSession)."""

    WaitingForUser = 0  #: the camera asks its user to allow this client ("press OK")
    SelectedImages = 1  #: "send selected images" started on the camera
    FullAccess = 2  #: browse all images, no remote shooting (vcam X-A2)
    PCAutoSave = 3  #: PC AutoSave
    Remote = 6  #: remote shooting offered (real X-T2, X-T20, X-T4, X-T5)
    RemoteImageView = 11  #: after 0xDF01 := 11 (real X-T4/X-T5 logs)


@unique
class ClientMode(IntEnum):
    """What the client asks for in 0xDF01 (libfuji ``fujiptp.h``; libgphoto2 "InitSequence")."""

    ViewSelected = 1  #: transfer the images selected on the camera
    ViewAll = 2  #: browse all images
    OldRemote = 3  #: PC AutoSave / old remote (malc0mn: accepted by the X-T1, then stalls)
    Remote = 5  #: remote shooting (malc0mn X-T1, hkr, libgphoto2, libfuji)
    RemoteImageView = 11  #: remote image view (libfuji gallery after remote)


@unique
class ContainerKind(IntEnum):
    """The u16 at offset 4 of every Fuji container (the PTP-over-USB container type).

    malc0mn calls this field "DataPhase"; libgphoto2 and the USB spec read it as the
    container type, which is what the bytes are (fuji-ptpip.md §2.2).
    """

    Command = 0x0001  #: initiator → camera operation request (X-T1, malc0mn, libgphoto2)
    Data = 0x0002  #: data phase, either direction; code = the operation code (X-T1)
    Response = 0x0003  #: camera → initiator response; code = response code (X-T1)
    Event = 0x0004  #: camera → initiator on the event port (X-T1)


@unique
class HandshakePacketType(IntEnum):
    """PTP/IP packet types that appear in Fuji's handshake on the command port."""

    InitCommandRequest = 1  #: CIPA DC-X005 §2.3.1; Fuji moves the version first
    InitCommandAck = 2  #: standard layout (X-T100 capture in libgphoto2 issue #517)
    InitFail = 5  #: 12 bytes, u32 reason (malc0mn, hkr)


@unique
class InitFailReason(IntEnum):
    """Reasons in an InitFail packet: the three standard ones and Fuji's two."""

    Rejected = 0x00000001  #: standard: rejected initiator
    Busy = 0x00000002  #: standard: busy, too many connections
    Unspecified = 0x00000003  #: standard: unspecified
    #: Fuji "device busy": the friendly name is not the paired one, or the camera
    #: already timed out and shows "not found" (malc0mn code comment, hkr check).
    NameNotAccepted = 0x00002019
    #: Fuji "invalid parameter": wrong protocol version in the request (malc0mn).
    WrongVersion = 0x0000201D


@unique
class FujiOperationCode(IntEnum):
    """Fuji vendor operations (fuji-ptpip.md §4.6)."""

    #: Fetch the preview JPEG after InitiateCapture; mandatory or further captures are
    #: ignored (malc0mn, used after every capture; older name "GetLastImage").
    GetCapturePreview = 0x9022
    SetFocusPoint = 0x9026  #: malc0mn constant, unused there
    ResetFocusPoint = 0x9027  #: malc0mn constant, unused there
    #: List of property descriptors (malc0mn "GetDeviceInfo"); X-T1 returned 8 entries.
    GetPropertyList = 0x902B
    SetShutterSpeed = 0x902C  #: malc0mn constant, unused there
    #: Relative aperture step by 1/3 stop, param 0 open / 1 close (hkr); malc0mn constant.
    SetAperture = 0x902D
    SetExposureCompensation = 0x902E  #: malc0mn constant, unused there


@unique
class FujiEventCode(IntEnum):
    """Fuji vendor events on the event port (fuji-ptpip.md §8.2)."""

    #: Second event after InitiateCapture; param2 = preview size in bytes (X-T1 bytes).
    PreviewAvailable = 0xC001
    #: First event after InitiateCapture; carries no object handle (X-T1 bytes;
    #: libgphoto2 also accepts it as ObjectAdded).
    ObjectAdded = 0xC004


@unique
class FujiPropCode(IntEnum):
    """Fuji vendor device properties (fuji-ptpip.md §6.1)."""

    FilmSimulation = 0xD001  #: u16 (X-T1 0x902B list, value 2 = Velvia)
    ImageQuality = 0xD018  #: u16 (X-T1 state list)
    RecMode = 0xD019  #: u16 enum 0/1 (X-T1 0x902B list); hkr: "recording enable"
    Unknown_D01D = 0xD01D  #: u16, current 1 (X-T1 enumeration)
    CommandDialMode = 0xD028  #: u16 (X-T1 state list); hkr reads it as shutter type
    ExposureIndex = 0xD02A  #: u32 ISO with flag bits (X-T1 0x902B list, §6.2)
    MovieISO = 0xD02B  #: malc0mn name; not seen on X-T1; in the X-T4/X-T5 remote lists (libfuji logs)
    Unknown_D170 = 0xD170  #: u16 range 1…39 (X-T1 enumeration)
    #: Live-view image size, ASCII blob "320x280"/"640x480"/"1280x960" (X-T1 enumeration)
    LiveViewImageSize = 0xD174
    FocusPoint = 0xD17C  #: u32, X in bits 8–15, Y in bits 0–7 (X-T1 0x902B list)
    PriorityMode = 0xD207  #: libgphoto2 sets 2 (USB priority) when advertised
    ShootControl = 0xD208  #: libgphoto2 writes 0x0200 (focus) then 0x0304 (shoot)
    #: u32 slot in the state list (X-T1): malc0mn "focus lock" 0/1; libgphoto2 polls it
    #: as AF status (1 busy, 2 ok, 3 failed).
    FocusLock = 0xD209
    CurrentState = 0xD212  #: pseudo-property: u16 count + (u16 code, u32 value) list (X-T1)
    DeviceError = 0xD21B  #: u16, 0 none (X-T1 state list)
    Unknown_D220 = 0xD220  #: u32 range 0…1 (X-T1 enumeration)
    Unknown_D222 = 0xD222  #: u32 range 0…30000 (X-T1 enumeration)
    Unknown_D226 = 0xD226  #: u16 enum 0/1 (X-T1 enumeration)
    Unknown_D227 = 0xD227  #: u16, 0 (X-T1 enumeration)
    #: 65-byte composite blob with model at offset 40 and firmware at 61 (X-T1 enumeration)
    CameraSummary = 0xD228
    CapturesRemaining = 0xD229  #: u32 (X-T1 state list, 1431)
    MovieRemainingTime = 0xD22A  #: u32, unit unknown (X-T1 state list)
    ShutterSpeed = 0xD240  #: u32; X-T1 read 0xFFFFFFFF; hkr: MSB set = 1/N
    ImageSize = 0xD241  #: u16 size + aspect ratio (X-T1 state list, 0x0A = L 3:2)
    BatteryLevel = 0xD242  #: malc0mn 5-bar scale; not seen on X-T1
    #: u32 in the X-T4/X-T5 remote lists, equal to the battery value there (libfuji logs)
    Unknown_D246 = 0xD246
    PCMode = 0xD38C  #: libgphoto2 sets 1 at init on Fuji (USB and Wi-Fi path)
    Unknown_D400 = 0xD400  #: u32, 0 (X-T1 enumeration)
    Unknown_D401 = 0xD401  #: u32, 0 (X-T1 enumeration)
    GeoTag = 0xD500  #: 97-byte ASCII coordinate blob (X-T1 enumeration)
    Unknown_D52F = 0xD52F  #: u32, 0 (X-T1 enumeration); 1 in 0xD212 of real X-T2..X-T5 (libfuji logs)
    #: Camera state (:class:`CameraState`): u16, 0 on the X-T1 (enumeration); 6 first in
    #: 0xD212 after OpenSession on real X-T2, X-T20, X-T4, X-T5 (libfuji logs).
    Unknown_DF00 = 0xDF00
    #: Client mode (:class:`ClientMode`); write 5 during bring-up; the reply waits for the
    #: user's OK on a new name (malc0mn).
    InitSequence = 0xDF01
    Unknown_DF21 = 0xDF21  #: u32, 3 (X-T1 enumeration); libfuji: image-get version
    Unknown_DF22 = 0xDF22  #: u32, 3 (X-T1 enumeration); libfuji: GetObject version
    Unknown_DF23 = 0xDF23  #: u32, 1 (X-T1 enumeration); libfuji: PC AutoSave version
    #: Minimum app version / remote version; read and write back during bring-up (X-T1:
    #: 0x00020001). Empty (OK with no data) on a body without remote mode (libfuji, vcam X-A2).
    AppVersion = 0xDF24
    Unknown_DF25 = 0xDF25  #: u32, 1 (X-T1 enumeration); libfuji: remote GetObject version
    Unknown_DF26 = 0xDF26  #: no data on real X-T2/X-T20, 1 on the X-T4 (libfuji logs)
    Unknown_DF28 = 0xDF28  #: libfuji: remote photo-view version (X-App); 1 on X-T4, 3 on X-T5 (logs)
    Unknown_DF31 = 0xDF31  #: u32, 2 (X-T1 enumeration); libfuji: geotag version


__all__ = [
    "COMMAND_PORT",
    "CameraState",
    "ClientMode",
    "EVENT_PORT",
    "FUJI_PROTOCOL_VERSION",
    "INIT_SEQUENCE_REMOTE",
    "LIVEVIEW_PORT",
    "ContainerKind",
    "FujiEventCode",
    "FujiOperationCode",
    "FujiPropCode",
    "HandshakePacketType",
    "InitFailReason",
]
