"""The result of ``describe`` (its own module: ``get`` and ``set`` do not need it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._models import _build, _Model, _raw
from ._props import PropValue


@dataclass(frozen=True, slots=True)
class PropDesc(_Model):
    """Reply of ``describe``: type, access, values and what is allowed."""

    code: int = 0
    name: str = ""
    datatype: Any = ""
    #: the datatype's name (``UINT16``, ``STR``...) when the daemon sends it, else ""
    datatype_name: str = ""
    writable: bool = False
    current: PropValue = field(default_factory=PropValue)
    default: PropValue | None = None
    form: str = "none"
    allowed: tuple[PropValue, ...] = ()
    range: tuple[Any, ...] | None = None
    raw: dict[str, Any] = _raw()

    @classmethod
    def from_dict(cls, data: Any) -> PropDesc:
        data = data if isinstance(data, dict) else {}
        name = data.get("name", "")

        def value(v: Any) -> PropValue | None:
            if v is None:
                return None
            if isinstance(v, dict):
                return PropValue.from_dict({"code": data.get("code", 0), "name": name, **v})
            return PropValue(code=data.get("code", 0), name=name, value=v, label=str(v))

        allowed = []
        for a in data.get("allowed") or ():
            if isinstance(a, dict):
                allowed.append(PropValue.from_dict({"code": data.get("code", 0), "name": name, **a}))
            elif isinstance(a, (list, tuple)) and len(a) == 2:
                allowed.append(PropValue(code=data.get("code", 0), name=name, value=a[0], label=str(a[1])))
            else:
                allowed.append(PropValue(code=data.get("code", 0), name=name, value=a, label=str(a)))
        rng = data.get("range")
        if isinstance(rng, dict):
            rng = (rng.get("min"), rng.get("max"), rng.get("step"))
        return _build(
            cls,
            data,
            current=value(data.get("current")) or PropValue(code=data.get("code", 0), name=name),
            default=value(data.get("default")),
            allowed=tuple(allowed),
            range=tuple(rng) if rng else None,
        )
