"""Shared harness: machine description, statistics, result tables, processes that stop.

Nothing here knows about one benchmark; each ``bench/<name>.py`` builds a :class:`Result`
and hands it to :func:`main_for` (when run alone) or to ``bench.run_all``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent  #: the venv's bin/: ptpd, ptpctl, ...


# -- the machine ---------------------------------------------------------------------------


def _version(module: str) -> str:
    try:
        mod = __import__(module)
    except Exception:
        return "absent"
    return str(getattr(mod, "__version__", getattr(mod, "version", "?")))


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def git_commit() -> str:
    """Short commit of the work tree, with ``+dirty`` when tracked files differ from it
    (the benchmarks' own outputs, results.md, results.json and the plots, do not count)."""
    try:
        rev = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout  # "XY path" lines: not stripped, X may be a space
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    outputs = {"bench/results.md", "bench/results.json"}
    changed = [
        line[3:]
        for line in status.splitlines()
        if line[3:] not in outputs and not (line[3:].startswith("bench/") and line[3:].endswith(".png"))
    ]
    return (rev or "unknown") + ("+dirty" if changed else "")


def gphoto2_version() -> str | None:
    exe = shutil.which("gphoto2")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        if line.startswith("libgphoto2 "):
            return "gphoto2 " + out.split()[1] + " / libgphoto2 " + line.split()[1]
    return out.split("\n", 1)[0].strip() or None


_MACHINE: dict[str, Any] | None = None


def machine() -> dict[str, Any]:
    """Cores, CPU, Python, library versions, date and commit (computed once per process)."""
    global _MACHINE
    if _MACHINE is None:
        import msgpack
        import zmq

        _MACHINE = {
            "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": git_commit(),
            "cores": os.cpu_count(),
            "cpu": _cpu_model(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "pyzmq": zmq.__version__,
            "libzmq": zmq.zmq_version(),
            "msgpack": ".".join(map(str, msgpack.version)),
            "pillow": _version("PIL"),
            "opencv": _version("cv2"),
            "numpy": _version("numpy"),
            "gphoto2": gphoto2_version() or "absent",
        }
    return _MACHINE


def machine_line(m: dict[str, Any] | None = None) -> str:
    m = m or machine()
    return (
        f"{m['cores']} cores ({m['cpu']}), Linux {m['kernel']}, Python {m['python']}, "
        f"pyzmq {m['pyzmq']} (libzmq {m['libzmq']}), msgpack {m['msgpack']}, Pillow {m['pillow']}, "
        f"OpenCV {m['opencv']}, {m['gphoto2']}; {m['date']}, commit {m['commit']}"
    )


# -- statistics ------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks (numpy's default)."""
    if not samples:
        return math.nan
    xs = sorted(samples)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class Stats:
    """Summary of one side's samples (seconds unless the caller says otherwise)."""

    n: int
    median: float
    p99: float
    mean: float
    min: float
    max: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            return cls(0, math.nan, math.nan, math.nan, math.nan, math.nan)
        return cls(
            len(samples),
            percentile(samples, 50),
            percentile(samples, 99),
            sum(samples) / len(samples),
            min(samples),
            max(samples),
        )


TAIL = 512  #: bytes of a JPEG's end that fingerprint it


def tail_crc(jpeg: Any) -> int:
    """A live-view frame's fingerprint: the CRC of the JPEG's last :data:`TAIL` bytes
    (entropy-coded data, different in every picture of the simulator's lap; matching also
    uses the frame counter and time). Cheap enough to take on a reader's hot path."""
    return zlib.crc32(memoryview(jpeg)[-TAIL:])


def ms(seconds: float) -> str:
    """Seconds as a short millisecond figure."""
    if seconds != seconds:  # NaN
        return "n/a"
    v = seconds * 1000
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def fmt_ratio(r: float) -> str:
    return "n/a" if r != r else f"{r:.2f}x"


# -- results -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Target:
    """One target of the issue: ``value OP goal``; ``value`` None means not measured."""

    what: str
    value: float | None
    goal: float
    op: str = ">="  #: ">=" or "<="
    unit: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None or self.value != self.value:
            return None
        return self.value >= self.goal if self.op == ">=" else self.value <= self.goal

    def line(self) -> str:
        val = "not measured" if self.value is None else f"{self.value:.3g}{self.unit}"
        verdict = {True: "met", False: "MISSED", None: "NOT MEASURED"}[self.met]
        return f"target {verdict}: {self.what}: {val} (goal {self.op} {self.goal:g}{self.unit})"


@dataclass(slots=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def markdown(self) -> str:
        out = [f"**{self.title}**", "", "| " + " | ".join(self.headers) + " |", "|" + "---|" * len(self.headers)]
        out += ["| " + " | ".join(str(c) for c in row) + " |" for row in self.rows]
        return "\n".join(out)

    def text(self) -> str:
        cells = [self.headers] + [[str(c) for c in row] for row in self.rows]
        widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(len(self.headers))]
        lines = [self.title]
        for k, r in enumerate(cells):
            lines.append("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())
            if k == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        return "\n".join(lines)


@dataclass(slots=True)
class Result:
    """What one benchmark found."""

    name: str
    title: str
    compared: str
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  #: plots etc., relative to bench/
    quick: bool = False
    seconds: float = 0.0
    machine: dict[str, Any] = field(default_factory=dict)  #: where and when this result was taken
    #: rows of the per-link-profile summary: [profile, measure, ptpd, the other side, ratio, target, verdict]
    summary: list[list[str]] = field(default_factory=list)

    def summarize(
        self, profile: str, measure: str, ptpd: str, other: str, ratio: str = "", target: Target | None = None
    ) -> None:
        """One row of the summary table of ``profile`` (see :func:`write_results`); with
        ``target``, that target is recorded too and the row says whether it was met."""
        if target is not None:
            self.targets.append(target)
        goal = f"{target.op} {target.goal:g}{target.unit}" if target is not None else ""
        verdict = {True: "met", False: "**missed**", None: "not measured"}[target.met] if target is not None else ""
        self.summary.append([profile, measure, ptpd, other, ratio, goal, verdict])

    def text(self) -> str:
        lines = [
            f"== {self.title}" + (" (quick)" if self.quick else ""),
            f"compared: {self.compared}",
            f"machine: {machine_line()}",
        ]
        for t in self.tables:
            lines += ["", t.text()]
        if self.targets:
            lines.append("")
            lines += [t.line() for t in self.targets]
        if self.notes:
            lines.append("")
            lines += [f"note: {n}" for n in self.notes]
        lines.append(f"({self.seconds:.1f} s)")
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [f"## {self.title}" + (" (quick)" if self.quick else ""), "", f"Compared: {self.compared}", ""]
        if self.machine:
            m = self.machine
            lines += [f"Run: finished {m.get('date')}, commit {m.get('commit')}, {self.seconds:.0f} s.", ""]
        for t in self.tables:
            lines += [t.markdown(), ""]
        if self.targets:
            lines += [f"- {t.line()}" for t in self.targets]
            lines.append("")
        if self.notes:
            lines += [f"- note: {n}" for n in self.notes]
            lines.append("")
        for f in self.files:
            lines += [f"![{self.name}]({f})", ""]
        lines.append(
            f"<details><summary>raw numbers</summary>\n\n```json\n{json.dumps(self.raw, indent=1, default=_json_default)}\n```\n</details>\n"
        )
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["targets"] = [dict(asdict(t), met=t.met) for t in self.targets]
        return _jsonable(d)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Result:
        r = cls(d["name"], d["title"], d["compared"])
        r.tables = [Table(t["title"], t["headers"], t["rows"]) for t in d.get("tables", [])]
        r.targets = [Target(t["what"], t["value"], t["goal"], t["op"], t["unit"]) for t in d.get("targets", [])]
        r.notes, r.raw, r.files = d.get("notes", []), d.get("raw", {}), d.get("files", [])
        r.quick, r.seconds = d.get("quick", False), d.get("seconds", 0.0)
        r.machine = d.get("machine", {})
        r.summary = d.get("summary", [])
        return r


def _jsonable(o: Any) -> Any:
    """Plain JSON data: dict keys as strings, dataclasses and tuples unpacked."""
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple, set)):
        return [_jsonable(v) for v in o]
    if hasattr(o, "__dataclass_fields__"):
        return _jsonable(asdict(o))
    if isinstance(o, float) and o != o:
        return None
    if isinstance(o, (str, int, float, bool)) or o is None:
        return o
    return _json_default(o)


def _json_default(o: Any) -> Any:
    if isinstance(o, Stats):
        return asdict(o)
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, float) and o != o:
        return None
    return repr(o)


