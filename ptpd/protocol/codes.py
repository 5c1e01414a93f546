"""Standard PTP code tables (ISO 15740:2008 / PIMA 15740:2000) and PTP/IP small enums.

Every table is an ``@enum.unique`` :class:`~enum.IntEnum` whose members carry the names
of the standard (CamelCase as in the spec and libgphoto2's ``ptp.h``, e.g.
``OperationCode.GetDeviceInfo``); data type codes keep the spec's upper-case names
(``DataType.UINT16``). Each member's ``#:`` comment cites the clause of ISO 15740 and the
table of ``shared/reference/ptp.md`` (``ptp.md §n``) it comes from.

Code spaces (ISO 15740 §5.1, ptp.md §1): bits 15..12 of a u16 code select its kind and
bit 15 marks a vendor extension. Vendor codes are *not* here: Fuji's live in
``ptpd/fuji/codes.py``. Use :func:`code_name` to name any code, known or not, without
raising.
"""

from __future__ import annotations

import enum
from typing import Final


class _Code(enum.IntEnum):
    """Base of the code tables; members stay plain ints in arithmetic and formatting."""

    @property
    def hex(self) -> str:
        """The code as ``0xNNNN``."""
        return f"0x{int(self):04X}"


@enum.unique
class OperationCode(_Code):
    """Operation codes, ISO 15740 §10.4 (table "Operation codes"), ptp.md §3.

    Members 0x101D–0x1025 were added by PTP 1.1 (ISO 15740:2008).
    """

    Undefined = 0x1000  #: §10.4; never sent
    GetDeviceInfo = 0x1001  #: §10.5.1; data in: DeviceInfo; legal outside a session
    OpenSession = 0x1002  #: §10.5.2; P1 SessionID; TID 0
    CloseSession = 0x1003  #: §10.5.3
    GetStorageIDs = 0x1004  #: §10.5.4; data in: AUINT32 StorageIDs
    GetStorageInfo = 0x1005  #: §10.5.5; P1 StorageID; data in: StorageInfo
    GetNumObjects = 0x1006  #: §10.5.6; P1 StorageID, [P2 format], [P3 parent]; R1 count
    GetObjectHandles = 0x1007  #: §10.5.7; same params; data in: AUINT32 handles
    GetObjectInfo = 0x1008  #: §10.5.8; P1 handle; data in: ObjectInfo
    GetObject = 0x1009  #: §10.5.9; P1 handle; data in: object bytes
    GetThumb = 0x100A  #: §10.5.10; P1 handle; data in: thumbnail bytes
    DeleteObject = 0x100B  #: §10.5.11; P1 handle (0xFFFFFFFF all), [P2 format]
    SendObjectInfo = 0x100C  #: §10.5.12; data out: ObjectInfo; R1 storage, R2 parent, R3 handle
    SendObject = 0x100D  #: §10.5.13; data out: object bytes
    InitiateCapture = 0x100E  #: §10.5.14; [P1 StorageID], [P2 format]
    FormatStore = 0x100F  #: §10.5.15; P1 StorageID, [P2 filesystem format]
    ResetDevice = 0x1010  #: §10.5.16; ends the session
    SelfTest = 0x1011  #: §10.5.17; [P1 self-test type]
    SetObjectProtection = 0x1012  #: §10.5.18; P1 handle, P2 protection status
    PowerDown = 0x1013  #: §10.5.19
    GetDevicePropDesc = 0x1014  #: §10.5.20; P1 prop code; data in: DevicePropDesc
    GetDevicePropValue = 0x1015  #: §10.5.21; P1 prop code; data in: value
    SetDevicePropValue = 0x1016  #: §10.5.22; P1 prop code; data out: value
    ResetDevicePropValue = 0x1017  #: §10.5.23; P1 prop code (0xFFFFFFFF all)
    TerminateOpenCapture = 0x1018  #: §10.5.24; P1 TID of the InitiateOpenCapture
    MoveObject = 0x1019  #: §10.5.25; P1 handle, P2 StorageID, P3 new parent
    CopyObject = 0x101A  #: §10.5.26; P1 handle, P2 StorageID, P3 new parent; R1 new handle
    GetPartialObject = 0x101B  #: §10.5.27; P1 handle, P2 offset, P3 max bytes; R1 bytes sent
    InitiateOpenCapture = 0x101C  #: §10.5.28; [P1 StorageID], [P2 format]
    StartEnumHandles = 0x101D  #: PTP 1.1 §10.5.29
    EnumHandles = 0x101E  #: PTP 1.1 §10.5.30
    StopEnumHandles = 0x101F  #: PTP 1.1 §10.5.31
    GetVendorExtensionMaps = 0x1020  #: PTP 1.1 §10.5.32
    GetVendorDeviceInfo = 0x1021  #: PTP 1.1 §10.5.33
    GetResizedImageObject = 0x1022  #: PTP 1.1 §10.5.34
    GetFilesystemManifest = 0x1023  #: PTP 1.1 §10.5.35
    GetStreamInfo = 0x1024  #: PTP 1.1 §10.5.36
    GetStream = 0x1025  #: PTP 1.1 §10.5.37


