"""What the stack's Lambda instances cost: type, region, GPU, price per hour, uptime, cost so far.

Type and region come from the instance itself (GET /instances/{id}), GPU and price from
GET /instance-types, as the Lambda Cloud API publishes them. The API reports no launch time,
so uptime counts from the launch-time tag the provider sets when it launches
(infra.lambda_cloud.reconcile.launched_at); an instance launched without it (older
deployments) counts from the `created` time the engine recorded in the stack's state,
when it was already active: a lower bound, marked `launched_from: "state"`. Orphans (live
instances tagged for this stack that the state does not hold, still billed) come from
infra.lambda_cloud.reconcile.find_orphans and are priced the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

INSTANCE_TYPE = "LambdaInstance"
PROJECT = "orchestra"              # the project tag the Lambda component sets


@dataclass(frozen=True)
class InstanceCost:
    instance_id: str
    instance_type: str
    region: str
    gpu_description: str
    price_cents_per_hour: int
    status: str
    launched_at: datetime | None     # None: unknown
    uptime_s: float | None
    cost_usd: float | None           # price × uptime, in dollars
    orphan: bool = False
    launched_from: str = "launch"    # launch (the provider's tag) | state (engine's created time) | unknown

    @property
    def price_usd_per_hour(self) -> float:
        return self.price_cents_per_hour / 100

    def line(self) -> str:
        """`gpu_1x_a10 (A10 (24 GB PCIe)) in us-east-1: $0.75/h, up 2h 03m, $1.54 so far`"""
        what = f"{self.instance_type} ({self.gpu_description}) in {self.region}: ${self.price_usd_per_hour:.2f}/h"
        if self.uptime_s is None or self.cost_usd is None:
            spent = "uptime unknown"
        else:
            spent = f"up {format_duration(self.uptime_s)}, ${self.cost_usd:.2f} so far"
        return f"{'orphan ' if self.orphan else ''}{self.instance_id[:12]} {what}, {spent}"


def format_duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {int(seconds % 60):02d}s"


def cost_of(price_cents_per_hour: int, uptime_s: float) -> float:
    """Dollars, to a hundredth of a cent."""
    return round(price_cents_per_hour * uptime_s / 3600 / 100, 4)


def launch_times(exported_state: str) -> dict[str, datetime]:
    """Instance id → the `created` time the engine recorded, from `pulumi stack export` output."""
    try:
        resources = (json.loads(exported_state).get("deployment") or {}).get("resources") or []
    except (ValueError, AttributeError):
        return {}
    found = {}
    for resource in resources:
        created = resource.get("created")
        if resource.get("type", "").endswith(INSTANCE_TYPE) or INSTANCE_TYPE in resource.get("urn", ""):
            if resource.get("id") and created:
                found[str(resource["id"])] = datetime.fromisoformat(created.replace("Z", "+00:00")).astimezone(UTC)
    return found


def _priced(instance_id: str, kind_name: str, region: str, status: str, launched_at: datetime | None, source: str,
            now: datetime, types: Mapping[str, Any], orphan: bool) -> InstanceCost:
    kind = types.get(kind_name)
    cents = int(getattr(kind, "price_cents_per_hour", 0) or 0)
    uptime = round(max(0.0, (now - launched_at).total_seconds()), 1) if launched_at else None
    return InstanceCost(instance_id=instance_id, instance_type=kind_name, region=region,
                        gpu_description=getattr(kind, "gpu_description", "") or "?", price_cents_per_hour=cents,
                        status=status, launched_at=launched_at, uptime_s=uptime,
                        cost_usd=None if uptime is None else cost_of(cents, uptime), orphan=orphan,
                        launched_from=source if launched_at else "unknown")


def stack_costs(client: Any, stack: str, instance_ids: Iterable[str], recorded: Mapping[str, datetime],
                now: datetime | None = None) -> list[InstanceCost]:
    """The stack's instances, then its orphans."""
    from infra.lambda_cloud.reconcile import find_orphans, launched_at

    now = now or datetime.now(UTC)
    types = client.instance_types()
    ours = [i for i in instance_ids if i]
    costs = []
    for instance_id in ours:
        instance = client.get_instance(instance_id)
        tagged = launched_at(instance)
        when, source = ((datetime.fromtimestamp(tagged, UTC), "launch") if tagged is not None
                        else (recorded.get(instance_id), "state"))
        costs.append(_priced(instance.id, instance.instance_type, instance.region, instance.status, when, source, now,
                             types, False))
    for orphan in find_orphans(client, project=PROJECT, stack=stack, tracked_ids=ours, now=now.timestamp()):
        when = None if orphan.age_s is None else now - timedelta(seconds=orphan.age_s)
        costs.append(_priced(orphan.id, orphan.instance_type, orphan.region, orphan.status, when, "launch", now, types, True))
    return costs


def client(api_key: str, api_url: str | None) -> Any:
    """A Lambda client for informative look-ups: short timeout, one retry (a report never waits minutes)."""
    from infra.lambda_cloud import DEFAULT_API_URL, LambdaClient, RetryPolicy

    return LambdaClient(api_key, api_url or DEFAULT_API_URL, pace=False, timeout=10.0,
                        retry=RetryPolicy(max_attempts=2, base_delay=0.5))


def for_session(session: Any, outputs: Mapping[str, Any], api_key: str | None, api_url: str | None,
                now: datetime | None = None) -> tuple[list[InstanceCost], str]:
    """(costs, problem): the stack's Lambda costs, or why they are unknown. Never raises for the API's sake."""
    from infra.lambda_cloud import LambdaError

    if not outputs.get("instance_id"):
        return [], "no Lambda instance deployed"
    if not api_key:
        return [], "no Lambda API key to ask for prices"
    exported = session.cli(["stack", "export"])
    launched = launch_times(exported.stdout) if exported.code == 0 else {}
    try:
        with client(api_key, api_url) as lambda_client:
            return stack_costs(lambda_client, session.name, [str(outputs["instance_id"])], launched, now), ""
    except LambdaError as exc:
        return [], f"Lambda API: {type(exc).__name__}"
    except Exception as exc:  # noqa: BLE001 - cost is informative; it never fails a command
        return [], f"prices unavailable ({type(exc).__name__})"


def to_json(costs: Iterable[InstanceCost]) -> list[dict[str, Any]]:
    return [{"instance_id": c.instance_id, "instance_type": c.instance_type, "region": c.region,
             "gpu_description": c.gpu_description, "price_cents_per_hour": c.price_cents_per_hour,
             "price_usd_per_hour": c.price_usd_per_hour, "status": c.status,
             "launched_at": c.launched_at.isoformat() if c.launched_at else None, "uptime_s": c.uptime_s,
             "cost_usd": c.cost_usd, "orphan": c.orphan, "launched_from": c.launched_from} for c in costs]


def for_stack(opts: Any) -> tuple[list[InstanceCost], str]:
    """Price the existing stack's instances, read-only (the `health` and `outputs` commands)."""
    from automation.readonly import deployed

    found = deployed(opts)
    return for_session(found.stack, found.outputs, found.lambda_key, found.lambda_url)


def render(costs: Iterable[InstanceCost], problem: str) -> str:
    lines = [f"cost: {c.line()}" for c in costs]
    return "\n".join(lines) if lines else f"cost: unknown ({problem})"
