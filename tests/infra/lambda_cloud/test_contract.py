"""Every operation the client uses, checked against the OpenAPI contract in both directions."""

from __future__ import annotations

import pytest

from infra.lambda_cloud import FirewallRule, InsufficientCapacity, InvalidApiKey, LambdaClient, NotFound, ResourceInUse
from tests.support.lambda_keys import PUBLIC_KEY

OPERATIONS = {
    ("GET", "/api/v1/instance-types"), ("GET", "/api/v1/instances"), ("GET", "/api/v1/instances/{id}"),
    ("POST", "/api/v1/instances/{id}"), ("POST", "/api/v1/instance-operations/launch"),
    ("POST", "/api/v1/instance-operations/terminate"), ("GET", "/api/v1/ssh-keys"), ("POST", "/api/v1/ssh-keys"),
    ("DELETE", "/api/v1/ssh-keys/{id}"), ("GET", "/api/v1/firewall-rules"), ("PUT", "/api/v1/firewall-rules"),
    ("GET", "/api/v1/firewall-rulesets"), ("POST", "/api/v1/firewall-rulesets"), ("GET", "/api/v1/firewall-rulesets/{id}"),
    ("PATCH", "/api/v1/firewall-rulesets/{id}"), ("DELETE", "/api/v1/firewall-rulesets/{id}"),
}


def _template(path: str, ids: set[str]) -> str:
    head, _, tail = path.rpartition("/")
    return f"{head}/{{id}}" if tail in ids else path


def test_every_operation_validates_against_the_spec(emulator, client, admin, contract):
    client.instance_types()
    generated = client.add_ssh_key("generated")
    uploaded = client.add_ssh_key("uploaded", PUBLIC_KEY)
    ruleset = client.create_firewall_ruleset("backend", "us-east-1", [FirewallRule("tcp", (8000, 8000), "0.0.0.0/0", "b")])
    [instance_id] = client.launch(region_name="us-east-1", instance_type_name="gpu_1x_a10",
                                  ssh_key_names=["uploaded"], name="n", user_data="#cloud-config\n",
                                  tags={"project": "orchestra", "app:role": "backend"}, firewall_ruleset_ids=[ruleset.id])
    assert client.get_instance(instance_id).firewall_ruleset_ids == (ruleset.id,)
    assert client.get_firewall_ruleset(ruleset.id).instance_ids == (instance_id,)
    client.update_firewall_ruleset(ruleset.id, rules=[FirewallRule("tcp", (22, 22), "0.0.0.0/0", "ssh")])
    assert [r.name for r in client.list_firewall_rulesets()] == ["backend"]
    with pytest.raises(ResourceInUse):
        client.delete_firewall_ruleset(ruleset.id)
    admin.config(boot_seconds=0)
    client.list_instances()
    client.rename(instance_id, "renamed")
    client.put_firewall_rules([*client.get_firewall_rules(), FirewallRule("tcp", (8000, 8000), "0.0.0.0/0", "b")])
    client.terminate([instance_id])
    client.get_instance(instance_id)          # a terminated instance, as the spec's Instance
    client.delete_firewall_ruleset(ruleset.id)
    with pytest.raises(NotFound):
        client.get_firewall_ruleset(ruleset.id)
    with pytest.raises(InsufficientCapacity):
        client.launch(region_name="us-east-1", instance_type_name="gpu_8x_h100_sxm5", ssh_key_names=["uploaded"])
    client.list_ssh_keys()
    client.delete_ssh_key(generated.id)
    client.delete_ssh_key(uploaded.id)
    with pytest.raises(NotFound):
        client.get_instance("0" * 32)
    with pytest.raises(NotFound):
        client.terminate(["0" * 32])
    with LambdaClient("wrong-key", emulator.base_url, pace=False) as stranger, pytest.raises(InvalidApiKey):
        stranger.list_ssh_keys()

    assert contract.violations == []
    ids = {instance_id, generated.id, uploaded.id, ruleset.id, "0" * 32}
    covered = {(method, _template(path, ids)) for method, path, status in contract.validated if status == 200}
    assert covered == OPERATIONS
    statuses = {status for _, _, status in contract.validated}
    assert {200, 400, 401, 404} <= statuses
