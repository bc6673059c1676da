"""`health STACK --watch N`: one timestamped line per round and an alert per state change.

A round is one pass of automation.health.watch (check_health, no waiting). Its state is
`healthy`, `unhealthy`, or `key_rejected` (the Lambda API answered 401/403 to the
instance probe: the live key check failed). An alert goes to every sink when the
state differs from the previous round's; a first round that is healthy is not news.
So a backend that goes down and comes back yields exactly two alerts however many
rounds it stays down. With `exit_on_failure` the first unhealthy round ends the
watch with `Unhealthy` (exit 38) after its alert was sent (cron-style use).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC
from typing import Any

from automation import runbooks
from automation.alerts import Alert, Delivery, Sink, deliver
from automation.errors import Unhealthy
from automation.health import HealthReport, changes
from automation.health import watch as health_watch
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
          seen: list[HealthReport] | None = None) -> HealthReport:
    """automation.health.watch's rounds, each classified, printed and alerted on; returns the last report.

    `seen` collects every round (so a caller interrupted by Ctrl-C still knows the last one).
    """
    rounds: list[HealthReport] = seen if seen is not None else []
    states: list[str] = []
    secrets = [lambda_api_key] if lambda_api_key else []

    def on_round(report: HealthReport) -> None:
        state = state_of(report)
        kind = alert_kind(states[-1] if states else None, state)
        deliveries: list[Delivery] = []
        if kind:
            deliveries = deliver(make_alert(kind, stack, report, changes(rounds[-1] if rounds else None, report), secrets), sinks)
        rounds.append(report)
        states.append(state)
        emit(round_line(stack, report, state, kind, deliveries, as_json))
        if exit_on_failure and not report.healthy:
            raise Unhealthy(f"stack {stack} is {state.replace('_', ' ')} at {report.checked_at:%Y-%m-%d %H:%M:%S} UTC: "
                            f"{report.summary}")

    return health_watch(outputs, lambda_api_key=lambda_api_key, lambda_api_url=lambda_api_url, every_s=every_s,
                        on_change=lambda _report, _moved: None, iterations=iterations, on_round=on_round)


def run(opts: Any, *, every_s: float, webhooks: Sequence[str], commands: Sequence[str], exit_on_failure: bool,
        as_json: bool) -> HealthReport | None:
    """`health --watch N` (until Ctrl-C), or with sinks and no N one round for cron: read the stack once.

    Returns the last round's report (None when Ctrl-C came before the first round ended).
    """
    from automation.alerts import build_sinks
    from automation.errors import ConfigInvalid
    from automation.readonly import deployed

    try:
        sinks = build_sinks(webhooks, commands)
    except ValueError as exc:
        raise ConfigInvalid(str(exc)) from None
    found = deployed(opts)
    last: list[HealthReport] = []

    def emit(line: str) -> None:
        print(line, flush=True)   # stdout: one line (or JSON line) per round, for logs and pipes

    try:
        return watch(found.outputs, stack=opts.stack, lambda_api_key=found.lambda_key, lambda_api_url=found.lambda_url,
                     every_s=every_s, sinks=sinks, emit=emit, as_json=as_json, exit_on_failure=exit_on_failure,
                     iterations=None if every_s else 1, seen=last)
    except KeyboardInterrupt:
        return last[-1] if last else None   # Ctrl-C is how a watch ends
