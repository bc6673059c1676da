"""Every kind of damage or tampering is detected and named: wrong key vs corrupt vs too new."""

from __future__ import annotations

import base64

import pytest

from secrets_bridge.errors import StoreCorrupt, StoreVersionTooNew, WrongMasterKey
from secrets_bridge.store_format import Document, derive_keys, encrypt_value, parse, serialize
from tests.support.store_helpers import (
    CANARY,
    CANARY_2,
    MASTER,
    OTHER_MASTER,
    open_store,
    read_json,
    write_json,
)


@pytest.fixture
def store_file(tmp_path):
    store = open_store(tmp_path)
    store.set_many({"OPENAI_API_KEY": CANARY, "GITHUB_TOKEN": CANARY_2})
    return store.path


def _assert_clean_message(exc: BaseException, path) -> None:
    """One line, names the file, leaks neither values nor the master key."""
    message = str(exc)
    assert "\n" not in message and str(path) in message
    for secret in (CANARY, CANARY_2, MASTER, OTHER_MASTER):
        assert secret not in message


def _open_fails(path, exc_type, master_key=MASTER):
    with pytest.raises(exc_type) as info:
        open_store(path.parent, master_key=master_key)
    _assert_clean_message(info.value, path)
    return str(info.value)


def test_wrong_master_key(store_file):
    message = _open_fails(store_file, WrongMasterKey, master_key=OTHER_MASTER)
    assert "ORCHESTRA_MASTER_KEY" in message


def test_flipped_ciphertext_byte(store_file):
    data = read_json(store_file)
    token = bytearray(base64.urlsafe_b64decode(data["entries"]["OPENAI_API_KEY"]["token"]))
    token[40] ^= 0x01
    data["entries"]["OPENAI_API_KEY"]["token"] = base64.urlsafe_b64encode(bytes(token)).decode()
    write_json(store_file, data)
    assert "restore it from a backup" in _open_fails(store_file, StoreCorrupt)


def test_swapped_ciphertexts(store_file):
    data = read_json(store_file)
    entries = data["entries"]
    entries["OPENAI_API_KEY"]["token"], entries["GITHUB_TOKEN"]["token"] = (
        entries["GITHUB_TOKEN"]["token"], entries["OPENAI_API_KEY"]["token"])
    write_json(store_file, data)
    _open_fails(store_file, StoreCorrupt)


def test_entry_copied_from_another_environment(tmp_path, store_file):
    open_store(tmp_path, env="staging").set("VERCEL_TOKEN", "staging-value")
    staging = read_json(tmp_path / ".secrets.staging.json")
    data = read_json(store_file)
    data["entries"]["VERCEL_TOKEN"] = staging["entries"]["VERCEL_TOKEN"]
    write_json(store_file, data)
    _open_fails(store_file, StoreCorrupt)


def test_whole_file_copied_to_another_environment(tmp_path, store_file):
    (tmp_path / ".secrets.staging.json").write_bytes(store_file.read_bytes())
    (tmp_path / ".secrets.staging.json").chmod(0o600)
    with pytest.raises(StoreCorrupt, match="environment 'production', not 'staging'"):
        open_store(tmp_path, env="staging")


def test_entry_removed(store_file):
    data = read_json(store_file)
    del data["entries"]["GITHUB_TOKEN"]
    write_json(store_file, data)
    _open_fails(store_file, StoreCorrupt)


def test_entry_added(store_file):
    data = read_json(store_file)
    data["entries"]["EXTRA"] = dict(data["entries"]["GITHUB_TOKEN"])
    write_json(store_file, data)
    _open_fails(store_file, StoreCorrupt)


def test_timestamp_edited(store_file):
    data = read_json(store_file)
    data["entries"]["GITHUB_TOKEN"]["rotated_at"] = "2001-01-01T00:00:00+00:00"
    write_json(store_file, data)
    _open_fails(store_file, StoreCorrupt)