@enum.unique
class ResponseCode(_Code):
    """Response codes, ISO 15740 §11.3 (table "Response codes"), ptp.md §4."""

    Undefined = 0x2000  #: §11.3
    OK = 0x2001  #: §11.3.1
    GeneralError = 0x2002  #: §11.3.2
    SessionNotOpen = 0x2003  #: §11.3.3
    InvalidTransactionID = 0x2004  #: §11.3.4
    OperationNotSupported = 0x2005  #: §11.3.5
    ParameterNotSupported = 0x2006  #: §11.3.6
    IncompleteTransfer = 0x2007  #: §11.3.7
    InvalidStorageID = 0x2008  #: §11.3.8
    InvalidObjectHandle = 0x2009  #: §11.3.9
    DevicePropNotSupported = 0x200A  #: §11.3.10
    InvalidObjectFormatCode = 0x200B  #: §11.3.11
    StoreFull = 0x200C  #: §11.3.12
    ObjectWriteProtected = 0x200D  #: §11.3.13
    StoreReadOnly = 0x200E  #: §11.3.14
    AccessDenied = 0x200F  #: §11.3.15
    NoThumbnailPresent = 0x2010  #: §11.3.16
    SelfTestFailed = 0x2011  #: §11.3.17
    PartialDeletion = 0x2012  #: §11.3.18
    StoreNotAvailable = 0x2013  #: §11.3.19
    SpecificationByFormatUnsupported = 0x2014  #: §11.3.20
    NoValidObjectInfo = 0x2015  #: §11.3.21
    InvalidCodeFormat = 0x2016  #: §11.3.22
    UnknownVendorCode = 0x2017  #: §11.3.23
    CaptureAlreadyTerminated = 0x2018  #: §11.3.24
    DeviceBusy = 0x2019  #: §11.3.25
    InvalidParentObject = 0x201A  #: §11.3.26
    InvalidDevicePropFormat = 0x201B  #: §11.3.27
    InvalidDevicePropValue = 0x201C  #: §11.3.28
    InvalidParameter = 0x201D  #: §11.3.29
    SessionAlreadyOpen = 0x201E  #: §11.3.30; R1 = the open SessionID
    TransactionCancelled = 0x201F  #: §11.3.31
    SpecificationOfDestinationUnsupported = 0x2020  #: §11.3.32
    InvalidEnumHandle = 0x2021  #: PTP 1.1 §11.3.33
    NoStreamEnabled = 0x2022  #: PTP 1.1 §11.3.34
    InvalidDataset = 0x2023  #: PTP 1.1 §11.3.35


