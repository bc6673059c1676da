"""An update in flight on a shared (PostgreSQL) backend: a concurrent `up --lock-wait` gives up (exit 34); then kill -9 of
the engine: nothing it started is left running, the lock it left is reported with the way to clear it (`pulumi
cancel`), and after clearing a re-run converges."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.checkout import Checkout, sandbox_stack_yaml
from tests.support.loopback import free_port

pytestmark = pytest.mark.e2e


def _processes() -> dict[int, tuple[int, int, str, str]]:
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


def _wait_for(what: str, probe, timeout_s: float = 180):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout_s}s")


def test_killed_engine_leaves_no_process_and_a_lock_that_is_reported_and_cleared(tmp_path, engine, postgres, canaries):
    database = postgres.create_database("killed")
    url = postgres.url(database)
    co = Checkout(tmp_path / "co", engine.bin_dir, {"PULUMI_BACKEND_URL": url, "ORCHESTRA_SANDBOX_BOOT_SECONDS": "30"})
    lambda_port = free_port()
    co.stack_file("local").write_text(sandbox_stack_yaml(lambda_port, free_port()))
    co.store().set_many(canaries)
    headers = {"Authorization": f"Bearer {canaries['LAMBDA_API_KEY']}"}

    def instances() -> list:
        try:
            return httpx.get(f"http://127.0.0.1:{lambda_port}/api/v1/instances", headers=headers, timeout=5).json()["data"]
        except httpx.HTTPError:
            return []

    try:
        driver = subprocess.Popen([sys.executable, "-m", "automation", "up", "local", "--yes"], cwd=co.root, env=co.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for("an instance launch", instances)
        (engine_pid,) = [pid for pid, (ppid, _, _, cmd) in _processes().items()
                         if ppid == driver.pid and cmd.split(" ")[0].endswith("/pulumi")]
        procs = _processes()
        tree, frontier = {engine_pid}, {engine_pid}
        while frontier:   # the engine's descendants: each plugin runs in a process group of its own
            frontier = {pid for pid, info in procs.items() if info[0] in frontier} - tree
            tree |= frontier
        started = {pid: procs[pid][3] for pid in tree}
        assert any("pulumi-language-python" in cmd for cmd in started.values()), started
        # A concurrent `up` meanwhile waits for the lock (--lock-wait, across backends) and then gives up, naming the holder.
        concurrent = co.run("up", "local", "--yes", "--lock-wait", "3s")
        assert concurrent.returncode == 34, concurrent.stderr[-2000:]
        assert "is locked by" in concurrent.stderr and f"(pid {engine_pid})" in concurrent.stderr
        assert postgres.password not in concurrent.stderr
        assert driver.poll() is None, "the first update ended before the concurrent one was turned away"
        os.kill(engine_pid, signal.SIGKILL)
        out, err = driver.communicate(timeout=120)
        co.outputs += [out, err]
        assert driver.returncode not in (0, None) and "Traceback" not in err, err
        now = _processes()
        left = {pid: cmd for pid, cmd in started.items() if pid in now and now[pid][3] == cmd and now[pid][2] != "Z"}
        assert left == {}, f"the engine's processes outlived it: {left}"

        locked = co.run("up", "local", "--yes")
        assert locked.returncode == 34, locked.stderr[-2000:]
        assert "locked" in locked.stderr and "pulumi cancel" in locked.stderr and postgres.password not in locked.stderr
        cancel = co.command("pulumi", "--non-interactive", "cancel", "--yes", "--stack", "local")
        assert cancel.returncode == 0, cancel.stderr
        rerun = co.run("up", "local", "--yes", extra_env={"ORCHESTRA_SANDBOX_BOOT_SECONDS": "0.5"})
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert "Health: healthy" in rerun.stdout
        # (The instance whose launch the kill interrupted is not in the state: adopting it is issue 10's launch
        # reconciliation, not this test's subject.)
    finally:
        co.stop_sandbox()
