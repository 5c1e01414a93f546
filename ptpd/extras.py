"""Optional features, the extra that installs what each needs, and the one line that says so.

The core install (``pip install ptpd``: the daemon, ``ptpctl``, the Python client) needs
only pyzmq, msgpack and click. The simulator needs Pillow and numpy (``[sim]``); the
viewer and the trigger need OpenCV (``[viewer]``, ``[trigger]``, or ``[vision-headless]``
on a machine without a display). A feature used without its extra raises
:class:`MissingExtra`, whose message is the one line a user needs: what is missing and
the ``pip install`` that brings it.
"""

from __future__ import annotations

import importlib.util

__all__ = ["EXTRAS", "MissingExtra", "extra_for", "require"]

#: extra -> the top-level modules it brings, in the order they are checked; for a module
#: several bring, :func:`extra_for` names the first (numpy: the viewer's, with OpenCV)
EXTRAS: dict[str, tuple[str, ...]] = {
    "viewer": ("cv2", "numpy"),
    "trigger": ("cv2", "numpy"),
    "sim": ("PIL", "numpy"),
}

#: what to call each module in a message (its distribution, as pip knows it)
_DISTRIBUTION = {"PIL": "Pillow", "numpy": "numpy", "cv2": "OpenCV"}


class MissingExtra(ModuleNotFoundError):
    """A feature was used without the extra that installs a module it imports.

    A :class:`ModuleNotFoundError`, so code that already handles a failed import still does.
    """

    def __init__(self, feature: str, extra: str, module: str) -> None:
        self.feature = feature
        self.extra = extra
        install = f"pip install 'ptpd[{extra}]'"
        if module == "cv2":
            # both OpenCV wheels write cv2/: a server takes the one without GUI libraries
            install += " (without a display: 'ptpd[vision-headless]')"
        what = _DISTRIBUTION.get(module, module)
        super().__init__(f"{feature} needs the [{extra}] extra ({what} is not installed): {install}", name=module)


def require(extra: str, feature: str) -> None:
    """Raise :class:`MissingExtra` unless every module ``extra`` brings can be imported.

    Looks the modules up without importing them, so a check costs no start-up time.
    """
    for module in EXTRAS[extra]:
        if importlib.util.find_spec(module) is None:
            raise MissingExtra(feature, extra, module)


def extra_for(exc: BaseException, feature: str) -> MissingExtra | None:
    """The :class:`MissingExtra` for an import that failed on an optional module, else None.

    For a ``ModuleNotFoundError`` raised where no :func:`require` came first: it names the
    first extra that brings the module (the viewer's for OpenCV, the simulator's for Pillow).
    """
    if isinstance(exc, MissingExtra):
        return exc
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    top = exc.name.partition(".")[0]
    for extra, modules in EXTRAS.items():
        if top in modules:
            return MissingExtra(feature, extra, top)
    return None
