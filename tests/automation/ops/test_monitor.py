"""The watch loop: one line per round, one alert per state change, exit 38 on the first failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from automation import cli
from automation.alerts import Delivery
from automation.errors import Unhealthy
from automation.health import HealthReport, TargetResult
from automation.monitor import alert_kind, state_of, watch

T0 = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)


def _report(i: int, backend_ok: bool, instance_http: int = 200) -> HealthReport:
    instance = TargetResult("instance", "abc", instance_http == 200, "active" if instance_http == 200 else str(instance_http),
                            instance_http, 1.0, "", 1)
    backend = TargetResult("backend", "http://127.0.0.1:1/health", backend_ok, "200" if backend_ok else "unreachable",
                           200 if backend_ok else None, 1.0, "" if backend_ok else "connection failed", 1)
    return HealthReport((instance, backend), T0 + timedelta(seconds=i), 0.01)


class Recorder:
    name = "recorder"

    def __init__(self):
        self.alerts = []

    def send(self, alert):
        self.alerts.append(alert)
        return Delivery(self.name, True, 1, "ok")


@pytest.fixture()
def run(monkeypatch):
    """Watch a scripted sequence of rounds (automation.health.check_health answers from the list)."""
    def _run(reports, **kw):
        script = iter(reports)
        monkeypatch.setattr("automation.health.check_health", lambda *a, **k: next(script))
        lines: list[str] = []
        sink = Recorder()
        watch({"instance_id": "abc"}, stack="local", lambda_api_key="k" * 20, lambda_api_url=None, every_s=0, sinks=[sink],
              emit=lines.append, iterations=len(reports), **kw)
        return lines, sink.alerts
    return _run


def test_down_then_up_gives_exactly_two_alerts_however_long_it_stays_down(run):
    states = [True, True, False, False, False, True, True]
    lines, alerts = run([_report(i, ok) for i, ok in enumerate(states)])
    assert [a.kind for a in alerts] == ["unhealthy", "recovered"]
    assert alerts[0].changes == ("backend: ✅ 200 → ❌ unreachable",)
    assert alerts[0].runbook == "docs/runbooks.md#unhealthy-backend"
    printed = "\n".join(lines).splitlines()
    rounds = [ln for ln in printed if " alert " not in ln]
    assert len(rounds) == 7 and len(printed) == 9
    assert printed[3] == "2026-12-01T20:00:02Z local alert unhealthy: recorder ok"
    assert rounds[0].startswith("2026-12-01T20:00:00Z local healthy: all 2 targets healthy")
    assert "2026-12-01T20:00:02Z local unhealthy: backend unreachable" in lines[2]


def test_a_first_round_that_is_unhealthy_alerts_a_healthy_one_does_not():
    assert alert_kind(None, "healthy") is None
    assert alert_kind(None, "unhealthy") == "unhealthy"
    assert alert_kind("unhealthy", "key_rejected") == "key_rejected"
    assert alert_kind("key_rejected", "healthy") == "recovered"


def test_a_rejected_key_is_its_own_alert(run):
    report = _report(0, True, instance_http=401)
    assert state_of(report) == "key_rejected"
    _, alerts = run([_report(0, True), report, report])
    assert [a.kind for a in alerts] == ["key_rejected"]
    assert alerts[0].runbook == "docs/runbooks.md#invalid-or-expired-key"


def test_json_lines_one_document_per_round(run):
    lines, _ = run([_report(0, True), _report(1, False)], as_json=True)
    docs = [json.loads(ln) for ln in lines]
    assert [(d["at"], d["state"], d["alert"]) for d in docs] == [
        ("2026-12-01T20:00:00Z", "healthy", None), ("2026-12-01T20:00:01Z", "unhealthy", "unhealthy")]
    assert docs[1]["deliveries"] == [{"sink": "recorder", "ok": True, "attempts": 1, "detail": "ok"}]


def test_exit_on_failure_raises_unhealthy_after_alerting(run):
    with pytest.raises(Unhealthy) as caught:
        run([_report(0, True), _report(1, False), _report(2, True)], exit_on_failure=True)
    assert caught.value.exit_code == 38 and "backend unreachable" in str(caught.value)


def test_a_bad_webhook_url_is_one_line_and_exit_41(capsys, monkeypatch, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: orchestra\nruntime: python\n")
    monkeypatch.chdir(tmp_path)
    code = cli.main(["health", "production", "--alert-webhook", "not-a-url"])
    err = capsys.readouterr().err
    assert code == 41 and err.startswith("error: --alert-webhook must be an http(s) URL") and err.count("\n") == 1
