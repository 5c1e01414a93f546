"""Canon EOS: the dialect an EOS body speaks on top of standard PTP/IP (sans-I/O).

An EOS body over Wi-Fi is a standard PTP/IP responder (the transport of
:mod:`ptpd.protocol`; libgphoto2 has no Canon-specific PTP/IP code) whose camera control
is Canon's own: it is put in remote mode (SetRemoteMode, SetEventMode), reports changes
only when polled (GetEvent, whose records carry property values and allowed lists, new
objects and status), releases the shutter remotely (RemoteReleaseOn/Off), sets
properties with SetDevicePropValueEx and streams live view through GetViewFinderData.

One module an idea:

* :mod:`.codes` - the vendor codes, each noting where it was observed;
* :mod:`.events` - GetEvent's records, decoded and encoded;
* :mod:`.packets` - the other EOS data phases (SetDevicePropValueEx, GetViewFinderData,
  GetDeviceInfoEx);
* :mod:`.values` - the value tables (ISO, aperture, shutter, compensation, white balance,
  picture style, image format, drive mode, ...);
* :mod:`.properties` - the property table: names, widths and labels;
* :mod:`.state` - what the records said, kept for the camera layer;
* :mod:`.detect` - whether a camera is an EOS body (``--vendor auto``).

The camera behind the vendor-neutral API is :mod:`ptpd.camera.canon`; the simulated body
is :mod:`ptpd.simulator.canon`. Facts come from libgphoto2 2.5.30 (``camlibs/ptp2``), public
issue threads with real bodies' bytes, and our own gphoto2 traces (research notes).
"""

from ptpd.canon.codes import CanonEventCode, CanonOperationCode, CanonPropCode, CanonResponseCode
from ptpd.canon.detect import is_eos, is_eos_m
from ptpd.canon.properties import PROPERTIES, CanonProperty, lookup

__all__ = [
    "PROPERTIES",
    "CanonEventCode",
    "CanonOperationCode",
    "CanonPropCode",
    "CanonProperty",
    "CanonResponseCode",
    "is_eos",
    "is_eos_m",
    "lookup",
]
