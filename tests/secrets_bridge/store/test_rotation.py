"""Master key rotation, and files written under older KDF parameters."""

from __future__ import annotations

import pytest

from secrets_bridge.errors import MasterKeyMissing, WrongMasterKey
from secrets_bridge.store import SecretStore
from secrets_bridge.store_format import Pbkdf2Params, ScryptParams
from tests.support.store_helpers import CANARY, CANARY_2, MASTER, OTHER_MASTER, open_store, read_json


def test_rotation_new_key_opens_old_key_does_not(tmp_path):
    store = open_store(tmp_path)
    store.set_many({"OPENAI_API_KEY": CANARY, "GITHUB_TOKEN": CANARY_2})
    metas = {name: store.meta(name) for name in store.names()}
    salt_before = read_json(store.path)["kdf"]["salt"]

    store.rotate_master_key(OTHER_MASTER)

    assert read_json(store.path)["kdf"]["salt"] != salt_before
    with pytest.raises(WrongMasterKey):
        open_store(tmp_path, master_key=MASTER)
    rotated = open_store(tmp_path, master_key=OTHER_MASTER)
    assert rotated.get("OPENAI_API_KEY") == CANARY and rotated.get("GITHUB_TOKEN") == CANARY_2
    assert {name: rotated.meta(name) for name in rotated.names()} == metas  # values did not change
    assert store.get("OPENAI_API_KEY") == CANARY  # the rotating instance keeps working
    store.set("VERCEL_TOKEN", "after rotation")
    assert open_store(tmp_path, master_key=OTHER_MASTER).get("VERCEL_TOKEN") == "after rotation"


def test_instance_opened_before_a_rotation_elsewhere_refuses_to_write(tmp_path):
    stale = open_store(tmp_path)
    stale.set("A", "1")
    open_store(tmp_path).rotate_master_key(OTHER_MASTER)
    with pytest.raises(WrongMasterKey, match="re-encrypted by another process"):
        stale.set("B", "2")
    assert open_store(tmp_path, master_key=OTHER_MASTER).names() == ["A"]


def test_rotating_a_missing_store_creates_it_under_the_new_key(tmp_path):
    open_store(tmp_path).rotate_master_key(OTHER_MASTER)
    assert open_store(tmp_path, master_key=OTHER_MASTER).names() == []
    with pytest.raises(WrongMasterKey):
        open_store(tmp_path, master_key=MASTER)


def test_empty_new_master_key_refused(tmp_path):
    store = open_store(tmp_path)
    store.set("A", CANARY)
    with pytest.raises(MasterKeyMissing):
        store.rotate_master_key("")
    assert open_store(tmp_path).get("A") == CANARY


def test_pbkdf2_file_opens_and_rotation_raises_it_to_scrypt(tmp_path):
    old = SecretStore.open("production", master_key=MASTER, directory=tmp_path, kdf=Pbkdf2Params())
    old.set("OPENAI_API_KEY", CANARY)
    assert read_json(old.path)["kdf"]["name"] == "pbkdf2-sha256"

    store = open_store(tmp_path)  # new-file parameters are scrypt; the existing file keeps pbkdf2
    assert store.get("OPENAI_API_KEY") == CANARY
    store.set("GITHUB_TOKEN", CANARY_2)
    assert read_json(store.path)["kdf"]["name"] == "pbkdf2-sha256"

    store.rotate_master_key(MASTER, allow_same_key=True)
    assert read_json(store.path)["kdf"]["name"] == "scrypt"
    assert open_store(tmp_path).get("GITHUB_TOKEN") == CANARY_2


@pytest.mark.parametrize(("params", "kwargs"), [
    (Pbkdf2Params, {"iterations": 100_000}),  # the seed system's count
    (ScryptParams, {"n": 2**10}),
    (ScryptParams, {"n": 3 * 2**14}),
])
def test_weak_or_malformed_parameters_cannot_be_chosen(params, kwargs):
    with pytest.raises(ValueError):
        params(**kwargs)
