"""InstanceProvider methods called directly, as the dynamic provider host calls them, against the emulator."""

from __future__ import annotations

import threading
import time

import pytest
from pulumi.runtime.rpc import UNKNOWN

from infra.lambda_cloud import InstanceNotActive, InsufficientCapacity, InvalidApiKey, InvalidInput
from infra.lambda_dynamic import InstanceProvider
from tests.support.lambda_keys import CANARY, PUBLIC_KEY


@pytest.fixture
def provider():
    return InstanceProvider()


@pytest.fixture
def inputs(emulator, client):
    client.add_ssh_key("orchestra", PUBLIC_KEY)
    raw = {"__provider": "serialized", "api_key": CANARY, "api_url": emulator.base_url,
           "instance_type_name": "gpu_1x_a10", "region_name": "us-east-1", "ssh_key_names": ["orchestra"],
           "name": "orchestra-backend", "user_data": "#cloud-config\n", "tags": {"project": "orchestra"},
           "active_timeout_seconds": 10, "poll_interval_seconds": 0.05}
    result = InstanceProvider().check({}, raw)
    assert result.failures == []
    return result.inputs


def test_create_waits_for_active_and_reports_the_instance(provider, inputs, client):
    created = provider.create(inputs)
    outs = created.outs
    assert (outs["status"], outs["ip"], outs["private_ip"]) == ("active", "127.0.0.1", "10.0.0.2")
    assert outs["hostname"] == f"lambda-{created.id[:12]}" and outs["launched_region"] == "us-east-1"
    assert outs["name"] == "orchestra-backend" and outs["instance_type_name"] == "gpu_1x_a10"
    assert "__provider" not in outs  # the host adds it back itself
    live = client.get_instance(created.id)
    assert live.tags == {"project": "orchestra"} and live.ssh_key_names == ("orchestra",)


def test_read_update_rename_delete(provider, inputs, client, admin):
    created = provider.create(inputs)
    state = {**inputs, **created.outs}
    read = provider.read(created.id, state)
    assert read.id == created.id and read.outs["status"] == "active"

    renamed = {**inputs, "name": "renamed"}
    diff = provider.diff(created.id, state, renamed)
    assert diff.changes and diff.replaces == []
    updated = provider.update(created.id, state, renamed)
    assert updated.outs["name"] == "renamed" and updated.outs["ip"] == "127.0.0.1"
    assert client.get_instance(created.id).name == "renamed"

    provider.delete(created.id, {**state, **updated.outs})
    assert admin.live_instances() == []
    provider.delete(created.id, state)  # twice: already terminated is success


def test_diff_replaces_on_what_lambda_cannot_change_new_instance_first(provider, inputs):
    for prop, value in [("instance_type_name", "gpu_1x_a100_sxm4"), ("region_name", "us-west-1"),
                        ("ssh_key_names", ["other"]), ("ssh_key_ids", ["new-key-id"]), ("file_system_names", ["fs"]),
                        ("user_data", "#cloud-config\nruncmd: []\n"), ("tags", {"project": "x"})]:
        diff = provider.diff("i", {**inputs, "ssh_key_ids": ["old-key-id"]}, {**inputs, "ssh_key_ids": ["old-key-id"], prop: value})
        # Create before delete: a failed launch of the replacement leaves the old instance running.
        assert diff.replaces == [prop] and not diff.delete_before_replace, prop
    assert provider.diff("i", inputs, {**inputs, "ssh_key_ids": ["k"]}).changes is False  # state from before ssh_key_ids
    assert provider.diff("i", inputs, {**inputs, "instance_type_name": UNKNOWN}).replaces == ["instance_type_name"]


def test_diff_new_key_alone_is_an_update_that_only_stores_it(provider, inputs, admin):
    rotated = {**inputs, "api_key": CANARY + "-rotated"}
    diff = provider.diff("i", inputs, rotated)
    assert diff.changes and diff.replaces == []
    assert provider.diff("i", inputs, dict(inputs)).changes is False
    before = len(admin.requests())
    outs = provider.update("i", {**inputs, "ip": "127.0.0.1"}, rotated).outs
    assert outs["api_key"] == rotated["api_key"] and outs["ip"] == "127.0.0.1"
    assert len(admin.requests()) == before  # nothing sent


def test_refresh_reports_terminated_preempted_and_unknown_instances_gone(provider, inputs, admin):
    first, second = provider.create(inputs), provider.create(inputs)
    admin.terminate(first.id)
    admin.preempt(second.id)
    for instance_id in (first.id, second.id, "f" * 32):
        gone = provider.read(instance_id, inputs)
        assert (gone.id, gone.outs) == ("", {})  # empty id: the engine drops it from state
    provider.delete(first.id, inputs)
    provider.delete("f" * 32, inputs)


