"""The pipeline: preflight ─► inject ─► preview ─► confirm ─► up ─► health ─► report.

Each command of the CLI is one function here; each step returns a typed result
so the CLI can print it or emit it as JSON. No result holds a secret value:
keys appear masked, stack outputs the program marked secret are masked too.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from automation import deploy, inject, preflight
from automation.errors import EngineMissing, Unhealthy
from automation.health import HealthReport
from automation.workspace import StackSession, open_stack
from secrets_bridge.masking import mask

HEALTH_DEADLINE_S = 300.0          # after `up`: the instance may still be booting
HEALTH_COMMAND_DEADLINE_S = 60.0


@dataclass(frozen=True)
class Options:
    root: Path
    stack: str
    env: str
    create: bool = False
    yes: bool = False
    skip_verify: bool = False
    live_names: frozenset[str] | None = None     # the sandbox verifies only what it emulates
    out: TextIO = field(default=sys.stdout)


@dataclass(frozen=True)
class ChangeResult:
    operation: str              # preview | up | refresh | destroy
    stack: str
    changes: dict[str, int]
    summary: str


@dataclass(frozen=True)
class DeployResult:
    stack: str
    preflight: preflight.PreflightResult
    inject: inject.InjectResult
    preview: ChangeResult | None = None
    applied: ChangeResult | None = None
    outputs: dict[str, Any] = field(default_factory=dict)   # secret outputs masked
    health: HealthReport | None = None
    report: tuple[str, str] | None = None


def to_jsonable(value: Any) -> Any:
    """Dataclasses, paths and tuples to plain JSON types (results hold no secrets)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for prop in ("ok", "problems"):
            if isinstance(getattr(type(value), prop, None), property):
                data[prop] = to_jsonable(getattr(value, prop))
        return data
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def masked_outputs(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {name: mask(str(out.value)) if out.secret else out.value for name, out in raw.items()}


def _say(opts: Options, text: str) -> None:
    print(text, file=opts.out, flush=True)


def _change(op: str, stack: str, changes: Mapping[str, int]) -> ChangeResult:
    return ChangeResult(operation=op, stack=stack, changes=dict(changes), summary=deploy.change_line(changes))


def _prepare(opts: Options, session: StackSession) -> tuple[preflight.PreflightResult, inject.InjectResult]:
    """Preflight (blocking on problems) and inject the changed keys; one config read for both."""
    current = session.config()
    result, values = preflight.run_preflight(opts.root, opts.stack, opts.env, stack_config=current,
                                             skip_verify=opts.skip_verify, live_names=opts.live_names)
    _say(opts, preflight.render(result))
    preflight.require_ok(result)
    injected = inject.inject(session, values)
    _say(opts, f"inject: {', '.join(injected.changed) or 'nothing changed'}")
    return result, injected


def check(opts: Options) -> preflight.PreflightResult:
    """Preflight only; the stack config counts as a source when the stack already exists."""
    from automation.errors import BackendUnreachable, StackNotFound

    try:
        with open_stack(opts.root, opts.stack, store_env=opts.env) as session:
            current = session.config()
    except (EngineMissing, BackendUnreachable, StackNotFound):
        current = {}   # the preflight table reports engine and backend problems itself
    result, _ = preflight.run_preflight(opts.root, opts.stack, opts.env, stack_config=current,
                                        skip_verify=opts.skip_verify, live_names=opts.live_names)
    _say(opts, preflight.render(result))
    preflight.require_ok(result)
    return result


def inject_only(opts: Options) -> inject.InjectResult:
    with open_stack(opts.root, opts.stack, store_env=opts.env, create=opts.create) as session:
        return _prepare(opts, session)[1]


def preview(opts: Options) -> DeployResult:
    with open_stack(opts.root, opts.stack, store_env=opts.env, create=opts.create) as session:
        checked, injected = _prepare(opts, session)
        view = deploy.EventView(out=opts.out)
        changes = _change("preview", opts.stack, deploy.preview(session, view))
        _say(opts, f"preview: {changes.summary}")
        return DeployResult(stack=opts.stack, preflight=checked, inject=injected, preview=changes)


def up(opts: Options) -> DeployResult:
    with open_stack(opts.root, opts.stack, store_env=opts.env, create=opts.create) as session:
        checked, injected = _prepare(opts, session)
        planned = _change("preview", opts.stack, deploy.preview(session, deploy.EventView(out=opts.out)))
        _say(opts, f"preview: {planned.summary}")
        deploy.confirm(planned.changes, opts.stack, yes=opts.yes, out=opts.out)
        view = deploy.EventView(out=opts.out)
        raw_outputs = deploy.up(session, view)
        applied = _change("up", opts.stack, view.changes)
        _say(opts, f"up: {applied.summary}")
        outputs = masked_outputs(raw_outputs)
        health = _health(opts, session, raw_outputs)
        report = _report(opts, session, checked, outputs, health, "succeeded", applied.changes)
    result = DeployResult(stack=opts.stack, preflight=checked, inject=injected, preview=planned,
                          applied=applied, outputs=outputs, health=health, report=report)
    _require_healthy(opts.stack, health, report)
    return result


def refresh(opts: Options) -> ChangeResult:
    with open_stack(opts.root, opts.stack, store_env=opts.env) as session:
        view = deploy.EventView(out=opts.out)
        result = _change("refresh", opts.stack, deploy.refresh(session, view))
    _say(opts, f"refresh: {result.summary}")
    return result


def destroy(opts: Options) -> ChangeResult:
    with open_stack(opts.root, opts.stack, store_env=opts.env) as session:
        deploy.confirm({"delete": 1}, opts.stack, yes=opts.yes, out=opts.out)
        view = deploy.EventView(out=opts.out)
        result = _change("destroy", opts.stack, deploy.destroy(session, view))
    _say(opts, f"destroy: {result.summary}")
    return result


def outputs(opts: Options) -> dict[str, Any]:
    with open_stack(opts.root, opts.stack, store_env=opts.env) as session:
        return masked_outputs(session.stack.outputs())


def health(opts: Options, watch_s: float = 0) -> HealthReport:
    """One check (waiting up to a minute for targets to come up), or with `watch_s` a watch until Ctrl-C."""
    from automation import health as checks

    with open_stack(opts.root, opts.stack, store_env=opts.env) as session:
        plain = {name: out.value for name, out in session.stack.outputs().items()}
        key, url = _lambda_settings(session)
    if watch_s:
        def on_change(_report: HealthReport, moved: list[str]) -> None:
            _say(opts, "\n".join(moved))
        return checks.watch(plain, lambda_api_key=key, lambda_api_url=url, every_s=watch_s, on_change=on_change)
    result = checks.check_health(plain, lambda_api_key=key, lambda_api_url=url, deadline_s=HEALTH_COMMAND_DEADLINE_S)
    _say(opts, checks.render(result))
    _require_healthy(opts.stack, result, None)
    return result


def _lambda_settings(session: StackSession) -> tuple[str | None, str | None]:
    """The Lambda key and API URL the program itself used (env override › stack config)."""
    current = session.config()
    url = os.environ.get("ORCHESTRA_LAMBDA_API_URL") or current.get("orchestra:lambda_api_url")
    return current.get("orchestra:lambda_api_key"), url


def _health(opts: Options, session: StackSession, raw_outputs: Mapping[str, Any]) -> HealthReport:
    from automation.health import check_health
    from automation.health import render as render_health

    key, url = _lambda_settings(session)
    plain = {name: out.value for name, out in raw_outputs.items()}
    result = check_health(plain, lambda_api_key=key, lambda_api_url=url, deadline_s=HEALTH_DEADLINE_S)
    _say(opts, render_health(result))
    return result


def _report(opts: Options, session: StackSession, checked: preflight.PreflightResult, outputs: Mapping[str, Any],
            health: Any, last_update: str, changes: Mapping[str, int]) -> tuple[str, str]:
    from automation import report_build

    key, url = _lambda_settings(session)
    return report_build.write(opts, session, checked, outputs, health, changes, lambda_key=key, lambda_url=url,
                              fallback_update=last_update)


def _require_healthy(stack: str, result: Any, report_paths: tuple[str, str] | None) -> None:
    if not result.ok:
        where = f" (details in {report_paths[0]})" if report_paths else ""
        raise Unhealthy(f"stack {stack} deployed but is not healthy{where}: {result.summary}")
