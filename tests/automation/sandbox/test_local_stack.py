"""The local sandbox stack's set-up: random master key, sandbox keys, the stack file template."""

from __future__ import annotations

import stat

import pytest

from automation.sandbox import local_stack
from secrets_bridge.formats import check_format


@pytest.mark.parametrize("name", ["LAMBDA_API_KEY", "OPENAI_API_KEY", "PORTKEY_API_KEY", "GITHUB_TOKEN", "VERCEL_TOKEN"])
def test_sandbox_keys_pass_their_format_rule_and_are_random(name):
    a, b = local_stack.sandbox_key(name), local_stack.sandbox_key(name)
    assert a != b and check_format(name, a).status == "ok"


def test_local_master_key_is_random_0600_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("ORCHESTRA_MASTER_KEY", raising=False)
    monkeypatch.delenv("ORCHESTRA_MASTER_KEY_FILE", raising=False)
    path = local_stack.ensure_master_key(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    monkeypatch.delenv("ORCHESTRA_MASTER_KEY_FILE")
    assert local_stack.ensure_master_key(tmp_path) == path and path.read_text() == first
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.delenv("ORCHESTRA_MASTER_KEY_FILE")
    assert local_stack.ensure_master_key(other).read_text() != first


def test_callers_master_key_is_used_as_is(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_MASTER_KEY", "given")
    assert local_stack.ensure_master_key(tmp_path) is None
    assert not (tmp_path / ".orchestra").exists()


def test_local_stack_file_is_made_from_the_template_once_and_then_left_alone(tmp_path):
    from automation.sandbox.local_stack import STACK_TEMPLATE, ensure_stack_file

    path = ensure_stack_file(tmp_path)
    assert path == tmp_path / "Pulumi.local.yaml"
    assert path.read_bytes() == STACK_TEMPLATE.read_bytes()
    # This checkout's salt and ciphertext, or ports changed by hand, survive every later run.
    path.write_text("config:\n  orchestra:backend_port: \"28788\"\nencryptionsalt: v1:abc\n")
    before = path.read_bytes()
    ensure_stack_file(tmp_path)
    assert path.read_bytes() == before
