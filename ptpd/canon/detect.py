"""Is a camera that answered a standard DeviceInfo an EOS body? (for ``--vendor auto``)

libgphoto2 (library.c:225-364 ``fixup_cached_deviceinfo``) takes a body for Canon when
its Manufacturer contains "Canon" (real EOS bodies report VendorExtensionID 6, Microsoft,
with Manufacturer "Canon Inc."; camera reports in dognotdog/ptpwebcam#50, #75, #95, #136)
or its VendorExtensionID is Canon's 0xB; it takes the EOS paths when the body lists the
EOS remote release (library.c:5624-5629). We ask for what our EOS camera cannot do
without: GetEvent, and SetRemoteMode or a remote release.
"""

from __future__ import annotations

from collections.abc import Iterable

from ptpd.canon.codes import CanonOperationCode as OP

#: DeviceInfo.VendorExtensionID of Canon (ptp.md §10)
CANON_EXTENSION = 0x0000000B


def is_canon(manufacturer: str, vendor_extension_id: int) -> bool:
    """A Canon body, as libgphoto2 tells one."""
    return "canon" in manufacturer.lower() or vendor_extension_id == CANON_EXTENSION


def is_eos(manufacturer: str, vendor_extension_id: int, operations: Iterable[int]) -> bool:
    """A Canon body that speaks the EOS dialect (polled events, remote release)."""
    ops = set(operations)
    remote = bool(ops & {OP.SetRemoteMode, OP.RemoteReleaseOn, OP.RemoteRelease})
    return is_canon(manufacturer, vendor_extension_id) and OP.GetEvent in ops and remote


def is_eos_m(model: str, operations: Iterable[int]) -> bool:
    """An EOS M-style body (libgphoto2 ``is_canon_eos_m``, ptp-private.h:117): its remote
    mode is 0x15 and it releases with one "half and full" press."""
    ops = set(operations)
    if OP.SetRemoteMode not in ops:
        return False
    if model.startswith("Canon EOS M"):
        return True
    return (
        model.startswith(("Canon PowerShot SX", "Canon PowerShot G", "Canon Digital IXUS"))
        and OP.RemoteReleaseOn in ops
    )


__all__ = ["CANON_EXTENSION", "is_canon", "is_eos", "is_eos_m"]
