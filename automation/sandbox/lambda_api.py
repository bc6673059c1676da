"""The emulated Lambda Cloud API: its behaviour over one JSON state file, no HTTP in here.

Instances boot for `boot_seconds` (their `active_at` is stored, so a restart does not reset a
boot), then answer as `active` with ip 127.0.0.1, where the sandbox backend listens; the state
file is replaced atomically after every change. `instance_status` is the one rule that turns a
stored record into the status the API reports (the sandbox backend uses it too).
`Config` holds the knobs the test hooks (emulator_hooks.py) turn: boot time, capacity, limits and
injected faults.
"""

from __future__ import annotations

import collections
import copy
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automation.sandbox import lambda_rulesets as rulesets
from automation.sandbox.lambda_rules import (
    ApiError,
    generate_key_pair,
    internal_error,
    invalid,
    key_from_header,
    not_found,
    object_body,
    validate_launch,
    validate_rule,
    validate_ssh_key,
)
from infra.lambda_cloud.catalog import INSTANCE_TYPES as KNOWN_TYPES
from infra.lambda_cloud.catalog import LAUNCH_PATH, LIVE_STATUSES, REGIONS
from secrets_bridge.files import write_private

# What the emulated account is offered (a subset of the catalog, with the API's specs and prices).
INSTANCE_TYPES = {
    "gpu_1x_a10": {"description": "1x A10 (24 GB PCIe)", "gpu_description": "A10 (24 GB PCIe)",
                   "price_cents_per_hour": 75,
                   "specs": {"vcpus": 30, "memory_gib": 200, "storage_gib": 1400, "gpus": 1}},
    "gpu_1x_a100_sxm4": {"description": "1x A100 (40 GB SXM4)", "gpu_description": "A100 (40 GB SXM4)",
                         "price_cents_per_hour": 129,
                         "specs": {"vcpus": 30, "memory_gib": 200, "storage_gib": 512, "gpus": 1}},
    "gpu_8x_h100_sxm5": {"description": "8x H100 (80 GB SXM5)", "gpu_description": "H100 (80 GB SXM5)",
                         "price_cents_per_hour": 2392,
                         "specs": {"vcpus": 208, "memory_gib": 1800, "storage_gib": 24780, "gpus": 8}},
}
assert set(INSTANCE_TYPES) <= set(KNOWN_TYPES), "the emulator offers a type the catalog does not know"

# Slots per type and region; the H100 box has none anywhere, to exercise the capacity errors.
DEFAULT_CAPACITY = {"gpu_1x_a10": {"us-east-1": 2, "us-west-1": 2},
                    "gpu_1x_a100_sxm4": {"us-west-1": 1}}

DEFAULT_FIREWALL_RULES = [{"protocol": "tcp", "port_range": [22, 22], "source_network": "0.0.0.0/0",
                           "description": "Allow SSH from anywhere"}]


def instance_status(record: Mapping[str, Any], now: float) -> str:
    """The status the API reports for a stored instance: `booting` turns `active` at its `active_at`."""
    status = str(record.get("status"))
    active_at = record.get("active_at")
    if status == "booting" and isinstance(active_at, (int, float)) and now >= active_at:
        return str(record.get("becomes") or "active")
    return status


@dataclass
class Config:
    boot_seconds: float = 2.0
    never_active: bool = False
    capacity: dict[str, dict[str, int]] = field(default_factory=lambda: copy.deepcopy(DEFAULT_CAPACITY))
    rate_limit: dict[str, float] | None = None      # {"requests": n, "per_seconds": s} per key
    launch_limit: dict[str, float] | None = None    # the same, for launch only (real API: 1 per 12 s)
    fail_next: dict[str, Any] | None = None         # {"count": n, "kind": "internal"|"provider", "path": prefix}
    max_instances: int | None = None
    ip: str = "127.0.0.1"
    inactive_keys: list[str] = field(default_factory=list)
    boot_result: str = "active"                     # what a booting instance becomes: active | unhealthy
    # Faults applied after a request was carried out: [{"kind": "error"|"slow"|"drop", "method", "path"
    # (prefix), "count" (default 1) or "until" (epoch seconds), "seconds" (delay before the reply or drop)}]
    reply_faults: list[dict[str, Any]] = field(default_factory=list)

    def update(self, changes: Mapping[str, Any]) -> None:
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise invalid(f"unknown emulator setting {name!r}")
            setattr(self, name, value)

    def public(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "inactive_keys"}


