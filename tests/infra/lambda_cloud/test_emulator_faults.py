"""The emulator refuses what the spec's schemas refuse (values of the wrong JSON type used to crash
a handler or be echoed back), and produces the states and faults the fault matrix needs."""

from __future__ import annotations

import httpx
import pytest

from infra.lambda_cloud import ApiUnavailable, LambdaClient, ServerError
from infra.lambda_cloud.catalog import LAUNCH_PATH
from tests.support.lambda_keys import CANARY, PUBLIC_KEY

HEADERS = {"Authorization": f"Bearer {CANARY}"}
LAUNCH = {"region_name": "us-east-1", "instance_type_name": "gpu_1x_a10", "ssh_key_names": ["k"]}
RULE = {"protocol": "tcp", "port_range": [22, 22], "source_network": "0.0.0.0/0", "description": "ssh"}


@pytest.mark.parametrize(("path", "method", "body"), [
    (LAUNCH_PATH, "POST", {**LAUNCH, "region_name": 7}),
    (LAUNCH_PATH, "POST", {**LAUNCH, "region_name": ["us-east-1"]}),
    ("/api/v1/firewall-rules", "PUT", {"data": [{**RULE, "source_network": False}]}),
    ("/api/v1/firewall-rules", "PUT", {"data": [{**RULE, "port_range": [True, 22]}]}),
    ("/api/v1/ssh-keys", "POST", {"name": "k2", "public_key": None}),
], ids=["region-int", "region-list", "source-false", "port-true", "public-key-null"])
def test_wrong_json_types_are_400_invalid_parameters_and_change_nothing(emulator, admin, path, method, body):
    before = admin.state()
    response = httpx.request(method, emulator.base_url + path, json=body, headers=HEADERS)
    assert response.status_code == 400 and response.json()["error"]["code"] == "global/invalid-parameters"
    assert admin.state() == before


def test_an_instance_can_boot_into_unhealthy(client, admin):
    client.add_ssh_key("k", PUBLIC_KEY)
    admin.config(boot_seconds=0, boot_result="unhealthy")
    [instance_id] = client.launch(**LAUNCH)
    assert client.get_instance(instance_id).status == "unhealthy"
    assert [i["id"] for i in admin.live_instances()] == [instance_id]  # billed all the same


def test_a_launch_answered_500_was_carried_out(client, admin):
    client.add_ssh_key("k", PUBLIC_KEY)
    admin.config(reply_faults=[{"kind": "error", "method": "POST", "path": LAUNCH_PATH}])
    with pytest.raises(ServerError):
        client.launch(**LAUNCH)
    assert len(admin.live_instances()) == 1
    assert [r["status"] for r in admin.launches()] == [500]
    client.launch(**LAUNCH)  # the fault was used up
    assert len(admin.live_instances()) == 2


def test_a_dropped_or_slow_reply_fails_the_client_yet_the_launch_happened(emulator, client, admin):
    client.add_ssh_key("k", PUBLIC_KEY)
    admin.config(reply_faults=[{"kind": "drop", "method": "POST", "path": LAUNCH_PATH},
                               {"kind": "slow", "seconds": 1.0, "method": "POST", "path": LAUNCH_PATH}])
    with pytest.raises(ApiUnavailable):
        client.launch(**LAUNCH)
    with LambdaClient(CANARY, emulator.base_url, pace=False, timeout=0.3) as impatient, pytest.raises(ApiUnavailable):
        impatient.launch(**LAUNCH)
    assert len(admin.live_instances()) == 2 and len(admin.launches()) == 2


def test_capacity_can_change_between_two_calls(client, admin):
    assert "us-east-1" in client.instance_types()["gpu_1x_a10"].regions_with_capacity
    admin.config(capacity={"gpu_1x_a10": {"us-west-1": 1}})
    assert client.instance_types()["gpu_1x_a10"].regions_with_capacity == ("us-west-1",)
