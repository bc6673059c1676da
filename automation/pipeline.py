"""The commands that change a stack: preflight ─► open ─► inject ─► preview ─► confirm ─► apply ─► health ─► report.

Preflight (engine, backend login, the stack's existence, keys resolved and
verified) runs before anything is written; `workspace.open_stack` is the first
step that may write, and it undoes its writes when the run fails before the
engine applied anything. The read-only commands are in automation/status.py.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from automation import backups, deploy, inject, orphans, preflight
from automation.errors import DriftDetected, Unhealthy
from automation.events import EventView
from automation.health import HealthReport
from automation.plugins import prepare_plugins
from automation.project import refresh_by_default
from automation.results import ChangeResult, DeployResult, Run, masked_outputs, plain_outputs
from automation.workspace import StackSession, Target, locate_with_config, open_stack, require_stack
from infra.lambda_cloud.reconcile import PendingCreate

HEALTH_DEADLINE_S = 300.0          # after `up`: the instance may still be booting


@dataclass(frozen=True)
class Options:
    root: Path
    stack: str
    env: str
    create: bool = False
    yes: bool = False
    skip_verify: bool = False
    secrets_provider: str | None = None          # --secrets-provider: for a stack created by this run
    live_names: frozenset[str] | None = None     # the sandbox verifies only what it emulates
    out: TextIO = field(default=sys.stdout)
    refresh: bool = False                        # up/preview --refresh
    diff: bool = False                           # --diff: property values, not just names
    expect_no_changes: bool = False
    locks: deploy.LockPolicy = field(default_factory=deploy.LockPolicy)
    live_view: bool = False                      # stdout is a terminal: in-flight status line
    run: Run = field(default_factory=Run)


def say(opts: Options, text: str) -> None:
    print(text, file=opts.out, flush=True)


def view(opts: Options) -> EventView:
    return EventView(out=opts.out, detail=opts.diff, live=opts.live_view)


def change(op: str, stack: str, changes: dict[str, int], shown: EventView, *, past: bool) -> ChangeResult:
    return ChangeResult(operation=op, stack=stack, changes=dict(changes), summary=deploy.change_line(changes, past=past),
                        resources=tuple(shown.resources), warnings=tuple(shown.warnings))


def located_row(target: Target) -> preflight.Located:
    engine, problem = preflight.engine_status(target.engine.version, target.engine.origin)
    return preflight.Located(engine, problem, target.backend, None, target.provider)


def run_preflight(opts: Options, *, create: bool) -> tuple[Target, preflight.PreflightResult, dict, dict[str, str]]:
    """Everything that must hold before the first write; raises with its own exit code otherwise."""
    opts.run.enter("preflight")
    target, config = locate_with_config(opts.root, opts.stack, opts.env, secrets_provider=opts.secrets_provider)
    require_stack(target, create)          # before the keys: an unknown stack needs no master key
    result, values = preflight.run_preflight(opts.root, target.name.short, opts.env, stack_config=config,
                                             skip_verify=opts.skip_verify, live_names=opts.live_names,
                                             located=located_row(target))
    opts.run.learned["preflight"] = result
    say(opts, preflight.render(result))
    preflight.require_ok(result)
    prepare_plugins(target)                # the engine set-up's last step: plugins only, nothing of the stack
    return target, result, values, config


def _inject(opts: Options, session: StackSession, values: dict) -> inject.InjectResult:
    opts.run.enter("inject")
    injected = inject.inject(session, values)
    opts.run.learned["inject"] = injected
    say(opts, f"inject: {', '.join(injected.changed) or 'nothing changed'}")
    return injected


def _refresh_first(opts: Options, session: StackSession) -> bool:
    return opts.refresh or refresh_by_default(opts.root, session.short)


def _preview(opts: Options, session: StackSession) -> ChangeResult:
    opts.run.enter("preview")
    shown = view(opts)
    counts = deploy.preview(session, shown, opts.locks, refresh=_refresh_first(opts, session),
                            expect_no_changes=opts.expect_no_changes)
    planned = change("preview", opts.stack, counts, shown, past=False)
    opts.run.learned["preview"] = planned
    say(opts, f"preview: {planned.summary}")
    return planned


def _resolve_pending(opts: Options, session: StackSession, key: str | None, url: str | None
                     ) -> tuple[str | None, list[PendingCreate]]:
    """Creates an interrupted run left pending, resolved by launch token. Returns the export to back
    up before `up` (None once resolving changed the state) and what was resolved."""
    opts.run.enter("pending operations")
    exported = backups.export(session, "up")
    resolved = orphans.resolve_before_up(session, exported, key, url,
                                         lambda: deploy.clear_pending_creates(session, view(opts), opts.locks))
    opts.run.learned["resolved"] = resolved
    for plan in resolved:
        say(opts, orphans.up_line(plan))
    return (None if resolved else exported), resolved


def inject_only(opts: Options) -> inject.InjectResult:
    target, _, values, config = run_preflight(opts, create=opts.create)
    with open_stack(target, store_env=opts.env, create=opts.create, config=config) as session:
        return _inject(opts, session, values)


def preview(opts: Options) -> DeployResult:
    target, checked, values, config = run_preflight(opts, create=opts.create)
    with open_stack(target, store_env=opts.env, create=opts.create, config=config) as session:
        injected = _inject(opts, session, values)
        planned = _preview(opts, session)
        return DeployResult(stack=opts.stack, preflight=checked, inject=injected, preview=planned)


def up(opts: Options) -> DeployResult:
    from automation import report_build, status

    target, checked, values, config = run_preflight(opts, create=opts.create)
    with open_stack(target, store_env=opts.env, create=opts.create, config=config) as session:
        injected = _inject(opts, session, values)
        key, url = status.lambda_settings(session.config())
        exported, resolved = _resolve_pending(opts, session, key, url)
        planned = _preview(opts, session)
        opts.run.enter("confirmation")
        deploy.confirm(planned.changes, opts.stack, yes=opts.yes, out=opts.out)
        opts.run.enter("up")
        shown = view(opts)
        raw_outputs = deploy.up(session, shown, opts.locks, refresh=_refresh_first(opts, session), exported=exported)
        applied = change("up", opts.stack, shown.changes, shown, past=True)
        opts.run.learned["applied"] = applied
        say(opts, f"up: {applied.summary}")
        outputs = masked_outputs(raw_outputs)
        opts.run.enter("health check")
        health = status.check_and_show(opts, plain_outputs(raw_outputs), key, url, HEALTH_DEADLINE_S)
        opts.run.learned["health"] = health
        opts.run.enter("report")
        more = report_build.extras(opts, session, outputs, health, [k.name for k in checked.keys], key, url)
        report = status.write_report(opts, checked, outputs, health, "succeeded", applied.changes,
                                     engine_version=session.engine_version, backend=session.backend, extras=more)
    result = DeployResult(stack=opts.stack, preflight=checked, inject=injected, preview=planned,
                          applied=applied, outputs=outputs, health=health, report=report, resolved=tuple(resolved))
    require_healthy(opts.stack, health, report)
    return result


def refresh(opts: Options) -> ChangeResult:
    """Preview the refresh, ask (or --yes), then record the drift; --expect-no-changes fails on drift."""
    opts.run.enter("preflight")
    target, config = locate_with_config(opts.root, opts.stack, opts.env)
    if target.exists:                      # an unknown stack is open_stack's error, with the list of stacks
        prepare_plugins(target)
    with open_stack(target, store_env=opts.env, config=config) as session:
        opts.run.enter("refresh preview")
        shown = view(opts)
        counts = deploy.preview_refresh(session, shown, opts.locks)
        planned = change("refresh preview", opts.stack, counts, shown, past=False)
        opts.run.learned["preview"] = planned
        say(opts, f"refresh preview: {planned.summary}")
        if opts.expect_no_changes and deploy.has_changes(counts):
            drifted = ", ".join(f"{r.name} {r.diff_text}".strip() for r in planned.resources) or planned.summary
            raise DriftDetected(f"stack {opts.stack} has drifted ({drifted}): nothing was recorded; "
                                f"`python -m automation refresh {opts.stack}` records it, `up {opts.stack} --refresh` repairs it")
        if not deploy.has_changes(counts):
            return planned
        opts.run.enter("confirmation")
        deploy.confirm(counts, opts.stack, yes=opts.yes, verb="Record drift in", out=opts.out)
        opts.run.enter("refresh")
        shown = view(opts)
        result = change("refresh", opts.stack, deploy.refresh(session, shown, opts.locks), shown, past=True)
    say(opts, f"refresh: {result.summary}")
    return result


def destroy(opts: Options) -> ChangeResult:
    """List what will be deleted (the real count) and ask, unless --yes; then delete it."""
    opts.run.enter("preflight")
    target, config = locate_with_config(opts.root, opts.stack, opts.env)
    if target.exists:                      # an unknown stack is open_stack's error, with the list of stacks
        prepare_plugins(target)
    with open_stack(target, store_env=opts.env, config=config) as session:
        if not opts.yes:
            opts.run.enter("destroy preview")
            shown = view(opts)
            counts = deploy.preview_destroy(session, shown, opts.locks)
            opts.run.enter("confirmation")
            deploy.confirm(counts, opts.stack, yes=False, verb="Delete from", out=opts.out)
        opts.run.enter("destroy")
        shown = view(opts)
        result = change("destroy", opts.stack, deploy.destroy(session, shown, opts.locks), shown, past=True)
    say(opts, f"destroy: {result.summary}")
    return result


def require_healthy(stack: str, result: HealthReport, report_paths: tuple[str, str] | None) -> None:
    if not result.ok:
        where = f" (details in {report_paths[0]})" if report_paths else ""
        raise Unhealthy(f"stack {stack} is not healthy{where}: {result.summary}")
