"""SIGTERM to the driver mid-update (a CI runner cancelling the job), on a PostgreSQL backend, through the real engine.

The instance's boot is slow, so the engine is inside a resource create when the signal
comes: the driver stops the engine (its whole tree: language host, providers), exits 143
with one line and a JSON document, and the next `up` converges.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import pytest

from tests.support.checkout import Checkout, sandbox_stack_yaml
from tests.support.lockstate import shared_backend
from tests.support.loopback import free_port
from tests.support.processes import engine_of, survivors, tree, wait_for

pytestmark = pytest.mark.e2e


def test_sigterm_stops_the_engine_and_its_plugins_and_the_next_up_converges(tmp_path, engine, postgres, moto, canaries):
    backend = shared_backend("postgres", f"sigterm{free_port()}", postgres, moto)
    co = Checkout(tmp_path / "co", engine.bin_dir, {"PULUMI_BACKEND_URL": backend.url,
                                                      "ORCHESTRA_SANDBOX_BOOT_SECONDS": "30"})
    lambda_port = free_port()
    co.stack_file("local").write_text(sandbox_stack_yaml(lambda_port, free_port()))
    co.store().set_many(canaries)
    headers = {"Authorization": f"Bearer {canaries['LAMBDA_API_KEY']}"}

    def launched() -> list:
        try:
            return httpx.get(f"http://127.0.0.1:{lambda_port}/api/v1/instances", headers=headers, timeout=5).json()["data"]
        except httpx.HTTPError:
            return []

    try:
        driver = subprocess.Popen([sys.executable, "-m", "automation", "up", "local", "--yes", "--json"], cwd=co.root,
                                  env=co.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for("an instance launch", launched, driver=driver)
        started = tree(engine_of(driver.pid))
        assert any("pulumi-language-python" in cmd for cmd in started.values()), started
        driver.send_signal(signal.SIGTERM)
        out, err = driver.communicate(timeout=120)
        co.outputs += [out, err]
        assert driver.returncode == 143, err[-3000:]
        assert "Traceback" not in err
        last = err.strip().splitlines()[-1]
        # The engine cancelled, then terminated at the second SIGTERM: it wrote its checkpoint and released the lock.
        assert last == ("terminated by SIGTERM during up: the engine stopped cleanly and recorded what it finished; "
                        "re-run to converge"), err[-2000:]
        doc = json.loads(out)
        assert (doc["ok"], doc["exit_code"], doc["error"]["kind"]) == (False, 143, "Terminated")
        assert doc["error"]["message"] == last
        assert survivors(started) == {}, "the engine's processes outlived the driver"
        assert backend.lock_keys() == [], "the engine stopped without releasing its lock"

        rerun = co.run("up", "local", "--yes")
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert "Health: healthy" in rerun.stdout
        assert postgres.password not in "".join(co.outputs)
    finally:
        co.stop_sandbox()
