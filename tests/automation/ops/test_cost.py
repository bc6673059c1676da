"""Cost figures: launch time from the exported state, price × uptime, orphans, over a loopback Lambda API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from automation.cost import cost_of, format_duration, launch_times, stack_costs
from infra.lambda_cloud import LambdaClient
from tests.support.loopback import FakeApi, Route

LAUNCHED = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
KEY = "secret_costtest.abcdefghijklmnopqrstuvwxyz012345"
TYPES = {"data": {"gpu_1x_a10": {"instance_type": {"name": "gpu_1x_a10", "description": "1x A10", "gpu_description": "A10 (24 GB PCIe)",
                                                   "price_cents_per_hour": 75, "specs": {}},
                                 "regions_with_capacity_available": []}}}


def _instance(instance_id: str, stack: str = "production", launched: datetime | None = None) -> dict:
    tags = [{"key": "project", "value": "orchestra"}, {"key": "stack", "value": stack}]
    if launched:
        tags.append({"key": "orchestra-launched-at", "value": str(int(launched.timestamp()))})
    return {"id": instance_id, "status": "active", "region": {"name": "us-east-1", "description": "Virginia, USA"},
            "instance_type": {"name": "gpu_1x_a10"}, "tags": tags}


def test_launch_time_is_the_created_time_the_engine_recorded_for_the_instance():
    state = {"deployment": {"resources": [
        {"urn": "urn:pulumi:p::o::pulumi:pulumi:Stack::o-p", "type": "pulumi:pulumi:Stack", "created": "2026-12-01T17:00:00Z"},
        {"urn": "urn:...$pulumi-python:dynamic/orchestra:LambdaInstance::orchestra-backend-instance",
         "type": "pulumi-python:dynamic/orchestra:LambdaInstance", "id": "i-1", "created": "2026-12-01T18:00:00.5Z"}]}}
    assert launch_times(json.dumps(state)) == {"i-1": LAUNCHED + timedelta(seconds=0.5)}
    assert launch_times("not json") == {}


def test_cost_is_price_times_uptime_from_the_launch_tag_and_orphans_are_priced_too():
    now = LAUNCHED + timedelta(hours=2, minutes=30)
    tagged, untagged = _instance("i-1", launched=LAUNCHED), _instance("i-2")
    orphan = _instance("i-orphan", launched=LAUNCHED + timedelta(hours=2))
    routes = {"/api/v1/instance-types": Route(200, TYPES), "/api/v1/instances/i-1": Route(200, {"data": tagged}),
              "/api/v1/instances/i-2": Route(200, {"data": untagged}),
              "/api/v1/instances": Route(200, {"data": [tagged, untagged, orphan, _instance("i-other", "staging")]})}
    recorded = {"i-1": LAUNCHED + timedelta(minutes=5), "i-2": LAUNCHED + timedelta(hours=1)}   # the engine's created times
    with FakeApi(routes) as api, LambdaClient(KEY, api.url, pace=False) as client:
        first, second, lost = stack_costs(client, "production", ["i-1", "i-2"], recorded, now)
    assert (first.instance_type, first.region, first.gpu_description, first.price_cents_per_hour) == ("gpu_1x_a10", "us-east-1", "A10 (24 GB PCIe)", 75)
    assert (first.launched_from, first.uptime_s, first.cost_usd) == ("launch", 9000, cost_of(75, 9000)) and first.cost_usd == 1.875
    assert first.line() == "i-1 gpu_1x_a10 (A10 (24 GB PCIe)) in us-east-1: $0.75/h, up 2h 30m, $1.88 so far"
    assert (second.launched_from, second.uptime_s) == ("state", 5400)          # no tag: the engine's record, a lower bound
    assert lost.orphan and lost.instance_id == "i-orphan" and (lost.uptime_s, lost.cost_usd) == (1800, cost_of(75, 1800))
    assert lost.line().startswith("orphan i-orphan gpu_1x_a10")
    assert all(seen.headers["authorization"] == f"Bearer {KEY}" for seen in api.seen)


def test_durations_read_like_a_person_would_say_them():
    assert [format_duration(s) for s in (42, 61, 3600 * 5 + 60 * 7, 86400 * 3 + 3600 * 4)] == ["0m 42s", "1m 01s", "5h 07m", "3d 04h"]