def write_results(results: Sequence[Result], path: Path, *, header: str = "") -> None:
    """``bench/results.md``: the machine, a table per benchmark, targets, raw numbers."""
    m = machine()
    lines = [
        "# ptpd benchmark results",
        "",
        "Written by `make bench` (`python -m bench.run_all`); every figure below comes from a real",
        "run, and each section says when it ran and at which commit (`--only` reruns some and keeps",
        "the others). Absolute times drift on shared machines: read the ratios, which were taken",
        "pair by pair in the same run.",
        "",
        f"- written: {m['date']}, commit {m['commit']}",
        f"- machine: {machine_line(m).split(';')[0]}",
        "",
    ]
    if header:
        lines += [header, ""]
    summary = Table("Targets", ["benchmark", "target", "verdict"])
    for r in results:
        for target in r.targets:
            summary.rows.append(
                [
                    r.name,
                    target.line().split(": ", 1)[1],
                    {True: "met", False: "**missed**", None: "not measured"}[target.met],
                ]
            )
    by_profile: dict[str, Table] = {}
    for r in results:
        for row in r.summary:
            t = by_profile.setdefault(
                row[0],
                Table(
                    f"{row[0]}",
                    ["measure", "ptpd", "gphoto2 / the link alone", "ratio", "target", "verdict", "section"],
                ),
            )
            t.rows.append([*row[1:], r.name])
    if by_profile:
        lines += ["## Per link profile", ""]
        lines += [t.markdown() + "\n" for t in by_profile.values()]
    if summary.rows:
        lines += [summary.markdown(), ""]
    for r in results:
        lines += [r.markdown(), ""]
    path.write_text("\n".join(lines))


