"""Gathering a report: before the first deploy (keys, connectivity, plan) and after (history, health, cost).

`report STACK` works on a stack that does not exist yet: the keys are checked live
(that is the connectivity the old report showed), and the plan lists what `up` would
create with its price. Once deployed, the last update comes from the stack's history
(`pulumi stack history`, secrets hidden), not from whichever command wrote the report.
Reports are kept ORCHESTRA_REPORT_KEEP (default 50) per stack; older pairs are removed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automation.report_sections import KeyVersions, LastUpdate, ReportExtras
from automation.retention import keep_count

KEEP_ENV = "ORCHESTRA_REPORT_KEEP"
DEFAULT_KEEP = 50


def prune_reports(directory: Path, stack: str, keep: int | None = None) -> list[Path]:
    """Remove all but the newest `keep` (markdown, json) pairs of `stack`; other stacks' reports stay."""
    keep = keep or keep_count(KEEP_ENV, DEFAULT_KEEP, "reports")
    pattern = re.compile(rf"^{re.escape(stack)}-\d{{8}}T\d{{12}}Z\.(md|json)$")
    bases = sorted({p.name.rsplit(".", 1)[0] for p in directory.iterdir() if pattern.match(p.name)}, reverse=True)
    removed = []
    for base in bases[keep:]:
        for suffix in (".md", ".json"):
            path = directory / f"{base}{suffix}"
            if path.exists():
                path.unlink()
                removed.append(path)
    return removed


def last_update(stack: Any) -> LastUpdate | None:
    """The newest entry of `pulumi stack history` (config secrets stay hidden: no --show-secrets)."""
    proc = stack.cli(["stack", "history", "--json", "--page-size", "1", "--page", "1"])
    try:
        entries = json.loads(proc.stdout) if proc.code == 0 else []
    except ValueError:
        entries = []
    if not entries:
        return None
    entry = entries[0]
    finished = None
    if entry.get("endTime"):
        finished = datetime.strptime(entry["endTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return LastUpdate(kind=str(entry.get("kind", "?")), result=str(entry.get("result", "?")), finished_at=finished,
                      changes=dict(entry.get("resourceChanges") or {}))


def key_versions(env: str, names: list[str]) -> dict[str, KeyVersions]:
    from automation.rotation import previous_name
    from secrets_bridge.store import SecretStore, store_path

    if not store_path(env).exists():
        return {}
    store = SecretStore.open(env)
    found = {}
    for name in names:
        current, previous = store.meta(name), store.meta(previous_name(name))
        found[name] = KeyVersions(current.rotated_at if current else None, previous.rotated_at if previous else None)
    return found


def _setting(root: Path, stack: str, name: str, fallback: str) -> str:
    from automation.project import project_file, stack_file

    stack_cfg = stack_file(root, stack).get("config") or {}
    if f"orchestra:{name}" in stack_cfg:
        return str(stack_cfg[f"orchestra:{name}"])
    default = (project_file(root).get("config") or {}).get(name, fallback)
    return str(default.get("default", fallback) if isinstance(default, dict) else default)


def plan(root: Path, stack: str, lambda_key: str | None, lambda_url: str | None) -> tuple[str, ...]:
    """What `up` would create, from the enabled components and the stack's settings; Lambda priced live."""
    from automation.project import enabled_components

    enabled = enabled_components(root, stack)
    items = []
    if "lambda" in enabled:
        kind = _setting(root, stack, "lambda_instance_type", "gpu_1x_a10")
        region = _setting(root, stack, "lambda_region", "us-east-1")
        items.append(f"Lambda Cloud: SSH key, firewall rule and a {kind} instance in {region}{_price(kind, lambda_key, lambda_url)}, "
                     "serving the backend (/health)")
    if "vercel" in enabled:
        items.append("Vercel: the frontend project")
    if "github" in enabled:
        items.append("GitHub: the repository's Actions secrets")
    return tuple(items)


def _price(kind: str, key: str | None, url: str | None) -> str:
    if not key:
        return " (price unknown: no Lambda key)"
    from automation.cost import client

    try:
        with client(key, url) as lambda_client:
            listed = lambda_client.instance_types().get(kind)
    except Exception as exc:  # noqa: BLE001 - the plan is informative; the key table shows the key's verdict
        return f" (price unknown: {type(exc).__name__})"
    if listed is None:
        return " (not offered by the API)"
    return f" at ${listed.price_cents_per_hour / 100:.2f}/h ({listed.gpu_description})"


def _resources(outputs: Mapping[str, Any], health: Any, deployed: bool, enabled: set[str]) -> dict[str, bool | None]:
    if not deployed:
        planned = {"lambda": ("instance", "backend"), "vercel": ("frontend",), "github": ("github_secrets",)}
        return {r: None for component in sorted(enabled) for r in planned.get(component, ())}
    checked = {t.name: t.ok for t in health.targets} if health else {}
    found: dict[str, bool | None] = {}
    for resource, output in (("instance", "instance_id"), ("backend", "backend_url"), ("frontend", "frontend_url"),
                             ("github_secrets", "github_secret_names")):
        if outputs.get(output):
            found[resource] = checked.get(resource, True)
    return found


def extras(opts: Any, stack: Any | None, outputs: Mapping[str, Any], health: Any, key_names: list[str],
           lambda_key: str | None, lambda_url: str | None) -> ReportExtras:
    """What the report adds to status.write_report's data; `stack` has .name and .cli() (None: no stack yet)."""
    from automation import cost
    from automation.project import enabled_components

    short = opts.stack.rsplit("/", 1)[-1]      # ORG/STACK: files are named after the stack part
    deployed = bool(outputs.get("instance_id") or outputs.get("backend_url") or outputs.get("frontend_url"))
    costs, problem = cost.for_session(stack, outputs, lambda_key, lambda_url) if stack and deployed else ([], "")
    return ReportExtras(
        stack_exists=stack is not None, deployed=deployed, last_update=last_update(stack) if stack else None,
        costs=tuple(costs), cost_problem=problem,
        plan=() if deployed else plan(opts.root, short, lambda_key, lambda_url),
        resources=_resources(outputs, health, deployed, enabled_components(opts.root, short)),
        versions=key_versions(opts.env, key_names))


def before_first_deploy(opts: Any, target: Any) -> tuple[str, str]:
    """`report STACK` for a stack that does not exist yet: keys checked live, the plan priced."""
    from automation import preflight, status
    from automation.pipeline import located_row

    short = opts.stack.rsplit("/", 1)[-1]
    checked, values = preflight.run_preflight(opts.root, short, opts.env, stack_config={}, skip_verify=opts.skip_verify,
                                              live_names=opts.live_names, located=located_row(target))
    print(preflight.render(checked), file=opts.out, flush=True)
    lambda_key = next((v for spec, v in values.items() if spec.name == "LAMBDA_API_KEY"), None)
    url = os.environ.get("ORCHESTRA_LAMBDA_API_URL") or _setting(opts.root, short, "lambda_api_url", "") or None
    more = extras(opts, None, {}, None, [k.name for k in checked.keys], lambda_key, url)
    return status.write_report(opts, checked, {}, None, "never deployed", {}, engine_version=target.engine.version,
                               backend=target.backend, extras=more)
