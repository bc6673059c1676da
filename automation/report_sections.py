"""The report's operational sections: verdict, last update, cost, connectivity diagram, key rotation, plan.

`ReportExtras` is gathered once (automation/report_build.py) and rendered here, so the
verdict at the top is computed from the same recommendations the report lists at the
bottom: it cannot say "healthy" above a P1, nor "No action required" beside a stack
that has nothing deployed. The connectivity diagram is Mermaid (GitHub renders it):
one node per key, service and deployed resource, edges key → service → resource, each
node classed ok / bad / idle (not deployed). Labels hold names and statuses, never values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from automation import runbooks
from automation.cost import InstanceCost, format_duration, to_json

ROTATION_COMMAND = "python -m automation rotate {key} {stack}"
SERVICES = {"lambda": "Lambda Cloud API", "github": "GitHub", "vercel": "Vercel", "app": "Backend app"}
# Which deployed resources each service feeds (the app keys ride into the backend's environment).
SERVICE_RESOURCES = {"lambda": ("instance", "backend"), "app": ("backend",), "vercel": ("frontend",),
                     "github": ("github_secrets",)}
RESOURCE_LABELS = {"instance": "Lambda instance", "backend": "Backend /health", "frontend": "Frontend",
                   "github_secrets": "GitHub Actions secrets"}


@dataclass(frozen=True)
class LastUpdate:
    kind: str                     # update | refresh | destroy | import ...
    result: str                   # succeeded | failed | in-progress
    finished_at: datetime | None
    changes: Mapping[str, int] = field(default_factory=dict)

    def text(self) -> str:
        when = f" at {self.finished_at:%Y-%m-%d %H:%M:%S} UTC" if self.finished_at else ""
        return f"{self.kind} {self.result}{when}"


@dataclass(frozen=True)
class KeyVersions:
    rotated_at: datetime | None
    previous_rotated_at: datetime | None     # the version `rotate` kept, when there is one


@dataclass(frozen=True)
class ReportExtras:
    stack_exists: bool
    deployed: bool                              # the stack holds resources (outputs exported)
    last_update: LastUpdate | None              # None: no update in the stack's history
    costs: tuple[InstanceCost, ...] = ()
    cost_problem: str = ""
    plan: tuple[str, ...] = ()                  # what `up` would create, before the first deploy
    resources: Mapping[str, bool | None] = field(default_factory=dict)   # deployed resource → ok (None: planned)
    versions: Mapping[str, KeyVersions] = field(default_factory=dict)


def recommendations(data: Any) -> list[tuple[str, str]]:
    """What the extras add to the report's list: nothing deployed, orphans still billed."""
    extras: ReportExtras | None = data.extras
    if extras is None:
        return []
    found = []
    if not extras.deployed:
        if extras.last_update and extras.last_update.kind == "destroy":
            found.append(("P2", f"nothing is deployed on stack {data.stack} (last: {extras.last_update.text()}): "
                                f"`python -m automation up {data.stack}` to deploy again"))
        else:
            from automation.sandbox.local_stack import LOCAL_STACK

            create = "" if extras.stack_exists or data.stack == LOCAL_STACK else " --create"
            found.append(("P2", f"stack {data.stack} has never been deployed: `python -m automation up {data.stack}{create}`"))
    for orphan in (c for c in extras.costs if c.orphan):
        found.append(("P1", f"orphaned instance {orphan.instance_id} ({orphan.instance_type}, ${orphan.price_usd_per_hour:.2f}/h) "
                            f"is billed but not in the state: see {runbooks.link(runbooks.ORPHANED_INSTANCE)}"))
    return found


def verdict(data: Any, recs: Sequence[tuple[str, str]]) -> str:
    """One line, from the same facts as the rest of the report."""
    urgent = [text for prio, text in recs if prio == "P1"]
    due = [text for prio, text in recs if prio != "P1"]
    extras: ReportExtras | None = data.extras
    if urgent:
        more = f" (+{len(urgent) - 1} more)" if len(urgent) > 1 else ""
        return f"❌ Action required: {urgent[0]}{more}"
    if extras is not None and not extras.deployed:
        keys = "keys ready" if all(k.ok and k.live != "unknown" for k in data.keys) else "keys not all verified live"
        return f"➖ Not deployed: {keys}; {due[0]}" if due else f"➖ Not deployed: {keys}"
    if due:
        return f"⚠️ Healthy, {len(due)} item{'s' if len(due) > 1 else ''} due: {due[0]}"
    return "✅ Healthy: no action required"


def area_cell(area: str, ok: bool, data: Any) -> str:
    extras: ReportExtras | None = data.extras
    if extras is not None and not extras.deployed and area in ("infrastructure", "health"):
        return "➖ not deployed"
    return "✅" if ok else "❌"


def _node_id(prefix: str, name: str) -> str:
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def _label(text: str) -> str:
    return text.replace('"', "'")