class _Window:
    """Sliding-window limiter: at most `requests` per `per_seconds`."""

    def __init__(self) -> None:
        self._hits: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)

    def check(self, who: str, limit: Mapping[str, float] | None, now: float) -> float | None:
        """None when allowed (and counted); else seconds until the next slot opens."""
        if not limit:
            return None
        hits = self._hits[who]
        while hits and hits[0] <= now - limit["per_seconds"]:
            hits.popleft()
        if len(hits) >= limit["requests"]:
            return hits[0] + limit["per_seconds"] - now
        hits.append(now)
        return None


def _retry_after(seconds: float) -> str:
    """Whole seconds as HTTP has them; under one second, milliseconds rounded up (a sandbox liberty)."""
    return str(math.ceil(seconds)) if seconds >= 1 else f"{math.ceil(max(seconds, 0.001) * 1000) / 1000:.3f}"


class Emulator:
    """The API's behaviour over a JSON state file; thread-safe; no HTTP in here."""

    def __init__(self, state_file: Path, api_keys: Iterable[str], config: Config) -> None:
        self.state_file = Path(state_file)
        self.config = config
        self.lock = threading.RLock()
        self._limits = _Window()
        self._launches = _Window()
        self.request_log: list[dict[str, Any]] = []  # kept by emulator_hooks.note
        self.state = self._load()
        self._keys = set(api_keys) | set(self.state.get("api_keys", ()))

    # --- persistence --------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            state = {}
        state.setdefault("version", 1)
        state.setdefault("instances", {})
        state.setdefault("ssh_keys", {})
        state.setdefault("firewall_rules", copy.deepcopy(DEFAULT_FIREWALL_RULES))
        state.setdefault("file_systems", {})  # name -> region; seeded by hand for tests of mounts
        return state

    def save(self) -> None:
        write_private(self.state_file, json.dumps(self.state, indent=2, sort_keys=True))

    # --- request pipeline ---------------------------------------------------------------------

    def authenticate(self, header: str | None) -> str:
        key = key_from_header(header)
        if key is None or key not in self._keys:
            raise ApiError(401, "global/invalid-api-key", "API key was invalid, expired, or deleted.",
                           "Check your API key or create a new one, then try again.")
        if key in self.config.inactive_keys:
            raise ApiError(403, "global/account-inactive", "Your account is inactive.",
                           "Make sure you have verified your email address and have a valid payment method.")
        return key

    def admit(self, key: str, method: str, path: str) -> None:
        """Rate limits and injected failures, after auth as the real API counts per key."""
        now = time.monotonic()
        with self.lock:
            wait = self._limits.check(key, self.config.rate_limit, now)
            if wait is None and path == LAUNCH_PATH:
                wait = self._launches.check(key, self.config.launch_limit, now)
            if wait is not None:
                raise ApiError(429, "global/too-many-requests", "Too many requests.",
                               "Slow down and retry after the time in Retry-After.",
                               headers={"Retry-After": _retry_after(wait)})
            fail = self.config.fail_next
            if fail and fail.get("count", 0) > 0 and path.startswith(fail.get("path") or "/"):
                fail["count"] -= 1
                if fail.get("kind") == "provider":
                    raise ApiError(503, "provider/internal-unavailable", "Provider unavailable",
                                   "Try again shortly")
                raise internal_error()

    def reply_fault(self, method: str, path: str) -> dict[str, Any] | None:
        """The injected fault for this carried-out request, if one matches (and is used up by it)."""
        with self.lock:
            for fault in self.config.reply_faults:
                if fault.get("method", method) != method or not path.startswith(fault.get("path") or "/"):
                    continue
                if "until" in fault:
                    if time.time() < fault["until"]:
                        return dict(fault)
                elif fault.get("count", 1) > 0:
                    fault["count"] = fault.get("count", 1) - 1
                    return dict(fault)
        return None

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        for route_method, pattern, action in _ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                with self.lock:
                    return 200, {"data": action(self, body, *match.groups())}
        raise ApiError(404, "global/object-does-not-exist", f"No endpoint {method} {path}.",
                       "Check the URL against the API reference.")

    # --- instances ----------------------------------------------------------------------------

    def _status(self, record: Mapping[str, Any]) -> str:
        return instance_status(record, time.time())

    def _instance_json(self, record: Mapping[str, Any], status: str | None = None) -> dict[str, Any]:
        status = status or self._status(record)
        kind = record["instance_type_name"]
        data: dict[str, Any] = {
            "id": record["id"], "name": record.get("name") or "", "status": status,
            "ssh_key_names": record["ssh_key_names"], "file_system_names": record["file_system_names"],
            "file_system_mounts": [], "region": {"name": record["region_name"],
                                                 "description": REGIONS[record["region_name"]]},
            "instance_type": {"name": kind, **INSTANCE_TYPES[kind]},
            "is_reserved": False, "tags": record.get("tags", []),
            "firewall_rulesets": [{"id": i} for i in record.get("firewall_ruleset_ids", ())],
            "actions": {a: ({"available": True} if status in LIVE_STATUSES else
                            {"available": False, "reason_code": "vm-is-terminating",
                             "reason_description": "The instance is terminating."})
                        for a in ("migrate", "rebuild", "restart", "cold_reboot", "terminate")},
        }
        if status != "booting":  # addresses appear once the VM is up, as on the real service
            data.update(ip=record["ip"], private_ip=record["private_ip"], hostname=record["hostname"])
        return data

    def _live(self, instance_id: str) -> dict[str, Any]:
        record = self.state["instances"].get(instance_id)
        if record is None or record["status"] not in LIVE_STATUSES:
            raise not_found("instance")
        return record

    def _free_slots(self, kind: str, region: str) -> int:
        used = sum(1 for r in self.state["instances"].values()
                   if r["status"] in LIVE_STATUSES and r["instance_type_name"] == kind and r["region_name"] == region)
        return self.config.capacity.get(kind, {}).get(region, 0) - used

    def instance_types(self, _body: Any) -> dict[str, Any]:
        return {kind: {"instance_type": {"name": kind, **spec},
                       "regions_with_capacity_available": [
                           {"name": region, "description": REGIONS[region]}
                           for region in sorted(self.config.capacity.get(kind, {}))
                           if self._free_slots(kind, region) > 0]}
                for kind, spec in INSTANCE_TYPES.items()}

    def list_instances(self, _body: Any) -> list[dict[str, Any]]:
        return [self._instance_json(r) for r in self.state["instances"].values() if r["status"] in LIVE_STATUSES]

    def get_instance(self, _body: Any, instance_id: str) -> dict[str, Any]:
        record = self.state["instances"].get(instance_id)
        if record is None:
            raise not_found("instance")
        return self._instance_json(record)

    def rename(self, body: Any, instance_id: str) -> dict[str, Any]:
        record = self._live(instance_id)
        name = object_body(body).get("name")
        if name is not None:
            if not isinstance(name, str) or len(name) > 64:
                raise invalid("name must be a string of at most 64 characters")
            record["name"] = name
            self.save()
        return self._instance_json(record)

    def launch(self, body: Any) -> dict[str, Any]:
        request = validate_launch(object_body(body))
        kind, region = request["instance_type_name"], request["region_name"]
        if kind not in INSTANCE_TYPES:
            raise not_found("instance type")
        missing = [n for n in request["ssh_key_names"]
                   if n not in {k["name"] for k in self.state["ssh_keys"].values()}]
        if missing:
            raise not_found(f"SSH key {missing[0]!r}")
        for name in request.get("file_system_names", []):
            if name not in self.state["file_systems"]:
                raise not_found(f"file system {name!r}")
            if self.state["file_systems"][name] != region:
                raise ApiError(400, "instance-operations/launch/file-system-in-wrong-region",
                               f"File system {name!r} is not in region {region}.",
                               "Launch in the file system's region.")
        live = sum(1 for r in self.state["instances"].values() if r["status"] in LIVE_STATUSES)
        if self.config.max_instances is not None and live >= self.config.max_instances:
            raise ApiError(400, "global/quota-exceeded", "Quota exceeded.", "Contact Support to increase your quota.")
        if self._free_slots(kind, region) <= 0:
            raise ApiError(400, "instance-operations/launch/insufficient-capacity",
                           "Not enough capacity to fulfill launch request.",
                           "Choose another region or instance type, or try again later.")
        ruleset_ids = rulesets.launch_rulesets(self, request, region)
        instance_id = secrets.token_hex(16)
        now = time.time()
        self.state["instances"][instance_id] = {
            "id": instance_id, "name": request.get("name"), "status": "booting",
            "instance_type_name": kind, "region_name": region,
            "ssh_key_names": request["ssh_key_names"], "file_system_names": request.get("file_system_names", []),
            "tags": request.get("tags", []), "firewall_ruleset_ids": ruleset_ids,
            "ip": self.config.ip, "private_ip": "10.0.0.2",
            "hostname": request.get("hostname") or f"lambda-{instance_id[:12]}",
            "has_user_data": "user_data" in request,  # the document itself may hold secrets: not stored
            "launched_at": now,
            "active_at": None if self.config.never_active else now + self.config.boot_seconds,
            "becomes": self.config.boot_result,
        }
        self.save()
        return {"instance_ids": [instance_id]}

    def terminate(self, body: Any) -> dict[str, Any]:
        ids = object_body(body).get("instance_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise invalid("instance_ids must be a list of strings")
        records = [self._live(i) for i in ids]  # all or nothing
        for record in records:
            record["status"] = "terminated"
        self.save()
        return {"terminated_instances": [self._instance_json(r, "terminating") for r in records]}

    # --- SSH keys -----------------------------------------------------------------------------

    def list_ssh_keys(self, _body: Any) -> list[dict[str, Any]]:
        return list(self.state["ssh_keys"].values())

    def add_ssh_key(self, body: Any) -> dict[str, Any]:
        name, public_key = validate_ssh_key(object_body(body))
        if any(k["name"] == name for k in self.state["ssh_keys"].values()):
            raise invalid(f"An SSH key named {name!r} already exists.")
        private_key = None
        if public_key is None:
            public_key, private_key = generate_key_pair()
        key = {"id": secrets.token_hex(16), "name": name, "public_key": public_key.strip()}
        self.state["ssh_keys"][key["id"]] = key
        self.save()
        return {**key, "private_key": private_key} if private_key else dict(key)

    def delete_ssh_key(self, _body: Any, key_id: str) -> dict[str, Any]:
        if self.state["ssh_keys"].pop(key_id, None) is None:
            raise invalid("No SSH key with that id.")  # the spec lists 400, not 404, here
        self.save()
        return {}

    # --- firewall -----------------------------------------------------------------------------

    def list_firewall_rules(self, _body: Any) -> list[dict[str, Any]]:
        return self.state["firewall_rules"]

    def put_firewall_rules(self, body: Any) -> list[dict[str, Any]]:
        rules = object_body(body).get("data")
        if not isinstance(rules, list):
            raise invalid("data must be a list of firewall rules")
        self.state["firewall_rules"] = [validate_rule(r) for r in rules]
        self.save()
        return self.state["firewall_rules"]


_ROUTES: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = [
    ("GET", re.compile(r"/api/v1/instance-types"), Emulator.instance_types),
    ("GET", re.compile(r"/api/v1/instances"), Emulator.list_instances),
    ("GET", re.compile(r"/api/v1/instances/([^/]+)"), Emulator.get_instance),
    ("POST", re.compile(r"/api/v1/instances/([^/]+)"), Emulator.rename),
    ("POST", re.compile(r"/api/v1/instance-operations/launch"), Emulator.launch),
    ("POST", re.compile(r"/api/v1/instance-operations/terminate"), Emulator.terminate),
    ("GET", re.compile(r"/api/v1/ssh-keys"), Emulator.list_ssh_keys),
    ("POST", re.compile(r"/api/v1/ssh-keys"), Emulator.add_ssh_key),
    ("DELETE", re.compile(r"/api/v1/ssh-keys/([^/]+)"), Emulator.delete_ssh_key),
    ("GET", re.compile(r"/api/v1/firewall-rules"), Emulator.list_firewall_rules),
    ("PUT", re.compile(r"/api/v1/firewall-rules"), Emulator.put_firewall_rules),
    ("GET", re.compile(r"/api/v1/firewall-rulesets"), rulesets.list_rulesets),
    ("POST", re.compile(r"/api/v1/firewall-rulesets"), rulesets.create_ruleset),
    ("GET", re.compile(r"/api/v1/firewall-rulesets/([^/]+)"), rulesets.get_ruleset),
    ("PATCH", re.compile(r"/api/v1/firewall-rulesets/([^/]+)"), rulesets.patch_ruleset),
    ("DELETE", re.compile(r"/api/v1/firewall-rulesets/([^/]+)"), rulesets.delete_ruleset),
]


