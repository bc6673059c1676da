"""Fixtures: an emulator on a loopback port whose every exchange is checked against the contract,
clients with pacing off, and the provider's environment set for fast retries."""

from __future__ import annotations

import pytest

from automation.sandbox.emulator_hooks import EmulatorHooks
from automation.sandbox.lambda_emulator import LambdaEmulator
from infra.lambda_cloud import LambdaClient, RetryPolicy
from tests.support.lambda_contract import ContractRecorder
from tests.support.lambda_keys import BOOT, CANARY


@pytest.fixture
def contract() -> ContractRecorder:
    return ContractRecorder()


@pytest.fixture
def emulator(tmp_path, contract):
    with LambdaEmulator(tmp_path / "lambda-state.json", [CANARY], boot_seconds=BOOT, observer=contract) as emu:
        yield emu
    assert contract.violations == [], "\n".join(contract.violations)


@pytest.fixture
def admin(emulator) -> EmulatorHooks:
    return EmulatorHooks(emulator.base_url)


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
