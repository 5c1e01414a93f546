"""Canon EOS vendor codes of the PTP dialect (USB and Wi-Fi alike).

Every member notes where it was observed, with these tags:

* *lgp* — libgphoto2 2.5.30 ``camlibs/ptp2/ptp.h`` (the code and its name) and where its
  EOS driver uses it (``library.c``, ``config.c``, ``ptp.c``, ``ptp-pack.c``);
* *trace* — seen on the wire between gphoto2 2.5.28 and an emulated EOS body (our runs);
* *thread* — a real body's bytes in a public issue thread (``repo#N``).

Standard ISO 15740 codes (OpenSession 0x1002, GetPartialObject 0x101B, ...) live in
:mod:`ptpd.protocol.codes`; only Canon's own codes are here.
"""

from __future__ import annotations

from enum import IntEnum, unique

#: GetViewFinderData's three parameters, fixed "from trace" in libgphoto2 (ptp.c:5049-5055).
VIEWFINDER_PARAMS = (0x00200000, 0, 0)
#: SetRequestOLCInfoGroup's parameter in libgphoto2's prepare (config.c:392-393).
OLC_INFO_GROUP_ALL = 0x1FFF
#: PCHDDCapacity's parameters in libgphoto2 (config.c:337-351): free clusters, cluster
#: size, and 1 = "the host has room"; a body whose capture target is the host wants them
#: before it counts its available shots.
PC_HDD_CAPACITY = (0x0FFFFFFF, 0x1000, 1)


@unique
class CanonOperationCode(IntEnum):
    """EOS operation codes (PTP_OC_CANON_EOS_* in libgphoto2's ptp.h)."""

    GetMACAddress = 0x9033  #: lgp; the summary prints "Canon Wifi support" when listed
    GetStorageIDs = 0x9101  #: lgp; called by prepare without checking DeviceInfo; trace
    GetStorageInfo = 0x9102  #: lgp; called by prepare, data ignored; trace
    GetDeviceInfoEx = 0x9108  #: lgp; three u32 arrays (ptp-pack.c:510-535); trace
    GetObjectInfoEx = 0x9109  #: lgp; the "fast directory" listing (ptp.c:3379-3384)
    RemoteRelease = 0x910F  #: lgp; one release on bodies without 0x9128; result in Param1
    SetDevicePropValueEx = 0x9110  #: lgp; data {u32 size, u32 code, value}; trace
    GetRemoteMode = 0x9113  #: lgp; the mode in response Param1 (ptp.c:5025)
    SetRemoteMode = 0x9114  #: lgp; 1 on most bodies, 0x15 on EOS M; trace
    SetEventMode = 0x9115  #: lgp; 1 = report changes through GetEvent; trace
    GetEvent = 0x9116  #: lgp; polled event records (ptp.c:3825); trace
    TransferComplete = 0x9117  #: lgp; ends a transfer from the camera's RAM; trace
    PCHDDCapacity = 0x911A  #: lgp; tells the body how much room the host has; trace
    SetUILock = 0x911B  #: lgp; trace
    ResetUILock = 0x911C  #: lgp; trace
    KeepDeviceOn = 0x911D  #: lgp; the keep-awake call of the capture and preview loops; trace
    RequestDevicePropValue = 0x9127  #: lgp; asks for one property's C189 record
    RemoteReleaseOn = 0x9128  #: lgp; P1 1 = half press, 2 = full, 3 = both (EOS M); trace
    RemoteReleaseOff = 0x9129  #: lgp; releases what RemoteReleaseOn pressed; trace
    SetRequestOLCInfoGroup = 0x913D  #: lgp; a failure aborts libgphoto2's prepare; trace
    InitiateViewfinder = 0x9151  #: lgp; the ``viewfinder`` widget (config.c:8003-8030)
    TerminateViewfinder = 0x9152  #: lgp; sent at exit when listed (library.c:3122)
    GetViewFinderData = 0x9153  #: lgp; one live-view frame as a blob list; trace
    DriveLens = (
        0x9155  #: lgp; moves the focus in live view, P1 :class:`DriveLensStep` (config.c _put_Canon_EOS_MFDrive)
    )
    AfCancel = 0x9160  #: lgp; sent at exit when listed (config.c:563-564); trace


@unique
class DriveLensStep(IntEnum):
    """DriveLens 0x9155's parameter: a small, middle or large focus step nearer, or with
    bit 15 set farther (libgphoto2's manualfocusdrive "Near 1..3"/"Far 1..3"; Canon's
    EDSDK kEdsEvfDriveLens_Near1 = 1 ... Far3 = 0x8003)."""

    Near1 = 0x0001
    Near2 = 0x0002
    Near3 = 0x0003
    Far1 = 0x8001
    Far2 = 0x8002
    Far3 = 0x8003


