"""The emulator itself: auth schemes, persistence across restarts, test hooks, its CLI."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from automation.sandbox.lambda_emulator import LambdaEmulator
from infra.lambda_cloud import LambdaClient
from tests.support.lambda_keys import BOOT, CANARY, PUBLIC_KEY

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("header", [
    f"Bearer {CANARY}",
    "Basic " + base64.b64encode(f"{CANARY}:".encode()).decode(),  # curl -u KEY:
    f"Basic {CANARY}",                                               # the raw form the spec also allows
])
def test_each_auth_scheme_of_the_spec_is_accepted(emulator, header):
    response = httpx.get(emulator.base_url + "/api/v1/instances", headers={"Authorization": header})
    assert response.status_code == 200 and response.json() == {"data": []}


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Token " + CANARY])
def test_anything_else_is_401_with_the_error_envelope(emulator, header):
    response = httpx.get(emulator.base_url + "/api/v1/instances",
                         headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "global/invalid-api-key"


def test_bad_request_bodies_are_invalid_parameters(emulator):
    headers = {"Authorization": f"Bearer {CANARY}"}
    bad_rule = {"data": [{"protocol": "tcp", "source_network": "0.0.0.0/0", "description": "no ports"}]}
    response = httpx.put(emulator.base_url + "/api/v1/firewall-rules", json=bad_rule, headers=headers)
    assert response.status_code == 400 and response.json()["error"]["code"] == "global/invalid-parameters"
    launch = {"region_name": "mars-1", "instance_type_name": "gpu_1x_a10", "ssh_key_names": ["k"]}
    response = httpx.post(emulator.base_url + "/api/v1/instance-operations/launch", json=launch, headers=headers)
    assert response.status_code == 400 and response.json()["error"]["code"] == "global/invalid-parameters"


def test_state_survives_a_restart_and_boots_continue_from_launch_time(tmp_path, contract):
    state = tmp_path / "state.json"
    with LambdaEmulator(state, [CANARY], boot_seconds=BOOT, observer=contract) as first:
        with LambdaClient(CANARY, first.base_url, pace=False) as client:
            client.add_ssh_key("k", PUBLIC_KEY)
            [instance_id] = client.launch(region_name="us-west-1", instance_type_name="gpu_1x_a10",
                                          ssh_key_names=["k"], name="kept")
    saved = json.loads(state.read_text())
    assert saved["instances"][instance_id]["status"] == "booting"
    # A restart with a long boot time does not reset a boot already under way.
    with LambdaEmulator(state, [CANARY], boot_seconds=3600, observer=contract) as second:
        with LambdaClient(CANARY, second.base_url, pace=False) as client:
            assert [k.name for k in client.list_ssh_keys()] == ["k"]
            while client.get_instance(instance_id).status == "booting":
                time.sleep(0.02)
            assert client.get_instance(instance_id).name == "kept"
    assert contract.violations == []


def test_keys_come_from_the_state_file_too(tmp_path):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"api_keys": ["from-state-file"]}))
    with LambdaEmulator(state, [], boot_seconds=BOOT) as emulator:
        with LambdaClient("from-state-file", emulator.base_url, pace=False) as client:
            assert client.list_instances() == []


def test_admin_state_never_shows_keys(emulator, admin):
    assert "api_keys" not in json.dumps(admin.state()) and CANARY not in json.dumps(admin.state())


def test_terminate_and_preempt_behind_the_clients_back(client, admin):
    client.add_ssh_key("k", PUBLIC_KEY)
    ids = [client.launch(region_name="us-east-1", instance_type_name="gpu_1x_a10", ssh_key_names=["k"])[0]
           for _ in range(2)]
    admin.terminate(ids[0])
    admin.preempt(ids[1])
    assert [client.get_instance(i).status for i in ids] == ["terminated", "preempted"]
    assert client.list_instances() == []
    # Their slots are free again: us-east-1 has two.
    assert "us-east-1" in client.instance_types()["gpu_1x_a10"].regions_with_capacity


def test_unknown_config_setting_is_refused(admin):
    with pytest.raises(httpx.HTTPStatusError):
        admin.config(boot_second=1)


def test_cli_prints_its_url_serves_and_stops_on_sigterm(tmp_path):
    env = {**os.environ, "ORCHESTRA_SANDBOX_LAMBDA_KEYS": f"{CANARY},other",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen(
        [sys.executable, "-m", "automation.sandbox.lambda_emulator", "--port", "0",
         "--state", str(tmp_path / "state.json"), "--boot-seconds", "0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(url + "/api/v1/instance-types", headers={"Authorization": "Bearer other"})
        assert response.status_code == 200 and "gpu_1x_a10" in response.json()["data"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert CANARY not in stderr
