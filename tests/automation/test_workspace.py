"""The passphrase hand-over: CI's own wins, KMS needs none, the store's is read (never made) before preflight."""

from __future__ import annotations

import os
import stat
import time
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


class _Ls:
    """An engine whose `stack ls` answers from a script; counts the calls."""

    def __init__(self, *answers: tuple[int, str, str]):
        self.answers, self.calls = list(answers), 0

    def run(self, args, cwd, env, check=False):
        from pulumi.automation._cmd import CommandResult
        self.calls += 1
        code, stdout, stderr = self.answers.pop(0)
        return CommandResult(stdout=stdout, stderr=stderr, code=code)


RACE = ('error: could not create backend: failed to create table pulumi_state: ERROR: duplicate key value violates '
        'unique constraint "pg_type_typname_nsp_index" (SQLSTATE 23505)')


def _pg_target(command) -> workspace.Target:
    return workspace.Target(root=Path("."), name=None, project="orchestra", engine=None, command=command,  # type: ignore[arg-type]
                            backend="postgres://u@127.0.0.1:5432/state", base_env={}, provider="passphrase",
                            exists=False, stacks=[])


def test_a_new_postgres_database_whose_table_another_process_creates_meanwhile_is_listed_again():
    engine = _Ls((255, "", RACE), (0, '[{"name": "dev"}]', ""))
    assert workspace._list_stacks(_pg_target(engine)) == ["dev"]
    assert engine.calls == 2


def test_any_other_postgres_failure_is_one_line_without_a_retry():
    import pytest

    from automation.errors import BackendUnreachable
    engine = _Ls((255, "", 'error: failed to connect to `host=127.0.0.1 user=u database=state`: dial error (connection refused)'))
    with pytest.raises(BackendUnreachable):
        workspace._list_stacks(_pg_target(engine))
    assert engine.calls == 1


def test_on_postgres_the_config_is_not_read_beside_the_stack_listing(tmp_path, monkeypatch):
    # Two engine processes on a new database race to create its table: the listing goes first, alone.
    (tmp_path / "Pulumi.yaml").write_text("name: orchestra\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    order: list[str] = []
    monkeypatch.setattr(workspace, "require_engine", lambda: type("E", (), {"pulumi": Path("pulumi"), "version": "3.274.1"})())
    monkeypatch.setattr(workspace, "engine_env", lambda engine, env: env)
    def list_stacks(target):
        order.append("ls")
        time.sleep(0.3)      # a config read beside it would start now
        order.append("ls done")
        return ["dev"]
    monkeypatch.setattr(workspace, "_list_stacks", list_stacks)
    monkeypatch.setattr(workspace, "_config_of", lambda target, env, environ: order.append("config") or {})
    environ = {"PULUMI_BACKEND_URL": "postgres://u:p@127.0.0.1:5432/state", "PULUMI_CONFIG_PASSPHRASE": "x"}
    workspace.locate_with_config(tmp_path, "dev", "production", environ)
    assert order == ["ls", "ls done", "config"]
