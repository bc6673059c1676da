"""Round trips, metadata, paths and the once-per-process KDF."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from secrets_bridge.errors import InvalidValue, MasterKeyMissing
from secrets_bridge.store import EntryMeta, SecretStore, resolve_env, store_path
from secrets_bridge.store_format import ScryptParams
from tests.support.store_helpers import CANARY, CANARY_2, FAST_KDF, MASTER, open_store, read_json


def test_round_trip_across_instances(tmp_path):
    store = open_store(tmp_path)
    store.set("OPENAI_API_KEY", CANARY)
    store.set_many({"GITHUB_TOKEN": CANARY_2, "PULUMI_CONFIG_PASSPHRASE": "pass phrase with spaces ✓"})

    again = open_store(tmp_path)
    assert again.names() == ["GITHUB_TOKEN", "OPENAI_API_KEY", "PULUMI_CONFIG_PASSPHRASE"]
    assert again.get("OPENAI_API_KEY") == CANARY
    assert again.get("GITHUB_TOKEN") == CANARY_2
    assert again.get("PULUMI_CONFIG_PASSPHRASE") == "pass phrase with spaces ✓"
    assert again.get("VERCEL_TOKEN") is None and again.meta("VERCEL_TOKEN") is None


def test_values_never_in_file_bytes_or_repr(tmp_path):
    store = open_store(tmp_path)
    store.set_many({"OPENAI_API_KEY": CANARY, "GITHUB_TOKEN": CANARY_2})
    raw = store.path.read_bytes()
    for secret in (CANARY, CANARY_2, MASTER):
        assert secret.encode() not in raw
        assert secret not in repr(store)
    assert repr(store) == f"SecretStore(env='production', path='{tmp_path / '.secrets.production.json'}')"


def test_missing_file_reads_empty_without_a_master_key(tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO())  # not a terminal: a prompt would be an error
    store = SecretStore.open("production", directory=tmp_path)
    assert not store.exists()
    assert store.names() == [] and store.get("OPENAI_API_KEY") is None
    assert store.delete("OPENAI_API_KEY") is False
    with pytest.raises(MasterKeyMissing, match="ORCHESTRA_MASTER_KEY"):
        store.set("OPENAI_API_KEY", CANARY)
    assert not store.path.exists()


def test_master_key_loaded_from_env_only_when_writing(tmp_path, monkeypatch):
    store = SecretStore.open("production", directory=tmp_path, kdf=FAST_KDF)
    monkeypatch.setenv("ORCHESTRA_MASTER_KEY", MASTER)
    store.set("OPENAI_API_KEY", CANARY)
    assert open_store(tmp_path, master_key=MASTER).get("OPENAI_API_KEY") == CANARY


def test_default_file_uses_owasp_scrypt(tmp_path):
    store = SecretStore.open("production", master_key=MASTER, directory=tmp_path)
    store.set("OPENAI_API_KEY", CANARY)
    kdf = read_json(store.path)["kdf"]
    assert (kdf["name"], kdf["n"], kdf["r"], kdf["p"]) == ("scrypt", 2**17, 8, 1)
    assert read_json(store.path)["version"] == 1


def test_each_file_gets_its_own_salt(tmp_path):
    open_store(tmp_path, env="production").set("A", "1")
    open_store(tmp_path, env="staging").set("A", "1")
    salts = {read_json(tmp_path / f".secrets.{env}.json")["kdf"]["salt"] for env in ("production", "staging")}
    assert len(salts) == 2


def test_kdf_runs_once_per_process(tmp_path, monkeypatch):
    open_store(tmp_path).set_many({f"KEY_{i}": f"value-{i}" for i in range(50)})
    calls = []
    real = ScryptParams.derive
    monkeypatch.setattr(ScryptParams, "derive", lambda self, *a: calls.append(1) or real(self, *a))
    # A fresh salt makes the first open derive again; then it is cached.
    open_store(tmp_path).rotate_master_key(MASTER, allow_same_key=True)
    assert len(calls) == 1
    for round_ in range(3):
        store = open_store(tmp_path)
        assert [store.get(f"KEY_{i}") for i in range(1, 50)] == [f"value-{i}" for i in range(1, 50)]
        store.set("KEY_0", f"changed-{round_}")
    assert len(calls) == 1


def test_meta_created_and_rotated(tmp_path):
    store = open_store(tmp_path)
    before = datetime.now(UTC)
    store.set("OPENAI_API_KEY", "first")
    first = store.meta("OPENAI_API_KEY")
    assert isinstance(first, EntryMeta)
    assert first.created_at == first.rotated_at >= before
    assert first.created_at.tzinfo is not None and first.created_at.utcoffset().total_seconds() == 0

    before_change = datetime.now(UTC)
    store.set("OPENAI_API_KEY", "second")
    second = open_store(tmp_path).meta("OPENAI_API_KEY")
    assert second.created_at == first.created_at
    assert second.rotated_at >= before_change


def test_same_value_does_not_rewrite_the_file(tmp_path):
    store = open_store(tmp_path)
    store.set_many({"OPENAI_API_KEY": CANARY, "GITHUB_TOKEN": CANARY_2})
    before_bytes, before_inode = store.path.read_bytes(), store.path.stat().st_ino
    meta = store.meta("OPENAI_API_KEY")

    open_store(tmp_path).set("OPENAI_API_KEY", CANARY)
    open_store(tmp_path).set_many({"OPENAI_API_KEY": CANARY, "GITHUB_TOKEN": CANARY_2})

    assert store.path.stat().st_ino == before_inode
    assert store.path.read_bytes() == before_bytes
    assert open_store(tmp_path).meta("OPENAI_API_KEY") == meta


def test_changing_one_value_keeps_other_ciphertexts(tmp_path):
    store = open_store(tmp_path)
    store.set_many({"OPENAI_API_KEY": CANARY, "GITHUB_TOKEN": CANARY_2})
    token_before = read_json(store.path)["entries"]["GITHUB_TOKEN"]["token"]
    store.set("OPENAI_API_KEY", "new")
    assert read_json(store.path)["entries"]["GITHUB_TOKEN"]["token"] == token_before


def test_delete(tmp_path):
    store = open_store(tmp_path)
    store.set_many({"OPENAI_API_KEY": CANARY, "GITHUB_TOKEN": CANARY_2})
    assert store.delete("OPENAI_API_KEY") is True
    assert store.delete("OPENAI_API_KEY") is False
    again = open_store(tmp_path)
    assert again.names() == ["GITHUB_TOKEN"] and again.get("OPENAI_API_KEY") is None


def test_writes_see_other_writers_changes(tmp_path):
    first, second = open_store(tmp_path), open_store(tmp_path)
    first.set("A", "1")
    second.set("B", "2")  # second opened on a missing file: the set reads the file again
    first.set("C", "3")
    assert open_store(tmp_path).names() == ["A", "B", "C"]


@pytest.mark.parametrize("name", ["", "bad\nname", "tab\there"])
def test_bad_key_names_rejected(tmp_path, name):
    with pytest.raises(InvalidValue, match="key name"):
        open_store(tmp_path).set(name, CANARY)
    assert not (tmp_path / ".secrets.production.json").exists()


def test_non_string_value_rejected(tmp_path):
    with pytest.raises(TypeError, match="OPENAI_API_KEY"):
        open_store(tmp_path).set("OPENAI_API_KEY", None)


def test_resolve_env_order(monkeypatch):
    assert resolve_env(None) == "production"
    monkeypatch.setenv("ORCHESTRA_ENV", "staging")
    assert resolve_env(None) == "staging"
    assert resolve_env("local") == "local"


@pytest.mark.parametrize("env", ["../etc", "a/b", "", ".hidden", "x" * 65])
def test_unsafe_env_names_rejected(env, tmp_path):
    with pytest.raises(InvalidValue, match="environment name"):
        store_path(env, tmp_path)


def test_store_path_directory_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert store_path("production") == tmp_path / ".secrets.production.json"
    monkeypatch.setenv("ORCHESTRA_SECRETS_DIR", str(tmp_path / "elsewhere"))
    assert store_path("local") == tmp_path / "elsewhere" / ".secrets.local.json"
    assert store_path("local", tmp_path / "given") == tmp_path / "given" / ".secrets.local.json"