def main_for(run: Callable[[bool], Result], argv: Sequence[str] | None = None, doc: str | None = None) -> int:
    """Command line of one benchmark: ``--quick`` and ``--json FILE``; always exit 0 on a result."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--quick", action="store_true", help="a tiny version that runs in a few seconds (smoke check)")
    ap.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    ns = ap.parse_args(argv)
    t0 = time.monotonic()
    res = run(ns.quick)
    res.quick = ns.quick
    res.seconds = time.monotonic() - t0
    res.machine = dict(machine(), date=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    print(res.text(), flush=True)
    if ns.json:
        Path(ns.json).write_text(json.dumps(res.as_json(), indent=1, default=_json_default))
    return 0


# -- sockets and processes ---------------------------------------------------------------------


def free_port(count: int = 1) -> int:
    """A loopback TCP port P with P..P+count-1 free a moment ago."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count > 65535:
            continue
        ok = True
        for p in range(base + 1, base + count):
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free loopback port range")


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


# -- cores ----------------------------------------------------------------------------------


def pin(pid: int, cpus: frozenset[int] | set[int]) -> None:
    """Put every thread of process ``pid`` (0: this one) on ``cpus``; threads it starts
    later inherit that from the thread that starts them. A process that is gone is left
    alone (its exit tells its owner)."""
    try:
        tids = os.listdir(f"/proc/{pid or os.getpid()}/task")
    except FileNotFoundError:
        return
    for tid in tids:
        with contextlib.suppress(ProcessLookupError, FileNotFoundError):
            os.sched_setaffinity(int(tid), cpus)


class Proc:
    """A child process in its own session that is always stopped (TERM, then KILL).

    ``cpus``: the cores it runs on (every thread it has when it is started; the ones it
    starts later inherit them).
    """

    def __init__(
        self,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
        *,
        stdout: Any = subprocess.PIPE,
        stderr: Any = None,
        log: Path | None = None,
        cpus: frozenset[int] | None = None,
    ) -> None:
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.args = list(args)
        self._log = open(log, "wb") if log else None
        self.popen = subprocess.Popen(
            self.args,
            stdout=stdout if not self._log else self._log,
            stderr=stderr if not self._log else subprocess.STDOUT,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
        self.pid = self.popen.pid
        if cpus is not None:
            pin(self.pid, cpus)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 5.0) -> int | None:
        p = self.popen
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout)
        if self._log:
            self._log.close()
            self._log = None
        for s in (p.stdout, p.stderr):
            if s:
                s.close()
        return p.returncode

    def terminate(self) -> None:
        """Send SIGTERM and return at once (:meth:`stop` waits)."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(5)

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_together(procs: Iterable[Proc | None], timeout: float = 8.0) -> None:
    """Stop many processes at once: SIGTERM to every one first, then wait for each (one
    at a time, each would wait out its own shutdown before the next is told)."""
    live = [p for p in procs if p is not None]
    for p in live:
        p.terminate()
    for p in live:
        with contextlib.suppress(Exception):
            p.stop(timeout)


class Procs:
    """A group of :class:`Proc` stopped together, last started first."""

    def __init__(self) -> None:
        self.items: list[Proc] = []

    def start(self, *a: Any, **kw: Any) -> Proc:
        p = Proc(*a, **kw)
        self.items.append(p)
        return p

    def stop_all(self) -> None:
        for p in reversed(self.items):
            with contextlib.suppress(Exception):
                p.stop()
        self.items.clear()

    def __enter__(self) -> Procs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


def run_timed(
    args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 60.0, cwd: str | Path | None = None
) -> tuple[float, int, str]:
    """Run a command to completion: (wall seconds, exit code, stdout+stderr)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    t0 = time.perf_counter()
    try:
        cp = subprocess.run(list(args), capture_output=True, env=full_env, timeout=timeout, cwd=cwd)
        rc, out = cp.returncode, (cp.stdout + cp.stderr).decode(errors="replace")
    except subprocess.TimeoutExpired as exc:
        rc, out = 124, f"timed out after {timeout}s: {exc}"
    return time.perf_counter() - t0, rc, out


