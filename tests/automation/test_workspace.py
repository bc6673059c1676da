"""The passphrase hand-over: CI's own wins, KMS needs none, the store's is read (never made) before preflight."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from automation import workspace
from secrets_bridge.store import SecretStore, store_path

MASTER = "unit-test-master-key-0123456789abcdef"


def _target(provider: str) -> workspace.Target:
    return workspace.Target(root=Path("."), name=None, project="orchestra", engine=None, command=None,  # type: ignore[arg-type]
                            backend="file:///x", base_env={}, provider=provider, exists=True, stacks=[])


def test_ci_passphrase_and_kms_providers_need_no_stored_passphrase():
    assert not _target("passphrase").needs_passphrase({"PULUMI_CONFIG_PASSPHRASE": "ci"})
    assert not _target("passphrase").needs_passphrase({"PULUMI_CONFIG_PASSPHRASE_FILE": "/run/pp"})
    assert not _target("awskms://alias/x").needs_passphrase({})
    assert _target("passphrase").needs_passphrase({})


def test_reading_the_stored_passphrase_creates_no_store(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("ORCHESTRA_MASTER_KEY", raising=False)   # and asks for no master key either
    assert workspace.stored_passphrase("dev") is None
    assert list(tmp_path.iterdir()) == []


def test_the_stored_passphrase_is_handed_over_as_a_0600_file_that_goes_away(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("ORCHESTRA_MASTER_KEY", MASTER)
    SecretStore.open("dev").set(workspace.PASSPHRASE_NAME, "the-passphrase")
    assert store_path("dev").exists()
    with workspace.passphrase_file(workspace.stored_passphrase("dev")) as env:
        path = env["PULUMI_CONFIG_PASSPHRASE_FILE"]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        assert open(path).read() == "the-passphrase"
    assert not os.path.exists(path)
    with workspace.passphrase_file(None) as env:
        assert env == {}
