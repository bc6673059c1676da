"""Concurrent `up` of one stack from two checkouts sharing a PostgreSQL backend and a KMS key, through the real engine.

While the first operator's update runs (a slow instance boot in the shared sandbox), the
second's `up --lock-wait 2s` gives up with exit 34 naming holder, host and age, and its
`up --lock-wait 5m` waits, then runs once the lock is released: it sees the first's
resources (no changes). The stack's history shows the two updates one after the other.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
from datetime import datetime

import pytest

from automation.sandbox.manager import start_sandbox, stop_sandbox
from tests.support.checkout import Checkout, sandbox_stack_yaml
from tests.support.lockstate import shared_backend
from tests.support.loopback import free_port
from tests.support.processes import wait_for

pytestmark = pytest.mark.e2e
FLAGS = ("--yes", "--skip-verify", "--env", "team")
HOLDER = f"{pwd.getpwuid(os.getuid()).pw_name}@{socket.gethostname()}"


@pytest.fixture
def slow_cloud(tmp_path, canaries):
    """One sandbox both checkouts deploy to; its instance takes 20 s to boot, so an update holds the lock that long."""
    ports = free_port(), free_port()
    root = tmp_path / "cloud"
    root.mkdir()
    start_sandbox(root, lambda_api_keys=[canaries["LAMBDA_API_KEY"]], lambda_port=ports[0], backend_port=ports[1],
                  boot_seconds=20)
    yield ports
    stop_sandbox(root)


def _updates(co: Checkout) -> list[dict]:
    proc = co.run("exec", "team", "--", "pulumi", "stack", "history", "--json", "--stack", "team")
    assert proc.returncode == 0, proc.stderr
    return sorted((entry for entry in json.loads(proc.stdout) if entry["kind"] == "update"), key=lambda e: e["startTime"])


def test_the_second_operator_gives_up_or_waits_then_runs(tmp_path, engine, postgres, moto, slow_cloud, canaries):
    backend = shared_backend("postgres", f"concurrent{free_port()}", postgres, moto, stack="team")
    shared = {**moto.env(), "PULUMI_BACKEND_URL": backend.url}
    provider = moto.create_key(f"concurrent{free_port()}")
    first = Checkout(tmp_path / "first", engine.bin_dir, shared)
    second = Checkout(tmp_path / "second", engine.bin_dir, shared)
    first.stack_file("team").write_text(sandbox_stack_yaml(*slow_cloud))
    first.store("team").set_many(canaries)

    holder = subprocess.Popen([sys.executable, "-m", "automation", "up", "team", "--create", "--secrets-provider", provider,
                               *FLAGS], cwd=first.root, env=first.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        wait_for("the first update's lock", backend.lock_keys)
        shutil.copy(first.stack_file("team"), second.stack_file("team"))   # git pull: provider, data key, config

        gave_up = second.run("up", "team", *FLAGS, "--lock-wait", "2s")
        assert gave_up.returncode == 34, gave_up.stderr[-2000:]
        assert f"stack team is locked by {HOLDER} (pid " in gave_up.stderr and ") for " in gave_up.stderr
        assert holder.poll() is None, "the first update ended before the second gave up"

        waited = second.run("up", "team", *FLAGS, "--lock-wait", "5m", "--json")
        out, err = holder.communicate(timeout=300)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.communicate()
    first.outputs += [out, err]
    assert holder.returncode == 0, err[-3000:]
    assert waited.returncode == 0, waited.stderr[-3000:]
    assert f"lock: stack team is locked by {HOLDER} (pid " in waited.stderr and "waiting up to 5m0s" in waited.stderr
    doc = json.loads(waited.stdout)
    assert doc["applied"]["summary"] == "no changes" and doc["health"]["ok"]

    updates = _updates(second)
    assert [u["result"] for u in updates] == ["succeeded", "succeeded"]
    first_end = datetime.fromisoformat(updates[0]["endTime"].replace("Z", "+00:00"))
    second_start = datetime.fromisoformat(updates[1]["startTime"].replace("Z", "+00:00"))
    assert second_start >= first_end, "the two updates overlapped"
    assert backend.lock_keys() == []
    assert postgres.password not in "".join(first.outputs + second.outputs)
    assert second.run("destroy", "team", "--yes", "--env", "team").returncode == 0
