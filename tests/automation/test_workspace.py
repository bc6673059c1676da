"""The passphrase hand-over: CI's own wins, else generated once into the store, given as a 0600 file."""

from __future__ import annotations

import os
import stat

from automation import workspace


def test_passphrase_from_ci_environment_wins():
    with workspace.passphrase_env("passphrase", "dev", {"PULUMI_CONFIG_PASSPHRASE": "ci"}) as env:
        assert env == {}


def test_passphrase_generated_once_into_store_and_handed_over_as_0600_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("ORCHESTRA_MASTER_KEY", "unit-test-master-key-0123456789abcdef")
    with workspace.passphrase_env("passphrase", "dev", {}) as env:
        path = env["PULUMI_CONFIG_PASSPHRASE_FILE"]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        first = open(path).read()
    assert not os.path.exists(path)
    with workspace.passphrase_env("passphrase", "dev", {}) as env:
        assert open(env["PULUMI_CONFIG_PASSPHRASE_FILE"]).read() == first
