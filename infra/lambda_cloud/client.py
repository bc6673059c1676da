"""Lambda Cloud API client, by the public contract (OpenAPI 1.8.3).

Bearer auth; replies are `{"data": ...}` or `{"error": {"code", "message", "suggestion"}}` and the
error code picks the exception class (infra.lambda_cloud.errors). Requests are paced client-side
(the API allows about 1 request/s, launch 1 per 12 s) by a process-wide pacer per base URL, so the
many short-lived clients of a dynamic provider share one budget; 429, 5xx and `provider/*` replies
are retried with bounded backoff that honours Retry-After. A request that may have reached the
server is never repeated when repeating could act twice (launch, key upload).

The base URL is an argument: callers read ORCHESTRA_LAMBDA_API_URL themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from infra.lambda_cloud.catalog import (
    DEFAULT_API_URL,
    FIREWALL_RULES_PATH,
    FIREWALL_RULESETS_PATH,
    INSTANCE_TYPES_PATH,
    INSTANCES_PATH,
    LAUNCH_PATH,
    SSH_KEYS_PATH,
    TERMINATE_PATH,
    auth_headers,
    firewall_ruleset_path,
    instance_path,
    ssh_key_path,
)
from infra.lambda_cloud.errors import (
    ApiUnavailable,
    InvalidInput,
    LambdaError,
    LaunchReplyWithoutId,
    ProviderError,
    RateLimited,
    ServerError,
    UnexpectedResponse,
    error_from_reply,
    retry_after,
)
from infra.lambda_cloud.models import FirewallRule, FirewallRuleset, Instance, InstanceType, SshKey

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pacing:
    """Minimum seconds between requests to one API; 0 disables a limit."""

    request_interval: float = 1.0
    launch_interval: float = 12.0


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per request and the backoff between them (doubling from base_delay, capped)."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)


class _Pacer:
    """Spaces calls `interval` apart; reserves the slot under the lock, sleeps outside it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self, interval: float) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + interval
        if start > now:
            time.sleep(start - now)


# Module state, never an attribute of a client: dynamic providers are pickled into Pulumi state.
_PACERS: dict[tuple[str, str], _Pacer] = {}
_PACERS_LOCK = threading.Lock()


def _pacer(base_url: str, bucket: str) -> _Pacer:
    with _PACERS_LOCK:
        return _PACERS.setdefault((base_url, bucket), _Pacer())


