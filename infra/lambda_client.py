"""Lambda Cloud API client, by the public contract (OpenAPI 1.8.3).

Bearer auth; replies are `{"data": ...}` or `{"error": {"code", "message", "suggestion"}}` and the
error code picks the exception class (infra.lambda_errors). Requests are paced client-side (the
API allows about 1 request/s, launch 1 per 12 s) by a process-wide pacer per base URL, so the many
short-lived clients of a dynamic provider share one budget; 429, 5xx and `provider/*` replies are
retried with bounded backoff that honours Retry-After.

The base URL is an argument: callers read ORCHESTRA_LAMBDA_API_URL themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from infra.lambda_errors import (
    ApiUnavailable,
    InvalidInput,
    LambdaError,
    ProviderError,
    RateLimited,
    ServerError,
    UnexpectedResponse,
    error_class,
)

DEFAULT_BASE_URL = "https://cloud.lambda.ai"
LAUNCH_PATH = "/api/v1/instance-operations/launch"

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


@dataclass(frozen=True)
class InstanceType:
    name: str
    description: str
    gpu_description: str
    price_cents_per_hour: int
    specs: Mapping[str, int]
    regions_with_capacity: tuple[str, ...]


@dataclass(frozen=True)
class Instance:
    id: str
    status: str
    name: str | None
    ip: str | None
    private_ip: str | None
    hostname: str | None
    region: str
    instance_type: str
    ssh_key_names: tuple[str, ...]
    file_system_names: tuple[str, ...]
    tags: Mapping[str, str]

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Instance:
        return cls(
            id=d["id"], status=d["status"], name=d.get("name"), ip=d.get("ip"),
            private_ip=d.get("private_ip"), hostname=d.get("hostname"),
            region=d["region"]["name"], instance_type=d["instance_type"]["name"],
            ssh_key_names=tuple(d.get("ssh_key_names", ())),
            file_system_names=tuple(d.get("file_system_names", ())),
            tags={t["key"]: t["value"] for t in d.get("tags", ())},
        )


@dataclass(frozen=True)
class SshKey:
    id: str
    name: str
    public_key: str
    private_key: str | None = field(default=None, repr=False)  # only when Lambda generated the pair


@dataclass(frozen=True)
class FirewallRule:
    protocol: str
    port_range: tuple[int, int] | None  # None for icmp, which has no ports
    source_network: str
    description: str

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> FirewallRule:
        ports = d.get("port_range")
        return cls(d["protocol"], (ports[0], ports[1]) if ports else None, d["source_network"],
                   d.get("description", ""))

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"protocol": self.protocol, "source_network": self.source_network,
                                "description": self.description}
        if self.port_range is not None:
            body["port_range"] = list(self.port_range)
        return body


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class LambdaClient:
    """Synchronous client; use as a context manager or call close()."""

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, *,
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
                                  headers={"Authorization": f"Bearer {api_key}",
                                           "Accept": "application/json"})

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
        data = self._request("GET", "/api/v1/instance-types")
        return {
            name: InstanceType(
                name=name,
                description=item["instance_type"].get("description", ""),
                gpu_description=item["instance_type"].get("gpu_description", ""),
                price_cents_per_hour=item["instance_type"].get("price_cents_per_hour", 0),
                specs=dict(item["instance_type"].get("specs", {})),
                regions_with_capacity=tuple(r["name"] for r in item["regions_with_capacity_available"]),
            )
            for name, item in data.items()
        }

    def launch(self, *, region_name: str, instance_type_name: str, ssh_key_names: Iterable[str],
               name: str | None = None, file_system_names: Iterable[str] = (),
               user_data: str | None = None, tags: Mapping[str, str] | None = None) -> list[str]:
        body: dict[str, Any] = {"region_name": region_name, "instance_type_name": instance_type_name,
                                "ssh_key_names": list(ssh_key_names),
                                "file_system_names": list(file_system_names)}
        if name is not None:
            body["name"] = name
        if user_data is not None:
            body["user_data"] = user_data
        if tags:
            body["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        data = self._request("POST", LAUNCH_PATH, json=body, idempotent=False)
        return list(data["instance_ids"])

    def get_instance(self, instance_id: str) -> Instance:
        return Instance.from_api(self._request("GET", f"/api/v1/instances/{_segment(instance_id)}"))

    def list_instances(self) -> list[Instance]:
        return [Instance.from_api(d) for d in self._request("GET", "/api/v1/instances")]

    def rename(self, instance_id: str, name: str) -> Instance:
        data = self._request("POST", f"/api/v1/instances/{_segment(instance_id)}", json={"name": name})
        return Instance.from_api(data)

    def terminate(self, instance_ids: Iterable[str]) -> list[Instance]:
        data = self._request("POST", "/api/v1/instance-operations/terminate",
                             json={"instance_ids": list(instance_ids)})
        return [Instance.from_api(d) for d in data["terminated_instances"]]

    def list_ssh_keys(self) -> list[SshKey]:
        return [SshKey(d["id"], d["name"], d["public_key"]) for d in self._request("GET", "/api/v1/ssh-keys")]

    def add_ssh_key(self, name: str, public_key: str | None = None) -> SshKey:
        """Upload `public_key`, or let Lambda generate a pair (the private key is returned once)."""
        body = {"name": name} if public_key is None else {"name": name, "public_key": public_key}
        d = self._request("POST", "/api/v1/ssh-keys", json=body, idempotent=False)
        return SshKey(d["id"], d["name"], d["public_key"], d.get("private_key"))

    def delete_ssh_key(self, key_id: str) -> None:
        self._request("DELETE", f"/api/v1/ssh-keys/{_segment(key_id)}")

    def get_firewall_rules(self) -> list[FirewallRule]:
        return [FirewallRule.from_api(d) for d in self._request("GET", "/api/v1/firewall-rules")]

    def put_firewall_rules(self, rules: Iterable[FirewallRule]) -> list[FirewallRule]:
        """Replace the account's whole inbound rule list (the API has no per-rule call)."""
        data = self._request("PUT", "/api/v1/firewall-rules", json={"data": [r.to_api() for r in rules]})
        return [FirewallRule.from_api(d) for d in data]

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
            time.sleep(self._retry.delay(attempt, _retry_after(response)))
        raise AssertionError("unreachable: the loop returns or raises")


def _segment(value: str) -> str:
    """An id as one path segment; refuses ids that would change the path."""
    if not value or any(c in value for c in "/?#%") or value in (".", ".."):
        raise InvalidInput(f"not a valid Lambda object id: {value!r}")
    return value


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
    status = response.status_code
    try:
        error = response.json()["error"]
        code, message = error["code"], error.get("message") or "no message"
        suggestion = error.get("suggestion")
    except (ValueError, KeyError, TypeError):
        code, message, suggestion = None, f"HTTP {status} without an error envelope", None
    cls = error_class(code, status)
    if cls is LambdaError and code is None:
        cls = UnexpectedResponse
    kwargs: dict[str, Any] = {"code": code, "suggestion": suggestion, "status": status}
    if cls is RateLimited:
        kwargs["retry_after"] = _retry_after(response)
    return cls(f"{what}: {message}", **kwargs)
