"""``make demo``: the main job end to end, on a simulated Fujifilm X-T1 (or, with
``--vendor canon`` / ``make demo VENDOR=canon``, a simulated Canon EOS 1300D).

Starts ``ptpd run --simulate VENDOR`` on private ipc:// sockets in a temporary runtime
directory, then drives it the way a person would: ``ptpctl info``, ``state``, ``set``
(ISO and the look: film simulation or picture style, both called ``effect``), ``capture 2``
into ``./captures/``, a ``ptpview`` snapshot with the viewfinder overlay, and a
``ptptrigger`` run that fires on the simulator's moving object. The commands are the same
for every vendor. It prints each command, what came back and where the files are, and
stops everything it started (also on Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

#: seconds the simulated camera may take to come up
READY_TIMEOUT = 30.0
#: vendor -> (the simulated body, the ``effect`` the demo sets: a look that body has)
BODIES = {"fuji": ("Fujifilm X-T1", "Velvia"), "canon": ("Canon EOS 1300D", "Monochrome")}


class DemoFailed(Exception):
    """A step failed; the message says which and why."""


class Demo:
    def __init__(self, captures: Path, vendor: str = "fuji") -> None:
        self.captures = captures
        self.vendor = vendor
        self.body, self.effect = BODIES[vendor]
        self.runtime = Path(tempfile.mkdtemp(prefix="ptpd-demo-"))
        os.chmod(self.runtime, 0o700)
        self.endpoints = {name: f"ipc://{self.runtime}/{name}" for name in ("command", "event", "liveview")}
        self.env = dict(os.environ)
        self.env.update(
            {
                "PTPD_COMMAND_ENDPOINT": self.endpoints["command"],
                "PTPD_EVENT_ENDPOINT": self.endpoints["event"],
                "PTPD_LIVEVIEW_ENDPOINT": self.endpoints["liveview"],
            }
        )
        # the simulator's scene: still for a moment, then a ball crosses it (for the trigger)
        self.config = self.runtime / "ptpd.toml"
        self.config.write_text('[simulate]\nsubject = "object"\n')
        self.daemon: subprocess.Popen[bytes] | None = None
        self.log_path = self.runtime / "daemon.log"
        self.done: list[str] = []

    # -- the daemon -----------------------------------------------------------------

    def start_daemon(self) -> None:
        args = [
            sys.executable,
            "-m",
            "ptpd",
            "run",
            "--simulate",
            self.vendor,
            "--command-endpoint",
            self.endpoints["command"],
            "--event-endpoint",
            self.endpoints["event"],
            "--liveview-endpoint",
            self.endpoints["liveview"],
            "--state-dir",
            str(self.runtime / "state"),
            "--config",
            str(self.config),
        ]
        click.secho(f"$ ptpd run --simulate {self.vendor}  (sockets in {self.runtime})", bold=True)
        log = open(self.log_path, "wb")
        self.daemon = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        log.close()
        from ptpd_client import Client, ClientError

        deadline = time.monotonic() + READY_TIMEOUT
        status = None
        with Client(self.endpoints["command"], self.endpoints["event"], self.endpoints["liveview"], timeout=1.0) as c:
            while time.monotonic() < deadline:
                if self.daemon.poll() is not None:
                    raise DemoFailed(
                        f"the daemon exited with status {self.daemon.returncode}; its log:\n{self._log_tail()}"
                    )
                try:
                    status = c.status()
                    if status.connection == "connected":
                        click.echo(f"  daemon up, camera {status.model or status.vendor} connected")
                        self.done.append(f"started the daemon with a simulated {self.body}")
                        return
                except ClientError:
                    pass
                time.sleep(0.2)
        detail = f" (last state: {status.connection}: {status.raw.get('detail', '')})" if status else ""
        raise DemoFailed(
            f"the simulated camera did not connect within {READY_TIMEOUT:g} s{detail}; daemon log:\n{self._log_tail()}"
        )

    def _log_tail(self, n: int = 15) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join("    " + line for line in lines[-n:])

    def stop(self) -> None:
        p = self.daemon
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
            click.echo("stopped the daemon")
        self.daemon = None
        shutil.rmtree(self.runtime, ignore_errors=True)

    # -- the clients ------------------------------------------------------------------

    def run(self, tool: str, *args: str, what: str, timeout: float = 60.0) -> str:
        click.secho(f"\n$ {tool} {shlex.join(args)}", bold=True)
        try:
            r = subprocess.run(
                [sys.executable, "-m", tool, *args], env=self.env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise DemoFailed(f"{tool} {' '.join(args)} did not finish within {timeout:g} s") from None
        out = (r.stdout + r.stderr).rstrip()
        if out:
            click.echo("\n".join("  " + line for line in out.splitlines()))
        if r.returncode != 0:
            raise DemoFailed(f"{tool} {' '.join(args)} failed with exit status {r.returncode}")
        self.done.append(what)
        return r.stdout

    def main(self) -> None:
        self.start_daemon()
        self.run("ptpctl", "info", what="read the camera's identity (info)")
        self.run("ptpctl", "state", what="read its settings (state)")
        self.run("ptpctl", "set", "iso", "800", what="set ISO 800")
        self.run("ptpctl", "set", "effect", self.effect, what=f"set the look (effect) to {self.effect}")
        self.captures.mkdir(parents=True, exist_ok=True)
        self.run("ptpctl", "capture", "2", "-o", str(self.captures), what=f"captured 2 images into {self.captures}/")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        snap = self.captures / f"viewfinder-{stamp}.png"
        self.run("ptpview", "--snapshot", str(snap), what=f"saved a live-view frame with the overlay as {snap}")
        self.run(
            "ptptrigger",
            "--motion",
            "--max-shots",
            "1",
            "--duration",
            "20",
            "--cooldown",
            "1",
            "-o",
            str(self.captures),
            what="fired the motion trigger on the simulator's moving object",
        )
        click.secho("\nWhat the demo did:", bold=True)
        for i, step in enumerate(self.done, 1):
            click.echo(f"  {i}. {step}")
        files = sorted(p for p in self.captures.iterdir() if p.is_file() and not p.name.startswith("."))
        click.secho(f"\nFiles in {self.captures.resolve()}:", bold=True)
        for f in files:
            click.echo(f"  {f.name:<32} {f.stat().st_size:>9} bytes")


@click.command()
@click.option(
    "-o",
    "--captures",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("captures"),
    show_default=True,
    help="Where the demo's pictures go.",
)
@click.option(
    "--vendor",
    type=click.Choice(sorted(BODIES)),
    default="fuji",
    show_default=True,
    help="Which simulated camera: fuji (an X-T1) or canon (an EOS 1300D).",
)
def main(captures: Path, vendor: str) -> None:
    """Run ptpd with a simulated camera (a Fujifilm X-T1 by default) and every client against it."""
    demo = Demo(captures, vendor)

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        demo.main()
    except KeyboardInterrupt:
        click.echo("\ninterrupted", err=True)
        sys.exit(130)
    except DemoFailed as exc:
        click.secho(f"\ndemo failed: {exc}", fg="red", err=True)
        sys.exit(1)
    finally:
        demo.stop()
