"""Fixtures: an emulator on a loopback port whose every exchange is checked against the contract,
clients with pacing off, and the provider's environment set for fast retries."""

from __future__ import annotations

import httpx
import pytest

from automation.sandbox.lambda_emulator import LambdaEmulator
from infra.lambda_client import LambdaClient, RetryPolicy
from tests.lambda_.contract import ContractRecorder

# If this value shows up in pickled bytes, a message or a log, the key leaked.
CANARY = "secret_canary-lambda_7c1f93ab52e04d6e"
BOOT = 0.2


class Admin:
    """The emulator's non-spec test hooks."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def config(self, **changes) -> dict:
        return self._call("POST", "/_emulator/config", changes)

    def state(self) -> dict:
        return self._call("GET", "/_emulator/state")["state"]

    def requests(self) -> list[dict]:
        return self._call("GET", "/_emulator/requests")

    def terminate(self, instance_id: str) -> dict:
        return self._call("POST", f"/_emulator/instances/{instance_id}/terminate")

    def preempt(self, instance_id: str) -> dict:
        return self._call("POST", f"/_emulator/instances/{instance_id}/preempt")

    def live_instances(self) -> list[dict]:
        return [i for i in self.state()["instances"].values() if i["status"] in ("booting", "active", "unhealthy")]

    def _call(self, method: str, path: str, body: dict | None = None):
        response = httpx.request(method, self.base_url + path, json=body)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def contract() -> ContractRecorder:
    return ContractRecorder()


@pytest.fixture
def emulator(tmp_path, contract):
    with LambdaEmulator(tmp_path / "lambda-state.json", [CANARY], boot_seconds=BOOT, observer=contract) as emu:
        yield emu
    assert contract.violations == [], "\n".join(contract.violations)


@pytest.fixture
def admin(emulator) -> Admin:
    return Admin(emulator.base_url)


@pytest.fixture
def client(emulator):
    with LambdaClient(CANARY, emulator.base_url, pace=False,
                      retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.5)) as c:
        yield c


@pytest.fixture(autouse=True)
def fast_provider_env(monkeypatch):
    """The providers read pacing and retries from the environment, as in the Pulumi provider host."""
    monkeypatch.setenv("ORCHESTRA_LAMBDA_REQUEST_INTERVAL", "0")
    monkeypatch.setenv("ORCHESTRA_LAMBDA_LAUNCH_INTERVAL", "0")
    monkeypatch.setenv("ORCHESTRA_LAMBDA_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("ORCHESTRA_LAMBDA_MAX_ATTEMPTS", "3")