_CLK = os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (bytes), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (threads included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / _CLK


def _threads_cpu(proc: Path = Path("/proc")) -> tuple[dict[tuple[int, int], tuple[str, int]], dict[int, int]]:
    """Every thread on the machine now, ``(pid, tid) -> (name, CPU ns so far)``, and each
    process's parent, read from ``proc`` (a test hands in a tree of its own)."""
    threads: dict[tuple[int, int], tuple[str, int]] = {}
    parents: dict[int, int] = {}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        pid = int(entry)
        task = proc / entry / "task"
        try:
            parents[pid] = int((proc / entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            for tid in os.listdir(task):
                name = (task / tid / "comm").read_text().strip()
                ns = int((task / tid / "schedstat").read_text().split()[0])
                threads[(pid, int(tid))] = (name, ns)
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return threads, parents


class OtherCpu:
    """What else the cores ran over a window: CPU time of every process that is not this
    one or started by it (kernel threads, agents of the machine), per second of window.

    On a shared or virtual machine that is where a latency tail comes from that the
    benchmark did not cause; reporting it beside the tail lets a reader tell the two apart.
    """

    def __init__(
        self, proc: Path = Path("/proc"), me: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Start the window now. ``proc``, ``me`` (whose process tree is left out) and
        ``clock`` are there for tests; the defaults measure this machine and this process."""
        self._proc, self._me, self._clock = proc, os.getpid() if me is None else me, clock
        self._t0 = clock()
        self._before, _ = _threads_cpu(proc)

    def stop(self) -> dict[str, Any]:
        """``{"ms_per_s": total, "top": [[name, ms_per_s], ...]}`` (the five busiest names)."""
        after, parents = _threads_cpu(self._proc)
        seconds = max(1e-9, self._clock() - self._t0)
        me = self._me

        def ours(pid: int) -> bool:
            for _ in range(64):  # a parent chain, never a loop
                if pid == me:
                    return True
                if pid <= 1 or pid not in parents:
                    return False
                pid = parents[pid]
            return False

        by_name: dict[str, float] = {}
        for key, (name, ns) in after.items():
            if ours(key[0]):
                continue
            used = ns - self._before.get(key, (name, 0))[1]
            if used > 0:
                by_name[name] = by_name.get(name, 0.0) + used / 1e6 / seconds
        top = sorted(by_name.items(), key=lambda kv: -kv[1])[:5]
        return {"ms_per_s": round(sum(by_name.values()), 2), "top": [[n, round(v, 2)] for n, v in top]}


def other_cpu_text(noise: dict[str, Any]) -> str:
    """One line: ``4.1 ms/s (kdamond.0 2.3, tokio-rt-worker 1.2, ...)``."""
    top = ", ".join(f"{n} {v:.1f}" for n, v in noise["top"][:3])
    return f"{noise['ms_per_s']:.1f} ms/s ({top})" if top else f"{noise['ms_per_s']:.1f} ms/s"


@contextlib.contextmanager
def tempdir(prefix: str = "ptpd-bench-") -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


#: the simulated camera the comparisons with gphoto2 run against: standard PTP/IP, which
#: gphoto2's "PTP/IP Camera" driver speaks
VENDOR = "generic"
