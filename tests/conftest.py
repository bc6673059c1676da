"""The whole run: nothing the tests started outlives it.

Fault tests kill engines with SIGKILL on purpose; the language host and the providers such an engine
started live on (their own process groups), orphaned. The driver reaps those itself (automation/proctree),
but a test that runs `pulumi` directly cannot. Every such process works in a directory under pytest's
temporary base, so at the end of the run each process whose working directory is there is stopped,
and the run says which ones it stopped (a leak is shown, not hidden). Services the fixtures start
(PostgreSQL, moto, OpenBao, emulators) are stopped by their own fixtures before this runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest


def _working_under(base: Path) -> dict[int, str]:
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


def _stop(pids: dict[int, str]) -> None:
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


_STOPPED: dict[int, str] = {}


@pytest.fixture(scope="session", autouse=True)
def _no_process_outlives_the_run(tmp_path_factory):
    base = tmp_path_factory.getbasetemp().resolve()
    yield
    left = _working_under(base)
    _stop(left)
    _STOPPED.update(left)


def pytest_terminal_summary(terminalreporter) -> None:
    if _STOPPED:
        terminalreporter.section("processes the tests left running (stopped)")
        for pid, cmd in sorted(_STOPPED.items()):
            terminalreporter.write_line(f"{pid}: {cmd[:160]}")
