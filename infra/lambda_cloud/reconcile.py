"""Finding this project's instances on Lambda Cloud: by launch token, by project tags, orphans.

Every launch carries two tags besides the stack's own: `orchestra-launch`, a token stable for one
resource and one set of replace-triggering inputs (so a re-run of an interrupted create finds
the instance it launched, and a replacement never mistakes the old instance for its own), and
`orchestra-launched-at`, the launch time in epoch seconds (the API reports none), from which an
orphan's age and cost so far are computed. A launched instance is matched by token and name.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.lambda_cloud.catalog import LIVE_STATUSES
from infra.lambda_cloud.client import LambdaClient
from infra.lambda_cloud.models import Instance

TOKEN_TAG = "orchestra-launch"
LAUNCHED_AT_TAG = "orchestra-launched-at"
PROJECT_TAG, STACK_TAG = "project", "stack"


def resource_key(project: str, stack: str, resource_name: str) -> str:
    """A short id of one resource in one stack (what its URN names), for launch tokens."""
    return hashlib.sha256(f"{project}\0{stack}\0{resource_name}".encode()).hexdigest()[:16]


def launch_token(key: str, replace_inputs: Mapping[str, Any]) -> str:
    """`key` plus a digest of the inputs whose change replaces the instance (user_data included,
    hashed, never stored)."""
    digest = hashlib.sha256(json.dumps(replace_inputs, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{key}-{digest}"


def launch_tags(token: str, tags: Mapping[str, str], now: float | None = None) -> dict[str, str]:
    launched = str(int(time.time() if now is None else now))
    return {**tags, TOKEN_TAG: token, LAUNCHED_AT_TAG: launched}


def find_launched(client: LambdaClient, token: str, name: str | None) -> list[Instance]:
    """Live instances carrying `token` (and `name`, when given), oldest launch first."""
    found = [i for i in client.list_instances()
             if i.status in LIVE_STATUSES and i.tags.get(TOKEN_TAG) == token and (name is None or (i.name or None) == name)]
    return sorted(found, key=lambda i: (launched_at(i) or 0.0, i.id))


def launched_at(instance: Instance) -> float | None:
    try:
        return float(instance.tags[LAUNCHED_AT_TAG])
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class Orphan:
    id: str
    name: str | None
    instance_type: str
    region: str
    status: str
    age_s: float | None          # None: launched without the launch-time tag
    cost_usd: float | None       # price per hour x age

    @classmethod
    def of(cls, instance: Instance, now: float) -> Orphan:
        started = launched_at(instance)
        age = None if started is None else max(0.0, now - started)
        cost = None if age is None else round(instance.price_cents_per_hour / 100 * age / 3600, 2)
        return cls(instance.id, instance.name, instance.instance_type, instance.region, instance.status, age, cost)


def project_instances(client: LambdaClient, project: str, stack: str) -> list[Instance]:
    """Live instances tagged as this project's and this stack's."""
    return [i for i in client.list_instances() if i.status in LIVE_STATUSES
            and i.tags.get(PROJECT_TAG) == project and i.tags.get(STACK_TAG) == stack]


def find_orphans(client: LambdaClient, *, project: str, stack: str, tracked_ids: Iterable[str],
                 now: float | None = None) -> list[Orphan]:
    """This stack's live instances that its state does not track: billed, and nobody's."""
    tracked = set(tracked_ids)
    moment = time.time() if now is None else now
    return [Orphan.of(i, moment) for i in project_instances(client, project, stack) if i.id not in tracked]


@dataclass(frozen=True)
class PendingCreate:
    """What to do with one create an interrupted run left pending in the stack's state."""

    urn: str
    action: str                  # "adopt": cleared, the next `up` adopts the instance by its token; "clear": nothing to track
    instance_id: str | None
    reason: str


def plan_pending_creates(client: LambdaClient, pending_operations: Iterable[Mapping[str, Any]],
                         tracked_ids: Iterable[str]) -> list[PendingCreate]:
    """Look up each pending LambdaInstance create by its launch token. Other resources and creates
    recorded before launch tokens existed are left for `pulumi refresh` to ask about."""
    tracked = set(tracked_ids)
    plans = []
    for op in pending_operations:
        resource = op.get("resource") or {}
        inputs = resource.get("inputs") or {}
        token = inputs.get("launch_token")
        if op.get("type") != "creating" or not str(resource.get("type", "")).endswith(":LambdaInstance") \
                or not isinstance(token, str) or not token:
            continue
        name = inputs.get("name") if isinstance(inputs.get("name"), str) else None
        found = find_launched(client, token, name)
        urn = str(resource.get("urn"))
        if not found:
            plans.append(PendingCreate(urn, "clear", None, "the interrupted create launched nothing"))
        elif found[0].id in tracked:
            plans.append(PendingCreate(urn, "clear", found[0].id, f"a later run adopted instance {found[0].id}"))
        else:
            plans.append(PendingCreate(urn, "adopt", found[0].id,
                                       f"instance {found[0].id} was launched; the next `up` adopts it by its launch token"))
    return plans


def untracked_peers(tracked: Instance, listing: Iterable[Instance]) -> list[Instance]:
    """Live instances carrying the same project and stack tags as `tracked`, other than it: for a
    stack that tracks one instance, each of these is billed and tracked by nobody."""
    project, stack = tracked.tags.get(PROJECT_TAG), tracked.tags.get(STACK_TAG)
    if not project or not stack:
        return []
    return [i for i in listing if i.id != tracked.id and i.status in LIVE_STATUSES
            and i.tags.get(PROJECT_TAG) == project and i.tags.get(STACK_TAG) == stack]
