"""Health of a deployed stack: the Lambda instance is `active`, the backend's /health says 200,
the frontend answers 2xx/3xx.

`check_health` polls every target until all pass or a deadline passes, backing off
between rounds; each request has its own timeout so one hung server cannot eat the
deadline. A target whose failure cannot heal by waiting (instance terminated, key
rejected, instance unknown) stops being polled. The Lambda key only ever travels in
the Authorization header: every detail string is scrubbed of it before it is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from infra.lambda_cloud import DEFAULT_API_URL as DEFAULT_LAMBDA_API_URL
from infra.lambda_cloud import GONE_STATUSES, Instance, InvalidInput
from infra.lambda_cloud.catalog import INSTANCES_PATH, auth_headers, instance_path
from infra.lambda_cloud.catalog import api_url as lambda_api_url
from infra.lambda_cloud.errors import error_fields
from infra.lambda_cloud.reconcile import untracked_peers
from secrets_bridge.masking import mask
from secrets_bridge.tables import render_table

# API answers that waiting cannot change (wrong key, inactive account, no such instance).
_FINAL_HTTP = {401, 403, 404}
NOTHING_DEPLOYED = "nothing deployed (no targets): the stack exports no instance_id, backend_url or frontend_url; run `up` first"
_RECREATE = "the state still records it: `up --refresh` recreates it"


@dataclass(frozen=True)
class TargetResult:
    name: str                     # instance | backend | frontend
    target: str                   # instance id or URL, never a credential
    ok: bool
    status: str                   # instance status, HTTP code as text, or the network error kind
    http_status: int | None
    latency_ms: float | None
    detail: str
    attempts: int


@dataclass(frozen=True)
class HealthReport:
    targets: tuple[TargetResult, ...]
    checked_at: datetime
    elapsed_s: float

    @property
    def healthy(self) -> bool:
        """Every target passed; a stack with nothing to check (never deployed, destroyed) is not healthy."""
        return bool(self.targets) and all(t.ok for t in self.targets)

    # The pipeline's results share an `ok` property (it serialises it and gates on it).
    @property
    def ok(self) -> bool:
        return self.healthy

    @property
    def summary(self) -> str:
        if not self.targets:
            return NOTHING_DEPLOYED
        failing = [f"{t.name} {t.status}" + (f" ({t.detail})" if t.detail else "") for t in self.targets if not t.ok]
        return "; ".join(failing) if failing else f"all {len(self.targets)} targets healthy"


@dataclass
class _Probe:
    """One target being polled; `final` stops polling it (the failure cannot heal)."""

    name: str
    target: str
    request: Callable[[httpx.Client, float], httpx.Response]
    judge: Callable[[httpx.Response], tuple[bool, str, str, bool]]   # ok, status, detail, final
    result: TargetResult | None = None
    final: bool = False
    attempts: int = 0


def _scrubber(secret: str | None) -> Callable[[str], str]:
    if not secret:
        return lambda text: text
    return lambda text: text.replace(secret, mask(secret))


def _api_error(response: httpx.Response) -> str:
    """`code: message` from a Lambda `{"error": {...}}` body; the code is what callers branch on."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    code, message, _suggestion = error_fields(body)
    return f"{code or '?'}: {message or ''}".strip()


def _instance_probe(instance_id: str, api_url: str, api_key: str | None) -> _Probe:
    try:
        url = lambda_api_url(api_url, instance_path(instance_id))
    except InvalidInput as exc:
        url, bad_id = "", str(exc)

    peers: list[Instance] = []   # this stack's other live instances, seen by the last request

    def request(client: httpx.Client, timeout: float) -> httpx.Response:
        if not url:
            raise httpx.InvalidURL(bad_id)
        response = client.get(url, headers=auth_headers(api_key or ""), timeout=timeout)
        peers[:] = _untracked(client, response, api_url, api_key or "", timeout)
        return response

    def judge(response: httpx.Response) -> tuple[bool, str, str, bool]:
        if response.status_code == 200 and peers:
            listed = ", ".join(f"{i.id} ({i.instance_type}, {i.region})" for i in peers)
            return (False, "orphans", f"{len(peers)} more instance(s) of this stack running, billed and not in its "
                    f"state: {listed}; `python -m automation orphans STACK` lists or terminates them", True)
        if response.status_code == 404:
            return False, "gone", f"the instance no longer exists ({_api_error(response)}); {_RECREATE}", True
        if response.status_code != 200:
            return False, str(response.status_code), _api_error(response), response.status_code in _FINAL_HTTP
        data = response.json().get("data") or {}
        status = str(data.get("status", "?"))
        detail = "" if status == "active" else f"instance is {status}, waiting for active"
        if status in GONE_STATUSES:
            detail = f"instance is {status}: it will not become active; {_RECREATE}"
        return status == "active", status, detail, status in GONE_STATUSES

    return _Probe("instance", instance_id, request, judge)


