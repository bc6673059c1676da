"""A local Lambda Cloud API: the endpoints the project uses, by the OpenAPI 1.8.3 contract.

Real HTTP on 127.0.0.1 with the API's envelopes, auth schemes (Bearer; Basic with the key as user
name, base64 or raw), error codes and statuses. Instances boot for `boot_seconds` (their `active_at`
is stored, so a restart does not reset a boot), then answer as `active` with ip 127.0.0.1, where the
sandbox backend listens. State is one JSON file, replaced atomically after every change.

Test hooks, outside the spec, under /_emulator/ (no auth, loopback only):
    GET  /_emulator/state                      state and config
    GET  /_emulator/requests                   method, path and status of every API request so far
    POST /_emulator/config                     {"boot_seconds", "never_active", "capacity", "rate_limit":
                                               {"requests", "per_seconds"} | null, "launch_limit": same,
                                               "fail_next": {"count", "kind": "internal"|"provider", "path"},
                                               "max_instances", "ip", "inactive_keys"}
    POST /_emulator/instances/{id}/terminate   terminate behind the client's back
    POST /_emulator/instances/{id}/preempt     as Lambda does when it reclaims a spot

429 replies carry Retry-After in seconds, fractional when under one second so tests stay fast.

CLI: python -m automation.sandbox.lambda_emulator --port P --state FILE [--boot-seconds S]
     [--api-key K ...]; keys also from ORCHESTRA_SANDBOX_LAMBDA_KEYS (comma-separated) and the
     state file's "api_keys". Prints its base URL on one line when ready.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import copy
import ipaddress
import json
import logging
import math
import os
import re
import secrets
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

KEYS_ENV = "ORCHESTRA_SANDBOX_LAMBDA_KEYS"

log = logging.getLogger(__name__)

REGIONS = {
    "europe-central-1": "Germany", "asia-south-1": "India", "australia-east-1": "Australia",
    "me-west-1": "Israel", "asia-northeast-1": "Japan", "asia-northeast-2": "South Korea",
    "us-east-1": "Virginia, USA", "us-west-2": "Arizona, USA", "us-west-1": "California, USA",
    "us-south-1": "Texas, USA", "us-west-3": "Utah, USA", "us-midwest-1": "Illinois, USA",
    "us-east-2": "Washington DC, USA", "us-south-2": "North Texas, USA", "us-south-3": "Central Texas, USA",
    "us-east-3": "Virginia, USA", "us-midwest-2": "Ohio, USA",
}

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

# Slots per type and region; the H100 box has none anywhere, to exercise the capacity errors.
DEFAULT_CAPACITY = {"gpu_1x_a10": {"us-east-1": 2, "us-west-1": 2},
                    "gpu_1x_a100_sxm4": {"us-west-1": 1}}

DEFAULT_FIREWALL_RULES = [{"protocol": "tcp", "port_range": [22, 22], "source_network": "0.0.0.0/0",
                           "description": "Allow SSH from anywhere"}]

_LIVE = ("booting", "active", "unhealthy")
_TAG_KEY = re.compile(r"^[a-z][a-z0-9-:]+$")
_PUBLIC_KEY = re.compile(r"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-\S+) [A-Za-z0-9+/=]+( .*)?$")


class ApiError(Exception):
    """An error reply: HTTP status and the spec's error object."""

    def __init__(self, status: int, code: str, message: str, suggestion: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.suggestion = status, code, message, suggestion
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        error = {"code": self.code, "message": self.message}
        if self.suggestion is not None:
            error["suggestion"] = self.suggestion
        return {"error": error}


def _invalid(message: str) -> ApiError:
    return ApiError(400, "global/invalid-parameters", message, "Check the request body and try again.")


def _not_found(what: str) -> ApiError:
    return ApiError(404, "global/object-does-not-exist", f"Specified {what} does not exist.",
                    "Check the name or id and try again.")


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

    def update(self, changes: Mapping[str, Any]) -> None:
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise _invalid(f"unknown emulator setting {name!r}")
            setattr(self, name, value)

    def public(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "inactive_keys"}


@dataclass(frozen=True)
class Exchange:
    """One API request and its reply, for an in-process observer (the contract tests)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes


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
        self._lock = threading.RLock()
        self._limits = _Window()
        self._launches = _Window()
        self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=10_000)
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

    def _save(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.state_file.name, suffix=".tmp", dir=self.state_file.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(self.state, handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.state_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # --- request pipeline ---------------------------------------------------------------------

    def authenticate(self, header: str | None) -> str:
        key = _key_from_header(header)
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
        with self._lock:
            wait = self._limits.check(key, self.config.rate_limit, now)
            if wait is None and path == "/api/v1/instance-operations/launch":
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
                raise ApiError(500, "global/internal-error", "An internal server error occurred.",
                               "Try again later. Contact Support if the problem persists.")

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        for route_method, pattern, action in _ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                with self._lock:
                    return 200, {"data": action(self, body, *match.groups())}
        raise ApiError(404, "global/object-does-not-exist", f"No endpoint {method} {path}.",
                       "Check the URL against the API reference.")

    # --- instances ----------------------------------------------------------------------------

    def _status(self, record: Mapping[str, Any]) -> str:
        status = record["status"]
        if status == "booting" and record.get("active_at") is not None and time.time() >= record["active_at"]:
            return "active"
        return status

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
            "actions": {a: ({"available": True} if status in _LIVE else
                            {"available": False, "reason_code": "vm-is-terminating",
                             "reason_description": "The instance is terminating."})
                        for a in ("migrate", "rebuild", "restart", "cold_reboot", "terminate")},
        }
        if status != "booting":  # addresses appear once the VM is up, as on the real service
            data.update(ip=record["ip"], private_ip=record["private_ip"], hostname=record["hostname"])
        return data

    def _live(self, instance_id: str) -> dict[str, Any]:
        record = self.state["instances"].get(instance_id)
        if record is None or record["status"] not in _LIVE:
            raise _not_found("instance")
        return record

    def _free_slots(self, kind: str, region: str) -> int:
        used = sum(1 for r in self.state["instances"].values()
                   if r["status"] in _LIVE and r["instance_type_name"] == kind and r["region_name"] == region)
        return self.config.capacity.get(kind, {}).get(region, 0) - used

    def instance_types(self, _body: Any) -> dict[str, Any]:
        return {kind: {"instance_type": {"name": kind, **spec},
                       "regions_with_capacity_available": [
                           {"name": region, "description": REGIONS[region]}
                           for region in sorted(self.config.capacity.get(kind, {}))
                           if self._free_slots(kind, region) > 0]}
                for kind, spec in INSTANCE_TYPES.items()}

    def list_instances(self, _body: Any) -> list[dict[str, Any]]:
        return [self._instance_json(r) for r in self.state["instances"].values() if r["status"] in _LIVE]

    def get_instance(self, _body: Any, instance_id: str) -> dict[str, Any]:
        record = self.state["instances"].get(instance_id)
        if record is None:
            raise _not_found("instance")
        return self._instance_json(record)

    def rename(self, body: Any, instance_id: str) -> dict[str, Any]:
        record = self._live(instance_id)
        name = _object(body).get("name")
        if name is not None:
            if not isinstance(name, str) or len(name) > 64:
                raise _invalid("name must be a string of at most 64 characters")
            record["name"] = name
            self._save()
        return self._instance_json(record)

    def launch(self, body: Any) -> dict[str, Any]:
        request = _validate_launch(_object(body))
        kind, region = request["instance_type_name"], request["region_name"]
        if kind not in INSTANCE_TYPES:
            raise _not_found("instance type")
        missing = [n for n in request["ssh_key_names"]
                   if n not in {k["name"] for k in self.state["ssh_keys"].values()}]
        if missing:
            raise _not_found(f"SSH key {missing[0]!r}")
        for name in request.get("file_system_names", []):
            if name not in self.state["file_systems"]:
                raise _not_found(f"file system {name!r}")
            if self.state["file_systems"][name] != region:
                raise ApiError(400, "instance-operations/launch/file-system-in-wrong-region",
                               f"File system {name!r} is not in region {region}.",
                               "Launch in the file system's region.")
        live = sum(1 for r in self.state["instances"].values() if r["status"] in _LIVE)
        if self.config.max_instances is not None and live >= self.config.max_instances:
            raise ApiError(400, "global/quota-exceeded", "Quota exceeded.", "Contact Support to increase your quota.")
        if self._free_slots(kind, region) <= 0:
            raise ApiError(400, "instance-operations/launch/insufficient-capacity",
                           "Not enough capacity to fulfill launch request.",
                           "Choose another region or instance type, or try again later.")
        instance_id = secrets.token_hex(16)
        now = time.time()
        self.state["instances"][instance_id] = {
            "id": instance_id, "name": request.get("name"), "status": "booting",
            "instance_type_name": kind, "region_name": region,
            "ssh_key_names": request["ssh_key_names"], "file_system_names": request.get("file_system_names", []),
            "tags": request.get("tags", []), "ip": self.config.ip, "private_ip": "10.0.0.2",
            "hostname": request.get("hostname") or f"lambda-{instance_id[:12]}",
            "has_user_data": "user_data" in request,  # the document itself may hold secrets: not stored
            "launched_at": now,
            "active_at": None if self.config.never_active else now + self.config.boot_seconds,
        }
        self._save()
        return {"instance_ids": [instance_id]}

    def terminate(self, body: Any) -> dict[str, Any]:
        ids = _object(body).get("instance_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise _invalid("instance_ids must be a list of strings")
        records = [self._live(i) for i in ids]  # all or nothing
        for record in records:
            record["status"] = "terminated"
        self._save()
        return {"terminated_instances": [self._instance_json(r, "terminating") for r in records]}

    def set_status(self, instance_id: str, status: str) -> dict[str, Any]:
        with self._lock:
            record = self._live(instance_id)
            record["status"] = status
            self._save()
            return self._instance_json(record)

    # --- SSH keys -----------------------------------------------------------------------------

    def list_ssh_keys(self, _body: Any) -> list[dict[str, Any]]:
        return list(self.state["ssh_keys"].values())

    def add_ssh_key(self, body: Any) -> dict[str, Any]:
        request = _object(body)
        name, public_key = request.get("name"), request.get("public_key")
        if not isinstance(name, str) or not 1 <= len(name) <= 64:
            raise _invalid("name must be a string of 1 to 64 characters")
        if any(k["name"] == name for k in self.state["ssh_keys"].values()):
            raise _invalid(f"An SSH key named {name!r} already exists.")
        private_key = None
        if public_key is None:
            public_key, private_key = _generate_key_pair()
        elif not isinstance(public_key, str) or len(public_key) > 4096 or not _PUBLIC_KEY.match(public_key.strip()):
            raise _invalid("public_key is not an OpenSSH public key")
        key = {"id": secrets.token_hex(16), "name": name, "public_key": public_key.strip()}
        self.state["ssh_keys"][key["id"]] = key
        self._save()
        return {**key, "private_key": private_key} if private_key else dict(key)

    def delete_ssh_key(self, _body: Any, key_id: str) -> dict[str, Any]:
        if self.state["ssh_keys"].pop(key_id, None) is None:
            raise _invalid("No SSH key with that id.")  # the spec lists 400, not 404, here
        self._save()
        return {}

    # --- firewall -----------------------------------------------------------------------------

    def list_firewall_rules(self, _body: Any) -> list[dict[str, Any]]:
        return self.state["firewall_rules"]

    def put_firewall_rules(self, body: Any) -> list[dict[str, Any]]:
        rules = _object(body).get("data")
        if not isinstance(rules, list):
            raise _invalid("data must be a list of firewall rules")
        self.state["firewall_rules"] = [_validate_rule(r) for r in rules]
        self._save()
        return self.state["firewall_rules"]

    # --- admin --------------------------------------------------------------------------------

    def note(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._log.append({"method": method, "path": path, "status": status})

    def request_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._log)

    def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.config.update(changes)
            return self.config.public()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            state = copy.deepcopy({k: v for k, v in self.state.items() if k != "api_keys"})
            for record in state["instances"].values():
                record["status"] = self._status(record)
            return {"state": state, "config": self.config.public()}


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
]


def _key_from_header(header: str | None) -> str | None:
    """The key from `Bearer <key>`, `Basic base64(<key>:)` or `Basic <key>` (the spec allows all three)."""
    scheme, _, value = (header or "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic" and value:
        try:
            user, colon, _password = base64.b64decode(value, validate=True).decode().partition(":")
            if colon:
                return user or None
        except (binascii.Error, UnicodeDecodeError):
            pass
        return value
    return None


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _invalid("The request body must be a JSON object.")
    return body


def _string_list(request: Mapping[str, Any], name: str) -> None:
    value = request.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(f"{name} must be a list of strings")


def _validate_launch(request: dict[str, Any]) -> dict[str, Any]:
    for name in ("region_name", "instance_type_name", "ssh_key_names"):
        if name not in request:
            raise _invalid(f"{name} is required")
    if request["region_name"] not in REGIONS:
        raise _invalid(f"region_name {request['region_name']!r} is not a Lambda region")
    if not isinstance(request["instance_type_name"], str):
        raise _invalid("instance_type_name must be a string")
    _string_list(request, "ssh_key_names")
    _string_list(request, "file_system_names")
    if len(request["ssh_key_names"]) != 1:
        raise _invalid("Exactly one SSH key must be specified.")
    name = request.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 64):
        raise _invalid("name must be a string of at most 64 characters")
    user_data = request.get("user_data")
    if user_data is not None and (not isinstance(user_data, str) or len(user_data.encode()) > 1024 * 1024):
        raise _invalid("user_data must be plain text of at most 1 MB")
    tags = request.get("tags", [])
    if not isinstance(tags, list) or not all(
            isinstance(t, dict) and isinstance(t.get("key"), str) and isinstance(t.get("value"), str)
            and len(t["key"]) <= 55 and _TAG_KEY.match(t["key"]) and len(t["value"]) <= 128 for t in tags):
        raise _invalid("tags must be a list of {key, value} with keys like 'team' or 'app:role'")
    hostname = request.get("hostname")
    if hostname is not None and not (isinstance(hostname, str) and re.fullmatch(r"[a-z0-9][0-9a-z-]{0,62}", hostname)):
        raise _invalid("hostname must be 1 to 63 lowercase letters, digits or hyphens")
    return request


def _validate_rule(rule: Any) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise _invalid("each firewall rule must be an object")
    protocol, ports = rule.get("protocol"), rule.get("port_range")
    if protocol not in ("tcp", "udp", "icmp", "all"):
        raise _invalid("protocol must be one of tcp, udp, icmp, all")
    if protocol == "icmp":
        if ports is not None:
            raise _invalid("port_range is not allowed for icmp")
    elif not (isinstance(ports, list) and len(ports) == 2 and all(isinstance(p, int) and 1 <= p <= 65535 for p in ports)
              and ports[0] <= ports[1]):
        raise _invalid("port_range must be [min, max] with ports 1..65535")
    try:
        ipaddress.IPv4Network(rule.get("source_network"), strict=False)
    except (ValueError, TypeError):
        raise _invalid("source_network must be an IPv4 address or CIDR block") from None
    description = rule.get("description")
    if not isinstance(description, str) or len(description) > 128:
        raise _invalid("description must be a string of at most 128 characters")
    return {k: rule[k] for k in ("protocol", "port_range", "source_network", "description") if k in rule}


def _generate_key_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return public, private


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("%s %s", self.address_string(), format % args)

    def _serve(self) -> None:
        emulator = self.server.emulator
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers: dict[str, str] = {}
        if parts.path.startswith("/_emulator/"):
            status, payload = self._admin(emulator, parts.path, raw)
        else:
            try:
                key = emulator.authenticate(self.headers.get("Authorization"))
                emulator.admit(key, self.command, parts.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    raise _invalid("The request body is not valid JSON.") from None
                status, payload = emulator.handle(self.command, parts.path, body)
            except ApiError as error:
                status, payload, headers = error.status, error.body(), error.headers
            emulator.note(self.command, parts.path, status)
        out = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(out)
        if self.server.observer and not parts.path.startswith("/_emulator/"):
            self.server.observer(Exchange(self.command, parts.path, parts.query, dict(self.headers.items()),
                                          raw, status, {"Content-Type": "application/json", **headers}, out))

    def _admin(self, emulator: Emulator, path: str, raw: bytes) -> tuple[int, Any]:
        try:
            body = json.loads(raw) if raw else {}
            if self.command == "GET" and path == "/_emulator/state":
                return 200, emulator.snapshot()
            if self.command == "GET" and path == "/_emulator/requests":
                return 200, emulator.request_log()
            if self.command == "POST" and path == "/_emulator/config":
                return 200, emulator.configure(_object(body))
            match = re.fullmatch(r"/_emulator/instances/([^/]+)/(terminate|preempt)", path)
            if self.command == "POST" and match:
                status = "terminated" if match.group(2) == "terminate" else "preempted"
                return 200, emulator.set_status(match.group(1), status)
            raise _not_found("emulator endpoint")
        except ValueError:
            return 400, _invalid("The request body is not valid JSON.").body()
        except ApiError as error:
            return error.status, error.body()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: Emulator
    observer: Callable[[Exchange], None] | None


class LambdaEmulator:
    """The emulator on a loopback port, in this process; `with LambdaEmulator(...) as url:` works too."""

    def __init__(self, state_file: str | os.PathLike[str], api_keys: Iterable[str], *,
                 boot_seconds: float = 2.0, host: str = "127.0.0.1", port: int = 0,
                 config: Config | None = None, observer: Callable[[Exchange], None] | None = None) -> None:
        self.config = config or Config()
        self.config.boot_seconds = boot_seconds
        self.emulator = Emulator(Path(state_file), api_keys, self.config)
        self._address = (host, port)
        self._observer = observer
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def start(self) -> str:
        server = _Server(self._address, _Handler)
        server.emulator, server.observer = self.emulator, self._observer
        self._server = server
        # A short poll makes stop() quick; the tests start and stop one emulator each.
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="lambda-emulator", daemon=True)
        self._thread.start()
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> LambdaEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m automation.sandbox.lambda_emulator",
                                     description="Local Lambda Cloud API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state", required=True, type=Path, help="JSON state file (created if missing)")
    parser.add_argument("--boot-seconds", type=float, default=2.0, help="booting -> active delay")
    parser.add_argument("--api-key", action="append", default=[], help="an accepted key (prefer the env var)")
    parser.add_argument("--ip", default="127.0.0.1", help="the ip launched instances report")
    parser.add_argument("--rate-limit", type=float, help="requests per second per key (default: unlimited)")
    args = parser.parse_args(argv)
    keys = [*args.api_key, *filter(None, (k.strip() for k in os.environ.get(KEYS_ENV, "").split(",")))]
    config = Config(ip=args.ip, rate_limit={"requests": args.rate_limit, "per_seconds": 1.0} if args.rate_limit else None)
    emulator = LambdaEmulator(args.state, keys, boot_seconds=args.boot_seconds, host=args.host,
                              port=args.port, config=config)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(emulator.start(), flush=True)
    stop.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
