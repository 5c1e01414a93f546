"""The camera layer's typed results in the shapes the bus carries (docs/bus.md)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ptpd.camera import CameraInfo, ObjectEntry, PropertyDesc, PropertyValue, datatype_name


def prop_dict(pv: PropertyValue) -> dict[str, Any]:
    d: dict[str, Any] = {"code": pv.code, "name": pv.name, "value": pv.value, "label": pv.label}
    if pv.standard is not None:
        d["standard"] = pv.standard
    return d


def info_dict(info: CameraInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    d = asdict(info)
    for k, v in d.items():
        if isinstance(v, tuple):
            d[k] = list(v)
    return d


def desc_dict(d: PropertyDesc) -> dict[str, Any]:
    return {
        "code": d.code,
        "name": d.name,
        "datatype": d.datatype,
        "datatype_name": datatype_name(d.datatype),
        "writable": d.writable,
        "current": prop_dict(d.current),
        "default": prop_dict(d.default) if d.default is not None else None,
        "form": d.form,
        "allowed": [{"value": v, "label": lbl} for v, lbl in d.allowed],
        "range": {"min": d.range[0], "max": d.range[1], "step": d.range[2]} if d.range else None,
    }


def object_dict(o: ObjectEntry) -> dict[str, Any]:
    return {
        "handle": o.handle,
        "storage_id": o.storage_id,
        "filename": o.filename,
        "size": o.size,
        "format": o.format,
        "parent": o.parent,
        "is_folder": o.is_folder,
        "captured": o.captured,
        "width": o.width,
        "height": o.height,
    }
