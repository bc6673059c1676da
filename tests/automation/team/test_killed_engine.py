"""An update in flight on a shared backend (PostgreSQL, S3 on moto), then kill -9 of its engine, through the real engine.

A concurrent `up --lock-wait` gives up (exit 34, naming holder, host and age); the killed
engine leaves no process behind and a lock that the next `up` reports as stale with the
flag to use; a live lock of another host is never cleared, an old one is judged stale;
`up --clear-stale-lock` then clears them and converges.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.checkout import Checkout, sandbox_stack_yaml
from tests.support.lockstate import shared_backend
from tests.support.loopback import free_port
from tests.support.processes import engine_of, processes, survivors, tree, wait_for

pytestmark = pytest.mark.e2e
FAST = {"ORCHESTRA_SANDBOX_BOOT_SECONDS": "0.5"}
HOLDER = f"{pwd.getpwuid(os.getuid()).pw_name}@{socket.gethostname()}"   # what the engine writes into its lock


def _instances(lambda_port: int, key: str) -> list:
    try:
        return httpx.get(f"http://127.0.0.1:{lambda_port}/api/v1/instances", headers={"Authorization": f"Bearer {key}"},
                         timeout=5).json()["data"]
    except httpx.HTTPError:
        return []


def _language_hosts_of(co: Checkout) -> dict[int, str]:
    """Language hosts or providers still running for this checkout."""
    found = {}
    for pid, (_, _, state, cmd) in processes().items():
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if state != "Z" and cwd.startswith(str(co.root)) and ("pulumi-language" in cmd or "pulumi-resource" in cmd):
            found[pid] = cmd
    return found


@pytest.mark.parametrize("kind", ["postgres", "s3"])
def test_a_killed_engines_lock_is_reported_stale_and_cleared_only_on_request(kind, tmp_path, engine, postgres, moto,
                                                                             canaries):
    backend = shared_backend(kind, f"killed{free_port()}", postgres, moto)
    co = Checkout(tmp_path / "co", engine.bin_dir, {**backend.env, "PULUMI_BACKEND_URL": backend.url,
                                                      "ORCHESTRA_SANDBOX_BOOT_SECONDS": "30"})
    lambda_port = free_port()
    co.stack_file("local").write_text(sandbox_stack_yaml(lambda_port, free_port()))
    co.store().set_many(canaries)
    try:
        driver = subprocess.Popen([sys.executable, "-m", "automation", "up", "local", "--yes"], cwd=co.root, env=co.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for("an instance launch", lambda: _instances(lambda_port, canaries["LAMBDA_API_KEY"]), driver=driver)
        engine_pid = engine_of(driver.pid)
        started = tree(engine_pid)
        assert any("pulumi-language-python" in cmd for cmd in started.values()), started
        # A concurrent `up` meanwhile waits for the lock (--lock-wait) and then gives up, naming holder, host and age.
        concurrent = co.run("up", "local", "--yes", "--lock-wait", "3s")
        assert concurrent.returncode == 34, concurrent.stderr[-2000:]
        assert f"locked by {HOLDER} (pid {engine_pid}) for " in concurrent.stderr
        assert "still running on this host" in concurrent.stderr and "waiting up to 3s" in concurrent.stdout
        assert driver.poll() is None, "the first update ended before the concurrent one was turned away"

        os.kill(engine_pid, signal.SIGKILL)
        out, err = driver.communicate(timeout=120)
        co.outputs += [out, err]
        assert driver.returncode not in (0, None) and "Traceback" not in err, err
        assert survivors(started) == {}, "the engine's processes outlived it"
        (killed_lock,) = backend.lock_keys()

        stale = co.run("up", "local", "--yes", "--json")
        assert stale.returncode == 34, stale.stderr[-2000:]
        doc = json.loads(stale.stdout)
        message = doc["error"]["message"]
        assert f"(pid {engine_pid}) for " in message and "a process that no longer runs on this host" in message
        assert message.endswith("the lock is stale; clear it with `python -m automation up local --clear-stale-lock`")
        assert doc["exit_code"] == 34 and doc["error"]["fix"].endswith("clear it with `python -m automation up local --clear-stale-lock`")

        # Another operator's update, recent, on another host: judged live, so nothing is cleared, not even the stale one.
        other = backend.plant_lock(user="bob", host="laptop-bob", pid=4242, at=datetime.now(UTC) - timedelta(minutes=4))
        refused = co.run("up", "local", "--yes", "--clear-stale-lock")
        assert refused.returncode == 34, refused.stderr[-2000:]
        assert "bob@laptop-bob (pid 4242) for 4m" in refused.stderr and "which this machine cannot check" in refused.stderr
        assert "removed the stale lock" not in refused.stdout
        assert sorted(backend.lock_keys()) == sorted([killed_lock, other])

        # The same lock three hours old: past the threshold (2h by default), so judged stale...
        backend.plant_lock(user="bob", host="laptop-bob", pid=4242, at=datetime.now(UTC) - timedelta(hours=3), key=other)
        longer = co.run("up", "local", "--yes", "--stale-lock-after", "4h")     # ...unless the threshold is longer
        assert longer.returncode == 34 and "bob@laptop-bob (pid 4242) for 3h0m" in longer.stderr
        assert "judged stale after 4h0m" in longer.stderr and "is stale" not in longer.stderr
        cleared = co.run("up", "local", "--yes", "--clear-stale-lock", extra_env=FAST)
        assert cleared.returncode == 0, cleared.stderr[-3000:]
        assert f"removed the stale lock of {HOLDER} (pid {engine_pid}) for " in cleared.stdout
        assert "removed the stale lock of bob@laptop-bob (pid 4242) for 3h0m" in cleared.stdout
        assert "Health: healthy" in cleared.stdout
        assert backend.lock_keys() == [], "a lock outlived the update"
        assert _language_hosts_of(co) == {}
        if backend.postgres is not None:
            assert backend.postgres.password not in "".join(co.outputs)
    finally:
        co.stop_sandbox()
