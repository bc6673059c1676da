"""The read-only commands: check, outputs, health, report. They report what they find and write
nothing but what they are asked for (report files); they never create a stack, generate a
passphrase, start the sandbox or restart anything.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pulumi.automation import OutputMap

from automation import preflight
from automation.errors import BackendUnreachable, EngineMissing
from automation.health import HealthReport, check_health, render, watch
from automation.pipeline import Options, located_row, require_healthy, say
from automation.project import backend_url, stack_secrets_provider
from automation.results import masked_outputs, to_jsonable
from automation.workspace import locate_with_config, read_outputs, require_stack

if TYPE_CHECKING:
    from automation.report_sections import ReportExtras

HEALTH_COMMAND_DEADLINE_S = 60.0


def lambda_settings(config: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The Lambda key and API URL the program itself used (env override › stack config)."""
    url = os.environ.get("ORCHESTRA_LAMBDA_API_URL") or config.get("orchestra:lambda_api_url")
    return config.get("orchestra:lambda_api_key"), url


def check_and_show(opts: Options, plain: Mapping[str, Any], key: str | None, url: str | None,
                   deadline_s: float) -> HealthReport:
    result = check_health(plain, lambda_api_key=key, lambda_api_url=url, deadline_s=deadline_s)
    say(opts, render(result))
    return result


def check(opts: Options) -> preflight.PreflightResult:
    """Preflight only; engine and backend problems are rows of the table.

    The backend must log in and list its stacks and the secrets provider decrypt the
    stack's config (read_config): when either cannot, exit 32 after the table.
    """
    opts.run.enter("preflight")
    config: dict[str, str] = {}
    unusable: BackendUnreachable | None = None
    try:
        target, config = locate_with_config(opts.root, opts.stack, opts.env)
        located = located_row(target)
    except EngineMissing as exc:
        located = preflight.Located("missing", str(exc), backend_url(opts.root)[0], None)
    except BackendUnreachable as exc:
        unusable = exc
        located = preflight.Located("found", None, backend_url(opts.root)[0], str(exc),
                                    stack_secrets_provider(opts.root, opts.stack.rsplit("/", 1)[-1]))
    result, _ = preflight.run_preflight(opts.root, opts.stack, opts.env, stack_config=config,
                                        skip_verify=opts.skip_verify, live_names=opts.live_names, located=located)
    opts.run.learned["preflight"] = result
    say(opts, preflight.render(result))
    if unusable is not None:
        raise unusable
    preflight.require_ok(result)
    key, url = lambda_settings(config)
    if key and target.exists:              # target is bound: locate raised nothing when a key was read
        from automation.orphans import check_lines
        from automation.readonly import ReadOnlyStack

        for line in check_lines(ReadOnlyStack(target, opts.env).cli, key, url, target.name.short):
            say(opts, line)
    return result


def _deployed(opts: Options) -> tuple[OutputMap, dict[str, str]]:
    """(outputs, config) of an existing stack, both read without --show-secrets for outputs."""
    opts.run.enter("reading the stack")
    target, config = locate_with_config(opts.root, opts.stack, opts.env)
    require_stack(target, create=False)
    return read_outputs(target, opts.env), config


def outputs(opts: Options) -> dict[str, Any]:
    raw, _ = _deployed(opts)
    return masked_outputs(raw)


def health(opts: Options, watch_s: float = 0, json_lines: bool = False) -> HealthReport:
    """One check (waiting up to a minute for targets to come up), or with `watch_s` a watch until Ctrl-C."""
    raw, config = _deployed(opts)
    plain = {name: out.value for name, out in raw.items()}
    key, url = lambda_settings(config)
    opts.run.enter("health check")
    if watch_s:
        seen: list[HealthReport] = []

        def on_change(_report: HealthReport, moved: list[str]) -> None:
            say(opts, "\n".join(moved))

        def on_round(report: HealthReport) -> None:
            seen.append(report)
            if json_lines:
                print(json.dumps(to_jsonable(report), sort_keys=True), file=sys.stdout, flush=True)

        try:
            return watch(plain, lambda_api_key=key, lambda_api_url=url, every_s=watch_s, on_change=on_change,
                         on_round=on_round)
        except KeyboardInterrupt:   # the way a watch ends: the last round decides the exit code
            if not seen:
                raise
            return seen[-1]
    result = check_and_show(opts, plain, key, url, HEALTH_COMMAND_DEADLINE_S)
    opts.run.learned["health"] = result
    require_healthy(opts.stack, result, None)
    return result


def report(opts: Options) -> tuple[str, str]:
    """The status report of a deployed stack: keys (checked, not blocking), outputs, health."""
    from automation import report_build
    from automation.readonly import ReadOnlyStack

    opts.run.enter("preflight")
    target, config = locate_with_config(opts.root, opts.stack, opts.env)
    if not target.exists:   # before the first deploy: keys, connectivity and the plan
        return report_build.before_first_deploy(opts, target)
    checked, _ = preflight.run_preflight(opts.root, target.name.short, opts.env, stack_config=config,
                                         skip_verify=opts.skip_verify, live_names=opts.live_names,
                                         located=located_row(target))
    raw = read_outputs(target, opts.env)
    opts.run.enter("health check")
    key, url = lambda_settings(config)
    result = check_and_show(opts, {n: o.value for n, o in raw.items()}, key, url, HEALTH_COMMAND_DEADLINE_S)
    opts.run.enter("report")
    outputs = masked_outputs(raw)
    more = report_build.extras(opts, ReadOnlyStack(target, opts.env), outputs, result, [k.name for k in checked.keys], key, url)
    return write_report(opts, checked, outputs, result, "not run", {}, engine_version=target.engine.version,
                        backend=target.backend, extras=more)


def write_report(opts: Options, checked: preflight.PreflightResult, outputs: Mapping[str, Any], health: HealthReport | None,
                 last_update: str, changes: Mapping[str, int], *, engine_version: str, backend: str,
                 extras: ReportExtras | None = None) -> tuple[str, str]:
    """The one writer of reports; `extras` (automation/report_build.py) adds the last update from the stack's
    history, cost, the connectivity diagram, key rotation and the plan."""
    from automation import report as reporting
    from secrets_bridge.store import SecretStore, store_path

    rotated: dict[str, Any] = {}
    if store_path(opts.env).exists():
        store = SecretStore.open(opts.env)
        metas = {k.name: store.meta(k.name) for k in checked.keys}
        rotated = {name: meta.rotated_at if meta else None for name, meta in metas.items()}
    short = opts.stack.rsplit("/", 1)[-1]
    history = extras.last_update if extras else None
    data = reporting.ReportData(
        stack=short, keys=reporting.key_rows(checked.keys, rotated),
        infrastructure=reporting.infra_rows(outputs, health) if extras is None or extras.deployed else (),
        iac=reporting.IacStatus(engine_version=engine_version, backend=backend, stack=opts.stack,
                                last_update=history.text() if history else last_update,
                                changes=dict(changes) or (dict(history.changes) if history else {}),
                                secrets_provider=checked.secrets_provider),
        health=health, findings=checked.findings, extras=extras)
    md_path, json_path = reporting.write_report(short, data, opts.root / "reports")
    say(opts, f"report: {md_path}")
    return str(md_path), str(json_path)
