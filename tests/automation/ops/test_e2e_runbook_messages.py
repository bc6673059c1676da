"""Each runbook opens with the message the tool really prints: provoke the failure, find the line.

The failures are made with the sandbox's own levers (emulator settings, a killed update, a
terminated instance) through the real engine; the tests run in file order on one project.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.automation.ops.runbook_doc import printed
from tests.support.e2e_project import stop_sandbox

pytestmark = pytest.mark.e2e


def _emulator_config(project, **settings) -> None:
    httpx.post(project.lambda_url + "/_emulator/config", json=settings, timeout=10).raise_for_status()


def _failing(project, code: int | set[int], *args: str, extra_env: dict | None = None) -> str:
    proc = project.run(*args, extra_env=extra_env)
    assert proc.returncode in ({code} if isinstance(code, int) else code), proc.stdout[-2000:] + proc.stderr
    return proc.stderr


def test_a_stack_that_does_not_exist_points_to_restore(messages_project):
    printed("restore-from-backup", _failing(messages_project, 33, "outputs", "local"))


def test_a_rejected_key(messages_project):
    assert messages_project.run("preview", "local").returncode == 0    # starts the sandbox (and creates the stack)
    _emulator_config(messages_project, inactive_keys=[messages_project.store().get("LAMBDA_API_KEY")])
    printed("invalid-or-expired-key", _failing(messages_project, 30, "check", "local"))
    _emulator_config(messages_project, inactive_keys=[])


def test_no_capacity(messages_project):
    _emulator_config(messages_project, capacity={})
    printed("no-capacity", _failing(messages_project, {36, 37}, "up", "local", "--yes"))   # at preview or at launch


def test_rate_limited(messages_project):
    _emulator_config(messages_project, capacity={"gpu_1x_a10": {"us-east-1": 2}}, rate_limit={"requests": 2, "per_seconds": 600})
    printed("rate-limited", _failing(messages_project, {36, 37}, "up", "local", "--yes",
                                     extra_env={"ORCHESTRA_LAMBDA_MAX_ATTEMPTS": "1"}))
    stop_sandbox(messages_project)    # the next command starts it again with the emulator's defaults


def test_incorrect_passphrase(messages_project):
    printed("incorrect-passphrase", _failing(messages_project, 32, "up", "local", "--yes",
                                             extra_env={"PULUMI_CONFIG_PASSPHRASE": "not-the-passphrase"}))


def _kill_everything_of(project, driver: subprocess.Popen) -> None:
    """SIGKILL the driver and the engine processes working in the project (not the sandbox)."""
    os.killpg(driver.pid, signal.SIGKILL)
    for proc_dir in Path("/proc").glob("[0-9]*"):
        try:
            cwd = os.readlink(proc_dir / "cwd")
            cmdline = (proc_dir / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if cwd == str(project.root) and "automation.sandbox" not in cmdline and int(proc_dir.name) != os.getpid():
            try:
                os.kill(int(proc_dir.name), signal.SIGKILL)
            except ProcessLookupError:
                pass
    driver.communicate(timeout=60)


def _launched(project) -> bool:
    try:
        return bool(project.live_instances())
    except httpx.HTTPError:
        return False        # the driver is still starting the sandbox


def test_a_killed_update_leaves_a_stale_lock_and_a_pending_operation(messages_project):
    project = messages_project
    slow = {**project.env, "ORCHESTRA_SANDBOX_BOOT_SECONDS": "30"}
    driver = subprocess.Popen([sys.executable, "-m", "automation", "up", "local", "--yes"], cwd=project.root, env=slow,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 180
    while not _launched(project):           # launched: the engine now waits for it to become active
        assert time.monotonic() < deadline and driver.poll() is None, "the instance was never launched"
        time.sleep(0.2)
    _kill_everything_of(project, driver)
    boot = {"ORCHESTRA_SANDBOX_BOOT_SECONDS": "30"}
    printed("locked-stack", _failing(project, 34, "up", "local", "--yes", extra_env=boot))
    rerun = project.run("up", "local", "--yes", "--clear-stale-lock", extra_env=boot)     # the runbook's step 1
    assert rerun.returncode == 0, rerun.stderr
    printed("pending-operation", rerun.stdout)


def test_an_instance_the_state_does_not_hold_is_reported_as_a_billed_orphan(messages_project):
    project = messages_project
    key = project.store().get("LAMBDA_API_KEY")
    stray = httpx.post(project.lambda_url + "/api/v1/instance-operations/launch", timeout=10,
                       headers={"Authorization": f"Bearer {key}"},
                       json={"region_name": "us-east-1", "instance_type_name": "gpu_1x_a10", "ssh_key_names": ["orchestra-local"],
                             "tags": [{"key": "project", "value": "orchestra"}, {"key": "stack", "value": "local"}]})
    (orphan_id,) = stray.json()["data"]["instance_ids"]
    assert project.run("report", "local").returncode == 0
    report = sorted((project.root / "reports").glob("local-*.md"))[-1].read_text()
    assert orphan_id in printed("orphaned-instance", report)
    assert f"| orphan {orphan_id} | gpu_1x_a10 | us-east-1 |" in report      # priced in the cost table
    httpx.post(project.lambda_url + "/api/v1/instance-operations/terminate", timeout=10,
               headers={"Authorization": f"Bearer {key}"}, json={"instance_ids": [orphan_id]}).raise_for_status()


def test_an_unhealthy_stack(messages_project):
    instance = messages_project.json("outputs", "local")["outputs"]["instance_id"]
    httpx.post(f"{messages_project.lambda_url}/_emulator/instances/{instance}/terminate", timeout=10).raise_for_status()
    printed("unhealthy-backend", _failing(messages_project, 38, "health", "local"))


def test_no_canary_in_any_of_these_messages(messages_project):
    text = "".join(messages_project.outputs) + messages_project.every_file_text()
    for canary in messages_project.canaries.values():
        assert canary not in text