def _untracked(client: httpx.Client, response: httpx.Response, api_url: str, api_key: str,
               timeout: float) -> list[Instance]:
    """The tracked instance's untracked peers (same project and stack tags); none when unknown."""
    try:
        tracked = Instance.from_api(response.json()["data"]) if response.status_code == 200 else None
        if tracked is None or not tracked.tags:
            return []
        listing = client.get(lambda_api_url(api_url, INSTANCES_PATH), headers=auth_headers(api_key), timeout=timeout)
        return untracked_peers(tracked, [Instance.from_api(d) for d in listing.json()["data"]]) \
            if listing.status_code == 200 else []
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return []  # the instance's own verdict stands; the orphans command says more


def _http_probe(name: str, url: str, accept: Callable[[int], bool], expectation: str) -> _Probe:
    def request(client: httpx.Client, timeout: float) -> httpx.Response:
        return client.get(url, timeout=timeout)

    def judge(response: httpx.Response) -> tuple[bool, str, str, bool]:
        ok = accept(response.status_code)
        return ok, str(response.status_code), "" if ok else f"expected {expectation}", False

    return _Probe(name, url, request, judge)


def _probes(outputs: Mapping[str, Any], api_key: str | None, api_url: str) -> list[_Probe]:
    probes = []
    if outputs.get("instance_id"):
        probes.append(_instance_probe(str(outputs["instance_id"]), api_url, api_key))
    if outputs.get("backend_url"):
        probes.append(_http_probe("backend", f"{str(outputs['backend_url']).rstrip('/')}/health",
                                  lambda code: code == 200, "200 from /health"))
    if outputs.get("frontend_url"):
        # A redirect (e.g. to a login or a canonical host) means the frontend is served.
        probes.append(_http_probe("frontend", str(outputs["frontend_url"]),
                                  lambda code: 200 <= code < 400, "2xx or 3xx"))
    return probes


def _attempt(probe: _Probe, client: httpx.Client, timeout: float, scrub: Callable[[str], str]) -> None:
    probe.attempts += 1
    started = time.monotonic()
    try:
        response = probe.request(client, timeout)
    except httpx.TimeoutException:
        ok, status, code, detail, final = False, "timeout", None, f"no answer within {timeout:.1f} s", False
    except httpx.ConnectError as exc:
        ok, status, code, detail, final = False, "unreachable", None, f"connection failed: {exc}", False
    except httpx.HTTPError as exc:
        ok, status, code, detail, final = False, "error", None, f"{type(exc).__name__}: {exc}", False
    else:
        code = response.status_code
        try:
            ok, status, detail, final = probe.judge(response)
        except ValueError:
            ok, status, detail, final = False, str(code), "answer is not JSON", False
    latency = round((time.monotonic() - started) * 1000, 1)
    probe.final = final
    probe.result = TargetResult(name=probe.name, target=probe.target, ok=ok, status=status, http_status=code,
                                latency_ms=latency, detail=scrub(detail), attempts=probe.attempts)


