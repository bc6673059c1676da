"""The sandbox backend follows the real Lambda emulator's instances; the health check sees it, in and out of process."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from automation.health import check_health, render
from automation.sandbox.backend import SandboxBackend
from automation.sandbox.lambda_emulator import LambdaEmulator
from automation.sandbox.manager import start_sandbox, stop_sandbox
from tests.support.loopback import free_port

KEY = "secret_canarybackend01.Pl0Ok9Ij8Uh7Yg6Tf5Rd4Es3Wa2Qz1Xc"
FAST = {"interval_s": 0.02, "max_interval_s": 0.1, "request_timeout_s": 5.0}


class Lambda:
    """A few calls to the emulator's API, as a person's script would make them."""

    def __init__(self, url: str):
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=5)
        self.client.post("/api/v1/ssh-keys", json={"name": "ops"}).raise_for_status()

    def launch(self) -> str:
        reply = self.client.post("/api/v1/instance-operations/launch", json={
            "region_name": "us-east-1", "instance_type_name": "gpu_1x_a10", "ssh_key_names": ["ops"]})
        reply.raise_for_status()
        return reply.json()["data"]["instance_ids"][0]

    def terminate(self, instance_id: str) -> None:
        self.client.post("/api/v1/instance-operations/terminate", json={"instance_ids": [instance_id]}).raise_for_status()


def run(tmp_path: Path, boot_seconds: float):
    state = tmp_path / "lambda-state.json"
    emulator, backend = LambdaEmulator(state, [KEY], boot_seconds=boot_seconds), SandboxBackend(state)
    return emulator, backend, Lambda(emulator.start()), backend.start()


@pytest.fixture
def sandbox(tmp_path, request):
    emulator, backend, api, url = run(tmp_path, request.param)
    yield api, url
    backend.stop()
    emulator.stop()


@pytest.mark.parametrize("sandbox", [0.0], indirect=True)
def test_health_is_503_until_an_instance_is_active_and_again_after_terminate(sandbox):
    api, url = sandbox
    assert httpx.get(url + "/health").status_code == 503
    instance_id = api.launch()                    # boot_seconds 0: active on the next read
    answer = httpx.get(url + "/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok", "instances": [instance_id]}
    api.terminate(instance_id)
    assert httpx.get(url + "/health").status_code == 503


@pytest.mark.parametrize("sandbox", [3600.0], indirect=True)
def test_a_booting_instance_is_not_healthy_yet(sandbox):
    api, url = sandbox
    api.launch()
    answer = httpx.get(url + "/health")
    assert answer.status_code == 503 and "no active Lambda instance" in answer.json()["detail"]


@pytest.mark.parametrize("sandbox", [0.0], indirect=True)
def test_frontend_page_and_unknown_paths(sandbox):
    _, url = sandbox
    page = httpx.get(url + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html") and "Orchestra" in page.text
    assert httpx.get(url + "/nope").status_code == 404


@pytest.mark.parametrize("sandbox", [0.3], indirect=True)
def test_check_health_waits_for_the_emulated_boot(sandbox):
    api, url = sandbox
    instance_id = api.launch()
    outputs = {"instance_id": instance_id, "backend_url": url, "frontend_url": url + "/"}
    report = check_health(outputs, lambda_api_key=KEY, lambda_api_url=str(api.client.base_url), deadline_s=30, **FAST)
    assert report.healthy, render(report)
    assert report.targets[0].status == "active"
    assert KEY not in render(report)


def test_the_detached_sandbox_serves_a_healthy_deployment(tmp_path):
    info = start_sandbox(tmp_path, lambda_api_keys=[KEY], lambda_port=free_port(), backend_port=free_port(),
                         boot_seconds=0.2, start_timeout_s=30)
    try:
        api = Lambda(info.lambda_url)
        instance_id = api.launch()
        outputs = {"instance_id": instance_id, "backend_url": info.backend_url, "frontend_url": info.backend_url + "/"}
        report = check_health(outputs, lambda_api_key=KEY, lambda_api_url=info.lambda_url, deadline_s=30, **FAST)
        assert report.healthy, render(report)
        api.terminate(instance_id)
        after = check_health(outputs, lambda_api_key=KEY, lambda_api_url=info.lambda_url, deadline_s=0, **FAST)
        assert [(t.name, t.ok, t.status) for t in after.targets] == [
            ("instance", False, "terminated"), ("backend", False, "503"), ("frontend", True, "200")]
    finally:
        stop_sandbox(tmp_path, grace_s=2)


@pytest.mark.parametrize("sandbox", [0.0], indirect=True)
def test_health_is_not_healthy_while_an_untracked_instance_of_the_stack_runs(sandbox):
    api, url = sandbox
    tags = [{"key": "project", "value": "orchestra"}, {"key": "stack", "value": "local"}]

    def launch(region: str = "us-east-1", **extra) -> str:
        reply = api.client.post("/api/v1/instance-operations/launch", json={
            "region_name": region, "instance_type_name": "gpu_1x_a10", "ssh_key_names": ["ops"], **extra})
        reply.raise_for_status()
        return reply.json()["data"]["instance_ids"][0]

    tracked = launch(tags=tags)
    launch("us-west-1", tags=[{"key": "project", "value": "orchestra"}, {"key": "stack", "value": "other"}])
    outputs = {"instance_id": tracked, "backend_url": url}
    lambda_url = str(api.client.base_url).rstrip("/")
    assert check_health(outputs, lambda_api_key=KEY, lambda_api_url=lambda_url, deadline_s=0, **FAST).healthy
    orphan = launch(tags=tags)
    report = check_health(outputs, lambda_api_key=KEY, lambda_api_url=lambda_url, deadline_s=5, **FAST)
    [instance] = [t for t in report.targets if t.name == "instance"]
    assert not report.healthy and instance.status == "orphans" and orphan in instance.detail
    assert instance.attempts == 1  # waiting does not heal it
