"""`health STACK --watch N`: one timestamped line per round and an alert per state change.

A round is one `check_health` pass with no waiting (deadline 0). Its state is
`healthy`, `unhealthy`, or `key_rejected` (the Lambda API answered 401/403 to the
instance probe: the live key check failed). An alert goes to every sink when the
state differs from the previous round's; a first round that is healthy is not news.
So a backend that goes down and comes back yields exactly two alerts however many
rounds it stays down. With `exit_on_failure` the first unhealthy round ends the
watch with `Unhealthy` (exit 38) after its alert was sent (cron-style use).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC
from typing import Any

from automation import runbooks
from automation.alerts import Alert, Delivery, Sink, deliver
from automation.errors import Unhealthy
from automation.health import HealthReport, changes, check_health
from automation.report import redact_url

_KEY_REJECTED_HTTP = {401, 403}
_ALERT_KIND = {"healthy": "recovered", "unhealthy": "unhealthy", "key_rejected": "key_rejected"}


def state_of(report: HealthReport) -> str:
    if any(t.name == "instance" and t.http_status in _KEY_REJECTED_HTTP for t in report.targets):
        return "key_rejected"
    return "healthy" if report.healthy else "unhealthy"


def alert_kind(previous: str | None, state: str) -> str | None:
    """The alert a round raises, or None: only a change of state is news."""
    if state == previous or (previous is None and state == "healthy"):
        return None
    return _ALERT_KIND[state]


def _targets(report: HealthReport) -> tuple[dict[str, Any], ...]:
    return tuple({"name": t.name, "target": redact_url(t.target), "ok": t.ok, "status": t.status, "detail": t.detail}
                 for t in report.targets)


def make_alert(kind: str, stack: str, report: HealthReport, changes: Sequence[str], secrets: Sequence[str]) -> Alert:
    anchor = {"key_rejected": runbooks.INVALID_KEY, "unhealthy": runbooks.UNHEALTHY}.get(kind)
    return Alert(kind=kind, stack=stack, at=report.checked_at, healthy=report.healthy, summary=report.summary,
                 changes=tuple(changes), targets=_targets(report), runbook=runbooks.link(anchor) if anchor else None,
                 secrets=tuple(secrets))


def round_line(stack: str, report: HealthReport, state: str, kind: str | None, deliveries: Sequence[Delivery],
               as_json: bool) -> str:
    stamp = report.checked_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if as_json:
        return json.dumps({"at": stamp, "stack": stack, "state": state, "healthy": report.healthy,
                           "summary": report.summary, "targets": list(_targets(report)), "alert": kind,
                           "deliveries": [asdict(d) for d in deliveries]}, sort_keys=True, ensure_ascii=False)
    line = f"{stamp} {stack} {state}: {report.summary}"
    if kind:
        sent = "; ".join(f"{d.sink} {'ok' if d.ok else 'FAILED (' + d.detail + ')'}" for d in deliveries) or "no sink configured"
        line += f"\n{stamp} {stack} alert {kind}: {sent}"
    return line


def watch(outputs: Mapping[str, Any], *, stack: str, lambda_api_key: str | None, lambda_api_url: str | None,
          every_s: float, sinks: Sequence[Sink], emit: Callable[[str], None], as_json: bool = False,
          exit_on_failure: bool = False, iterations: int | None = None,
          sleep: Callable[[float], None] = time.sleep, check: Callable[..., HealthReport] = check_health) -> HealthReport | None:
    """Rounds every `every_s` seconds until Ctrl-C (or `iterations`); returns the last report."""
    previous: str | None = None
    last: HealthReport | None = None
    secrets = [lambda_api_key] if lambda_api_key else []
    count = 0
    while iterations is None or count < iterations:
        if count:
            sleep(every_s)
        report = check(outputs, lambda_api_key=lambda_api_key, lambda_api_url=lambda_api_url, deadline_s=0)
        state = state_of(report)
        kind = alert_kind(previous, state)
        deliveries: list[Delivery] = []
        if kind:
            deliveries = deliver(make_alert(kind, stack, report, changes(last, report), secrets), sinks)
        emit(round_line(stack, report, state, kind, deliveries, as_json))
        if exit_on_failure and not report.healthy:
            raise Unhealthy(f"stack {stack} is {state.replace('_', ' ')} at {report.checked_at:%Y-%m-%d %H:%M:%S} UTC: "
                            f"{report.summary}")
        previous, last, count = state, report, count + 1
    return last



def run(opts: Any, *, every_s: float, webhooks: Sequence[str], commands: Sequence[str], exit_on_failure: bool,
        as_json: bool) -> HealthReport | None:
    """`health --watch N` (until Ctrl-C), or with sinks and no N one round for cron: read the stack once."""
    from automation import pipeline
    from automation.alerts import build_sinks
    from automation.errors import ConfigInvalid
    from automation.workspace import open_stack

    try:
        sinks = build_sinks(webhooks, commands)
    except ValueError as exc:
        raise ConfigInvalid(str(exc)) from None
    with open_stack(opts.root, opts.stack, store_env=opts.env) as session:
        plain = {name: out.value for name, out in session.stack.outputs().items()}
        key, url = pipeline._lambda_settings(session)

    def emit(line: str) -> None:
        print(line, flush=True)   # stdout: one line (or JSON line) per round, for logs and pipes

    try:
        return watch(plain, stack=opts.stack, lambda_api_key=key, lambda_api_url=url, every_s=every_s, sinks=sinks,
                     emit=emit, as_json=as_json, exit_on_failure=exit_on_failure,
                     iterations=None if every_s else 1)
    except KeyboardInterrupt:
        return None   # Ctrl-C is how a watch ends