class LambdaClient:
    """Synchronous client; use as a context manager or call close()."""

    def __init__(self, api_key: str, base_url: str = DEFAULT_API_URL, *,
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0,
                 pace: bool | Pacing = True, retry: RetryPolicy | None = None) -> None:
        if not isinstance(api_key, str) or not api_key.strip() or any(c in api_key for c in "\r\n "):
            raise InvalidInput("api_key must be a non-empty string without whitespace")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise InvalidInput(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._pacing = Pacing() if pace is True else (pace or Pacing(0.0, 0.0))
        self._retry = retry or RetryPolicy()
        self._http = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout,
                                  headers=auth_headers(api_key))

    def __repr__(self) -> str:
        return f"LambdaClient(base_url={self.base_url!r})"

    def __enter__(self) -> LambdaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- operations -------------------------------------------------------------------------

    def instance_types(self) -> dict[str, InstanceType]:
        data = self._request("GET", INSTANCE_TYPES_PATH)
        return {name: InstanceType.from_api(name, item) for name, item in data.items()}

    def launch(self, *, region_name: str, instance_type_name: str, ssh_key_names: Iterable[str],
               name: str | None = None, file_system_names: Iterable[str] = (),
               user_data: str | None = None, tags: Mapping[str, str] | None = None,
               firewall_ruleset_ids: Iterable[str] = ()) -> list[str]:
        body: dict[str, Any] = {"region_name": region_name, "instance_type_name": instance_type_name,
                                "ssh_key_names": list(ssh_key_names),
                                "file_system_names": list(file_system_names)}
        if name is not None:
            body["name"] = name
        if user_data is not None:
            body["user_data"] = user_data
        if tags:
            body["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        if rulesets := list(firewall_ruleset_ids):
            body["firewall_rulesets"] = [{"id": i} for i in rulesets]
        data = self._request("POST", LAUNCH_PATH, json=body, idempotent=False)
        ids = data.get("instance_ids") if isinstance(data, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise LaunchReplyWithoutId(f"POST {LAUNCH_PATH}: the reply names no instance id ({data!r:.200}); "
                                       "an instance may have been launched", status=200)
        return list(ids)

    def get_instance(self, instance_id: str) -> Instance:
        return Instance.from_api(self._request("GET", instance_path(instance_id)))

    def list_instances(self) -> list[Instance]:
        return [Instance.from_api(d) for d in self._request("GET", INSTANCES_PATH)]

    def rename(self, instance_id: str, name: str) -> Instance:
        data = self._request("POST", instance_path(instance_id), json={"name": name})
        return Instance.from_api(data)

    def terminate(self, instance_ids: Iterable[str]) -> list[Instance]:
        data = self._request("POST", TERMINATE_PATH,
                             json={"instance_ids": list(instance_ids)})
        return [Instance.from_api(d) for d in data["terminated_instances"]]

    def list_ssh_keys(self) -> list[SshKey]:
        return [SshKey(d["id"], d["name"], d["public_key"]) for d in self._request("GET", SSH_KEYS_PATH)]

    def add_ssh_key(self, name: str, public_key: str | None = None) -> SshKey:
        """Upload `public_key`, or let Lambda generate a pair (the private key is returned once)."""
        body = {"name": name} if public_key is None else {"name": name, "public_key": public_key}
        d = self._request("POST", SSH_KEYS_PATH, json=body, idempotent=False)
        return SshKey(d["id"], d["name"], d["public_key"], d.get("private_key"))

    def delete_ssh_key(self, key_id: str) -> None:
        self._request("DELETE", ssh_key_path(key_id))

    def get_firewall_rules(self) -> list[FirewallRule]:
        return [FirewallRule.from_api(d) for d in self._request("GET", FIREWALL_RULES_PATH)]

    def put_firewall_rules(self, rules: Iterable[FirewallRule]) -> list[FirewallRule]:
        """Replace the account's whole inbound rule list (the API has no per-rule call)."""
        data = self._request("PUT", FIREWALL_RULES_PATH, json={"data": [r.to_api() for r in rules]})
        return [FirewallRule.from_api(d) for d in data]

    def list_firewall_rulesets(self) -> list[FirewallRuleset]:
        return [FirewallRuleset.from_api(d) for d in self._request("GET", FIREWALL_RULESETS_PATH)]

    def get_firewall_ruleset(self, ruleset_id: str) -> FirewallRuleset:
        return FirewallRuleset.from_api(self._request("GET", firewall_ruleset_path(ruleset_id)))

    def create_firewall_ruleset(self, name: str, region: str, rules: Iterable[FirewallRule]) -> FirewallRuleset:
        body = {"name": name, "region": region, "rules": [r.to_api() for r in rules]}
        return FirewallRuleset.from_api(self._request("POST", FIREWALL_RULESETS_PATH, json=body, idempotent=False))

    def update_firewall_ruleset(self, ruleset_id: str, *, name: str | None = None,
                                rules: Iterable[FirewallRule] | None = None) -> FirewallRuleset:
        body: dict[str, Any] = {} if name is None else {"name": name}
        if rules is not None:
            body["rules"] = [r.to_api() for r in rules]
        return FirewallRuleset.from_api(self._request("PATCH", firewall_ruleset_path(ruleset_id), json=body))

    def delete_firewall_ruleset(self, ruleset_id: str) -> None:
        self._request("DELETE", firewall_ruleset_path(ruleset_id))

    # --- transport ----------------------------------------------------------------------------

    def _pace(self, path: str) -> None:
        if path == LAUNCH_PATH and self._pacing.launch_interval > 0:
            _pacer(self.base_url, "launch").wait(self._pacing.launch_interval)
        if self._pacing.request_interval > 0:
            _pacer(self.base_url, "request").wait(self._pacing.request_interval)

    def _request(self, method: str, path: str, *, json: Any = None, idempotent: bool = True) -> Any:
        what = f"{method} {path}"
        for attempt in range(1, self._retry.max_attempts + 1):
            last = attempt == self._retry.max_attempts
            self._pace(path)
            try:
                response = self._http.request(method, path, json=json)
            except httpx.TransportError as exc:
                # A POST that may have reached the server is not repeated: it could launch twice.
                sent_maybe = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                log.debug("%s: %s (attempt %d)", what, type(exc).__name__, attempt)
                if last or (sent_maybe and not idempotent):
                    raise ApiUnavailable(f"{what}: {type(exc).__name__}: {exc}") from None
                time.sleep(self._retry.delay(attempt, None))
                continue
            log.debug("%s -> %d (attempt %d)", what, response.status_code, attempt)
            if response.is_success:
                return _data(what, response)
            error = _error(what, response)
            # 429 and provider/* mean the request was not carried out; a 5xx may have been.
            retryable = isinstance(error, (RateLimited, ProviderError)) or (
                isinstance(error, ServerError) and idempotent)
            if last or not retryable:
                raise error
            time.sleep(self._retry.delay(attempt, retry_after(response.headers)))
        raise AssertionError("unreachable: the loop returns or raises")


def _json(what: str, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UnexpectedResponse(f"{what}: HTTP {response.status_code} with a body that is not JSON",
                                 status=response.status_code) from None


def _data(what: str, response: httpx.Response) -> Any:
    body = _json(what, response)
    if not isinstance(body, dict) or "data" not in body:
        raise UnexpectedResponse(f"{what}: HTTP {response.status_code} without a data envelope",
                                 status=response.status_code)
    return body["data"]


def _error(what: str, response: httpx.Response) -> LambdaError:
    try:
        body = response.json()
    except ValueError:
        body = None
    return error_from_reply(what, response.status_code, body, response.headers)