def mermaid(data: Any) -> str:
    """flowchart LR: key → service → resource, classed ok / bad / idle."""
    from secrets_bridge.catalog import get_spec

    extras: ReportExtras | None = data.extras
    resources = dict(extras.resources) if extras else {}
    lines = ["flowchart LR"]
    edges: list[str] = []
    services: dict[str, bool] = {}
    for key in data.keys:
        try:
            components = get_spec(key.name).components
        except KeyError:
            continue
        lines.append(f'  {_node_id("key", key.name)}["{_label(key.name)}<br/>{key.live}"]:::{"ok" if key.ok else "bad"}')
        for component in components:
            services[component] = services.get(component, True) and key.ok
            edges.append(f"  {_node_id('key', key.name)} --> {_node_id('svc', component)}")
    for component, ok in services.items():
        lines.append(f'  {_node_id("svc", component)}["{_label(SERVICES.get(component, component))}"]:::{"ok" if ok else "bad"}')
        for resource in SERVICE_RESOURCES.get(component, ()):
            if resource not in resources:
                continue
            edges.append(f"  {_node_id('svc', component)} --> {_node_id('res', resource)}")
    for resource, state in resources.items():
        status = "planned" if state is None else ("ok" if state else "failing")
        klass = "idle" if state is None else ("ok" if state else "bad")
        lines.append(f'  {_node_id("res", resource)}["{_label(RESOURCE_LABELS.get(resource, resource))}<br/>{status}"]:::{klass}')
    lines += sorted(set(edges), key=edges.index)
    lines += ["  classDef ok fill:#dcfce7,stroke:#15803d,color:#14532d",
              "  classDef bad fill:#fee2e2,stroke:#b91c1c,color:#7f1d1d",
              "  classDef idle fill:#f3f4f6,stroke:#6b7280,color:#374151"]
    return "\n".join(lines)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d}" if moment else "-"


def rotation_rows(data: Any) -> list[tuple[str, ...]]:
    from automation.report import ROTATION_DAYS

    extras: ReportExtras | None = data.extras
    versions = dict(extras.versions) if extras else {}
    now = data.generated_at
    rows: list[tuple[str, ...]] = []
    for key in data.keys:
        age = key.age_days(now)
        kept = versions.get(key.name)
        previous = _when(kept.previous_rotated_at) if kept else "-"
        command = f"`{ROTATION_COMMAND.format(key=key.name, stack=data.stack)}`"
        if age is None:
            status = "age unknown (not in the store)"
        elif key.rotation_due(now):
            status = f"⚠️ due ({age - ROTATION_DAYS} d over): {command}"
        else:
            status = f"✅ {ROTATION_DAYS - age} d left"
        rows.append((key.name, _when(key.rotated_at), "-" if age is None else f"{age} d", f"{ROTATION_DAYS} d", previous, status))
    return rows


def cost_rows(costs: Iterable[InstanceCost]) -> list[tuple[str, ...]]:
    return [(("orphan " if c.orphan else "") + c.instance_id, c.instance_type, c.region, c.gpu_description,
             f"${c.price_usd_per_hour:.2f}/h", "-" if c.uptime_s is None else format_duration(c.uptime_s),
             "-" if c.cost_usd is None else f"${c.cost_usd:.2f}") for c in costs]


def markdown(data: Any, table: Any) -> list[str]:
    """The extra sections, placed before Recommendations; `table` is report.py's Markdown table helper."""
    extras: ReportExtras | None = data.extras
    if extras is None:
        return []
    lines = ["## Cost", ""]
    if extras.costs:
        lines += table(("Instance", "Type", "Region", "GPU", "Price", "Uptime", "Cost so far"), cost_rows(extras.costs))
        if any(c.launched_from == "state" for c in extras.costs):
            lines += ["", "Uptime of an instance without a launch tag counts from when the engine recorded it (already "
                          "active): a lower bound."]
    else:
        lines.append(f"No running instance ({extras.cost_problem or 'nothing deployed'}).")
    if extras.plan:
        lines += ["", "## Plan (what `up` would create)", ""] + [f"- {item}" for item in extras.plan]
    lines += ["", "## Connectivity", "", "```mermaid", mermaid(data), "```", ""]
    lines += ["## Key rotation", ""]
    lines += table(("Key", "Current since", "Age", "Rotation line", "Previous version since", "Status"), rotation_rows(data))
    lines += ["", f"Rotate with `{ROTATION_COMMAND.format(key='KEY', stack=data.stack)}` "
                  f"(runbook: {runbooks.link(runbooks.LEAKED_KEY)}).", ""]
    return lines


def to_jsonable(data: Any, recs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    extras: ReportExtras | None = data.extras
    if extras is None:
        return {"verdict": verdict(data, recs)}
    last = extras.last_update
    return {
        "verdict": verdict(data, recs),
        "deployed": extras.deployed, "stack_exists": extras.stack_exists,
        "last_update": None if last is None else {"kind": last.kind, "result": last.result,
                                                  "finished_at": last.finished_at.isoformat() if last.finished_at else None,
                                                  "changes": dict(last.changes)},
        "cost": to_json(extras.costs), "cost_problem": extras.cost_problem, "plan": list(extras.plan),
        "connectivity_mermaid": mermaid(data),
        "key_versions": {name: {"rotated_at": v.rotated_at.isoformat() if v.rotated_at else None,
                                "previous_rotated_at": v.previous_rotated_at.isoformat() if v.previous_rotated_at else None}
                         for name, v in extras.versions.items()},
    }
