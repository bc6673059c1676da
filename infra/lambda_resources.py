"""What each Lambda resource does to the API: the pulumi.dynamic ResourceProvider implementations.

Pulumi pickles these objects into state (dill, recurse=True), so they hold nothing: no key, no
httpx client, no lock. Every method gets `api_key` and `api_url` from the resource's properties
and opens a short-lived LambdaClient. Client pacing and retries come from the provider process's
environment (it inherits the Pulumi CLI's):

    ORCHESTRA_LAMBDA_REQUEST_INTERVAL   seconds between requests (default 1; the API allows ~1/s)
    ORCHESTRA_LAMBDA_LAUNCH_INTERVAL    seconds between launches (default 12, the API's limit)
    ORCHESTRA_LAMBDA_MAX_ATTEMPTS       attempts per request on 429/5xx/provider errors (default 5)
    ORCHESTRA_LAMBDA_BACKOFF_SECONDS    first backoff when no Retry-After is given (default 1)

A read that finds the object gone returns `ReadResult("", {})`: the Python dynamic provider host
sends that empty id to the engine, which then drops the resource from state on refresh.
"""

from __future__ import annotations

import ipaddress
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime.rpc import UNKNOWN

from infra.lambda_client import FirewallRule, Instance, LambdaClient, Pacing, RetryPolicy
from infra.lambda_errors import (
    InstanceNotActive,
    InsufficientCapacity,
    InvalidInput,
    LambdaError,
    NotFound,
)

PROVIDER_KEY = "__provider"

# The API's PublicRegionCode enum (OpenAPI 1.8.3).
REGIONS = frozenset({
    "europe-central-1", "asia-south-1", "australia-east-1", "me-west-1", "asia-northeast-1",
    "asia-northeast-2", "us-east-1", "us-west-2", "us-west-1", "us-south-1", "us-west-3",
    "us-midwest-1", "us-east-2", "us-south-2", "us-south-3", "us-east-3", "us-midwest-2",
})
_GONE = ("terminating", "terminated", "preempted")
_TAG_KEY = re.compile(r"^[a-z][a-z0-9-:]+$")
_PUBLIC_KEY = re.compile(r"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-\S+) [A-Za-z0-9+/=]+( .*)?$")

# Firewall rules are one list replaced whole; resources in one deployment share this process.
_FIREWALL_LOCK = threading.Lock()


