"""Live processes as the tests see them (from /proc): an engine's whole tree, and what of it outlived it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def processes() -> dict[int, tuple[int, int, str, str]]:
    """pid -> (ppid, pgid, state, cmdline) of every live process."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        found[int(stat.parent.name)] = (int(fields[1]), int(fields[2]), fields[0], cmdline)
    return found


def engine_of(driver_pid: int) -> int:
    """The pid of the one engine (`pulumi`) the driver runs now."""
    (pid,) = [pid for pid, (ppid, _, _, cmd) in processes().items()
              if ppid == driver_pid and cmd.split(" ")[0].endswith("/pulumi")]
    return pid


def tree(root: int) -> dict[int, str]:
    """pid -> cmdline of `root` and its descendants (each plugin runs in a process group of its own)."""
    procs = processes()
    found, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, info in procs.items() if info[0] in frontier} - found
        found |= frontier
    return {pid: procs[pid][3] for pid in found if pid in procs}


def survivors(started: dict[int, str]) -> dict[int, str]:
    """The processes of `started` still running (same pid and cmdline, not a zombie)."""
    now = processes()
    return {pid: cmd for pid, cmd in started.items() if pid in now and now[pid][3] == cmd and now[pid][2] != "Z"}


def wait_for(what: str, probe: Callable[[], T], timeout_s: float = 180, driver: subprocess.Popen | None = None) -> T:
    """Poll until `probe` answers; a `driver` that exits meanwhile fails the wait at once, with its output."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        if driver is not None and driver.poll() is not None:
            out, err = driver.communicate()
            raise AssertionError(f"the driver exited ({driver.returncode}) before {what}: {(out + err)[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout_s}s")


def working_under(base: Path) -> dict[int, str]:
    """pid -> command line of every live process (not this one) whose working directory is under `base`."""
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        pid = int(proc.name)
        if pid == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(proc / "cwd"))
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if cmdline and (cwd == base or base in cwd.parents):
            found[pid] = cmdline
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie; a zombie child of this process is reaped on the way."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def stop(pids: dict[int, str]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_running(pid) for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        _running(pid)
