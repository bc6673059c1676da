"""Lambda Cloud: verdicts from the error envelope's `code`, and the running-instance count."""

from __future__ import annotations

from secrets_bridge.verify import ApiUrls, verify_all_sync
from tests.support.verify_apis import CANARY, LAMBDA_INSTANCES, LAMBDA_TYPES, FakeApi, Route, lambda_error

KEY = "LAMBDA_API_KEY"


def verify(api: FakeApi):
    [result] = verify_all_sync({KEY: CANARY[KEY]}, urls=ApiUrls(lambda_cloud=api.url), timeout=5, lambda_pace_s=0)
    return result


def test_account_inactive_is_invalid_with_an_account_recommendation():
    with FakeApi({"/api/v1/instance-types": Route(403, lambda_error("global/account-inactive"))}) as api:
        result = verify(api)
    assert result.verdict == "invalid"
    assert result.error_code == "global/account-inactive"
    assert "payment method" in result.recommendation
    assert [s.path for s in api.seen] == ["/api/v1/instance-types"]


def test_verdict_follows_the_code_not_the_message():
    body = {"error": {"code": "provider/internal-unavailable", "message": "API key was invalid", "suggestion": "s"}}
    with FakeApi({"/api/v1/instance-types": Route(503, body)}) as api:
        result = verify(api)
    assert result.verdict == "unknown"
    assert result.error_code == "provider/internal-unavailable"


def test_running_instances_are_active_and_booting_with_their_ip():
    with FakeApi({"/api/v1/instance-types": Route(body=LAMBDA_TYPES),
                  "/api/v1/instances": Route(body=LAMBDA_INSTANCES)}) as api:
        result = verify(api)
    assert result.verdict == "valid"
    assert result.extra["instance_types"] == 1
    running = result.extra["running_instances"]
    assert [(i["id"], i["ip"]) for i in running] == [("i-active", "198.51.100.2"), ("i-boot", "198.51.100.3")]
    assert "2 instance(s) running or booting" in result.detail
    assert [s.path for s in api.seen] == ["/api/v1/instance-types", "/api/v1/instances"]
    assert all(s.headers["authorization"] == f"Bearer {CANARY[KEY]}" for s in api.seen)


def test_a_failing_instance_list_leaves_the_key_valid():
    with FakeApi({"/api/v1/instance-types": Route(body=LAMBDA_TYPES),
                  "/api/v1/instances": Route(429, lambda_error("global/too-many-requests"))}) as api:
        result = verify(api)
    assert result.verdict == "valid"
    assert result.extra["running_instances"] is None
    assert "not counted (HTTP 429)" in result.detail


def test_data_that_is_not_an_object_is_unknown():
    with FakeApi({"/api/v1/instance-types": Route(body={"data": []})}) as api:
        result = verify(api)
    assert result.verdict == "unknown"
