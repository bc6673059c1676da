"""Issue 10, through the driver: the engine of `up local --yes` is killed (-9) while the instance it
launched boots, which leaves a pending create in the state; the next plain `up local --yes` looks the
instance up by its launch token, clears the pending create, adopts the instance, and says so. After
it: exactly one instance on the emulator and in state, no pending operation, one launch request."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from automation.project import backend_url
from tests.support.checkout import Checkout, sandbox_stack_yaml
from tests.support.loopback import free_port

pytestmark = pytest.mark.e2e

CANARIES = {
    "LAMBDA_API_KEY": "secret_canary0pend.CANARYpendinglambdaNEVERshown0123456",
    "OPENAI_API_KEY": "sk-proj-CANARYpendingopenaiNEVERshownT3BlbkFJabcdefghij01",
    "PORTKEY_API_KEY": "CANARYpendingportkeyNEVERshown0123456",
}


def _engine_child(driver_pid: int) -> int | None:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmd = (stat.parent / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == driver_pid and cmd.endswith("/pulumi"):
            return int(stat.parent.name)
    return None


def test_up_after_a_killed_up_adopts_the_launched_instance_and_names_what_it_resolved(tmp_path, engine):
    co = Checkout(tmp_path / "co", engine.bin_dir, {"ORCHESTRA_SANDBOX_BOOT_SECONDS": "20"})
    lambda_port = free_port()
    co.stack_file("local").write_text(sandbox_stack_yaml(lambda_port, free_port()))
    co.store().set_many(CANARIES)
    api = f"http://127.0.0.1:{lambda_port}"
    headers = {"Authorization": f"Bearer {CANARIES['LAMBDA_API_KEY']}"}

    def instances() -> list[dict]:
        try:
            return httpx.get(f"{api}/api/v1/instances", headers=headers, timeout=5).json()["data"]
        except httpx.HTTPError:
            return []

    backend = {"PULUMI_BACKEND_URL": backend_url(co.root, {})[0]}

    def state() -> dict:
        proc = co.command("pulumi", "--non-interactive", "stack", "export", "--stack", "local", extra_env=backend)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["deployment"]

    try:
        driver = subprocess.Popen([sys.executable, "-m", "automation", "up", "local", "--yes"], cwd=co.root, env=co.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while not instances() and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        engine_pid = _engine_child(driver.pid)
        assert engine_pid is not None and instances(), "the first up launched nothing before it ended"
        os.kill(engine_pid, signal.SIGKILL)
        out, err = driver.communicate(timeout=120)
        co.outputs += [out, err]
        assert driver.returncode != 0
        (launched,) = instances()
        pending = state().get("pending_operations") or []
        assert [p["type"] for p in pending] == ["creating"], pending

        check = co.run("check", "local")   # read-only: it shows the untracked instance and clears nothing
        assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
        assert (f"orphan {launched['id']}: gpu_1x_a10 in us-east-1" in check.stdout
                and "`python -m automation orphans local --terminate`" in check.stdout
                and "1 interrupted create(s) pending" in check.stdout), check.stdout
        assert [p["type"] for p in state().get("pending_operations") or []] == ["creating"]

        cancel = co.command("pulumi", "--non-interactive", "cancel", "--yes", "--stack", "local", extra_env=backend)
        assert cancel.returncode == 0, cancel.stderr   # a killed engine leaves its lock
        rerun = co.run("up", "local", "--yes")
        assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
        assert (f"interrupted create cleared; the instance {launched['id']} it launched is adopted by this up"
                in rerun.stdout), rerun.stdout

        after = state()
        assert not after.get("pending_operations")
        in_state = [r["id"] for r in after["resources"] if r["type"].endswith(":LambdaInstance")]
        assert [i["id"] for i in instances()] == in_state == [launched["id"]]
        assert CANARIES["LAMBDA_API_KEY"] not in co.files_text()

        again = co.json("up", "local", "--yes")
        assert again["resolved"] == [] and [i["id"] for i in instances()] == [launched["id"]]
    finally:
        co.stop_sandbox()
