"""`python -m automation orphans STACK`: billed Lambda instances this stack launched and does not track.

First the creates an interrupted run left pending in the state are looked up by their launch token
(infra.lambda_cloud.reconcile.plan_pending_creates) and cleared, so the engine stops warning about
them: one that launched nothing leaves nothing; one that launched an instance is adopted by the next
`up` (its create finds the instance by token), and that instance is reported as such, not as an
orphan. (The engine's own `refresh --import-pending-creates` drops a dynamic resource's pending create
without importing it, so it is not used.) Then the stack's tagged live instances that the state
does not hold are listed with type, region, age and cost so far; `--terminate` ends them after
confirmation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from automation.engine_cli import engine_error_line
from automation.errors import ConfigInvalid, RefreshFailed
from infra.lambda_cloud import DEFAULT_API_URL, LambdaClient, LambdaError, RetryPolicy
from infra.lambda_cloud.reconcile import Orphan, PendingCreate, find_orphans, plan_pending_creates
from secrets_bridge.tables import render_table

if TYPE_CHECKING:
    from automation.pipeline import Options

PROJECT = "orchestra"
Cli = Callable[[list[str]], Any]   # runs one engine command on the stack; returns .code .stdout .stderr


@dataclass(frozen=True)
class OrphansResult:
    stack: str
    resolved: tuple[PendingCreate, ...]
    orphans: tuple[Orphan, ...]
    terminated: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not [o for o in self.orphans if o.id not in self.terminated]


def tracked_instances(deployment: Mapping[str, Any]) -> list[str]:
    return [str(r["id"]) for r in deployment.get("resources") or [] if str(r.get("type", "")).endswith(":LambdaInstance")
            and r.get("id")]


def resolve_pending(cli: Cli, plans: Sequence[PendingCreate]) -> None:
    """Clear the pending creates the plans looked up (one refresh)."""
    if plans:
        proc = cli(["refresh", "--yes", "--skip-preview", "--non-interactive", "--clear-pending-creates"])
        if proc.code != 0:
            raise RefreshFailed(f"clearing the interrupted creates failed: {engine_error_line(proc.stderr)}")


def plan_and_clear(cli: Cli, client: LambdaClient, deployment: Mapping[str, Any]) -> list[PendingCreate]:
    """Look up the state's pending creates by launch token and clear them (one refresh, only when any)."""
    plans = plan_pending_creates(client, deployment.get("pending_operations") or [], tracked_instances(deployment))
    resolve_pending(cli, plans)
    return plans


def reconcile(cli: Cli, client: LambdaClient, *, stack: str) -> tuple[list[PendingCreate], list[Orphan]]:
    """Resolve pending creates, then list orphans, against one stack's state."""
    deployment = _deployment(cli)
    plans = plan_and_clear(cli, client, deployment)
    if plans:
        deployment = _deployment(cli)
    adopting = [p.instance_id for p in plans if p.action == "adopt" and p.instance_id]
    tracked = [*tracked_instances(deployment), *adopting]
    return plans, find_orphans(client, project=PROJECT, stack=stack, tracked_ids=tracked)


def resolve_before_up(session: Any, exported: str, key: str | None, url: str | None,
                      clear: Callable[[], None]) -> list[PendingCreate]:
    """`up`'s step: the pending creates in `exported` (the export up backs up anyway, so a run with
    none costs no engine call) looked up, then, after a backup of the state that still holds them,
    cleared by `clear` (automation/deploy.py, under up's lock policy)."""
    from automation import backups

    deployment = dict(json.loads(exported).get("deployment") or {})
    if not deployment.get("pending_operations") or not key:
        return []                          # without the key nothing can be looked up: the engine's warning stays
    try:
        with LambdaClient(key, url or DEFAULT_API_URL) as client:
            plans = plan_pending_creates(client, deployment["pending_operations"], tracked_instances(deployment))
    except LambdaError as exc:
        raise RefreshFailed(f"looking up the creates an interrupted run left pending failed "
                            f"({str(exc).splitlines()[0][:200]}), nothing was changed: run `up` again when the "
                            "Lambda API answers") from None
    if plans:
        backups.take(session, "reconcile", exported=exported)
        clear()
    return plans