def test_no_capacity_names_the_regions_that_have_it(provider, inputs, admin):
    with pytest.raises(InsufficientCapacity) as error:
        provider.create({**inputs, "instance_type_name": "gpu_1x_a100_sxm4"})
    assert "us-west-1" in str(error.value) and error.value.regions_with_capacity == ("us-west-1",)
    with pytest.raises(InsufficientCapacity) as none:
        provider.create({**inputs, "instance_type_name": "gpu_8x_h100_sxm5"})
    assert "regions with capacity now: none" in str(none.value)
    assert not [r for r in admin.requests() if r["path"].endswith("/launch")]  # checked before launching


def test_fallback_regions_are_tried_in_order(provider, inputs):
    created = provider.create({**inputs, "instance_type_name": "gpu_1x_a100_sxm4",
                               "fallback_regions": ["us-west-2", "us-west-1"]})
    assert created.outs["launched_region"] == "us-west-1" and created.outs["region_name"] == "us-east-1"


def test_boot_that_never_ends_is_terminated_and_named(provider, inputs, admin):
    admin.config(never_active=True)
    with pytest.raises(InstanceNotActive) as error:
        provider.create({**inputs, "active_timeout_seconds": 0.3})
    instance_id = error.value.instance_id
    assert instance_id in str(error.value) and "terminated it, nothing is left running" in str(error.value)
    assert error.value.terminated and error.value.last_status == "booting"
    assert admin.live_instances() == []


def test_keep_on_timeout_leaves_it_running_and_says_so(provider, inputs, admin):
    admin.config(never_active=True)
    with pytest.raises(InstanceNotActive) as error:
        provider.create({**inputs, "active_timeout_seconds": 0.2, "keep_on_timeout": True})
    assert "kept running" in str(error.value) and not error.value.terminated
    assert [i["id"] for i in admin.live_instances()] == [error.value.instance_id]


def test_preempted_while_booting_is_a_clear_error(provider, inputs, admin):
    admin.config(never_active=True)

    def preempt_once_launched():
        while not (live := admin.live_instances()):
            time.sleep(0.01)
        admin.preempt(live[0]["id"])

    preemptor = threading.Thread(target=preempt_once_launched)
    preemptor.start()
    with pytest.raises(InstanceNotActive) as error:
        provider.create(inputs)  # polls every 0.05 s for up to 10 s
    preemptor.join()
    assert "became preempted while booting" in str(error.value) and error.value.last_status == "preempted"


def test_invalid_key_fails_create_without_echoing_it(provider, inputs):
    wrong = CANARY + "-wrong"
    with pytest.raises(InvalidApiKey) as error:
        provider.create({**inputs, "api_key": wrong})
    assert wrong not in str(error.value) and CANARY not in str(error.value)


def test_unknown_instance_type_is_refused_by_name(provider, inputs):
    with pytest.raises(InvalidInput) as error:
        provider.create({**inputs, "instance_type_name": "gpu_1x_unobtainium"})
    assert "gpu_1x_unobtainium" in str(error.value) and "gpu_1x_a10" in str(error.value)


def test_check_names_each_bad_input(provider):
    result = provider.check({}, {
        "api_key": "", "api_url": "ftp://x", "instance_type_name": "gpu_1x_a10", "region_name": "mars-1",
        "ssh_key_names": ["a", "b"], "name": "n" * 65, "tags": {"Bad Key": "v"},
        "fallback_regions": ["us-west-1", "atlantis-1"], "active_timeout_seconds": 0, "keep_on_timeout": "yes",
    })
    failed = {f.property for f in result.failures}
    assert failed == {"api_key", "api_url", "region_name", "ssh_key_names", "name", "tags", "fallback_regions",
                      "active_timeout_seconds", "keep_on_timeout"}
    assert all(f.property in f.reason for f in result.failures if f.property != "tags")


def test_check_fills_defaults_and_skips_unknown_values(provider):
    result = provider.check({}, {"api_key": UNKNOWN, "api_url": "http://127.0.0.1:1", "instance_type_name": UNKNOWN,
                                 "region_name": "us-east-1", "ssh_key_names": [UNKNOWN], "user_data": UNKNOWN})
    assert result.failures == []
    assert result.inputs["active_timeout_seconds"] == 900 and result.inputs["keep_on_timeout"] is False