@enum.unique
class EventCode(_Code):
    """Event codes, ISO 15740 §12.4 (table "Event codes"), ptp.md §5."""

    Undefined = 0x4000  #: §12.4
    CancelTransaction = 0x4001  #: §12.5.1; TID field = the transaction cancelled
    ObjectAdded = 0x4002  #: §12.5.2; P1 ObjectHandle
    ObjectRemoved = 0x4003  #: §12.5.3; P1 ObjectHandle
    StoreAdded = 0x4004  #: §12.5.4; P1 StorageID
    StoreRemoved = 0x4005  #: §12.5.5; P1 StorageID
    DevicePropChanged = 0x4006  #: §12.5.6; P1 DevicePropCode
    ObjectInfoChanged = 0x4007  #: §12.5.7; P1 ObjectHandle
    DeviceInfoChanged = 0x4008  #: §12.5.8; re-read DeviceInfo
    RequestObjectTransfer = 0x4009  #: §12.5.9; P1 ObjectHandle
    StoreFull = 0x400A  #: §12.5.10; P1 StorageID
    DeviceReset = 0x400B  #: §12.5.11; the session is gone
    StorageInfoChanged = 0x400C  #: §12.5.12; P1 StorageID
    CaptureComplete = 0x400D  #: §12.5.13; TID field = the InitiateCapture's TID
    UnreportedStatus = 0x400E  #: §12.5.14


@enum.unique
class DevicePropCode(_Code):
    """Device property codes, ISO 15740 §13.5 (table "Device property codes"), ptp.md §6.

    The usual datatype is noted per member; a device may pick another integer width, so
    always read the DataType field of the DevicePropDesc.
    """

    Undefined = 0x5000  #: §13.5
    BatteryLevel = 0x5001  #: §13.5.1; UINT8 percent
    FunctionalMode = 0x5002  #: §13.5.2; UINT16 0 standard, 1 sleep
    ImageSize = 0x5003  #: §13.5.3; STR "WIDTHxHEIGHT"
    CompressionSetting = 0x5004  #: §13.5.4; UINT8
    WhiteBalance = 0x5005  #: §13.5.5; UINT16, see :class:`WhiteBalance`
    RGBGain = 0x5006  #: §13.5.6; STR "R:G:B"
    FNumber = 0x5007  #: §13.5.7; UINT16 f-number x 100
    FocalLength = 0x5008  #: §13.5.8; UINT32 mm x 100
    FocusDistance = 0x5009  #: §13.5.9; UINT16 mm, 0xFFFF infinity
    FocusMode = 0x500A  #: §13.5.10; UINT16
    ExposureMeteringMode = 0x500B  #: §13.5.11; UINT16
    FlashMode = 0x500C  #: §13.5.12; UINT16
    ExposureTime = 0x500D  #: §13.5.13; UINT32 in 1/10000 s
    ExposureProgramMode = 0x500E  #: §13.5.14; UINT16
    ExposureIndex = 0x500F  #: §13.5.15; UINT16 ISO speed
    ExposureBiasCompensation = 0x5010  #: §13.5.16; INT16 in 1/1000 EV
    DateTime = 0x5011  #: §13.5.17; STR DateTime string
    CaptureDelay = 0x5012  #: §13.5.18; UINT32 ms
    StillCaptureMode = 0x5013  #: §13.5.19; UINT16
    Contrast = 0x5014  #: §13.5.20; UINT8
    Sharpness = 0x5015  #: §13.5.21; UINT8
    DigitalZoom = 0x5016  #: §13.5.22; UINT8 zoom x 10
    EffectMode = 0x5017  #: §13.5.23; UINT16
    BurstNumber = 0x5018  #: §13.5.24; UINT16 frames
    BurstInterval = 0x5019  #: §13.5.25; UINT16 ms
    TimelapseNumber = 0x501A  #: §13.5.26; UINT16 frames
    TimelapseInterval = 0x501B  #: §13.5.27; UINT32 ms
    FocusMeteringMode = 0x501C  #: §13.5.28; UINT16
    UploadURL = 0x501D  #: §13.5.29; STR
    Artist = 0x501E  #: §13.5.30; STR
    CopyrightInfo = 0x501F  #: §13.5.31; STR
    SupportedStreams = 0x5020  #: PTP 1.1 streaming, ptp.md §6
    EnabledStreams = 0x5021  #: PTP 1.1 streaming
    VideoFormat = 0x5022  #: PTP 1.1 streaming
    VideoResolution = 0x5023  #: PTP 1.1 streaming
    VideoQuality = 0x5024  #: PTP 1.1 streaming
    VideoFrameRate = 0x5025  #: PTP 1.1 streaming
    VideoContrast = 0x5026  #: PTP 1.1 streaming
    VideoBrightness = 0x5027  #: PTP 1.1 streaming
    AudioFormat = 0x5028  #: PTP 1.1 streaming
    AudioBitrate = 0x5029  #: PTP 1.1 streaming
    AudioSamplingRate = 0x502A  #: PTP 1.1 streaming
    AudioBitPerSample = 0x502B  #: PTP 1.1 streaming
    AudioVolume = 0x502C  #: PTP 1.1 streaming


