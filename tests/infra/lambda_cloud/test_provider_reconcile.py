"""Launch reconciliation, boot wait and the check against /instance-types, called as the provider
host calls them, against the emulator; the emulator's request log is the evidence of launches."""

from __future__ import annotations

import pytest

from infra.lambda_cloud import InstanceNotActive, InstanceUnhealthy, LambdaClient, LaunchReplyWithoutId, ServerError
from infra.lambda_cloud.catalog import LAUNCH_PATH
from infra.lambda_cloud.reconcile import LAUNCHED_AT_TAG, TOKEN_TAG, find_orphans, launch_tags, resource_key
from infra.lambda_dynamic import InstanceProvider
from tests.support.lambda_keys import CANARY, PUBLIC_KEY
from tests.support.loopback import FakeApi, Route


@pytest.fixture
def provider():
    return InstanceProvider()


@pytest.fixture
def inputs(emulator, client, provider):
    client.add_ssh_key("orchestra", PUBLIC_KEY)
    raw = {"api_key": CANARY, "api_url": emulator.base_url, "instance_type_name": "gpu_1x_a10",
           "region_name": "us-east-1", "ssh_key_names": ["orchestra"], "name": "orchestra-backend",
           "tags": {"project": "orchestra", "stack": "test"}, "active_timeout_seconds": 10,
           "poll_interval_seconds": 0.05, "unhealthy_grace_seconds": 0.3,
           "launch_key": resource_key("orchestra", "test", "backend-instance")}
    result = provider.check({}, raw)
    assert result.failures == []
    return result.inputs


def launches(admin) -> list[int]:
    return [r["status"] for r in admin.requests() if r["method"] == "POST" and r["path"] == LAUNCH_PATH]


def test_every_launch_carries_its_token_and_launch_time(provider, inputs, client):
    created = provider.create(inputs)
    tags = client.get_instance(created.id).tags
    assert tags[TOKEN_TAG] == inputs["launch_token"] and tags["project"] == "orchestra"
    assert float(tags[LAUNCHED_AT_TAG]) > 0


def test_the_token_changes_with_what_replaces_the_instance_and_only_with_it(provider, inputs):
    again = provider.check({}, {**inputs, "launch_token": None}).inputs["launch_token"]
    renamed = provider.check({}, {**inputs, "name": "other", "launch_token": None}).inputs["launch_token"]
    retyped = provider.check({}, {**inputs, "instance_type_name": "gpu_1x_a100_sxm4", "region_name": "us-west-1",
                                  "launch_token": None}).inputs["launch_token"]
    assert again == renamed == inputs["launch_token"] != retyped


def test_a_create_run_again_adopts_the_instance_its_token_launched(provider, inputs, client, admin):
    # What an interrupted run leaves: launched with this token, never recorded in state.
    [first] = client.launch(region_name="us-east-1", instance_type_name="gpu_1x_a10", ssh_key_names=["orchestra"],
                            name="orchestra-backend", tags=launch_tags(inputs["launch_token"], inputs["tags"]))
    created = provider.create(inputs)
    assert created.id == first and created.outs["status"] == "active"
    assert launches(admin) == [200] and [i["id"] for i in admin.live_instances()] == [first]


def test_same_token_under_another_name_is_not_adopted(provider, inputs, client, admin):
    client.launch(region_name="us-east-1", instance_type_name="gpu_1x_a10", ssh_key_names=["orchestra"],
                  name="someone-else", tags=launch_tags(inputs["launch_token"], {}))
    created = provider.create(inputs)
    assert created.outs["name"] == "orchestra-backend" and len(admin.live_instances()) == 2


@pytest.mark.parametrize("fault", [{"kind": "error"}, {"kind": "drop"}, {"kind": "slow", "seconds": 2.0}],
                         ids=["500-after-launch", "reply-dropped", "reply-timeout"])
def test_a_launch_whose_reply_is_lost_is_adopted_not_repeated(provider, inputs, admin, monkeypatch, fault):
    monkeypatch.setenv("ORCHESTRA_LAMBDA_TIMEOUT_SECONDS", "0.5")
    admin.config(reply_faults=[{**fault, "method": "POST", "path": LAUNCH_PATH}])
    created = provider.create(inputs)
    assert created.outs["status"] == "active"
    assert len(launches(admin)) == 1 and [i["id"] for i in admin.live_instances()] == [created.id]


