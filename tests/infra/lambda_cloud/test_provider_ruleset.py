"""FirewallRulesetProvider and the instance's ruleset attachment, called as the provider host calls them."""

from __future__ import annotations

import pytest

from infra.lambda_cloud import FirewallRule, ResourceInUse
from infra.lambda_dynamic import FirewallRulesetProvider, InstanceProvider
from tests.support.lambda_keys import CANARY, PUBLIC_KEY


@pytest.fixture
def provider():
    return FirewallRulesetProvider()


@pytest.fixture
def inputs(emulator, provider):
    raw = {"api_key": CANARY, "api_url": emulator.base_url, "name": "backend-us-west-1", "region": "us-west-1",
           "rules": [{"port": 8000.0, "description": "backend"}, {"port": 22}]}
    result = provider.check({}, raw)
    assert result.failures == []
    return result.inputs


def test_check_fills_each_rule_and_refuses_regions_without_firewall(provider, inputs):
    assert inputs["rules"] == [
        {"protocol": "tcp", "port": 8000, "source_network": "0.0.0.0/0", "description": "backend"},
        {"protocol": "tcp", "port": 22, "source_network": "0.0.0.0/0", "description": ""}]
    [failure] = provider.check({}, {**inputs, "region": "us-south-1"}).failures
    assert failure.property == "region" and "do not apply in us-south-1" in failure.reason
    [failure] = provider.check({}, {**inputs, "rules": [{"port": 70000}]}).failures
    assert failure.reason.startswith("rules[0].port:")


def test_create_read_update_delete_and_drift(provider, inputs, client):
    created = provider.create(inputs)
    [ruleset] = client.list_firewall_rulesets()
    assert ruleset.id == created.id and ruleset.region == "us-west-1"
    assert [r.port_range for r in ruleset.rules] == [(8000, 8000), (22, 22)]
    assert provider.read(created.id, created.outs).outs["rules"] == inputs["rules"]  # no drift

    client.update_firewall_ruleset(created.id, rules=[FirewallRule("tcp", (1, 65535), "0.0.0.0/0", "all of it")])
    drifted = provider.read(created.id, created.outs).outs
    assert drifted["rules"] == [{"protocol": "tcp", "port": [1, 65535], "source_network": "0.0.0.0/0",
                                 "description": "all of it"}]
    assert provider.diff(created.id, drifted, inputs).changes and provider.diff(created.id, drifted, inputs).replaces == []
    provider.update(created.id, drifted, inputs)
    assert [r.port_range for r in client.get_firewall_ruleset(created.id).rules] == [(8000, 8000), (22, 22)]

    assert provider.diff(created.id, inputs, {**inputs, "region": "us-east-1"}).replaces == ["region"]
    provider.delete(created.id, inputs)
    assert client.list_firewall_rulesets() == []
    provider.delete(created.id, inputs)  # twice: already gone is success
    assert provider.read(created.id, inputs).id == ""


def test_the_instance_launches_with_the_ruleset_of_the_region_it_lands_in(provider, inputs, client, admin, emulator):
    west = provider.create(inputs).id
    east = provider.create({**inputs, "region": "us-east-1", "name": "backend-us-east-1"}).id
    client.add_ssh_key("k", PUBLIC_KEY)
    admin.config(capacity={"gpu_1x_a10": {"us-west-1": 1}})  # the primary region is full: the fallback is used
    instance = InstanceProvider()
    checked = instance.check({}, {"api_key": CANARY, "api_url": emulator.base_url, "instance_type_name": "gpu_1x_a10",
                                  "region_name": "us-east-1", "fallback_regions": ["us-west-1"], "ssh_key_names": ["k"],
                                  "firewall_ruleset_ids": {"us-east-1": east, "us-west-1": west},
                                  "poll_interval_seconds": 0.05}).inputs
    created = instance.create(checked)
    assert created.outs["launched_region"] == "us-west-1"
    assert client.get_instance(created.id).firewall_ruleset_ids == (west,)
    with pytest.raises(ResourceInUse):
        provider.delete(west, inputs)  # the engine deletes the instance first; the API refuses otherwise
