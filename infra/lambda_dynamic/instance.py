"""LambdaInstance's provider: launch (with region fallback), wait for `active`, rename, terminate."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from infra.lambda_cloud import (
    DEFAULT_API_URL,
    GONE_STATUSES,
    INSTANCES_CONSOLE_URL,
    REGION_CODES,
    Instance,
    InstanceNotActive,
    InsufficientCapacity,
    InvalidInput,
    LambdaClient,
    LambdaError,
    NotFound,
)
from infra.lambda_cloud.catalog import MAX_NAME, MAX_USER_DATA, tag_problems
from infra.lambda_dynamic.common import check_inputs, client_from_env, diff_inputs, inputs_of, known

REGIONS = frozenset(REGION_CODES)
_GONE = tuple(GONE_STATUSES)

INSTANCE_DEFAULTS: dict[str, Any] = {
    "api_url": DEFAULT_API_URL, "name": None, "file_system_names": [], "user_data": None,
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
    given = {k: v for k, v in props.items() if known(v)}
    if "instance_type_name" in given and not (isinstance(given["instance_type_name"], str) and given["instance_type_name"]):
        yield "instance_type_name", "instance_type_name is required, e.g. 'gpu_1x_a10'"
    if "region_name" in given and given["region_name"] not in REGIONS:
        yield "region_name", f"region_name {given['region_name']!r} is not a Lambda region; one of {', '.join(sorted(REGIONS))}"
    for prop in ("ssh_key_names", "file_system_names", "fallback_regions"):
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
    tags = given.get("tags")
    if "tags" in given and not isinstance(tags, Mapping):
        yield "tags", "tags must be a mapping of tag key to value"
    elif tags:
        for problem in tag_problems(tags):
            yield "tags", problem
    for prop in ("active_timeout_seconds", "poll_interval_seconds"):
        value = given.get(prop)
        if prop in given and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            yield prop, f"{prop} must be a positive number of seconds, got {value!r}"
    if "keep_on_timeout" in given and not isinstance(given["keep_on_timeout"], bool):
        yield "keep_on_timeout", "keep_on_timeout must be true or false"


def _same_instance_input(prop: str, old: Any, new: Any) -> bool:
    empty: dict[str, Any] = {"name": None, "user_data": None, "tags": {}, "file_system_names": [], "fallback_regions": []}
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
        return check_inputs(news, INSTANCE_DEFAULTS, _instance_problems)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Names and capacity are scarce: the old instance goes before its replacement launches.
        return diff_inputs(olds, news, _INSTANCE_REPLACE, _INSTANCE_UPDATE, same=_same_instance_input,
                     delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = inputs_of(props)
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
                                 f"billed, terminate it at {INSTANCES_CONSOLE_URL}",
                                 instance_id=instance_id, last_status=last, terminated=False)
    return InstanceNotActive(f"{what}; terminated it, nothing is left running", instance_id=instance_id,
                             last_status=last, terminated=True)


