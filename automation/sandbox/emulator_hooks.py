"""The emulator's test hooks, outside the API it emulates: /_emulator/... (no auth, loopback only).

    GET  /_emulator/state                      state and config
    GET  /_emulator/requests                   method, path and status of every API request so far
    POST /_emulator/config                     {"boot_seconds", "never_active", "capacity", "rate_limit":
                                               {"requests", "per_seconds"} | null, "launch_limit": same,
                                               "fail_next": {"count", "kind": "internal"|"provider", "path"},
                                               "max_instances", "ip", "inactive_keys", "boot_result":
                                               "active"|"unhealthy", "reply_faults": [{"kind": "error"|"slow"|
                                               "drop", "method", "path", "count"|"until", "seconds"}]}
    POST /_emulator/instances/{id}/terminate   terminate behind the client's back
    POST /_emulator/instances/{id}/preempt     as Lambda does when it reclaims a spot

`serve_hook` answers them inside the emulator's server; `EmulatorHooks` is their client, for tests,
benchmarks and the sandbox's own tooling. The request log is the evidence tests keep of what a run
asked of the API (e.g. that no second launch was sent).
"""

from __future__ import annotations

import copy
import re
import time
from typing import Any

import httpx

from automation.sandbox.lambda_api import Emulator, instance_status
from automation.sandbox.lambda_rules import ApiError, invalid, not_found, object_body
from infra.lambda_cloud.catalog import LAUNCH_PATH, LIVE_STATUSES

PREFIX = "/_emulator/"
_MAX_LOG = 10_000


def note(emulator: Emulator, method: str, path: str, status: int) -> None:
    """Record one API request for GET /_emulator/requests."""
    with emulator.lock:
        emulator.request_log.append({"method": method, "path": path, "status": status})
        del emulator.request_log[:-_MAX_LOG]


def _snapshot(emulator: Emulator) -> dict[str, Any]:
    with emulator.lock:
        state = copy.deepcopy({k: v for k, v in emulator.state.items() if k != "api_keys"})
        now = time.time()
        for record in state["instances"].values():
            record["status"] = instance_status(record, now)
        return {"state": state, "config": emulator.config.public()}


def _set_status(emulator: Emulator, instance_id: str, status: str) -> dict[str, Any]:
    with emulator.lock:
        record = emulator.state["instances"].get(instance_id)
        if record is None or instance_status(record, time.time()) not in LIVE_STATUSES:
            raise not_found("instance")
        record["status"] = status
        emulator.save()
        return {"id": instance_id, "status": status}


def serve_hook(emulator: Emulator, method: str, path: str, body: Any) -> tuple[int, Any]:
    """(status, JSON payload) for one /_emulator/ request."""
    try:
        if method == "GET" and path == "/_emulator/state":
            return 200, _snapshot(emulator)
        if method == "GET" and path == "/_emulator/requests":
            with emulator.lock:
                return 200, list(emulator.request_log)
        if method == "POST" and path == "/_emulator/config":
            with emulator.lock:
                emulator.config.update(object_body(body))
                return 200, emulator.config.public()
        match = re.fullmatch(r"/_emulator/instances/([^/]+)/(terminate|preempt)", path)
        if method == "POST" and match:
            return 200, _set_status(emulator, match.group(1), "terminated" if match.group(2) == "terminate" else "preempted")
        raise not_found("emulator endpoint")
    except ApiError as error:
        return error.status, error.body()


def bad_json() -> tuple[int, Any]:
    return 400, invalid("The request body is not valid JSON.").body()


class EmulatorHooks:
    """Client of the hooks above: `EmulatorHooks(base_url).config(boot_seconds=0)`."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def config(self, **changes: Any) -> dict[str, Any]:
        return self._call("POST", "/_emulator/config", changes)

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/_emulator/state")["state"]

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_emulator/requests")

    def terminate(self, instance_id: str) -> dict[str, Any]:
        return self._call("POST", f"/_emulator/instances/{instance_id}/terminate")

    def preempt(self, instance_id: str) -> dict[str, Any]:
        return self._call("POST", f"/_emulator/instances/{instance_id}/preempt")

    def live_instances(self) -> list[dict[str, Any]]:
        return [i for i in self.state()["instances"].values() if i["status"] in LIVE_STATUSES]

    def launches(self) -> list[dict[str, Any]]:
        """The launch requests the API received, answered or not."""
        return [r for r in self.requests() if r["method"] == "POST" and r["path"] == LAUNCH_PATH]

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, self.base_url + path, json=body, timeout=self.timeout)
        response.raise_for_status()
        return response.json()