def check_health(outputs: Mapping[str, Any], *, lambda_api_key: str | None, lambda_api_url: str | None,
                 deadline_s: float = 300, interval_s: float = 2.0, max_interval_s: float = 15.0,
                 request_timeout_s: float = 10.0) -> HealthReport:
    """Poll the stack's targets until all pass or `deadline_s` passes (0: one round, for monitoring).

    `outputs` are the stack outputs, plain values: instance_id, backend_url, frontend_url; a missing
    one is not checked. The pause between rounds starts at `interval_s` and grows 1.5× up to
    `max_interval_s`.
    """
    started = time.monotonic()
    deadline = started + deadline_s
    scrub = _scrubber(lambda_api_key)
    probes = _probes(outputs, lambda_api_key, lambda_api_url or DEFAULT_LAMBDA_API_URL)
    if outputs.get("instance_id") and not lambda_api_key:
        probes[0].final = True
        probes[0].result = TargetResult("instance", str(outputs["instance_id"]), False, "no key", None, None,
                                        "no Lambda API key available to ask for the instance's status", 0)
    pause = interval_s
    with httpx.Client(follow_redirects=False) as client:
        while True:
            for probe in probes:
                if not probe.final and not (probe.result and probe.result.ok):
                    remaining = max(deadline - time.monotonic(), 0.0)
                    _attempt(probe, client, max(min(request_timeout_s, remaining), 0.5), scrub)
            pending = [p for p in probes if not p.final and not (p.result and p.result.ok)]
            # A terminated or vanished instance takes the backend with it: waiting cannot help.
            doomed = any(p.final and p.name == "instance" and not (p.result and p.result.ok) for p in probes)
            now = time.monotonic()
            if not pending or doomed or now + pause > deadline:
                break
            time.sleep(pause)
            pause = min(pause * 1.5, max_interval_s)
    return HealthReport(targets=tuple(p.result for p in probes if p.result), checked_at=datetime.now(UTC),
                        elapsed_s=round(time.monotonic() - started, 3))


def render(report: HealthReport) -> str:
    """A fixed-width table, one row per target with ✅/❌."""
    rows = []
    for t in report.targets:
        latency = f"{t.latency_ms:.0f} ms" if t.latency_ms is not None else "-"
        rows.append(("✅" if t.ok else "❌", t.name, t.target, t.status, latency, str(t.attempts), t.detail or "-"))
    verdict = "healthy" if report.healthy else "UNHEALTHY"
    lines = [f"Health: {verdict} ({report.elapsed_s:.1f} s, {report.checked_at:%Y-%m-%d %H:%M:%S} UTC)",
             render_table(("", "Target", "Endpoint", "Status", "Latency", "Attempts", "Detail"), rows, marks=True)]
    if not report.targets:
        lines.append(f"({NOTHING_DEPLOYED})")
    return "\n".join(lines)


def changes(before: HealthReport | None, after: HealthReport) -> list[str]:
    """One line per target whose verdict or status moved since the previous report."""
    old = {t.name: t for t in before.targets} if before else {}
    lines = []
    for t in after.targets:
        prev = old.get(t.name)
        if prev is None or (prev.ok, prev.status) != (t.ok, t.status):
            was = f"{'✅' if prev.ok else '❌'} {prev.status}" if prev else "new"
            lines.append(f"{t.name}: {was} → {'✅' if t.ok else '❌'} {t.status}")
    return lines


def watch(outputs: Mapping[str, Any], *, lambda_api_key: str | None, lambda_api_url: str | None, every_s: float,
          on_change: Callable[[HealthReport, list[str]], None], iterations: int | None = None,
          request_timeout_s: float = 10.0, on_round: Callable[[HealthReport], None] | None = None) -> HealthReport:
    """Monitoring (`health --watch N`): one round every `every_s`; `on_change` hears each change,
    `on_round` every round (`--json` prints one line per round).

    Runs `iterations` rounds, or until Ctrl-C when None. Returns the last report.
    """
    last: HealthReport | None = None
    count = 0
    while iterations is None or count < iterations:
        if count:
            time.sleep(every_s)
        report = check_health(outputs, lambda_api_key=lambda_api_key, lambda_api_url=lambda_api_url,
                              deadline_s=0, request_timeout_s=request_timeout_s)
        moved = changes(last, report)
        if on_round:
            on_round(report)
        if moved:
            on_change(report, moved)
        last, count = report, count + 1
    assert last is not None, "watch needs at least one round"
    return last
