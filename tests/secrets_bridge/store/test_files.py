"""File modes, permission refusal, locking, stale temp files and OS errors, on real files."""

from __future__ import annotations

import fcntl
import os
import stat

import pytest

from secrets_bridge.errors import StoreLocked, StorePermissionsTooBroad, StoreUnreadable
from tests.support.store_helpers import CANARY, MASTER, open_store


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_store_and_lock_file_are_0600(tmp_path):
    store = open_store(tmp_path)
    store.set("OPENAI_API_KEY", CANARY)
    assert _mode(store.path) == 0o600
    assert _mode(tmp_path / ".secrets.production.json.lock") == 0o600


def test_mode_is_0600_even_with_umask_0(tmp_path):
    old = os.umask(0)
    try:
        store = open_store(tmp_path)
        store.set("OPENAI_API_KEY", CANARY)
        store.set("GITHUB_TOKEN", CANARY)
    finally:
        os.umask(old)
    assert _mode(store.path) == 0o600
    assert _mode(tmp_path / ".secrets.production.json.lock") == 0o600


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_broad_permissions_refused_with_the_fix(tmp_path, mode):
    open_store(tmp_path).set("OPENAI_API_KEY", CANARY)
    path = tmp_path / ".secrets.production.json"
    path.chmod(mode)
    with pytest.raises(StorePermissionsTooBroad) as info:
        open_store(tmp_path)
    message = str(info.value)
    assert f"chmod 600 {path}" in message and "ORCHESTRA_ALLOW_INSECURE_STORE=1" in message
    assert "\n" not in message and CANARY not in message


def test_override_by_argument_and_a_write_restores_0600(tmp_path):
    open_store(tmp_path).set("OPENAI_API_KEY", CANARY)
    path = tmp_path / ".secrets.production.json"
    path.chmod(0o644)
    store = open_store(tmp_path, allow_insecure_permissions=True)
    assert store.get("OPENAI_API_KEY") == CANARY
    store.set("GITHUB_TOKEN", "x")
    assert _mode(path) == 0o600


def test_override_by_environment(tmp_path, monkeypatch):
    open_store(tmp_path).set("OPENAI_API_KEY", CANARY)
    (tmp_path / ".secrets.production.json").chmod(0o644)
    monkeypatch.setenv("ORCHESTRA_ALLOW_INSECURE_STORE", "1")
    assert open_store(tmp_path).get("OPENAI_API_KEY") == CANARY
    monkeypatch.setenv("ORCHESTRA_ALLOW_INSECURE_STORE", "yes")  # only the documented "1" counts
    with pytest.raises(StorePermissionsTooBroad):
        open_store(tmp_path)


def test_stale_temp_files_of_this_store_are_removed_on_write(tmp_path):
    open_store(tmp_path).set("A", "1")
    stale = tmp_path / "..secrets.production.json.tmp.99999.deadbeef"  # files.write_private's temp name
    other_env = tmp_path / "..secrets.staging.json.tmp.99999.deadbeef"
    for path in (stale, other_env):
        path.write_bytes(b"half a file")
    open_store(tmp_path).set("B", "2")
    assert not stale.exists() and other_env.exists()
    assert open_store(tmp_path).names() == ["A", "B"]


def test_held_lock_gives_store_locked_and_loses_nothing(tmp_path):
    store = open_store(tmp_path, lock_timeout=0.05)
    store.set("A", "1")
    before = store.path.read_bytes()
    fd = os.open(tmp_path / ".secrets.production.json.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(StoreLocked, match="locked by another writer"):
            store.set("B", "2")
        assert store.path.read_bytes() == before
    finally:
        os.close(fd)
    store.set("B", "2")
    assert open_store(tmp_path).names() == ["A", "B"]


def test_unreadable_store_is_one_line(tmp_path):
    (tmp_path / ".secrets.production.json").mkdir()
    with pytest.raises(StoreUnreadable) as info:
        open_store(tmp_path)
    assert "cannot read" in str(info.value) and "\n" not in str(info.value)


def test_missing_directory_fails_on_write_with_a_hint(tmp_path):
    store = open_store(tmp_path / "missing")
    assert store.names() == []
    with pytest.raises(StoreUnreadable, match="exists and is writable"):
        store.set("A", CANARY)


def test_no_plaintext_or_master_key_in_any_file_left_behind(tmp_path):
    store = open_store(tmp_path)
    store.set("OPENAI_API_KEY", CANARY)
    store.rotate_master_key(MASTER + "-next")
    for path in tmp_path.iterdir():
        raw = path.read_bytes()
        assert CANARY.encode() not in raw and MASTER.encode() not in raw
