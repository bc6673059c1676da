"""Moving a deployed stack from its passphrase to KMS, as docs/team.md says, with no plaintext anywhere after it.

    python -m secrets_bridge run --env local -- pulumi stack change-secrets-provider URL --stack local

then `up` needs no passphrase: the test removes it from the store to prove it.
"""

from __future__ import annotations

import sys

import pytest
import yaml

from secrets_bridge.catalog import PULUMI_PASSPHRASE_NAME
from tests.support.checkout import Checkout, sandbox_stack_yaml
from tests.support.loopback import free_port

pytestmark = pytest.mark.e2e


def test_passphrase_stack_moves_to_kms_and_deploys_without_the_passphrase(tmp_path, engine, postgres, moto, canaries):
    database = postgres.create_database("migration")
    co = Checkout(tmp_path / "co", engine.bin_dir, {**moto.env(), "PULUMI_BACKEND_URL": postgres.url(database)})
    co.stack_file("local").write_text(sandbox_stack_yaml(free_port(), free_port()))
    co.store().set_many(canaries)
    try:
        assert co.run("up", "local", "--yes").returncode == 0
        passphrase = co.store().get(PULUMI_PASSPHRASE_NAME)
        assert passphrase and "encryptionsalt" in yaml.safe_load(co.stack_file("local").read_text())

        provider = moto.create_key("migration")
        moved = co.command(sys.executable, "-m", "secrets_bridge", "run", "--env", "local", "--",
                           "pulumi", "--non-interactive", "stack", "change-secrets-provider", provider, "--stack", "local")
        assert moved.returncode == 0, moved.stderr
        # docs/team.md keeps the passphrase while pre-migration history is kept; here it goes, to prove it is not needed.
        assert co.store().delete(PULUMI_PASSPHRASE_NAME)

        stack = yaml.safe_load(co.stack_file("local").read_text())
        assert stack["secretsprovider"] == provider and stack["encryptedkey"] and "encryptionsalt" not in stack
        again = co.json("up", "local", "--yes")
        assert again["inject"]["changed"] == [] and again["applied"]["summary"] == "no changes"
        assert co.store().get(PULUMI_PASSPHRASE_NAME) is None, "the driver generated a passphrase again"
        rows = postgres.state_rows(database)
        current = next(text for key, text in rows.items() if key.endswith("stacks/orchestra/local.json"))
        assert '"type":"cloud"' in current.replace(" ", "") and provider.split("?")[0] in current
        everything = "\n".join([*rows.values(), co.files_text()])
        for name, canary in {**canaries, PULUMI_PASSPHRASE_NAME: passphrase}.items():
            assert canary not in everything, f"{name} in plaintext"
    finally:
        co.stop_sandbox()
