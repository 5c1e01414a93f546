"""Property results: values and descriptions."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ._models import _build, _Model, _raw


@dataclass(frozen=True, slots=True)
class PropValue(_Model):
    """A property's value: code, name, raw value and human label."""

    code: int = 0
    name: str = ""
    value: Any = None
    label: str = ""
    raw: dict[str, Any] = _raw()

    @property
    def hex(self) -> str:
        """The raw value in hex (``0x320``), or as is when it is not an integer."""
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            return str(self.value)
        return f"0x{self.value & 0xFFFFFFFFFFFFFFFF:X}" if self.value < 0 else f"0x{self.value:X}"

    def __str__(self) -> str:
        return f"{self.label} ({self.hex})" if self.label != "" else self.hex

    @classmethod
    def from_dict(cls, data: Any, name: str = "") -> PropValue:
        if not isinstance(data, dict):
            return cls(name=name, value=data, label=str(data))
        pv = _build(cls, data)
        if name and not pv.name:
            pv = dataclasses.replace(pv, name=name)
        if pv.label == "" and pv.value is not None and "label" not in data:
            pv = dataclasses.replace(pv, label=str(pv.value))
        return pv


def props_from(data: Any) -> list[PropValue]:
    """``state`` result: ``{properties: [...]}`` (or a bare list / name map)."""
    if isinstance(data, dict) and "properties" in data:
        data = data["properties"]
    if isinstance(data, dict):
        return [PropValue.from_dict(v, name=str(k)) for k, v in data.items()]
    return [PropValue.from_dict(p) for p in data or ()]


def names_from(data: Any) -> list[str]:
    if isinstance(data, dict):
        data = data.get("names", [])
    return [str(n) for n in data or ()]
