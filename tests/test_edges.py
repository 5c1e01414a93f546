"""Small things a hostile or careless input found, each refused or handled clearly.

Before: a NUL in ``capture dir`` answered ``invalid_value`` (it is a malformed request,
not a value the camera refuses); two daemons started at the same instant could fail with
a raw ``FileExistsError`` (the runtime directory made between a check and a mkdir);
``tcp://[::1]:PORT`` failed with "No such device"; ``[simulate] host =`` gave a raw
TypeError at start.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from bench.common import free_port
from bench.harness import ptpctl_cmd, ptpd_cmd
from ptpd.daemon.config import Config, ensure_ipc_dirs
from test_daemon import World, connected, run


def test_a_nul_in_capture_dir_is_a_bad_request(tmp_path: Path) -> None:
    world = World()

    async def body() -> None:
        async with connected(tmp_path, world) as (d, eps, ctx, c):
            for cmd, args in (
                ("capture", {"count": 1, "dir": f"{tmp_path}/a\x00b"}),
                ("download", {"handle": 1, "dir": f"{tmp_path}/a\x00b"}),
            ):
                err = await c.err(cmd, args)
                assert err["code"] == "bad_request" and "NUL" in err["message"], err
            assert world.shutter == 0

    run(body())


def _cfg(run_dir: Path) -> Config:
    return Config(
        command_endpoint=f"ipc://{run_dir}/command",
        event_endpoint=f"ipc://{run_dir}/event",
        liveview_endpoint=f"ipc://{run_dir}/liveview",
    )


def test_the_runtime_directory_made_meanwhile_by_another_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the other daemon makes it between our look and our mkdir: the worst moment
    run_dir = tmp_path / "run"
    real_mkdir = Path.mkdir

    def racing_mkdir(self: Path, *a: object, **kw: object) -> None:
        if self == run_dir and not self.exists():
            real_mkdir(self, 0o700)
            os.chmod(self, 0o700)
        real_mkdir(self, *a, **kw)  # type: ignore[arg-type]  # mkdir's own arguments, passed on as given

    monkeypatch.setattr(Path, "mkdir", racing_mkdir)
    ensure_ipc_dirs(_cfg(run_dir))  # before: FileExistsError
    assert run_dir.is_dir() and run_dir.stat().st_mode & 0o777 == 0o700


def test_many_daemons_making_one_runtime_directory_at_once(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    for k in range(20):
        run_dir = tmp_path / f"run{k}"
        start = threading.Barrier(8)

        def make(start: threading.Barrier = start, run_dir: Path = run_dir) -> None:
            try:
                start.wait()
                ensure_ipc_dirs(_cfg(run_dir))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=make) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert run_dir.stat().st_mode & 0o777 == 0o700
    assert not errors, errors[:3]


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_a_daemon_on_ipv6_loopback(tmp_path: Path, spawn) -> None:
    port = free_port()
    eps = {k: f"tcp://[::1]:{p}" for k, p in (("command", port), ("event", free_port()), ("liveview", free_port()))}
    cfg = tmp_path / "v6.toml"
    cfg.write_text('[simulate]\nvendor = "generic"\n[bus]\n' + "".join(f'{k} = "{v}"\n' for k, v in eps.items()))
    d = spawn([*ptpd_cmd(), "run", "--config", str(cfg)], env={"PTPD_RUNTIME_DIR": str(tmp_path / "run")})
    env = {
        **os.environ,
        "PTPD_COMMAND_ENDPOINT": eps["command"],
        "PTPD_EVENT_ENDPOINT": eps["event"],
        "PTPD_LIVEVIEW_ENDPOINT": eps["liveview"],
    }
    for _ in range(100):
        cp = subprocess.run(
            [*ptpctl_cmd(), "--timeout", "1", "status"], capture_output=True, text=True, env=env, timeout=30
        )
        if cp.returncode == 0 and "connected" in cp.stdout:
            break
    assert cp.returncode == 0, cp.stderr
    assert d.popen.poll() is None
    assert d.stop() == 0


@pytest.mark.parametrize(
    ("key", "expect"),
    [
        ('host = ""', "[simulate] host: the simulated camera inside the daemon always listens on 127.0.0.1"),
        ("port = 5", "[simulate] port"),
        ("bogus = 1", "[simulate] bogus = 1: the simulated generic camera takes no such option"),
    ],
)
def test_a_simulate_option_it_cannot_take_is_a_config_error(tmp_path: Path, key: str, expect: str) -> None:
    cfg = tmp_path / "sim.toml"
    cfg.write_text(f'[simulate]\nvendor = "generic"\n{key}\n')
    cp = subprocess.run(
        [*ptpd_cmd(), "run", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PTPD_RUNTIME_DIR": str(tmp_path / "run")},
    )
    assert cp.returncode == 102, cp.stderr[-2000:]
    assert expect in cp.stderr
    assert "TypeError" not in cp.stderr and "Traceback" not in cp.stderr


def test_nothing_of_the_daemon_lives_in_dev_shm(tmp_path: Path) -> None:
    # shared-memory downloads and the frame ring are gone: no predictable name another
    # local user could create first, no segment mapped, at any time of a daemon's work
    from bench.harness import Daemon, DaemonOptions, sub_socket

    shm = Path("/dev/shm")
    before = set(shm.iterdir()) if shm.is_dir() else set()
    with Daemon(tmp_path / "d", DaemonOptions(simulate="generic")) as d:
        d.start()
        with d.client() as c, sub_socket(d.endpoints["liveview"], b"liveview.frame") as lv:
            c.result("capture", {"count": 1, "download": True, "dir": str(tmp_path / "out")}, timeout=30)
            handle = c.result("objects", timeout=30)["objects"][-1]["handle"]
            assert c.result("download", {"handle": handle}, timeout=30)["size"] > 0
            lv.poll(3000)
            cp = subprocess.run(
                [*ptpctl_cmd(), "download", str(handle), "-o", str(tmp_path / "cli")],
                capture_output=True,
                text=True,
                timeout=60,
                env={**os.environ, **d.client_env},
            )
            assert cp.returncode == 0, cp.stderr
            maps = Path(f"/proc/{d.pid}/maps").read_text()
            fds = []
            for f in Path(f"/proc/{d.pid}/fd").iterdir():
                try:
                    fds.append(os.readlink(f))
                except OSError:  # closed meanwhile
                    pass
    assert "/dev/shm" not in maps
    assert not [f for f in fds if f.startswith("/dev/shm")]
    new = (set(shm.iterdir()) if shm.is_dir() else set()) - before
    assert not [p for p in new if "ptpd" in p.name], new
