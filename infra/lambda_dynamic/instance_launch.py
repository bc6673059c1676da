"""How an instance comes to exist: adopt the one this launch token already started, or launch;
after an ambiguous launch failure look again before giving up; then wait for `active`.

A launch whose reply is lost (a 5xx after the request was sent, a timeout, a dropped connection,
a reply without an id) may have started a billed instance. The client never repeats it; instead
the instances are listed and the one carrying this resource's token (and name) is adopted. The
same look-up runs before every launch, so a create interrupted hard (kill -9 of the engine) and
run again finds its instance instead of launching a second one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from infra.lambda_cloud import (
    GONE_STATUSES,
    INSTANCES_CONSOLE_URL,
    ApiUnavailable,
    Instance,
    InstanceNotActive,
    InsufficientCapacity,
    InvalidInput,
    LambdaClient,
    LambdaError,
    NotFound,
    ProviderError,
    RateLimited,
    ServerError,
    UnexpectedResponse,
)
from infra.lambda_cloud.errors import InstanceUnhealthy
from infra.lambda_cloud.reconcile import TOKEN_TAG, find_launched, launch_tags

log = logging.getLogger(__name__)

# After these the launch may or may not have happened.
AMBIGUOUS = (ServerError, ApiUnavailable, UnexpectedResponse)
# Poll failures that waiting can heal (the instance itself is not known to be bad).
TRANSIENT = (ServerError, ApiUnavailable, UnexpectedResponse, ProviderError, RateLimited, NotFound)
LOOK_AGAIN_ATTEMPTS = 3


def adopt_or_launch(client: LambdaClient, inputs: Mapping[str, Any]) -> str:
    """The id of this resource's instance: an adopted one carrying its token, or a new launch."""
    token, name = inputs.get("launch_token"), inputs.get("name")
    if token:
        found = find_launched(client, token, name)
        if found:
            return _keep_one(client, found)
    try:
        return _launch(client, inputs)
    except AMBIGUOUS as exc:
        if not token:
            raise
        adopted = _look_again(client, token, name, float(inputs.get("poll_interval_seconds") or 1))
        if adopted:
            log.warning("launch answered %s, but instance %s carries its token: adopted", type(exc).__name__, adopted)
            return adopted
        raise type(exc)(f"{exc.message}; no instance carries this launch's token ({TOKEN_TAG}={token}) yet. "
                        f"If one appears, the next `up` adopts it", code=exc.code, status=exc.status) from None


def _keep_one(client: LambdaClient, found: list[Instance]) -> str:
    keep, *extra = found
    if extra:  # launched twice before this fix, or by hand with our token: one is ours, the rest billed
        client.terminate([i.id for i in extra])
        log.warning("terminated %s: same launch token as %s", ", ".join(i.id for i in extra), keep.id)
    return keep.id


def _look_again(client: LambdaClient, token: str, name: str | None, interval: float) -> str | None:
    for attempt in range(LOOK_AGAIN_ATTEMPTS):
        try:
            found = find_launched(client, token, name)
        except LambdaError:
            found = []
        if found:
            return _keep_one(client, found)
        if attempt + 1 < LOOK_AGAIN_ATTEMPTS:
            time.sleep(min(interval, 5.0))
    return None


def _launch(client: LambdaClient, inputs: Mapping[str, Any]) -> str:
    """Launch in the first wanted region with capacity, checked with /instance-types first."""
    kind = inputs["instance_type_name"]
    wanted = [inputs["region_name"], *[r for r in inputs.get("fallback_regions") or () if r != inputs["region_name"]]]
    types = client.instance_types()
    if kind not in types:
        raise InvalidInput(f"instance_type_name {kind!r} is not offered by Lambda Cloud; offered: "
                           f"{', '.join(sorted(types))}")
    tags = dict(inputs.get("tags") or {})
    rulesets = dict(inputs.get("firewall_ruleset_ids") or {})
    if inputs.get("launch_token"):
        tags = launch_tags(inputs["launch_token"], tags)
    for region in [r for r in wanted if r in types[kind].regions_with_capacity]:
        try:
            ids = client.launch(region_name=region, instance_type_name=kind,
                                ssh_key_names=inputs["ssh_key_names"], name=inputs.get("name"),
                                file_system_names=inputs.get("file_system_names") or (),
                                user_data=inputs.get("user_data"), tags=tags or None,
                                firewall_ruleset_ids=[rulesets[region]] if region in rulesets else ())
        except InsufficientCapacity:
            continue  # taken between the check and the launch: try the next wanted region
        return ids[0]
    available = client.instance_types()[kind].regions_with_capacity
    raise InsufficientCapacity(
        f"no capacity for {kind} in {', '.join(wanted)}; regions with capacity now: "
        f"{', '.join(available) if available else 'none'}"
        + ("; add one of them to fallback_regions or change region_name" if available else "; try again later"),
        code="instance-operations/launch/insufficient-capacity", regions_with_capacity=available)


def wait_active(client: LambdaClient, instance_id: str, inputs: Mapping[str, Any]) -> Instance:
    """Poll until `active`. Poll errors count only at the deadline; `unhealthy` fails after its grace."""
    # The engine puts no deadline on dynamic providers (pulumi/pulumi#13841): this is the only one.
    timeout, interval = float(inputs["active_timeout_seconds"]), float(inputs["poll_interval_seconds"])
    grace = float(inputs.get("unhealthy_grace_seconds") or 60)
    deadline = time.monotonic() + timeout
    status: str | None = None
    last_error: LambdaError | None = None
    unhealthy_since: float | None = None
    while True:
        try:
            instance = client.get_instance(instance_id)
        except TRANSIENT as exc:
            last_error = exc
        else:
            status, last_error = instance.status, None
            if status == "active":
                return instance
            if status in GONE_STATUSES:
                raise InstanceNotActive(f"instance {instance_id} became {status} while booting; "
                                        "Lambda stopped it, nothing is left running",
                                        instance_id=instance_id, last_status=status, terminated=True)
            if status == "unhealthy":
                unhealthy_since = unhealthy_since or time.monotonic()
                if time.monotonic() - unhealthy_since >= grace:
                    raise InstanceUnhealthy(f"instance {instance_id} stayed unhealthy for {grace:g} s "
                                            "(unhealthy_grace_seconds)", instance_id=instance_id,
                                            last_status=status, terminated=False)
            else:
                unhealthy_since = None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            why = f"; the last poll failed: {last_error}" if last_error else ""
            raise InstanceNotActive(f"instance {instance_id} was still {status or 'unknown'} after "
                                    f"{timeout:g} s (active_timeout_seconds){why}", instance_id=instance_id,
                                    last_status=status, terminated=False)
        time.sleep(min(interval, remaining))


def give_up(client: LambdaClient, instance_id: str, inputs: Mapping[str, Any], cause: Exception) -> InstanceNotActive:
    """Create failed after launch: terminate what was launched (Pulumi will not track it) and say so."""
    last = getattr(cause, "last_status", None)
    if isinstance(cause, InstanceNotActive) and cause.terminated:
        return cause
    what = f"instance {instance_id} did not become active: {cause}"
    if isinstance(cause, InstanceNotActive) and inputs.get("keep_on_timeout"):
        return InstanceNotActive(
            f"{what}; kept running because keep_on_timeout is true. It is billed and NOT in Pulumi state: "
            f"the next `up` adopts it (tag {TOKEN_TAG}={inputs.get('launch_token')}), or terminate it at "
            f"{INSTANCES_CONSOLE_URL}", instance_id=instance_id, last_status=last, terminated=False)
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