@unique
class CanonResponseCode(IntEnum):
    """EOS response codes (PTP_RC_CANON_EOS_* in libgphoto2's ptp.h)."""

    UnknownCommand = 0xA001  #: lgp
    OperationRefused = 0xA005  #: lgp
    LensCoverClosed = 0xA006  #: lgp
    LowBattery = 0xA101  #: lgp
    ObjectNotReady = 0xA102  #: lgp; GetViewFinderData before a frame exists (library.c:3492); trace
    CannotMakeObject = 0xA104  #: lgp
    MemoryStatusNotReady = 0xA106  #: lgp


@unique
class CanonEventCode(IntEnum):
    """Types of the records a GetEvent reply lists (PTP_EC_CANON_EOS_* in ptp.h; layouts
    in ptp-pack.c:1995-2871 ``ptp_unpack_CANON_changes``)."""

    End = 0x0000  #: a record of size 8 and type 0 ends the list (ptp-pack.c; #521, gphoto2#174)
    RequestGetEvent = 0xC101  #: lgp
    ObjectAddedEx = 0xC181  #: lgp; a new object on the card; trace
    ObjectRemoved = 0xC182  #: lgp
    RequestGetObjectInfoEx = 0xC183  #: lgp
    StorageStatusChanged = 0xC184  #: lgp; logged only
    StorageInfoChanged = 0xC185  #: lgp; logged only
    RequestObjectTransfer = 0xC186  #: lgp; a new object in the camera's RAM; trace
    ObjectInfoChangedEx = 0xC187  #: lgp; same layout as ObjectAddedEx
    ObjectContentChanged = 0xC188  #: lgp
    PropValueChanged = 0xC189  #: lgp; a property's value; trace; libgphoto2#301
    AvailListChanged = 0xC18A  #: lgp; a property's allowed values; trace; libgphoto2#301, gphoto2#174
    CameraStatusChanged = 0xC18B  #: lgp; 1 = busy (library.c:5849-5850)
    WillSoonShutdown = 0xC18D  #: lgp
    ShutdownTimerUpdated = 0xC18E  #: lgp
    RequestCancelTransfer = 0xC18F  #: lgp
    RequestObjectTransferDT = 0xC190  #: lgp
    RequestCancelTransferDT = 0xC191  #: lgp
    StoreAdded = 0xC192  #: lgp; logged only
    StoreRemoved = 0xC193  #: lgp; logged only
    BulbExposureTime = 0xC194  #: lgp
    RecordingTime = 0xC195  #: lgp
    AfResult = 0xC1A3  #: lgp
    CTGInfoCheckComplete = 0xC1A4  #: lgp; logged only; a real body sends it around its dump
    OLCInfoChanged = 0xC1A5  #: lgp; mask 0x0001 = Button (EOS M capture); libgphoto2#301
    ObjectAddedEx64 = 0xC1A7  #: lgp; 64-bit layout of ObjectAddedEx
    ObjectInfoChangedEx64 = 0xC1A8  #: lgp
    RequestObjectTransfer64 = 0xC1A9  #: lgp; 64-bit layout of RequestObjectTransfer


