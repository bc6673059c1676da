"""Alert sinks over loopback: Slack-compatible body, masked values, retries, failures reported not raised."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from automation.alerts import Alert, CommandSink, WebhookSink, deliver, webhook_label
from secrets_bridge.masking import mask
from tests.support.loopback import FakeApi, Route, refused_url

CANARY = "secret_canary0alert.CANARYalertNEVERsent0123456789abcdef"


def _alert() -> Alert:
    # A detail that (wrongly) carries the key: the payload must still only hold its mask.
    targets = ({"name": "instance", "target": "abc123", "ok": False, "status": "401", "detail": f"Bearer {CANARY}"},)
    return Alert(kind="key_rejected", stack="production", at=datetime(2026, 12, 1, 20, 0, tzinfo=UTC), healthy=False,
                 summary=f"instance 401 (key {CANARY} rejected)", changes=("instance: ✅ active → ❌ 401",),
                 targets=targets, runbook="docs/runbooks.md#invalid-or-expired-key", secrets=(CANARY,))


def test_webhook_gets_slack_text_and_only_masked_values():
    with FakeApi({"POST /hook/T0/B0/xyz": Route(200, "ok")}) as api:
        (result,) = deliver(_alert(), [WebhookSink(api.url + "/hook/T0/B0/xyz", sleep=lambda s: None)])
    assert result.ok and result.attempts == 1
    (seen,) = api.seen
    body = json.loads(seen.body)
    assert seen.headers["content-type"] == "application/json"
    assert body["text"].startswith("*❌ Orchestra stack production has a rejected API key*")
    assert "docs/runbooks.md#invalid-or-expired-key" in body["text"]
    assert body["alert"]["kind"] == "key_rejected" and body["alert"]["stack"] == "production"
    assert CANARY not in seen.body.decode() and mask(CANARY) in seen.body.decode()


def test_webhook_retries_5xx_and_429_then_succeeds_with_backoff():
    waits: list[float] = []
    answers = iter([Route(500, "boom"), Route(429, "slow down", headers={"Retry-After": "3"}), Route(200, "ok")])
    with FakeApi({}) as api:
        api.routes = _Rotating(answers)
        (result,) = deliver(_alert(), [WebhookSink(api.url + "/h", sleep=waits.append, backoff_s=0.5)])
    assert result.ok and result.attempts == 3
    assert waits == [0.5, 3.0]          # backoff first, then the server's Retry-After
    assert len(api.seen) == 3


def test_webhook_client_error_is_not_retried_and_is_reported():
    with FakeApi({"/h": Route(404, "no such hook")}) as api:
        (result,) = deliver(_alert(), [WebhookSink(api.url + "/h", sleep=lambda s: None)])
    assert not result.ok and result.attempts == 1 and "HTTP 404" in result.detail
    assert len(api.seen) == 1


def test_unreachable_webhook_is_reported_after_all_attempts_and_never_raises():
    url = refused_url() + "/services/T000/B000/SECRETPATH"
    waits: list[float] = []
    (result,) = deliver(_alert(), [WebhookSink(url, sleep=waits.append, attempts=3, backoff_s=0.25)])
    assert not result.ok and result.attempts == 3 and waits == [0.25, 0.5]
    assert "SECRETPATH" not in result.sink + result.detail   # the webhook path is its credential


def test_webhook_label_hides_the_path():
    assert webhook_label("https://hooks.slack.com/services/T/B/XYZ") == "https://hooks.slack.com/…"


def test_command_gets_the_alert_json_on_stdin_and_its_failure_is_reported(tmp_path):
    out = tmp_path / "alert.json"
    script = f"import sys, pathlib; pathlib.Path({str(out)!r}).write_text(sys.stdin.read())"
    ok, failing = CommandSink(f"{sys.executable} -c {json.dumps(script)}"), CommandSink(f"{sys.executable} -c 'import sys; sys.exit(3)'")
    results = deliver(_alert(), [failing, ok])
    assert [r.ok for r in results] == [False, True] and "exit 3" in results[0].detail
    payload = json.loads(out.read_text())
    assert payload["alert"]["kind"] == "key_rejected" and CANARY not in out.read_text()
    (missing,) = deliver(_alert(), [CommandSink("no-such-program-anywhere --flag")])
    assert not missing.ok and "command not found" in missing.detail


class _Rotating(dict):
    """Routes for FakeApi that answer each request with the next scripted reply."""

    def __init__(self, answers):
        super().__init__()
        self._answers = answers

    def get(self, key, default=None):
        return next(self._answers) if key.startswith("POST ") else None
