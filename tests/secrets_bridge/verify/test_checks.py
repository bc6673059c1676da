"""Every API through `verify_all`, against real loopback servers: the verdict for each
way an API can answer (or not answer)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from secrets_bridge.verify import ApiUrls, checks, verify_all_sync
from tests.support.verify_apis import CANARY, URL_FIELD, VALID_ROUTES, FakeApi, Route, refused_url

NAMES = list(VALID_ROUTES)


def verify_one(name: str, base_url: str, *, timeout: float = 5.0, value: str | None = None):
    urls = ApiUrls(**{URL_FIELD[name]: base_url})
    [result] = verify_all_sync({name: value or CANARY[name]}, urls=urls, timeout=timeout, lambda_pace_s=0)
    return result


def broken(name: str, route: Route) -> dict[str, Route]:
    path, routes = VALID_ROUTES[name]
    return {**routes, path: route}


@pytest.mark.parametrize("name", NAMES)
def test_valid_key_sends_it_the_documented_way(name):
    path, routes = VALID_ROUTES[name]
    with FakeApi(routes) as api:
        result = verify_one(name, api.url)
    assert result.verdict == "valid", result
    assert result.http_status == 200 and result.latency_ms is not None
    first = api.seen[0]
    assert first.path == path
    if name == "PORTKEY_API_KEY":
        assert first.headers["x-portkey-api-key"] == CANARY[name]
        assert "authorization" not in first.headers
    else:
        assert first.headers["authorization"] == f"Bearer {CANARY[name]}"


@pytest.mark.parametrize("name", NAMES)
def test_401_is_invalid_and_says_where_to_get_a_new_key(name):
    from secrets_bridge.catalog import get_spec

    with FakeApi(broken(name, Route(401, {"error": {"code": "global/invalid-api-key", "message": "m"}}))) as api:
        result = verify_one(name, api.url)
    assert result.verdict == "invalid"
    assert result.http_status == 401
    assert result.error_code == "global/invalid-api-key"
    assert get_spec(name).url in result.recommendation


@pytest.mark.parametrize("name", NAMES)
def test_slow_server_is_unknown_not_invalid(name):
    with FakeApi(broken(name, Route(200, {}, delay_s=10))) as api:
        result = verify_one(name, api.url, timeout=0.5)
    assert result.verdict == "unknown"
    assert "0.5 s" in result.detail
    assert "retry" in result.recommendation.lower()


@pytest.mark.parametrize("name", NAMES)
def test_429_is_unknown_and_recommends_retry_after(name):
    with FakeApi(broken(name, Route(429, {"error": {"code": "rate_limited"}}, headers={"Retry-After": "17"}))) as api:
        result = verify_one(name, api.url)
    assert result.verdict == "unknown"
    assert result.http_status == 429
    assert "retry after 17 s" in result.recommendation
    assert result.extra["retry_after_s"] == 17


@pytest.mark.parametrize("name", NAMES)
def test_500_is_unknown(name):
    with FakeApi(broken(name, Route(500, "Internal Server Error"))) as api:
        result = verify_one(name, api.url)
    assert result.verdict == "unknown"
    assert result.http_status == 500
    assert "retry later" in result.recommendation


@pytest.mark.parametrize("name", NAMES)
def test_non_json_200_is_unknown(name):
    with FakeApi(broken(name, Route(200, "<html>captive portal</html>"))) as api:
        result = verify_one(name, api.url)
    assert result.verdict == "unknown"
    assert "not the expected JSON" in result.detail


@pytest.mark.parametrize("name", NAMES)
def test_connection_refused_is_unknown_after_one_retry(name):
    result = verify_one(name, refused_url())
    assert result.verdict == "unknown"
    assert "after one retry" in result.detail
    assert result.http_status is None


class CountingTransport(httpx.AsyncBaseTransport):
    """A real network transport that counts the attempts made through it."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_a_refused_connection_is_tried_exactly_twice():
    transport = CountingTransport()

    async def run():
        async with httpx.AsyncClient(transport=transport) as client:
            await checks.check_openai(client, CANARY["OPENAI_API_KEY"], refused_url(), timeout=5)

    with pytest.raises(httpx.ConnectError):
        asyncio.run(run())
    assert transport.attempts == 2


def test_a_timeout_is_not_retried():
    transport = CountingTransport()

    async def run():
        async with httpx.AsyncClient(transport=transport) as client:
            await checks.check_openai(client, CANARY["OPENAI_API_KEY"], api.url, timeout=0.5)

    with FakeApi({"/v1/models": Route(200, {"data": []}, delay_s=10)}) as api:
        with pytest.raises(TimeoutError):
            asyncio.run(run())
    assert transport.attempts == 1


def test_retry_after_as_an_http_date_becomes_seconds():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    with FakeApi(broken("VERCEL_TOKEN", Route(429, {}, headers={"Retry-After": when}))) as api:
        result = verify_one("VERCEL_TOKEN", api.url)
    assert result.verdict == "unknown"
    assert 60 <= result.extra["retry_after_s"] <= 120
    assert f"retry after {result.extra['retry_after_s']} s" in result.recommendation
