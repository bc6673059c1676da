"""SshKeyProvider and FirewallRuleProvider methods called directly against the emulator."""

from __future__ import annotations

import pytest

from infra.lambda_cloud import FirewallRule, InvalidInput
from infra.lambda_dynamic import FirewallRuleProvider, SshKeyProvider
from tests.support.lambda_faults import KEY_B as OTHER_PUBLIC_KEY
from tests.support.lambda_keys import CANARY, PUBLIC_KEY

SSH_RULE = FirewallRule("tcp", (22, 22), "0.0.0.0/0", "Allow SSH from anywhere")


def _checked(provider, raw):
    result = provider.check({}, raw)
    assert result.failures == []
    return result.inputs


@pytest.fixture
def api(emulator):
    return {"api_key": CANARY, "api_url": emulator.base_url}


# --- SSH keys ---------------------------------------------------------------------------------

def test_generated_key_pair(api, client):
    provider = SshKeyProvider()
    inputs = _checked(provider, {**api, "name": "orchestra"})
    created = provider.create(inputs)
    assert created.outs["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert created.outs["generated"] is True and created.outs["public_key"].startswith("ssh-ed25519 ")
    state = created.outs
    assert provider.diff(created.id, state, inputs).changes is False  # still no public_key asked for
    assert provider.diff(created.id, state, {**inputs, "public_key": PUBLIC_KEY}).replaces == ["public_key"]
    assert provider.read(created.id, state).outs["private_key"] == state["private_key"]
    provider.delete(created.id, state)
    assert client.list_ssh_keys() == []
    provider.delete(created.id, state)  # already gone: success


def test_uploaded_key_diff_read_and_refresh(api, client, capsys):
    provider = SshKeyProvider()
    inputs = _checked(provider, {**api, "name": "orchestra", "public_key": PUBLIC_KEY})
    created = provider.create(inputs)
    state = created.outs
    assert state["private_key"] is None and state["public_key"] == PUBLIC_KEY
    renamed = provider.diff(created.id, state, {**inputs, "name": "other"})
    # Another name can exist beside the old key: created first, nothing to warn about.
    assert renamed.replaces == ["name"] and not renamed.delete_before_replace
    assert capsys.readouterr().err == ""
    new_key = provider.diff(created.id, state, {**inputs, "public_key": OTHER_PUBLIC_KEY})
    assert new_key.replaces == ["public_key"] and new_key.delete_before_replace
    note = capsys.readouterr().err   # the engine shows a provider's stderr lines in the preview
    assert note.startswith("warning: SSH key 'orchestra' is replaced under the same name") and note.count("\n") == 1
    assert "a failed launch leaves no instance" in note and "orchestra:lambda_ssh_key_name" in note
    rotated = provider.diff(created.id, state, {**inputs, "api_key": "rotated"})
    assert rotated.changes and rotated.replaces == []
    assert provider.update(created.id, state, {**inputs, "api_key": "rotated"}).outs["public_key"] == PUBLIC_KEY
    client.delete_ssh_key(created.id)  # behind Pulumi's back
    assert (provider.read(created.id, state).id, provider.read(created.id, state).outs) == ("", {})


def test_existing_name_is_a_clear_error(api, client):
    client.add_ssh_key("taken", PUBLIC_KEY)
    provider = SshKeyProvider()
    with pytest.raises(InvalidInput) as error:
        provider.create(_checked(provider, {**api, "name": "taken"}))
    assert "'taken' already exists" in str(error.value)


def test_ssh_key_check(api):
    failures = SshKeyProvider().check({}, {**api, "name": "", "public_key": "not a key"}).failures
    assert {f.property for f in failures} == {"name", "public_key"}


# --- firewall ---------------------------------------------------------------------------------

def test_rule_is_added_beside_the_others_and_removed_alone(api, client):
    provider = FirewallRuleProvider()
    inputs = _checked(provider, {**api, "port": 8000, "description": "orchestra backend"})
    assert inputs["protocol"] == "tcp" and inputs["source_network"] == "0.0.0.0/0"
    created = provider.create(inputs)
    assert created.id == "tcp:8000:0.0.0.0/0" and created.outs["pre_existing"] is False
    ours = FirewallRule("tcp", (8000, 8000), "0.0.0.0/0", "orchestra backend")
    assert client.get_firewall_rules() == [SSH_RULE, ours]

    # Someone adds a rule afterwards; our delete must keep it.
    later = FirewallRule("udp", (53, 53), "10.0.0.0/8", "dns")
    client.put_firewall_rules([*client.get_firewall_rules(), later])
    assert provider.read(created.id, created.outs).id == created.id
    provider.delete(created.id, created.outs)
    assert client.get_firewall_rules() == [SSH_RULE, later]
    assert (provider.read(created.id, created.outs).id, provider.read(created.id, created.outs).outs) == ("", {})
    provider.delete(created.id, created.outs)  # already gone: success, nothing written
    assert client.get_firewall_rules() == [SSH_RULE, later]


def test_a_rule_that_was_already_there_is_left_on_delete(api, client):
    provider = FirewallRuleProvider()
    inputs = _checked(provider, {**api, "port": 22, "description": "Allow SSH from anywhere"})
    created = provider.create(inputs)
    assert created.outs["pre_existing"] is True and client.get_firewall_rules() == [SSH_RULE]
    provider.delete(created.id, created.outs)
    assert client.get_firewall_rules() == [SSH_RULE]


def test_firewall_diff_and_defaults(api):
    provider = FirewallRuleProvider()
    inputs = _checked(provider, {**api, "port": 8000})
    assert inputs["description"] == "orchestra: tcp port 8000"
    assert provider.diff("x", inputs, {**inputs, "port": 9000}).replaces == ["port"]
    assert provider.diff("x", inputs, {**inputs, "api_key": "new"}).replaces == []
    failures = provider.check({}, {**api, "port": 70000, "protocol": "icmp", "source_network": "nowhere"}).failures
    assert {f.property for f in failures} == {"port", "protocol", "source_network"}
