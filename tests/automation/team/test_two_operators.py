"""Two operators, one stack: separate checkouts and stores, no shared passphrase, state on PostgreSQL, secrets on KMS.

The "cloud" is one sandbox (Lambda emulator + backend) both checkouts deploy to; the
stack file travels between them as it would through git (the KMS-encrypted data key and
config ciphertext are in it; no passphrase exists anywhere).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from automation.sandbox.manager import start_sandbox, stop_sandbox
from secrets_bridge.catalog import PULUMI_PASSPHRASE_NAME
from tests.support.checkout import Checkout, sandbox_stack_yaml
from tests.support.loopback import free_port

pytestmark = pytest.mark.e2e
ROTATED = "sk-proj-CANARYrotatedNEVERshownT3BlbkFJabcdefghij0123456789"
FLAGS = ("--yes", "--skip-verify", "--env", "team")


@pytest.fixture
def cloud(tmp_path, canaries):
    ports = free_port(), free_port()
    root = tmp_path / "cloud"
    root.mkdir()
    start_sandbox(root, lambda_api_keys=[canaries["LAMBDA_API_KEY"]], lambda_port=ports[0], backend_port=ports[1],
                  boot_seconds=0.5)
    yield ports
    stop_sandbox(root)


def config_value(co: Checkout, key: str) -> str:
    """What the checkout's stack config decrypts to (through KMS), read here and never recorded."""
    proc = subprocess.run(["pulumi", "--non-interactive", "config", "get", key, "--stack", "team"], cwd=co.root, env=co.env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_second_operator_sees_no_changes_rotates_a_key_and_the_first_picks_it_up(tmp_path, engine, postgres, moto, cloud, canaries):
    database = postgres.create_database("two_operators")
    shared = {**moto.env(), "PULUMI_BACKEND_URL": postgres.url(database)}
    provider = moto.create_key("two-operators")
    first = Checkout(tmp_path / "first", engine.bin_dir, shared)
    second = Checkout(tmp_path / "second", engine.bin_dir, shared)
    assert first.master_key != second.master_key
    first.stack_file("team").write_text(sandbox_stack_yaml(*cloud))
    first.store("team").set_many({k: v for k, v in canaries.items() if k != "OPENAI_API_KEY"})

    # The first operator creates the stack on KMS; OPENAI_API_KEY comes from the environment this once.
    created = first.json("up", "team", "--create", "--secrets-provider", provider, *FLAGS,
                         extra_env={"OPENAI_API_KEY": canaries["OPENAI_API_KEY"]})
    assert created["applied"]["changes"].get("create", 0) >= 3 and created["health"]["ok"]

    shutil.copy(first.stack_file("team"), second.stack_file("team"))   # git pull
    seen = second.json("up", "team", *FLAGS)
    assert seen["inject"]["changed"] == [] and seen["applied"]["summary"] == "no changes"

    second.store("team").set("OPENAI_API_KEY", ROTATED)
    rotated = second.json("up", "team", *FLAGS)
    assert rotated["inject"]["changed"] == ["OPENAI_API_KEY"] and rotated["applied"]["summary"] != "no changes"

    shutil.copy(second.stack_file("team"), first.stack_file("team"))   # git pull
    assert config_value(first, "orchestra:openai_api_key") == ROTATED
    picked = first.json("up", "team", *FLAGS)
    assert picked["inject"]["changed"] == [] and picked["applied"]["summary"] == "no changes"

    for co in (first, second):
        assert co.store("team").get(PULUMI_PASSPHRASE_NAME) is None
        stack = yaml.safe_load(co.stack_file("team").read_text())
        assert stack["secretsprovider"] == provider and "encryptionsalt" not in stack
    assert second.run("destroy", "team", "--yes", "--env", "team").returncode == 0
    state = "\n".join(postgres.state_rows(database).values())
    everything = state + first.files_text() + second.files_text()
    for name, canary in {**canaries, "rotated": ROTATED}.items():
        assert canary not in everything, f"{name} in plaintext"