def client_from_env(props: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> LambdaClient:
    def number(name: str, default: float) -> float:
        raw = environ.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise InvalidInput(f"{name} must be a number of seconds, got {raw!r}") from None
        if value < 0:
            raise InvalidInput(f"{name} must not be negative, got {raw!r}")
        return value

    pacing = Pacing(number("ORCHESTRA_LAMBDA_REQUEST_INTERVAL", 1.0), number("ORCHESTRA_LAMBDA_LAUNCH_INTERVAL", 12.0))
    retry = RetryPolicy(max_attempts=max(1, int(number("ORCHESTRA_LAMBDA_MAX_ATTEMPTS", 5))),
                        base_delay=number("ORCHESTRA_LAMBDA_BACKOFF_SECONDS", 1.0))
    return LambdaClient(props["api_key"], props["api_url"], pace=pacing, retry=retry)


def _known(value: Any) -> bool:
    """False while any part of the value is still unknown (a preview of a computed input)."""
    if isinstance(value, str):
        return value != UNKNOWN
    if isinstance(value, Mapping):
        return all(_known(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_known(v) for v in value)
    return True


def _inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


def _connection_problems(props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    key, url = props.get("api_key"), props.get("api_url")
    if _known(key) and (not isinstance(key, str) or not key.strip()):
        yield "api_key", "api_key is required (the Lambda Cloud API key, as a secret)"
    if _known(url) and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        yield "api_url", f"api_url must be an http(s) URL, got {url!r}"


def _check(news: Mapping[str, Any], defaults: Mapping[str, Any], problems) -> CheckResult:
    inputs = {**defaults, **{k: v for k, v in news.items() if v is not None}}
    failures = [CheckFailure(prop, reason) for prop, reason in
                [*_connection_problems(inputs), *problems(inputs)]]
    return CheckResult(inputs, failures)


def _diff(olds: Mapping[str, Any], news: Mapping[str, Any], replace_on: tuple[str, ...],
          update_on: tuple[str, ...], *, same=None, delete_before_replace: bool = False) -> DiffResult:
    same = same or (lambda prop, old, new: old == new)
    changed = [p for p in (*replace_on, *update_on)
               if not _known(news.get(p)) or not same(p, olds.get(p), news.get(p))]
    replaces = [p for p in changed if p in replace_on]
    return DiffResult(changes=bool(changed), replaces=replaces,
                      delete_before_replace=delete_before_replace and bool(replaces))


# --- instance ---------------------------------------------------------------------------------

INSTANCE_DEFAULTS: dict[str, Any] = {
    "api_url": "https://cloud.lambda.ai", "name": None, "file_system_names": [], "user_data": None,
    "tags": {}, "fallback_regions": [], "active_timeout_seconds": 900, "poll_interval_seconds": 10,
    "keep_on_timeout": False,
}
INSTANCE_OUTPUTS = ("ip", "private_ip", "status", "hostname", "launched_region")
# Lambda can rename a running instance and nothing else; the rest lives only in our state.
_INSTANCE_REPLACE = ("instance_type_name", "region_name", "ssh_key_names", "file_system_names", "user_data", "tags")
_INSTANCE_UPDATE = ("name", "api_key", "api_url", "fallback_regions", "active_timeout_seconds",
                    "poll_interval_seconds", "keep_on_timeout")


def _string_list_problem(props: Mapping[str, Any], prop: str) -> str | None:
    value = props.get(prop)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        return f"{prop} must be a list of non-empty strings, got {value!r}"
    return None


def _instance_problems(props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    known = {k: v for k, v in props.items() if _known(v)}
    if "instance_type_name" in known and not (isinstance(known["instance_type_name"], str) and known["instance_type_name"]):
        yield "instance_type_name", "instance_type_name is required, e.g. 'gpu_1x_a10'"
    if "region_name" in known and known["region_name"] not in REGIONS:
        yield "region_name", f"region_name {known['region_name']!r} is not a Lambda region; one of {', '.join(sorted(REGIONS))}"
    for prop in ("ssh_key_names", "file_system_names", "fallback_regions"):
        if prop in known and (problem := _string_list_problem(known, prop)):
            yield prop, problem
    if "ssh_key_names" in known and isinstance(known["ssh_key_names"], (list, tuple)) and len(known["ssh_key_names"]) != 1:
        yield "ssh_key_names", f"ssh_key_names must name exactly one SSH key (the API's rule), got {len(known['ssh_key_names'])}"
    bad = [r for r in known.get("fallback_regions") or () if r not in REGIONS]
    if bad:
        yield "fallback_regions", f"fallback_regions has unknown regions: {', '.join(map(str, bad))}"
    name = known.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 64):
        yield "name", "name must be a string of at most 64 characters"
    user_data = known.get("user_data")
    if user_data is not None and (not isinstance(user_data, str) or len(user_data.encode()) > 1024 * 1024):
        yield "user_data", "user_data must be a cloud-init text of at most 1 MB"
    tags = known.get("tags")
    if "tags" in known and not isinstance(tags, Mapping):
        yield "tags", "tags must be a mapping of tag key to value"
    elif tags:
        for key, value in tags.items():
            if not (isinstance(key, str) and len(key) <= 55 and _TAG_KEY.match(key)):
                yield "tags", f"tag key {key!r} must match [a-z][a-z0-9-:]+ and be at most 55 characters"
            if not isinstance(value, str) or len(value) > 128:
                yield "tags", f"tag {key!r} needs a string value of at most 128 characters"
    for prop in ("active_timeout_seconds", "poll_interval_seconds"):
        value = known.get(prop)
        if prop in known and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            yield prop, f"{prop} must be a positive number of seconds, got {value!r}"
    if "keep_on_timeout" in known and not isinstance(known["keep_on_timeout"], bool):
        yield "keep_on_timeout", "keep_on_timeout must be true or false"


def _same_instance_input(prop: str, old: Any, new: Any) -> bool:
    empty = {"name": None, "user_data": None, "tags": {}, "file_system_names": [], "fallback_regions": []}
    if prop in ("name", "user_data"):
        return (old or None) == (new or None)
    if prop in empty:
        old, new = old or empty[prop], new or empty[prop]
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        return list(old) == list(new)
    return old == new


def _observed(instance: Instance) -> dict[str, Any]:
    return {"ip": instance.ip, "private_ip": instance.private_ip, "status": instance.status,
            "hostname": instance.hostname, "launched_region": instance.region, "name": instance.name or None}


class InstanceProvider(ResourceProvider):
    """CRUD of one Lambda Cloud instance, mirroring Terraform's lambdalabs_instance."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return _check(news, INSTANCE_DEFAULTS, _instance_problems)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Names and capacity are scarce: the old instance goes before its replacement launches.
        return _diff(olds, news, _INSTANCE_REPLACE, _INSTANCE_UPDATE, same=_same_instance_input,
                     delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = _inputs(props)
        with client_from_env(props) as client:
            instance_id = _launch(client, inputs)
            try:
                instance = _wait_active(client, instance_id, inputs)
            except Exception as exc:
                raise _give_up(client, instance_id, inputs, exc) from None
        return CreateResult(instance_id, {**inputs, **_observed(instance), "name": inputs.get("name")})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with client_from_env(props) as client:
            try:
                instance = client.get_instance(id_)
            except NotFound:
                return ReadResult("", {})
        if instance.status in _GONE:
            return ReadResult("", {})
        return ReadResult(id_, {**_inputs(props), **_observed(instance)})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = {**_inputs(news), **{k: olds.get(k) for k in INSTANCE_OUTPUTS}}
        if not _same_instance_input("name", olds.get("name"), news.get("name")):
            with client_from_env(news) as client:
                outs.update(_observed(client.rename(id_, news.get("name") or "")))
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with client_from_env(props) as client:
            try:
                if client.get_instance(id_).status in _GONE:
                    return
                client.terminate([id_])
            except NotFound:
                return  # already gone is what delete wants


def _launch(client: LambdaClient, inputs: Mapping[str, Any]) -> str:
    """Launch in the first wanted region with capacity, checked with /instance-types first."""
    kind = inputs["instance_type_name"]
    wanted = [inputs["region_name"], *[r for r in inputs.get("fallback_regions") or () if r != inputs["region_name"]]]
    types = client.instance_types()
    if kind not in types:
        raise InvalidInput(f"instance_type_name {kind!r} is not offered by Lambda Cloud; offered: "
                           f"{', '.join(sorted(types))}")
    for region in [r for r in wanted if r in types[kind].regions_with_capacity]:
        try:
            ids = client.launch(region_name=region, instance_type_name=kind,
                                ssh_key_names=inputs["ssh_key_names"], name=inputs.get("name"),
                                file_system_names=inputs.get("file_system_names") or (),
                                user_data=inputs.get("user_data"), tags=inputs.get("tags") or None)
        except InsufficientCapacity:
            continue  # taken between the check and the launch: try the next wanted region
        return ids[0]
    available = client.instance_types()[kind].regions_with_capacity
    raise InsufficientCapacity(
        f"no capacity for {kind} in {', '.join(wanted)}; regions with capacity now: "
        f"{', '.join(available) if available else 'none'}"
        + ("; add one of them to fallback_regions or change region_name" if available else "; try again later"),
        code="instance-operations/launch/insufficient-capacity", regions_with_capacity=available)


def _wait_active(client: LambdaClient, instance_id: str, inputs: Mapping[str, Any]) -> Instance:
    # The engine puts no deadline on dynamic providers (pulumi/pulumi#13841): this is the only one.
    timeout, interval = inputs["active_timeout_seconds"], inputs["poll_interval_seconds"]
    deadline = time.monotonic() + timeout
    while True:
        instance = client.get_instance(instance_id)
        if instance.status == "active":
            return instance
        if instance.status in _GONE:
            raise InstanceNotActive(f"instance {instance_id} became {instance.status} while booting; "
                                    "Lambda stopped it, nothing is left running",
                                    instance_id=instance_id, last_status=instance.status, terminated=True)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise InstanceNotActive(f"instance {instance_id} was still {instance.status} after "
                                    f"{timeout:g} s (active_timeout_seconds)", instance_id=instance_id,
                                    last_status=instance.status, terminated=False)
        time.sleep(min(interval, remaining))


def _give_up(client: LambdaClient, instance_id: str, inputs: Mapping[str, Any], cause: Exception) -> InstanceNotActive:
    """Create failed after launch: terminate what was launched (Pulumi will not track it) and say so."""
    last = getattr(cause, "last_status", None)
    if isinstance(cause, InstanceNotActive) and cause.terminated:
        return cause
    what = f"instance {instance_id} did not become active: {cause}"
    if isinstance(cause, InstanceNotActive) and inputs.get("keep_on_timeout"):
        return InstanceNotActive(
            f"{what}; kept running because keep_on_timeout is true. It is billed and NOT in Pulumi "
            f"state: terminate it in the Lambda console, or import it with `pulumi import`",
            instance_id=instance_id, last_status=last, terminated=False)
    try:
        client.terminate([instance_id])
    except NotFound:
        pass
    except LambdaError as exc:
        return InstanceNotActive(f"{what}; terminating it failed too ({exc}): it may still be running and "
                                 f"billed, terminate it at https://cloud.lambda.ai/instances",
                                 instance_id=instance_id, last_status=last, terminated=False)
    return InstanceNotActive(f"{what}; terminated it, nothing is left running", instance_id=instance_id,
                             last_status=last, terminated=True)


# --- SSH key ----------------------------------------------------------------------------------

SSH_KEY_DEFAULTS: dict[str, Any] = {"api_url": "https://cloud.lambda.ai", "public_key": None}


def _ssh_key_problems(props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    name, public_key = props.get("name"), props.get("public_key")
    if _known(name) and not (isinstance(name, str) and 1 <= len(name) <= 64):
        yield "name", "name must be a string of 1 to 64 characters"
    if _known(public_key) and public_key is not None and not (
            isinstance(public_key, str) and len(public_key) <= 4096 and _PUBLIC_KEY.match(public_key.strip())):
        yield "public_key", "public_key must be an OpenSSH public key line ('ssh-ed25519 AAAA... comment')"


def _same_ssh_key_input(olds: Mapping[str, Any]):
    def same(prop: str, old: Any, new: Any) -> bool:
        if prop == "public_key" and olds.get("generated"):
            return new is None  # the stored key was generated by Lambda; asking for one is no change
        if prop == "public_key":
            return (old or "").strip() == (new or "").strip()
        return old == new
    return same


class SshKeyProvider(ResourceProvider):
    """An SSH key in the Lambda account; without public_key, Lambda generates the pair."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return _check(news, SSH_KEY_DEFAULTS, _ssh_key_problems)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Key names are unique in the account, so the old key must go first.
        return _diff(olds, news, ("name", "public_key"), ("api_key", "api_url"),
                     same=_same_ssh_key_input(olds), delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = _inputs(props)
        with client_from_env(props) as client:
            clash = next((k for k in client.list_ssh_keys() if k.name == inputs["name"]), None)
            if clash:
                raise InvalidInput(f"name: an SSH key named {inputs['name']!r} already exists in the Lambda "
                                   f"account (id {clash.id}); choose another name or delete that key")
            key = client.add_ssh_key(inputs["name"], inputs.get("public_key"))
        return CreateResult(key.id, {**inputs, "public_key": key.public_key, "private_key": key.private_key,
                                     "generated": inputs.get("public_key") is None})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with client_from_env(props) as client:
            key = next((k for k in client.list_ssh_keys() if k.id == id_), None)
        if key is None:
            return ReadResult("", {})
        return ReadResult(id_, {**_inputs(props), "name": key.name, "public_key": key.public_key})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**_inputs(news), **{k: olds.get(k) for k in ("public_key", "private_key", "generated")}})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with client_from_env(props) as client:
            # The API answers 400, not 404, for an unknown id: look first so a gone key is success.
            if any(k.id == id_ for k in client.list_ssh_keys()):
                client.delete_ssh_key(id_)


# --- firewall rule ----------------------------------------------------------------------------

FIREWALL_DEFAULTS: dict[str, Any] = {"api_url": "https://cloud.lambda.ai", "protocol": "tcp",
                                     "source_network": "0.0.0.0/0"}


def _firewall_problems(props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    port, protocol = props.get("port"), props.get("protocol")
    if _known(port) and (isinstance(port, bool) or not isinstance(port, (int, float)) or int(port) != port
                         or not 1 <= port <= 65535):
        yield "port", f"port must be an integer from 1 to 65535, got {port!r}"
    if _known(protocol) and protocol not in ("tcp", "udp", "all"):
        yield "protocol", f"protocol must be tcp, udp or all (icmp has no port), got {protocol!r}"
    source = props.get("source_network")
    if _known(source):
        try:
            ipaddress.IPv4Network(source, strict=False)
        except (ValueError, TypeError):
            yield "source_network", f"source_network must be an IPv4 address or CIDR block, got {source!r}"
    description = props.get("description")
    if _known(description) and not (isinstance(description, str) and len(description) <= 128):
        yield "description", "description must be a string of at most 128 characters"


def _rule(props: Mapping[str, Any]) -> FirewallRule:
    port = int(props["port"])
    return FirewallRule(props["protocol"], (port, port), props["source_network"], props["description"])


def _same_rule(a: FirewallRule, b: FirewallRule) -> bool:
    def network(value: str) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(value, strict=False)
    return (a.protocol, a.port_range, a.description) == (b.protocol, b.port_range, b.description) and \
        network(a.source_network) == network(b.source_network)


class FirewallRuleProvider(ResourceProvider):
    """One inbound rule inside the account's rule list; every other rule is kept as it is."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        news = dict(news)
        if news.get("description") is None:
            protocol, port = news.get("protocol") or "tcp", news.get("port")
            news["description"] = f"orchestra: {protocol} port {port}" if _known([protocol, port]) else UNKNOWN
        return _check(news, FIREWALL_DEFAULTS, _firewall_problems)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return _diff(olds, news, ("port", "protocol", "source_network", "description"), ("api_key", "api_url"))

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs, ours = _inputs(props), _rule(props)
        with _FIREWALL_LOCK, client_from_env(props) as client:
            rules = client.get_firewall_rules()
            pre_existing = any(_same_rule(r, ours) for r in rules)
            if not pre_existing:
                client.put_firewall_rules([*rules, ours])
        rule_id = f"{ours.protocol}:{ours.port_range[0]}:{ipaddress.IPv4Network(ours.source_network, strict=False)}"
        # A rule that was there before is not ours to delete later.
        return CreateResult(rule_id, {**inputs, "pre_existing": pre_existing})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with client_from_env(props) as client:
            present = any(_same_rule(r, _rule(props)) for r in client.get_firewall_rules())
        return ReadResult(id_, _inputs(props)) if present else ReadResult("", {})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**_inputs(news), "pre_existing": olds.get("pre_existing", False)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if props.get("pre_existing"):
            return
        ours = _rule(props)
        with _FIREWALL_LOCK, client_from_env(props) as client:
            rules = client.get_firewall_rules()
            index = next((i for i, r in enumerate(rules) if _same_rule(r, ours)), None)
            if index is not None:
                client.put_firewall_rules(rules[:index] + rules[index + 1:])