def up_line(plan: PendingCreate) -> str:
    """What `up` did with one interrupted create."""
    from automation.runbooks import PENDING_OPERATION, link

    name = plan.urn.rsplit("::", 1)[-1]
    what = (f"the instance {plan.instance_id} it launched is adopted by this up" if plan.action == "adopt"
            else plan.reason)
    return f"{name}: interrupted create cleared; {what} (runbook: {link(PENDING_OPERATION)})"


def check_lines(cli: Cli, key: str, url: str | None, stack: str) -> list[str]:
    """`check`'s read-only view: one `stack export` and one instance listing; nothing is cleared."""
    try:
        deployment = _deployment(cli)
        # One attempt: check reports, it does not wait out an API that is down.
        with LambdaClient(key, url or DEFAULT_API_URL, timeout=10.0, retry=RetryPolicy(max_attempts=1)) as client:
            found = find_orphans(client, project=PROJECT, stack=stack, tracked_ids=tracked_instances(deployment))
    except (LambdaError, RefreshFailed) as exc:
        return [f"orphans: not checked ({str(exc).splitlines()[0][:200]})"]
    lines = [f"orphan {o.id}: {o.instance_type} in {o.region}, "
             f"{'age unknown' if o.age_s is None else f'{o.age_s / 3600:.1f} h old'}, "
             f"{'cost unknown' if o.cost_usd is None else f'${o.cost_usd:.2f} so far'}, billed and not in the state: "
             f"`python -m automation orphans {stack} --terminate`" for o in found]
    pending = sum(1 for op in deployment.get("pending_operations") or [] if op.get("type") == "creating")
    if pending:
        lines.append(f"{pending} interrupted create(s) pending in the state (an instance above may be one's): "
                     f"`python -m automation up {stack}` adopts or clears them")
    return lines or [f"orphans: none running for stack {stack}"]


def _deployment(cli: Cli) -> dict[str, Any]:
    proc = cli(["stack", "export"])
    if proc.code != 0:
        raise RefreshFailed(f"reading the stack's state failed: {engine_error_line(proc.stderr)}")
    return dict(json.loads(proc.stdout).get("deployment") or {})


def render(result: OrphansResult) -> str:
    lines = [f"{p.urn.rsplit('::', 1)[-1]}: interrupted create cleared; {p.reason}" for p in result.resolved]
    if not result.orphans:
        return "\n".join([*lines, f"stack {result.stack}: no orphaned Lambda instances"])
    rows = [(o.id, o.name or "-", o.instance_type, o.region, o.status,
             "-" if o.age_s is None else f"{o.age_s / 3600:.1f} h",
             "-" if o.cost_usd is None else f"${o.cost_usd:.2f}",
             "terminated" if o.id in result.terminated else "RUNNING, untracked")
            for o in result.orphans]
    table = render_table(("Instance", "Name", "Type", "Region", "Status", "Age", "Cost so far", "Now"), rows)
    return "\n".join([*lines, table])


def orphans(opts: Options, *, terminate: bool) -> OrphansResult:
    """The `orphans` command: open the stack as every command does, reconcile, optionally terminate."""
    from automation.deploy import confirm
    from automation.pipeline import say
    from automation.status import lambda_settings
    from automation.workspace import locate, open_stack, read_config

    target = locate(opts.root, opts.stack)
    config = read_config(target, opts.env)
    key, url = lambda_settings(config)
    if not key:
        raise ConfigInvalid(f"stack {opts.stack} has no orchestra:lambda_api_key: `up {opts.stack}` injects it")
    with open_stack(target, store_env=opts.env, config=config) as session, \
            LambdaClient(key, url or DEFAULT_API_URL) as client:
        plans, found = reconcile(session.cli, client, stack=target.name.short)
        terminated: list[str] = []
        if terminate and found:
            confirm({"delete": len(found)}, opts.stack, yes=opts.yes, verb="Terminate untracked instances of",
                    out=opts.out)
            client.terminate([o.id for o in found])
            terminated = [o.id for o in found]
    result = OrphansResult(opts.stack, tuple(plans), tuple(found), tuple(terminated))
    say(opts, render(result))
    return result