def test_a_launch_refused_before_it_ran_launches_nothing_and_says_where_to_look(provider, inputs, admin):
    admin.config(fail_next={"count": 1, "kind": "internal", "path": LAUNCH_PATH})
    with pytest.raises(ServerError) as failed:
        provider.create(inputs)
    assert inputs["launch_token"] in str(failed.value) and "next `up` adopts it" in str(failed.value)
    assert admin.live_instances() == [] and launches(admin) == [500]


def test_poll_errors_during_boot_are_waited_out_until_the_deadline(provider, inputs, admin):
    admin.config(boot_seconds=0.3, reply_faults=[{"kind": "drop", "method": "GET", "path": "/api/v1/instances/",
                                                  "count": 8}])
    created = provider.create(inputs)
    assert created.outs["status"] == "active" and len(admin.live_instances()) == 1


def test_an_api_that_stays_down_fails_at_the_deadline_naming_the_last_error(provider, inputs, admin):
    admin.config(reply_faults=[{"kind": "drop", "method": "GET", "path": "/api/v1/instances/", "count": 10_000}])
    with pytest.raises(InstanceNotActive) as failed:
        provider.create({**inputs, "active_timeout_seconds": 1})
    assert "the last poll failed" in str(failed.value) and failed.value.terminated
    assert admin.live_instances() == []


def test_unhealthy_fails_after_its_grace_with_its_own_error_and_is_terminated(provider, inputs, admin):
    admin.config(boot_seconds=0, boot_result="unhealthy")
    with pytest.raises(InstanceNotActive) as failed:
        provider.create(inputs)
    assert "unhealthy" in str(failed.value) and "terminated it" in str(failed.value)
    assert admin.live_instances() == []


def test_unhealthy_is_its_own_class():
    assert issubclass(InstanceUnhealthy, InstanceNotActive)


def test_check_refuses_a_type_the_account_is_not_offered_before_any_launch(provider, inputs, admin):
    types_asked = sum(r["path"] == "/api/v1/instance-types" for r in admin.requests())
    result = provider.check({}, {**inputs, "instance_type_name": "gpu_1x_a6000", "launch_token": None})
    [failure] = result.failures
    assert failure.property == "instance_type_name" and "gpu_1x_a10" in failure.reason
    assert launches(admin) == []
    # One /instance-types per run: the fixture's check asked, this one used the answer.
    assert sum(r["path"] == "/api/v1/instance-types" for r in admin.requests()) == types_asked == 1


def test_check_says_which_regions_have_capacity(provider, inputs, admin, monkeypatch):
    admin.config(capacity={"gpu_1x_a10": {"us-west-1": 1}})
    monkeypatch.setattr("infra.lambda_dynamic.instance._OFFERS", {})  # a new run: the fixture's check cached offers
    [failure] = provider.check({}, {**inputs, "launch_token": None}).failures
    assert failure.property == "region_name" and "regions with capacity now: us-west-1" in failure.reason


def test_check_of_an_unchanged_instance_asks_the_api_nothing(provider, inputs, admin):
    before = len(admin.requests())
    admin.config(capacity={})
    assert provider.check(inputs, {**inputs, "launch_token": None}).failures == []
    assert len(admin.requests()) == before


def test_a_launch_reply_without_an_id_is_a_typed_error():
    with FakeApi({"POST /api/v1/instance-operations/launch": Route(200, {"data": {}})}) as api, \
            LambdaClient(CANARY, api.url, pace=False) as client:
        with pytest.raises(LaunchReplyWithoutId, match="may have been launched"):
            client.launch(region_name="us-east-1", instance_type_name="gpu_1x_a10", ssh_key_names=["k"])


def test_orphans_are_this_stacks_live_instances_its_state_does_not_track(provider, inputs, client):
    tracked = provider.create(inputs).id
    tags = launch_tags("other-token", {"project": "orchestra", "stack": "test"}, now=1_000_000.0)
    [orphan_id] = client.launch(region_name="us-east-1", instance_type_name="gpu_1x_a10", ssh_key_names=["orchestra"],
                                name="left-behind", tags=tags)
    client.launch(region_name="us-west-1", instance_type_name="gpu_1x_a10", ssh_key_names=["orchestra"],
                  tags={"project": "orchestra", "stack": "other-stack"})
    [orphan] = find_orphans(client, project="orchestra", stack="test", tracked_ids=[tracked], now=1_000_000.0 + 7200)
    assert (orphan.id, orphan.name, orphan.instance_type, orphan.region) == (orphan_id, "left-behind", "gpu_1x_a10", "us-east-1")
    assert orphan.age_s == 7200 and orphan.cost_usd == 1.5  # 75 cents an hour for two hours
