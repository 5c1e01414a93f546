"""PTP datasets as frozen dataclasses (ISO 15740 §5.5 and §13.3, ptp.md §10).

Each dataset reads like its table in the standard: the dataclass fields are the spec's
fields in wire order (snake_case), each tagged with its datatype, and one generic codec
walks that layout. ``decode(data)`` builds the dataclass from a data phase and
``encode()`` gives the bytes back.

Rules every decoder here keeps:

- It raises only :class:`ProtocolError` for bad input: truncation, an unknown datatype
  code, a string without NUL, an array count or enumeration size larger than the bytes
  left (refused *before* anything is allocated, so a count of a billion in a small packet
  costs nothing).
- **Trailing bytes are tolerated** by default: real cameras append vendor data after a
  dataset (and some pad the data phase), and the standard fields are still right. Pass
  ``strict=True`` to refuse them (used by tests and by the simulator for what clients
  send). :class:`DevicePropDesc` with a form flag ptpd does not know keeps the rest of
  the bytes as :class:`OtherForm`, since it cannot tell form data from padding.
- **Every count has a budget** far above what real cameras send (:data:`MAX_CODES`,
  :data:`MAX_ENUMERATION_VALUES`, :data:`MAX_HANDLES`): a count over it raises
  :class:`~ptpd.protocol.errors.LimitExceeded` before anything is read, even where a
  lenient decoder (``partial=True``) would read a cut-short dataset. So no dataset costs
  the event loop more than a few milliseconds, and an absurd count is an error, not
  "no operations".
- Known codes decode to their enum (``ObjectFormat.EXIF_JPEG``), unknown or vendor codes
  stay plain ints; both compare equal to the int, so callers may use either.

Encoders validate every field first and raise :class:`LocalProtocolError` naming the field
when a value does not fit its datatype.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, TypeAlias

from ptpd.protocol.buffer import Reader, Writer
from ptpd.protocol.codes import (
    AccessCapability,
    AssociationType,
    DataType,
    DevicePropCode,
    EventCode,
    FilesystemType,
    FormFlag,
    FunctionalMode,
    GetSet,
    ObjectFormat,
    OperationCode,
    ProtectionStatus,
    StorageType,
    lookup,
)
from ptpd.protocol.datatypes import (
    Value,
    check_value,
    datatype_of,
    min_value_size,
    parse_datetime,
    read_value,
    write_value,
)
from ptpd.protocol.errors import LimitExceeded, LocalProtocolError, ProtocolError

Data: TypeAlias = bytes | bytearray | memoryview

#: Most codes a DeviceInfo list (operations, events, properties, formats) may hold. Real
#: bodies list a few hundred: a Fujifilm X-T2 about 250 properties (gphoto2 --summary in
#: gphoto/gphoto2#481); the standard defines about 40 operations and 30 properties.
MAX_CODES = 4096
#: Most values of a DevicePropDesc Enumeration form (the wire allows 65535). Real ones
#: have tens: that X-T2's longest is 31 colour temperatures.
MAX_ENUMERATION_VALUES = 4096
#: Most object handles (or storage IDs) an array may hold: 1 MiB of handles, far more
#: objects than a camera card holds in practice (DCF names at most 9999 files a folder).
MAX_HANDLES = 262144

U8, U16, U32, U64 = DataType.UINT8, DataType.UINT16, DataType.UINT32, DataType.UINT64
AU16, STR = DataType.AUINT16, DataType.STR


def _f(datatype: DataType, default: Any = 0, codes: type[enum.IntEnum] | None = None) -> Any:
    """A dataset field: its PTP datatype, default, and the enum its codes decode to."""
    return field(default=default, metadata={"ptp": datatype, "codes": codes})


_Layout: TypeAlias = tuple[tuple[str, DataType, "type[enum.IntEnum] | None"], ...]
_LAYOUTS: dict[type, _Layout] = {}


def _layout(cls: type) -> _Layout:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        layout = tuple((f.name, f.metadata["ptp"], f.metadata["codes"]) for f in dataclasses.fields(cls))
        _LAYOUTS[cls] = layout
    return layout


def _finish(reader: Reader, strict: bool, what: str) -> None:
    if strict and not reader.at_end:
        raise ProtocolError(f"{reader.remaining} unexpected bytes after {what}")


def _named(codes: type[enum.IntEnum] | None, value: Value) -> Value:
    if codes is None:
        return value
    if isinstance(value, tuple):
        return tuple(lookup(codes, v) for v in value)
    assert isinstance(value, int)
    return lookup(codes, value)


def _decode_fields(cls: type, data: Data, strict: bool, partial: bool = False) -> dict[str, Any]:
    reader = Reader(data)
    values: dict[str, Value] = {}
    for name, datatype, codes in _layout(cls):
        try:
            values[name] = _named(codes, read_value(reader, datatype, MAX_CODES))
        except ProtocolError as exc:
            if partial and not isinstance(exc, LimitExceeded):  # cut short, not absurd
                return values  # the rest keep their defaults
            raise type(exc)(f"{cls.__name__}.{name}: {exc}") from exc
    _finish(reader, strict, cls.__name__)
    return values


def _encode_fields(obj: object) -> bytes:
    writer = Writer()
    for name, datatype, _ in _layout(type(obj)):
        try:
            write_value(writer, datatype, getattr(obj, name))
        except LocalProtocolError as exc:
            raise LocalProtocolError(f"{type(obj).__name__}.{name}: {exc}") from exc
    return writer.getvalue()


def _to_tuple(obj: object, *names: str) -> None:
    # Accept lists from callers but store tuples, so instances stay hashable and compare
    # equal to decoded ones.
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, list):
            object.__setattr__(obj, name, tuple(value))


# -- DeviceInfo ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """DeviceInfo dataset, ISO 15740 §5.5.1 (GetDeviceInfo data), ptp.md §10.

    The ``*_supported`` and ``*_formats`` fields are tuples of codes (enum members where
    known). ``standard_version`` 100 = PTP 1.00, 110 = 1.1.
    """

    standard_version: int = _f(U16, 100)
    vendor_extension_id: int = _f(U32, 0)
    vendor_extension_version: int = _f(U16, 0)
    vendor_extension_desc: str = _f(STR, "")
    functional_mode: int = _f(U16, 0, FunctionalMode)
    operations_supported: tuple[int, ...] = _f(AU16, (), OperationCode)
    events_supported: tuple[int, ...] = _f(AU16, (), EventCode)
    device_properties_supported: tuple[int, ...] = _f(AU16, (), DevicePropCode)
    capture_formats: tuple[int, ...] = _f(AU16, (), ObjectFormat)
    image_formats: tuple[int, ...] = _f(AU16, (), ObjectFormat)
    manufacturer: str = _f(STR, "")
    model: str = _f(STR, "")
    device_version: str = _f(STR, "")
    serial_number: str = _f(STR, "")

    def __post_init__(self) -> None:
        _to_tuple(
            self,
            "operations_supported",
            "events_supported",
            "device_properties_supported",
            "capture_formats",
            "image_formats",
        )

    @classmethod
    def decode(cls, data: Data, *, strict: bool = False, partial: bool = False) -> Self:
        """Decode a GetDeviceInfo data phase.

        ``partial=True`` accepts a DeviceInfo cut short (some cameras over Wi-Fi send an
        empty or partial one, ptp.md §12): fields from the first one that does not fit
        keep their defaults.
        """
        return cls(**_decode_fields(cls, data, strict, partial))

    def encode(self) -> bytes:
        """The dataset as GetDeviceInfo sends it."""
        return _encode_fields(self)

    def supports_operation(self, code: int) -> bool:
        """True if ``code`` is in OperationsSupported."""
        return code in self.operations_supported


# -- StorageInfo --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StorageInfo:
    """StorageInfo dataset, ISO 15740 §5.5.3 (GetStorageInfo data), ptp.md §10."""

    storage_type: int = _f(U16, StorageType.Undefined, StorageType)
    filesystem_type: int = _f(U16, FilesystemType.Undefined, FilesystemType)
    access_capability: int = _f(U16, AccessCapability.ReadWrite, AccessCapability)
    max_capacity: int = _f(U64, 0)  #: bytes
    free_space_in_bytes: int = _f(U64, 0)
    free_space_in_images: int = _f(U32, 0xFFFFFFFF)  #: 0xFFFFFFFF = not used
    storage_description: str = _f(STR, "")
    volume_label: str = _f(STR, "")

    @classmethod
    def decode(cls, data: Data, *, strict: bool = False, partial: bool = False) -> Self:
        """Decode a GetStorageInfo data phase.

        ``partial=True`` accepts a StorageInfo cut short or odd: the fields from the first
        one that cannot be read keep their defaults (empty strings, 0).
        """
        return cls(**_decode_fields(cls, data, strict, partial))

    def encode(self) -> bytes:
        """The dataset as GetStorageInfo sends it."""
        return _encode_fields(self)


# -- ObjectInfo ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """ObjectInfo dataset, ISO 15740 §5.5.2 (GetObjectInfo / SendObjectInfo), ptp.md §10.

    Dates stay the PTP DateTime strings the camera sent (``""`` = unknown);
    :attr:`capture_datetime` and :attr:`modification_datetime` parse them.
    ``filename`` is whatever the camera says: sanitise it before using it as a path.
    """

    storage_id: int = _f(U32, 0)
    object_format: int = _f(U16, ObjectFormat.Undefined, ObjectFormat)
    protection_status: int = _f(U16, ProtectionStatus.NoProtection, ProtectionStatus)
    object_compressed_size: int = _f(U32, 0)  #: bytes; 0xFFFFFFFF if >= 4 GiB
    thumb_format: int = _f(U16, 0, ObjectFormat)  #: 0 = no thumbnail
    thumb_compressed_size: int = _f(U32, 0)
    thumb_pix_width: int = _f(U32, 0)
    thumb_pix_height: int = _f(U32, 0)
    image_pix_width: int = _f(U32, 0)
    image_pix_height: int = _f(U32, 0)
    image_bit_depth: int = _f(U32, 0)
    parent_object: int = _f(U32, 0)  #: folder handle; 0 = root
    association_type: int = _f(U16, AssociationType.Undefined, AssociationType)
    association_desc: int = _f(U32, 0)
    sequence_number: int = _f(U32, 0)
    filename: str = _f(STR, "")
    capture_date: str = _f(STR, "")  #: DateTime string
    modification_date: str = _f(STR, "")  #: DateTime string
    keywords: str = _f(STR, "")

    @classmethod
    def decode(cls, data: Data, *, strict: bool = False, partial: bool = False) -> Self:
        """Decode a GetObjectInfo / SendObjectInfo data phase.

        ``partial=True`` accepts an ObjectInfo cut short or odd (an emulated EOS body ends
        it after a third string, research notes §8.2; libgphoto2 never reads Keywords): the
        fields from the first one that cannot be read keep their defaults.
        """
        return cls(**_decode_fields(cls, data, strict, partial))

    def encode(self) -> bytes:
        """The dataset as GetObjectInfo / SendObjectInfo sends it."""
        return _encode_fields(self)

    @property
    def is_folder(self) -> bool:
        """True for an Association (folder) object."""
        return self.object_format == ObjectFormat.Association

    @property
    def capture_datetime(self) -> _dt.datetime | None:
        """CaptureDate parsed; ``None`` if empty or not a valid DateTime string."""
        return _lenient_datetime(self.capture_date)

    @property
    def modification_datetime(self) -> _dt.datetime | None:
        """ModificationDate parsed; ``None`` if empty or not a valid DateTime string."""
        return _lenient_datetime(self.modification_date)


def _lenient_datetime(text: str) -> _dt.datetime | None:
    # A bad date from the camera is not worth failing a download for.
    try:
        return parse_datetime(text)
    except ProtocolError:
        return None


# -- DevicePropDesc -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Range:
    """Range form of a DevicePropDesc (FormFlag 1): MinimumValue, MaximumValue, StepSize."""

    minimum: Value
    maximum: Value
    step: Value

    flag: ClassVar[FormFlag] = FormFlag.Range

    def allows(self, value: Value) -> bool:
        """True if an integer ``value`` is within min..max and on a step from min."""
        lo, hi, step = self.minimum, self.maximum, self.step
        if not (isinstance(value, int) and isinstance(lo, int) and isinstance(hi, int)):
            return False
        if not lo <= value <= hi:
            return False
        return not (isinstance(step, int) and step > 0 and (value - lo) % step)


@dataclass(frozen=True, slots=True)
class Enumeration:
    """Enumeration form of a DevicePropDesc (FormFlag 2): the allowed values, in order."""

    values: tuple[Value, ...]

    flag: ClassVar[FormFlag] = FormFlag.Enumeration

    def __post_init__(self) -> None:
        _to_tuple(self, "values")

    def allows(self, value: Value) -> bool:
        """True if ``value`` is one of the values."""
        return value in self.values


@dataclass(frozen=True, slots=True)
class OtherForm:
    """A form flag ptpd does not interpret (PTP 1.1 / MTP forms 3+), with the bytes after it."""

    flag: int
    data: bytes = b""

    def allows(self, value: Value) -> bool:
        """Unknown constraints: every value is allowed."""
        return True


Form: TypeAlias = Range | Enumeration | OtherForm | None

#: Largest NumberOfValues of an Enumeration form (u16).
MAX_ENUMERATION = 0xFFFF


@dataclass(frozen=True, slots=True)
class DevicePropDesc:
    """DevicePropDesc dataset, ISO 15740 §13.3.3 (GetDevicePropDesc data), ptp.md §10.

    ``factory_default``, ``current`` and the form's values are in ``datatype``: ints,
    tuples of ints for array types, str for STR. ``form`` is ``None`` (FormFlag 0),
    :class:`Range` (1), :class:`Enumeration` (2) or :class:`OtherForm`.
    """

    code: int  #: DevicePropertyCode
    datatype: int  #: DataType code
    get_set: int = GetSet.GetSet  #: 0 get only, 1 get/set
    factory_default: Value = 0
    current: Value = 0
    form: Form = None

    @property
    def form_flag(self) -> int:
        """The FormFlag byte this desc encodes to."""
        return FormFlag.NoForm if self.form is None else self.form.flag

    @property
    def writable(self) -> bool:
        """True if the property is get/set."""
        return self.get_set == GetSet.GetSet

    def allows(self, value: object) -> bool:
        """True if ``value`` fits the datatype and the form (the responder's check)."""
        try:
            v = check_value(self.datatype, value)
        except LocalProtocolError:
            return False
        return self.form is None or self.form.allows(v)

    def with_current(self, value: Value) -> Self:
        """A copy with a new CurrentValue."""
        return dataclasses.replace(self, current=value)

    @classmethod
    def decode(cls, data: Data, *, strict: bool = False) -> Self:
        """Decode a GetDevicePropDesc data phase."""
        r = Reader(data)
        part = "DevicePropertyCode"
        try:
            code = lookup(DevicePropCode, r.u16())
            part = "DataType"
            datatype = datatype_of(r.u16())
            part = "GetSet"
            get_set = lookup(GetSet, r.u8())
            part = "FactoryDefaultValue"
            factory_default = read_value(r, datatype)
            part = "CurrentValue"
            current = read_value(r, datatype)
            part = "FormFlag"
            flag = r.u8()
            form: Form
            if flag == FormFlag.NoForm:
                form = None
            elif flag == FormFlag.Range:
                part = "Range"
                form = Range(read_value(r, datatype), read_value(r, datatype), read_value(r, datatype))
            elif flag == FormFlag.Enumeration:
                part = "Enumeration"
                n = r.u16()
                if n > MAX_ENUMERATION_VALUES:
                    raise LimitExceeded(f"Enumeration count {n} is over the limit of {MAX_ENUMERATION_VALUES}")
                if n * min_value_size(datatype) > r.remaining:
                    raise ProtocolError(f"{n} values cannot fit in the {r.remaining} bytes left")
                form = Enumeration(tuple(read_value(r, datatype) for _ in range(n)))
            else:
                return cls(code, datatype, get_set, factory_default, current, OtherForm(flag, r.rest()))
        except ProtocolError as exc:
            raise type(exc)(f"DevicePropDesc.{part}: {exc}") from exc
        _finish(r, strict, "DevicePropDesc")
        return cls(code, datatype, get_set, factory_default, current, form)

    def encode(self) -> bytes:
        """The dataset as GetDevicePropDesc sends it."""
        w = Writer()
        part = "DevicePropertyCode"
        try:
            w.u16(self.code)
            part = "DataType"
            datatype = int(self.datatype)
            if datatype not in DataType._value2member_map_ or datatype == DataType.UNDEF:
                raise LocalProtocolError(f"unknown datatype 0x{datatype:04X}")
            w.u16(datatype)
            part = "GetSet"
            w.u8(self.get_set)
            part = "FactoryDefaultValue"
            write_value(w, datatype, self.factory_default)
            part = "CurrentValue"
            write_value(w, datatype, self.current)
            part = "form"
            form = self.form
            if form is None:
                w.u8(FormFlag.NoForm)
            elif isinstance(form, Range):
                w.u8(FormFlag.Range)
                for v in (form.minimum, form.maximum, form.step):
                    write_value(w, datatype, v)
            elif isinstance(form, Enumeration):
                if len(form.values) > MAX_ENUMERATION:
                    raise LocalProtocolError(f"{len(form.values)} values exceed the u16 NumberOfValues")
                w.u8(FormFlag.Enumeration).u16(len(form.values))
                for v in form.values:
                    write_value(w, datatype, v)
            elif isinstance(form, OtherForm):
                if form.flag in (FormFlag.NoForm, FormFlag.Range, FormFlag.Enumeration):
                    raise LocalProtocolError(f"OtherForm cannot carry the known flag {form.flag}")
                w.u8(form.flag).bytes(form.data)
            else:
                raise LocalProtocolError(f"unknown form {form!r}")
        except LocalProtocolError as exc:
            raise LocalProtocolError(f"DevicePropDesc.{part}: {exc}") from exc
        return w.getvalue()


# -- handle and storage-ID arrays ------------------------------------------------------------


def decode_uint32_array(data: Data, *, strict: bool = False) -> tuple[int, ...]:
    """An AUINT32 data phase (GetObjectHandles, GetStorageIDs): u32 count, then the u32s.

    A count larger than the bytes left, or than :data:`MAX_HANDLES`, is refused before
    allocating. Trailing bytes are tolerated unless ``strict``.
    """
    r = Reader(data)
    try:
        values = read_value(r, DataType.AUINT32, MAX_HANDLES)
    except ProtocolError as exc:
        raise type(exc)(f"AUINT32 array: {exc}") from exc
    _finish(r, strict, "AUINT32 array")
    assert isinstance(values, tuple)
    return values


def encode_uint32_array(values: Iterable[int]) -> bytes:
    """Object handles or storage IDs as an AUINT32 data phase."""
    return write_value(Writer(), DataType.AUINT32, tuple(values)).getvalue()


#: Aliases that say what the array holds.
decode_handles = decode_storage_ids = decode_uint32_array
encode_handles = encode_storage_ids = encode_uint32_array

__all__ = [
    "MAX_CODES",
    "MAX_ENUMERATION",
    "MAX_ENUMERATION_VALUES",
    "MAX_HANDLES",
    "DeviceInfo",
    "DevicePropDesc",
    "Enumeration",
    "Form",
    "ObjectInfo",
    "OtherForm",
    "Range",
    "StorageInfo",
    "decode_handles",
    "decode_storage_ids",
    "decode_uint32_array",
    "encode_handles",
    "encode_storage_ids",
    "encode_uint32_array",
]