def test_key_check_edited_is_tampering_not_a_wrong_key(store_file):
    data = read_json(store_file)
    data["key_check"] = base64.b64encode(b"\0" * 32).decode()
    write_json(store_file, data)
    _open_fails(store_file, StoreCorrupt)


@pytest.mark.parametrize("cut", [0, 1, 100, -40])
def test_truncated(store_file, cut):
    raw = store_file.read_bytes()
    store_file.write_bytes(raw[:cut] if cut >= 0 else raw[:cut])
    message = _open_fails(store_file, StoreCorrupt)
    assert "restore it from a backup" in message and "set the keys again" in message


@pytest.mark.parametrize("content", [b"not json at all", b"\xff\xfe\x00", b"[1, 2]", b'{"version": 1}',
                                     b'{"version": 1, "version": 1}'])
def test_not_a_store(store_file, content):
    store_file.write_bytes(content)
    _open_fails(store_file, StoreCorrupt)


def test_newer_version(store_file):
    data = read_json(store_file)
    data["version"] = 2
    write_json(store_file, data)
    assert "upgrade" in _open_fails(store_file, StoreVersionTooNew)


@pytest.mark.parametrize("version", [0, "1", True, None])
def test_bogus_version(store_file, version):
    data = read_json(store_file)
    data["version"] = version
    write_json(store_file, data)
    _open_fails(store_file, StoreCorrupt)


@pytest.mark.parametrize("change", [
    {"n": 3}, {"n": 2**30}, {"r": 1000}, {"name": "md5"}, {"salt": "c2hvcnQ="}, {"n": "16384"},
])
def test_header_params_out_of_range(store_file, change):
    data = read_json(store_file)
    data["kdf"].update(change)
    write_json(store_file, data)
    _open_fails(store_file, StoreCorrupt)


def test_header_params_changed_within_range(store_file):
    # A different but plausible cost or salt derives a different key: indistinguishable from a
    # wrong master key by design, so the message names both causes.
    data = read_json(store_file)
    data["kdf"]["n"] = 2**15
    write_json(store_file, data)
    assert "header was altered" in _open_fails(store_file, WrongMasterKey)


def _reseal(path, change) -> None:
    """Rewrite the file with a valid MAC, as only a holder of the master key could."""
    doc, _ = parse(path.read_bytes(), path, "production")
    keys = derive_keys(MASTER, doc.kdf, doc.salt)
    entries = change(dict(doc.entries), keys)
    path.write_bytes(serialize(Document("production", doc.kdf, doc.salt, doc.key_check, entries), keys))


def test_value_bound_to_its_name_even_under_a_valid_mac(store_file):
    def swap(entries, keys):
        a, b = entries["OPENAI_API_KEY"], entries["GITHUB_TOKEN"]
        entries["OPENAI_API_KEY"], entries["GITHUB_TOKEN"] = b, a
        return entries
    _reseal(store_file, swap)
    store = open_store(store_file.parent)
    with pytest.raises(StoreCorrupt, match="belongs to another key") as info:
        store.get("OPENAI_API_KEY")
    _assert_clean_message(info.value, store_file)


def test_value_bound_to_its_environment_even_under_a_valid_mac(store_file):
    def foreign(entries, keys):
        old = entries["OPENAI_API_KEY"]
        entries["OPENAI_API_KEY"] = type(old)(encrypt_value(keys, "staging", "OPENAI_API_KEY", CANARY),
                                              old.created_at, old.rotated_at)
        return entries
    _reseal(store_file, foreign)
    with pytest.raises(StoreCorrupt, match="another key or environment"):
        open_store(store_file.parent).get("OPENAI_API_KEY")


def test_a_failed_open_changes_nothing(store_file):
    before = store_file.read_bytes()
    with pytest.raises(WrongMasterKey):
        open_store(store_file.parent, master_key=OTHER_MASTER)
    assert store_file.read_bytes() == before
    assert open_store(store_file.parent).get("OPENAI_API_KEY") == CANARY

