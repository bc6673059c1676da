"""LambdaInstance's provider: check against what Lambda offers, launch or adopt, rename, terminate.

`check()` (so `preview` too) derives the launch token and, when the instance is to be created or
replaced, asks /instance-types once per provider process whether the type is offered and a wanted
region has capacity. A replacement launches the new instance before the old one is terminated,
so a failed create leaves the old one running. Where that order is impossible the preview says so:
a replacement of the same type and region with no capacity for a second instance is refused here
(never turned into delete-first); a new SSH key under the same name makes the engine delete the
instance first, and ssh_key.py's diff says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult
from pulumi.runtime.rpc import UNKNOWN

from infra.lambda_cloud import (
    DEFAULT_API_URL,
    GONE_STATUSES,
    REGION_CODES,
    AccountInactive,
    Instance,
    InstanceType,
    InvalidApiKey,
    LambdaError,
    NotFound,
)
from infra.lambda_cloud.catalog import MAX_NAME, MAX_USER_DATA, tag_problems
from infra.lambda_cloud.reconcile import launch_token
from infra.lambda_dynamic.common import check_inputs, client_from_env, diff_inputs, inputs_of, known
from infra.lambda_dynamic.instance_launch import adopt_or_launch, give_up, wait_active

REGIONS = frozenset(REGION_CODES)

INSTANCE_DEFAULTS: dict[str, Any] = {
    "api_url": DEFAULT_API_URL, "name": None, "file_system_names": [], "user_data": None,
    "tags": {}, "fallback_regions": [], "active_timeout_seconds": 900, "poll_interval_seconds": 10,
    "keep_on_timeout": False, "unhealthy_grace_seconds": 60, "ssh_key_ids": [], "firewall_ruleset_ids": {},
    "launch_key": None,
}
INSTANCE_OUTPUTS = ("ip", "private_ip", "status", "hostname", "launched_region")
# Lambda can rename a running instance and nothing else; the rest lives only in our state.
_INSTANCE_REPLACE = ("instance_type_name", "region_name", "ssh_key_names", "ssh_key_ids", "file_system_names",
                     "user_data", "tags", "firewall_ruleset_ids")
_INSTANCE_UPDATE = ("name", "api_key", "api_url", "fallback_regions", "active_timeout_seconds",
                    "poll_interval_seconds", "keep_on_timeout", "unhealthy_grace_seconds")
# /instance-types per (api_url, key digest), for the life of the provider process (one engine run).
_OFFERS: dict[tuple[str, str], dict[str, InstanceType]] = {}


def _string_list_problem(props: Mapping[str, Any], prop: str) -> str | None:
    value = props.get(prop)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        return f"{prop} must be a list of non-empty strings, got {value!r}"
    return None


def _instance_problems(props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    given = {k: v for k, v in props.items() if known(v)}
    if "instance_type_name" in given and not (isinstance(given["instance_type_name"], str) and given["instance_type_name"]):
        yield "instance_type_name", "instance_type_name is required, e.g. 'gpu_1x_a10'"
    if "region_name" in given and given["region_name"] not in REGIONS:
        yield "region_name", f"region_name {given['region_name']!r} is not a Lambda region; one of {', '.join(sorted(REGIONS))}"
    for prop in ("ssh_key_names", "ssh_key_ids", "file_system_names", "fallback_regions"):
        if prop in given and (problem := _string_list_problem(given, prop)):
            yield prop, problem
    if "ssh_key_names" in given and isinstance(given["ssh_key_names"], (list, tuple)) and len(given["ssh_key_names"]) != 1:
        yield "ssh_key_names", f"ssh_key_names must name exactly one SSH key (the API's rule), got {len(given['ssh_key_names'])}"
    bad = [r for r in given.get("fallback_regions") or () if r not in REGIONS]
    if bad:
        yield "fallback_regions", f"fallback_regions has unknown regions: {', '.join(map(str, bad))}"
    name = given.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME):
        yield "name", "name must be a string of at most 64 characters"
    user_data = given.get("user_data")
    if user_data is not None and (not isinstance(user_data, str) or len(user_data.encode()) > MAX_USER_DATA):
        yield "user_data", "user_data must be a cloud-init text of at most 1 MB"
    rulesets = given.get("firewall_ruleset_ids")
    if "firewall_ruleset_ids" in given and not (isinstance(rulesets, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in rulesets.items())):
        yield "firewall_ruleset_ids", "firewall_ruleset_ids must map a region to a LambdaFirewallRuleset id"
    tags = given.get("tags")
    if "tags" in given and not isinstance(tags, Mapping):
        yield "tags", "tags must be a mapping of tag key to value"
    elif tags:
        for problem in tag_problems(tags):
            yield "tags", problem
    for prop in ("active_timeout_seconds", "poll_interval_seconds", "unhealthy_grace_seconds"):
        value = given.get(prop)
        if prop in given and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            yield prop, f"{prop} must be a positive number of seconds, got {value!r}"
    if "keep_on_timeout" in given and not isinstance(given["keep_on_timeout"], bool):
        yield "keep_on_timeout", "keep_on_timeout must be true or false"


def _same_instance_input(prop: str, old: Any, new: Any) -> bool:
    empty: dict[str, Any] = {"name": None, "user_data": None, "tags": {}, "file_system_names": [], "fallback_regions": [],
                             "firewall_ruleset_ids": {}}
    if prop == "ssh_key_ids" and not old:
        return True  # recorded before the instance followed its key's id: nothing to compare
    if prop in ("name", "user_data"):
        return (old or None) == (new or None)
    if prop in empty:
        old, new = old or empty[prop], new or empty[prop]
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        return list(old) == list(new)
    return old == new


def _token(inputs: Mapping[str, Any]) -> str:
    replace = {p: inputs.get(p) for p in _INSTANCE_REPLACE}
    if not known(replace) or not inputs.get("launch_key") or not known(inputs["launch_key"]):
        return UNKNOWN if inputs.get("launch_key") else ""
    return launch_token(str(inputs["launch_key"]), replace)


def _offers(inputs: Mapping[str, Any]) -> dict[str, InstanceType]:
    cache_key = (str(inputs["api_url"]), hashlib.sha256(str(inputs["api_key"]).encode()).hexdigest())
    if cache_key not in _OFFERS:
        with client_from_env(inputs) as client:
            _OFFERS[cache_key] = client.instance_types()
    return _OFFERS[cache_key]


def _offer_problems(olds: Mapping[str, Any], inputs: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """What Lambda would refuse at launch, asked only when this check leads to a launch."""
    launching = not olds or any(not _same_instance_input(p, olds.get(p), inputs.get(p)) for p in _INSTANCE_REPLACE)
    needed = ("api_key", "api_url", "instance_type_name", "region_name", "fallback_regions")
    if not launching or not all(known(inputs.get(p)) for p in needed):
        return
    try:
        offers = _offers(inputs)
    except (InvalidApiKey, AccountInactive) as exc:
        yield "api_key", f"Lambda Cloud refused the key: {exc}"
        return
    except LambdaError:
        return  # unreachable or failing now: create checks again and says so
    kind = inputs["instance_type_name"]
    if kind not in offers:
        yield "instance_type_name", (f"instance_type_name {kind!r} is not offered to this Lambda Cloud account; "
                                     f"offered: {', '.join(sorted(offers)) or 'none'}")
        return
    wanted = [inputs["region_name"], *(inputs.get("fallback_regions") or [])]
    available = offers[kind].regions_with_capacity
    if any(r in available for r in wanted):
        return
    now = f"regions with capacity now: {', '.join(available) or 'none'}"
    if olds and olds.get("instance_type_name") == kind and olds.get("region_name") in wanted:
        # The old instance may hold the very slot the new one needs: create-first cannot launch it.
        yield "region_name", (f"this replacement cannot launch its new {kind} while the old instance runs: a "
                              "replacement launches the new instance before the old one is terminated (so a failed "
                              f"launch leaves the old one running), and there is no capacity for another {kind} in "
                              f"{', '.join(wanted)}; {now}. Add a region with capacity to fallback_regions "
                              "(orchestra:lambda_fallback_regions), or apply the change once capacity frees up")
    else:
        yield "region_name", f"no capacity for {kind} in {', '.join(wanted)}; {now}"


def _observed(instance: Instance) -> dict[str, Any]:
    return {"ip": instance.ip, "private_ip": instance.private_ip, "status": instance.status,
            "hostname": instance.hostname, "launched_region": instance.region, "name": instance.name or None}


class InstanceProvider(ResourceProvider):
    """CRUD of one Lambda Cloud instance, mirroring Terraform's lambdalabs_instance."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        result = check_inputs(news, INSTANCE_DEFAULTS, _instance_problems)
        if result.failures:
            return result
        inputs = {**result.inputs, "launch_token": _token(result.inputs)}
        failures = [CheckFailure(prop, reason) for prop, reason in _offer_problems(inputs_of(olds), inputs)]
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Create before delete: a replacement that fails to launch leaves the old instance running.
        return diff_inputs(olds, news, _INSTANCE_REPLACE, _INSTANCE_UPDATE, same=_same_instance_input)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = inputs_of(props)
        with client_from_env(props) as client:
            instance_id = adopt_or_launch(client, inputs)
            try:
                instance = wait_active(client, instance_id, inputs)
            except Exception as exc:
                raise give_up(client, instance_id, inputs, exc) from None
        return CreateResult(instance_id, {**inputs, **_observed(instance), "name": inputs.get("name")})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with client_from_env(props) as client:
            try:
                instance = client.get_instance(id_)
            except NotFound:
                return ReadResult("", {})
        if instance.status in GONE_STATUSES:
            return ReadResult("", {})
        return ReadResult(id_, {**inputs_of(props), **_observed(instance)})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = {**inputs_of(news), **{k: olds.get(k) for k in INSTANCE_OUTPUTS}}
        if not _same_instance_input("name", olds.get("name"), news.get("name")):
            with client_from_env(news) as client:
                outs.update(_observed(client.rename(id_, news.get("name") or "")))
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with client_from_env(props) as client:
            try:
                if client.get_instance(id_).status in GONE_STATUSES:
                    return
                client.terminate([id_])
            except NotFound:
                return  # already gone is what delete wants