@enum.unique
class DataType(_Code):
    """Datatype codes, ISO 15740 §5.3 (table "Datatype codes"), ptp.md §7.

    An array type is ``0x4000 | element type``; :attr:`is_array`, :attr:`element` and
    :attr:`size` describe the encoding (see :mod:`ptpd.protocol.datatypes`).
    """

    UNDEF = 0x0000  #: §5.3; no value
    INT8 = 0x0001  #: §5.3; 1 byte
    UINT8 = 0x0002  #: §5.3; 1 byte
    INT16 = 0x0003  #: §5.3; 2 bytes
    UINT16 = 0x0004  #: §5.3; 2 bytes
    INT32 = 0x0005  #: §5.3; 4 bytes
    UINT32 = 0x0006  #: §5.3; 4 bytes
    INT64 = 0x0007  #: §5.3; 8 bytes
    UINT64 = 0x0008  #: §5.3; 8 bytes
    INT128 = 0x0009  #: §5.3; 16 bytes, low u64 first
    UINT128 = 0x000A  #: §5.3; 16 bytes, low u64 first
    AINT8 = 0x4001  #: §5.3.4; u32 count + INT8 elements
    AUINT8 = 0x4002  #: §5.3.4; u32 count + UINT8 elements
    AINT16 = 0x4003  #: §5.3.4; u32 count + INT16 elements
    AUINT16 = 0x4004  #: §5.3.4; u32 count + UINT16 elements
    AINT32 = 0x4005  #: §5.3.4; u32 count + INT32 elements
    AUINT32 = 0x4006  #: §5.3.4; u32 count + UINT32 elements
    AINT64 = 0x4007  #: §5.3.4; u32 count + INT64 elements
    AUINT64 = 0x4008  #: §5.3.4; u32 count + UINT64 elements
    AINT128 = 0x4009  #: §5.3.4; u32 count + INT128 elements
    AUINT128 = 0x400A  #: §5.3.4; u32 count + UINT128 elements
    STR = 0xFFFF  #: §5.3.5; PTP string (u8 count incl. NUL + UCS-2 units)

    @property
    def is_array(self) -> bool:
        """True for the ``A*`` array types."""
        return self & 0xF000 == 0x4000

    @property
    def is_integer(self) -> bool:
        """True for the scalar integer types INT8..UINT128."""
        return DataType.INT8 <= self <= DataType.UINT128

    @property
    def element(self) -> DataType:
        """The element type of an array type (the type itself for scalars)."""
        return DataType(self & 0x0FFF) if self.is_array else self

    @property
    def signed(self) -> bool:
        """True for the signed integer types and arrays of them."""
        e = self.element
        return e.is_integer and e % 2 == 1

    @property
    def size(self) -> int | None:
        """Bytes of one scalar integer value (of the element, for arrays); None for STR/UNDEF."""
        e = self.element
        if not e.is_integer:
            return None
        return 1 << ((e - 1) // 2)

    def array_of(self) -> DataType:
        """The array type whose elements are this scalar integer type."""
        if not self.is_integer:
            raise ValueError(f"{self.name} has no array type")
        return DataType(0x4000 | self)


@enum.unique
class ObjectFormat(_Code):
    """Object format codes, ISO 15740 §6.2 (table "ObjectFormatCodes"), ptp.md §11.

    0x30xx are ancillary (non-image) formats, 0x38xx image formats.
    """

    Undefined = 0x3000  #: §6.2; undefined non-image object
    Association = 0x3001  #: §6.2; folder (with AssociationType GenericFolder)
    Script = 0x3002  #: §6.2; device model-specific script
    Executable = 0x3003  #: §6.2; device model-specific binary executable
    Text = 0x3004  #: §6.2
    HTML = 0x3005  #: §6.2
    DPOF = 0x3006  #: §6.2; Digital Print Order Format
    AIFF = 0x3007  #: §6.2; audio clip
    WAV = 0x3008  #: §6.2; audio clip
    MP3 = 0x3009  #: §6.2; audio clip
    AVI = 0x300A  #: §6.2; video clip
    MPEG = 0x300B  #: §6.2; video clip
    ASF = 0x300C  #: §6.2; Microsoft Advanced Streaming Format
    QuickTime = 0x300D  #: ptp.md §11 (libgphoto2's name; PTP 1.1)
    UndefinedImage = 0x3800  #: §6.2; unknown image object
    EXIF_JPEG = 0x3801  #: §6.2; EXIF/JPEG, what cameras store
    TIFF_EP = 0x3802  #: §6.2; TIFF/EP
    FlashPix = 0x3803  #: §6.2
    BMP = 0x3804  #: §6.2
    CIFF = 0x3805  #: §6.2; Canon Camera Image File Format
    Reserved3806 = 0x3806  #: §6.2; reserved
    GIF = 0x3807  #: §6.2
    JFIF = 0x3808  #: §6.2; JPEG File Interchange Format (thumbnails)
    PCD = 0x3809  #: §6.2; PhotoCD
    PICT = 0x380A  #: §6.2; Quickdraw image
    PNG = 0x380B  #: §6.2
    Reserved380C = 0x380C  #: §6.2; reserved
    TIFF = 0x380D  #: §6.2
    TIFF_IT = 0x380E  #: §6.2; TIFF/IT (graphic arts)
    JP2 = 0x380F  #: §6.2; JPEG 2000 baseline
    JPX = 0x3810  #: §6.2; JPEG 2000 extended
    DNG = 0x3811  #: PTP 1.1 §6.2; Digital Negative

    @property
    def is_image(self) -> bool:
        """True for the 0x38xx image formats."""
        return self & 0xFF00 == 0x3800


@enum.unique
class DataPhase(_Code):
    """DataPhaseInfo of a PTP/IP Operation Request, CIPA DC-X005 §2.3.6, ptpip.md."""

    NoDataOrIn = 1  #: no data phase, or data responder -> initiator
    DataOut = 2  #: data initiator -> responder
    Unknown = 3  #: unknown direction (*unverified*; accept it, never send it)


@enum.unique
class InitFailReason(_Code):
    """Reason u32 of a PTP/IP Init Fail packet, CIPA DC-X005 §2.3.5, ptpip.md.

    Values as used by several public implementations (*unverified* against the PDF).
    """

    RejectedInitiator = 1  #: GUID not paired / not allowed
    Busy = 2  #: another initiator is connected
    Unspecified = 3  #: any other reason


@enum.unique
class StorageType(_Code):
    """StorageInfo.StorageType, ISO 15740 §5.5.3, ptp.md §10."""

    Undefined = 0  #: §5.5.3
    FixedROM = 1  #: §5.5.3
    RemovableROM = 2  #: §5.5.3
    FixedRAM = 3  #: §5.5.3
    RemovableRAM = 4  #: §5.5.3; a memory card


@enum.unique
class FilesystemType(_Code):
    """StorageInfo.FilesystemType, ISO 15740 §5.5.3, ptp.md §10."""

    Undefined = 0  #: §5.5.3
    GenericFlat = 1  #: §5.5.3
    GenericHierarchical = 2  #: §5.5.3
    DCF = 3  #: §5.5.3; Design rule for Camera File system


@enum.unique
class AccessCapability(_Code):
    """StorageInfo.AccessCapability, ISO 15740 §5.5.3, ptp.md §10."""

    ReadWrite = 0  #: §5.5.3
    ReadOnlyWithoutDeletion = 1  #: §5.5.3
    ReadOnlyWithDeletion = 2  #: §5.5.3


@enum.unique
class ProtectionStatus(_Code):
    """ObjectInfo.ProtectionStatus, ISO 15740 §5.5.2, ptp.md §10."""

    NoProtection = 0x0000  #: §5.5.2
    ReadOnly = 0x0001  #: §5.5.2
    MTPReadOnlyData = 0x8002  #: MTP extension, ptp.md §10
    MTPNonTransferableData = 0x8003  #: MTP extension, ptp.md §10


@enum.unique
class AssociationType(_Code):
    """ObjectInfo.AssociationType, ISO 15740 §6.4, ptp.md §9-10."""

    Undefined = 0x0000  #: §6.4; files
    GenericFolder = 0x0001  #: §6.4; folders
    Album = 0x0002  #: §6.4
    TimeSequence = 0x0003  #: §6.4
    HorizontalPanoramic = 0x0004  #: §6.4
    VerticalPanoramic = 0x0005  #: §6.4
    TwoDPanoramic = 0x0006  #: §6.4
    AncillaryData = 0x0007  #: §6.4


@enum.unique
class GetSet(_Code):
    """DevicePropDesc.GetSet, ISO 15740 §13.3.3, ptp.md §10."""

    Get = 0  #: read-only
    GetSet = 1  #: read-write


@enum.unique
class FormFlag(_Code):
    """DevicePropDesc.FormFlag, ISO 15740 §13.3.3, ptp.md §10 (ptpd handles 0-2)."""

    NoForm = 0  #: no form: any value of the datatype
    Range = 1  #: MinimumValue, MaximumValue, StepSize
    Enumeration = 2  #: u16 count, then the allowed values


@enum.unique
class FunctionalMode(_Code):
    """DeviceInfo.FunctionalMode / property 0x5002, ISO 15740 §5.5.1, ptp.md §6."""

    Standard = 0  #: §5.5.1
    Sleep = 1  #: §5.5.1


@enum.unique
class WhiteBalance(_Code):
    """Values of DevicePropCode.WhiteBalance (0x5005), ISO 15740 §13.5.5, ptp.md §6.

    Values >= 0x8000 are vendor-defined.
    """

    Undefined = 0  #: §13.5.5
    Manual = 1  #: §13.5.5
    Automatic = 2  #: §13.5.5
    OnePushAutomatic = 3  #: §13.5.5
    Daylight = 4  #: §13.5.5
    Fluorescent = 5  #: §13.5.5
    Tungsten = 6  #: §13.5.5
    Flash = 7  #: §13.5.5


@enum.unique
class VendorExtensionID(_Code):
    """DeviceInfo.VendorExtensionID values, ptp.md §10 (from libgphoto2 ``ptp.h``)."""

    NoExtension = 0x00000000  #: ptp.md §10; a generic device
    Kodak = 0x00000001  #: ptp.md §10
    SeikoEpson = 0x00000002  #: ptp.md §10
    Agilent = 0x00000003  #: ptp.md §10
    Polaroid = 0x00000004  #: ptp.md §10
    AgfaGevaert = 0x00000005  #: ptp.md §10
    Microsoft = 0x00000006  #: ptp.md §10; MTP
    Equinox = 0x00000007  #: ptp.md §10
    ViewQuest = 0x00000008  #: ptp.md §10
    STMicroelectronics = 0x00000009  #: ptp.md §10
    Nikon = 0x0000000A  #: ptp.md §10
    Canon = 0x0000000B  #: ptp.md §10
    FotoNation = 0x0000000C  #: ptp.md §10
    Pentax = 0x0000000D  #: ptp.md §10
    Fuji = 0x0000000E  #: ptp.md §10
    Sony = 0x00000011  #: ptp.md §10
    NDDMedical = 0x00000012  #: ptp.md §10
    Samsung = 0x0000001A  #: ptp.md §10
    Parrot = 0x0000001B  #: ptp.md §10
    Panasonic = 0x0000001C  #: ptp.md §10


#: StorageID meaning "all stores" (GetNumObjects / GetObjectHandles P1), ptp.md §9.
ALL_STORAGES: Final = 0xFFFFFFFF
#: ObjectHandle meaning "all objects" (DeleteObject P1), ptp.md §9.
ALL_OBJECTS: Final = 0xFFFFFFFF
#: GetObjectHandles P3: only objects at the root of the store, ptp.md §9.
ROOT_ONLY: Final = 0xFFFFFFFF
#: ParentObject of a top-level object, ptp.md §9.
ROOT_PARENT: Final = 0x00000000
#: TransactionID carried by events not tied to a transaction, ptp.md §2.
NO_TRANSACTION: Final = 0xFFFFFFFF

#: Kinds accepted by :func:`code_name`, each with its enum and width.
_KINDS: Final[dict[str, type[_Code]]] = {
    "operation": OperationCode,
    "response": ResponseCode,
    "event": EventCode,
    "property": DevicePropCode,
    "datatype": DataType,
    "format": ObjectFormat,
}


def code_name(kind: str | type[enum.IntEnum], value: int) -> str:
    """Name ``value`` as a code of ``kind``, or format it as hex if it is not a known code.

    ``kind`` is an enum class (``OperationCode``, a vendor enum, ...) or one of
    ``"operation"``, ``"response"``, ``"event"``, ``"property"``, ``"datatype"``,
    ``"format"``. Never raises for an unknown or vendor value: it returns ``"0x9001"``,
    so log lines and error messages can always name what the camera sent.

    >>> code_name("response", 0x2019), code_name(OperationCode, 0x9805)
    ('DeviceBusy', '0x9805')
    """
    cls = _KINDS[kind] if isinstance(kind, str) else kind
    try:
        return cls(value).name
    except ValueError:
        return f"0x{int(value):04X}"


def is_vendor_code(value: int) -> bool:
    """True if a u16 operation/response/format/event/property code is in a vendor range (bit 15)."""
    return bool(value & 0x8000)


def lookup(cls: type[enum.IntEnum], value: int) -> enum.IntEnum | int:
    """``cls(value)`` if ``value`` is a member, else the plain int (for vendor codes).

    A dictionary look-up, not ``cls(value)``: decoding a DeviceInfo does this for every
    code it lists, and the exception path for vendor codes costs ~30 times more."""
    member = cls._value2member_map_.get(value)
    return int(value) if member is None else member  # type: ignore[return-value]  # the map's values are cls's members


__all__ = [
    "ALL_OBJECTS",
    "ALL_STORAGES",
    "NO_TRANSACTION",
    "ROOT_ONLY",
    "ROOT_PARENT",
    "AccessCapability",
    "AssociationType",
    "DataPhase",
    "DataType",
    "DevicePropCode",
    "EventCode",
    "FilesystemType",
    "FormFlag",
    "FunctionalMode",
    "GetSet",
    "InitFailReason",
    "ObjectFormat",
    "OperationCode",
    "ProtectionStatus",
    "ResponseCode",
    "StorageType",
    "VendorExtensionID",
    "WhiteBalance",
    "code_name",
    "is_vendor_code",
    "lookup",
]