@unique
class CanonPropCode(IntEnum):
    """EOS property codes (PTP_DPC_CANON_EOS_* in ptp.h:2014-2218). Their values and
    allowed lists arrive in GetEvent records, not through GetDevicePropDesc."""

    Aperture = 0xD101  #: lgp u16; trace
    ShutterSpeed = 0xD102  #: lgp u16; trace
    ISOSpeed = 0xD103  #: lgp u16; trace
    ExpCompensation = 0xD104  #: lgp u8 (1/8 EV, two's complement)
    AutoExposureMode = 0xD105  #: lgp u16; never an allowed list (ptp-pack.c:2322-2328)
    DriveMode = 0xD106  #: lgp u16
    MeteringMode = 0xD107  #: lgp u8
    FocusMode = 0xD108  #: lgp u16 (u32 in libgphoto2 HEAD); 3 = manual changes the release
    WhiteBalance = 0xD109  #: lgp u8; libgphoto2#301
    ColorTemperature = 0xD10A  #: lgp u32
    WhiteBalanceAdjustA = 0xD10B  #: lgp i32
    WhiteBalanceAdjustB = 0xD10C  #: lgp i32
    ColorSpace = 0xD10F  #: lgp u16
    PictureStyle = 0xD110  #: lgp u8
    BatteryPower = 0xD111  #: lgp u16
    BatterySelect = 0xD112  #: lgp u16
    CameraTime = 0xD113  #: lgp u32
    Owner = 0xD115  #: lgp string (ASCII, NUL-terminated)
    ModelID = 0xD116  #: lgp u32
    PTPExtensionVersion = 0xD119  #: lgp u16
    AvailableShots = 0xD11B  #: lgp u32; must be > 0 once the target is the host (config.c:354-359)
    CaptureDestination = 0xD11C  #: lgp u32; 4 = the host's RAM (ptp.h:2039); trace
    BracketMode = 0xD11D  #: lgp u16
    CurrentStorage = 0xD11E  #: lgp u32
    CurrentFolder = 0xD11F  #: lgp u32
    ImageFormat = 0xD120  #: lgp struct (ptp-pack.c:1675-1796)
    ImageFormatCF = 0xD121  #: lgp struct
    ImageFormatSD = 0xD122  #: lgp struct
    ImageFormatExtHD = 0xD123  #: lgp struct
    AEModeDial = 0xD138  #: lgp u16
    UTCTime = 0xD17C  #: lgp u32
    CustomFuncEx = 0xD1A0  #: lgp hex string
    QuickReviewTime = 0xD1A9  #: lgp u16
    ShutterCounter = 0xD1AC  #: lgp u32
    SerialNumber = 0xD1AF  #: lgp string
    EVFOutputDevice = 0xD1B0  #: lgp u16 (u32 in HEAD); bits 1 TFT, 2 PC, 4 MOBILE, 8 MOBILE2; trace
    EVFMode = 0xD1B1  #: lgp u16; 1 = live view possible
    EVFWhiteBalance = 0xD1B4  #: lgp
    EVFRecordStatus = 0xD1B8  #: lgp u16
    LensName = 0xD1D8  #: lgp string
    Artist = 0xD1D0  #: lgp string
    Copyright = 0xD1D1  #: lgp string
    FocusInfoEx = 0xD1D3  #: lgp struct; a change after the half press is the focus result
    AEB = 0xD1D9  #: lgp u16


@unique
class RemoteReleaseMode(IntEnum):
    """RemoteReleaseOn/Off Param1 as libgphoto2 sends it (library.c:5868-6008, config.c:7496-7545)."""

    Half = 1  #: half press (focus); trace
    Full = 2  #: full press after a half press; trace
    HalfAndFull = 3  #: both at once: the EOS M capture and gphoto2's "Press Full"; trace


@unique
class RemoteReleaseResult(IntEnum):
    """RemoteRelease 0x910F's result in response Param1 (library.c:5985-6008)."""

    OK = 0  #: lgp
    NoFocus = 1  #: lgp
    MirrorUp = 3  #: lgp
    CardFull = 7  #: lgp
    CardReadOnly = 8  #: lgp


@unique
class EVFOutput(IntEnum):
    """Bits of EVFOutputDevice 0xD1B0 (``canon_eos_cameraoutput[]`` config.c:2516)."""

    TFT = 1  #: the camera's own screen
    PC = 2  #: the host (GetViewFinderData answers only with this bit; gphoto2#356)
    Mobile = 4
    Mobile2 = 8  #: what libgphoto2's EOS M prepare sets (library.c:9844-9866); gphoto2#174


@unique
class ViewFinderBlob(IntEnum):
    """Types of the blobs of a GetViewFinderData reply (library.c:3514-3556)."""

    End = 0  #: size 8: the list ends
    JPEG = 1  #: a live-view JPEG; trace
    RawMovie = 9  #: a raw image in movie mode
    JPEG2 = 11  #: also a live-view JPEG (library.c)


#: EOS body's capture destination "the host" (PTP_CANON_EOS_CAPTUREDEST_HD, ptp.h:2039).
CAPTURE_TO_HOST = 4
#: SetRemoteMode's parameter on most bodies, and on EOS M (library.c:9844-9866).
REMOTE_MODE = 1
REMOTE_MODE_EOS_M = 0x15
#: SetEventMode's parameter that makes the body report through GetEvent (config.c:369-482).
EVENT_MODE = 1

__all__ = [
    "CAPTURE_TO_HOST",
    "EVENT_MODE",
    "OLC_INFO_GROUP_ALL",
    "PC_HDD_CAPACITY",
    "REMOTE_MODE",
    "REMOTE_MODE_EOS_M",
    "VIEWFINDER_PARAMS",
    "CanonEventCode",
    "CanonOperationCode",
    "CanonPropCode",
    "CanonResponseCode",
    "DriveLensStep",
    "EVFOutput",
    "RemoteReleaseMode",
    "RemoteReleaseResult",
    "ViewFinderBlob",
]
