"""Vendors as plug-ins: the camera layer's registry makes every camera the daemon holds.

Each registered vendor has a camera class made from a :class:`~ptpd.camera.Target` and a
simulator profile; a vendor registered from outside (here: from this test) is held by
the daemon with no change to the daemon.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from ptpd.camera import VENDORS, Camera, Target, Vendor, vendor
from ptpd.camera.fuji import FujiCamera
from ptpd.camera.generic import GenericCamera
from ptpd.daemon.config import ConfigError, load_config
from ptpd.daemon.server import Daemon
from ptpd.simulator import SIMULATORS
from test_daemon import Client, FakeCamera, World, wait_connected

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_every_vendor_has_a_camera_class_and_a_simulator_profile(name: str) -> None:
    v = vendor(name)
    cls = v.camera_class()
    assert issubclass(cls, Camera) and cls.vendor == name
    # its own or a base's (Canon's is the generic one's), never the abstract base's refusal
    maker = next(c for c in cls.__mro__ if "from_target" in vars(c))
    assert maker is not Camera, f"{cls.__name__} must say how it is made from a target"
    assert name in SIMULATORS and SIMULATORS[name][1] == v.port


def test_a_target_makes_the_vendors_camera_on_its_ports() -> None:
    guid = uuid.uuid4().bytes
    fuji = vendor("fuji").make(Target("127.0.0.1", vendor("fuji").ports(6000), guid, "rig-1", 7.0, print))
    assert isinstance(fuji, FujiCamera) and fuji.timeout == 7.0
    generic = vendor("generic").make(Target("127.0.0.1", vendor("generic").ports(), guid, "rig-1", 3.0))
    assert isinstance(generic, GenericCamera) and generic.guid == guid and generic.timeout == 3.0
    assert vendor("fuji").ports(6000) == (6000, 6001, 6002)
    assert vendor("fuji").ports(None, 7001) == (55740, 7001, 55742)
    assert vendor("generic").ports() == (15740, 15740, 15740)
    with pytest.raises(ValueError, match="choose one of generic, fuji"):
        vendor("nikon")


WORLD = World()


class PluginCamera(FakeCamera):
    """A vendor the daemon has never heard of: a camera class and one registry entry."""

    vendor = "plugin"
    targets: list[Target] = []

    @classmethod
    def from_target(cls, target: Target) -> PluginCamera:
        cls.targets.append(target)
        return cls(WORLD)


def test_a_registered_vendor_is_held_by_the_daemon_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        VENDORS, "plugin", Vendor("plugin", "a vendor from outside", f"{__name__}:PluginCamera", 6100, (1, 2))
    )
    PluginCamera.targets.clear()

    async def body() -> None:
        import zmq.asyncio

        eps = {k: f"ipc://{tmp_path}/run/{k}" for k in ("command", "event", "liveview")}
        cfg = load_config(
            {
                "host": "10.9.8.7",
                "vendor": "plugin",
                "name": "rig-1",
                "state_dir": str(tmp_path / "state"),
                "command_endpoint": eps["command"],
                "event_endpoint": eps["event"],
                "liveview_endpoint": eps["liveview"],
            },
            environ={},
        )
        d = Daemon(cfg)  # no camera factory: the daemon makes its camera through the registry
        ctx = zmq.asyncio.Context()
        await d.start()
        try:
            c = Client(ctx, eps["command"])
            await wait_connected(c)
            st = await c.ok("status")
            assert st["vendor"] == "plugin" and st["model"] == "FakeCam 1"
            shot = (await c.ok("capture", {"download": True}))["shots"][0]
            assert shot["data"][:2] == b"\xff\xd8" and shot["source"] == "camera"
        finally:
            await d.stop()
            ctx.destroy(linger=0)

    asyncio.run(body())
    t = PluginCamera.targets[0]
    assert (t.host, t.ports, t.name, len(t.guid)) == ("10.9.8.7", (6100, 6101, 6102), "rig-1", 16)
    assert t.on_pairing is not None  # the daemon's pairing notice reaches any vendor


def test_config_names_the_registered_vendors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="choose one of generic, fuji"):
        load_config({"host": "h", "vendor": "nikon"}, environ={})
    monkeypatch.setitem(
        VENDORS, "plugin", Vendor("plugin", "a vendor from outside", f"{__name__}:PluginCamera", 6100, (1, 2))
    )
    cfg = load_config({"host": "h", "vendor": "plugin"}, environ={})
    assert cfg.camera_ports() == (6100, 6101, 6102)
    # a vendor without a simulator profile cannot be simulated
    with pytest.raises(ConfigError, match="simulate 'plugin'"):
        load_config({"simulate": "plugin"}, environ={})
