"""`rotate` refuses what it cannot do safely before it touches anything (the pipeline itself: e2e)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from automation.errors import ConfigInvalid, RotationFailed
from automation.pipeline import Options
from automation.rotation import read_new_value, rotate

REPO = Path(__file__).resolve().parents[3]
OLD = "secret_rotationold.abcdefghijklmnopqrstuvwxyz012345"


@pytest.fixture()
def opts(tmp_path, monkeypatch):
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    monkeypatch.setenv("ORCHESTRA_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("ORCHESTRA_MASTER_KEY", "rotation-test-master-key-0123456789")
    for name in ("LAMBDA_API_KEY", "LAMBDA_LABS_API_KEY", "LAMBDALABS_API_KEY", "ORCHESTRA_CI_SECRETS"):
        monkeypatch.delenv(name, raising=False)
    from secrets_bridge.store import SecretStore

    SecretStore.open("production").set("LAMBDA_API_KEY", OLD)
    return Options(root=tmp_path, stack="production", env="production", out=io.StringIO())


def _stored(opts):
    from secrets_bridge.store import SecretStore

    store = SecretStore.open(opts.env)
    return store.get("LAMBDA_API_KEY"), store.get("LAMBDA_API_KEY_PREVIOUS")


def test_an_unknown_key_is_refused_with_the_known_ones(opts):
    with pytest.raises(ConfigInvalid, match=r"NOPE_KEY is not a key the platform deploys: rotate one of LAMBDA_API_KEY, .*"
                       r"`python -m secrets_bridge set NOPE_KEY`"):
        rotate(opts, "NOPE_KEY", read=lambda name: "x")


def test_a_key_shadowed_by_the_environment_is_refused(opts, monkeypatch):
    monkeypatch.setenv("LAMBDA_LABS_API_KEY", "secret_fromenv.abcdefghijklmnopqrstuvwxyz012345")
    with pytest.raises(ConfigInvalid, match="LAMBDA_LABS_API_KEY is set in the environment and would win"):
        rotate(opts, "LAMBDA_API_KEY", read=lambda name: "x")
    assert _stored(opts) == (OLD, None)


@pytest.mark.parametrize(("new", "error", "match"), [
    ("", ConfigInvalid, "no new value for LAMBDA_API_KEY on stdin"),
    (OLD, ConfigInvalid, "the new LAMBDA_API_KEY is the current one"),
    ("secret_pasted\u200bkey.abcdefghijklmnopqrstuvwxyz", RotationFailed, r"the new LAMBDA_API_KEY is malformed .*U\+200B.*: nothing changed"),
])
def test_nothing_changes_when_the_new_value_is_empty_the_same_or_malformed(opts, new, error, match):
    with pytest.raises(error, match=match):
        rotate(opts, "LAMBDA_API_KEY", read=lambda name: new)
    assert _stored(opts) == (OLD, None)


def test_the_new_value_is_read_from_a_pipe_never_argv():
    assert read_new_value("LAMBDA_API_KEY", io.StringIO("  secret_new.value  \n")) == "secret_new.value"
