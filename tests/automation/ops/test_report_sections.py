"""The report's verdict agrees with its content; the diagram colours what failed; retention keeps N."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from automation.errors import ConfigInvalid
from automation.health import HealthReport, TargetResult
from automation.report import IacStatus, KeyRow, ReportData, infra_rows, render_json, render_markdown
from automation.report_build import prune_reports
from automation.report_sections import LastUpdate, ReportExtras, verdict
from secrets_bridge.masking import mask
from tests.automation.ops.mermaid import mermaid_block, parse

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
OUTPUTS = {"instance_id": "i-1", "backend_url": "http://10.0.0.1:8000"}


def _key(live="valid", days=3):
    return KeyRow("LAMBDA_API_KEY", "store", mask("secret_x.abcdefghijklmnopqrstuvwxyz012345"), "ok", live, "",
                  NOW - timedelta(days=days))


def _health(backend_ok=True):
    return HealthReport((TargetResult("instance", "i-1", True, "active", 200, 1.0, "", 1),
                         TargetResult("backend", "http://10.0.0.1:8000/health", backend_ok, "200" if backend_ok else "503",
                                      200 if backend_ok else 503, 1.0, "" if backend_ok else "expected 200 from /health", 1)),
                        NOW, 0.1)


def _data(*, deployed=True, key=None, health=None, last=None):
    health = health if health is not None else (_health() if deployed else None)
    resources = ({"instance": True, "backend": health.targets[1].ok} if deployed else {"instance": None, "backend": None})
    extras = ReportExtras(stack_exists=True, deployed=deployed, last_update=last, resources=resources)
    return ReportData(stack="production", keys=(key or _key(),), infrastructure=infra_rows(OUTPUTS, health) if deployed else (),
                      iac=IacStatus("3.274.1", "file:///s", "production", last.text() if last else "never deployed"),
                      health=health, generated_at=NOW, extras=extras)


def test_healthy_and_nothing_due_says_so_once_at_the_top():
    md = render_markdown(_data())
    assert md.splitlines()[2] == "**✅ Healthy: no action required**" and md.endswith("No action required.\n")


def test_a_failing_target_makes_the_verdict_an_action_and_colours_the_resource():
    data = _data(health=_health(backend_ok=False))
    md = render_markdown(data)
    assert md.splitlines()[2].startswith("**❌ Action required: backend at http://10.0.0.1:8000/health is not healthy (503")
    assert "No action required" not in md
    nodes, edges, _ = parse(mermaid_block(md))
    assert nodes["res_backend"] == ("Backend /health<br/>failing", "bad") and nodes["res_instance"][1] == "ok"
    assert ("svc_lambda", "res_backend") in edges


def test_a_rejected_key_is_red_in_the_diagram():
    nodes, _, _ = parse(mermaid_block(render_markdown(_data(key=_key(live="invalid")))))
    assert nodes["key_LAMBDA_API_KEY"] == ("LAMBDA_API_KEY<br/>invalid", "bad") and nodes["svc_lambda"][1] == "bad"


def test_a_key_past_the_rotation_line_is_due_and_links_to_rotate():
    data = _data(key=_key(days=120))
    md = render_markdown(data)
    assert md.splitlines()[2].startswith("**⚠️ Healthy, 1 item due: rotate LAMBDA_API_KEY (120 days old, policy 90)")
    row = next(line for line in md.splitlines() if line.startswith("| LAMBDA_API_KEY |") and "due" in line)
    assert "⚠️ due (30 d over): `python -m automation rotate LAMBDA_API_KEY production`" in row


def test_after_a_destroy_nothing_is_red_and_the_next_step_is_named():
    last = LastUpdate("destroy", "succeeded", NOW - timedelta(minutes=5), {"delete": 6})
    data = _data(deployed=False, last=last)
    md, doc = render_markdown(data), render_json(data)
    assert doc["verdict"] == ("➖ Not deployed: keys ready; nothing is deployed on stack production (last: destroy succeeded "
                              "at 2026-12-01 19:55:00 UTC): `python -m automation up production` to deploy again")
    assert "❌" not in md and "No action required" not in md
    assert "| infrastructure | ➖ not deployed |" in md
    nodes, _, _ = parse(mermaid_block(md))
    assert nodes["res_instance"] == ("Lambda instance<br/>planned", "idle")


@pytest.mark.parametrize("recs", [[("P1", "a")], [("P2", "b")], [], [("P3", "c"), ("P1", "d")]])
def test_the_verdict_never_contradicts_the_recommendations(recs):
    line = verdict(_data(), recs)
    assert line.startswith("❌") == any(p == "P1" for p, _ in recs)
    assert line.startswith("✅") == (not recs)


def test_report_retention_keeps_the_newest_pairs_of_this_stack_only(tmp_path, monkeypatch):
    for i in range(5):
        for suffix in (".md", ".json"):
            (tmp_path / f"production-2026120{i}T000000000000Z{suffix}").write_text("x")
    (tmp_path / "production-eu-20261201T000000000000Z.md").write_text("other stack")
    monkeypatch.setenv("ORCHESTRA_REPORT_KEEP", "2")
    removed = prune_reports(tmp_path, "production")
    assert len(removed) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "production-20261203T000000000000Z.json", "production-20261203T000000000000Z.md",
        "production-20261204T000000000000Z.json", "production-20261204T000000000000Z.md",
        "production-eu-20261201T000000000000Z.md"]


def test_a_bad_report_retention_setting_is_one_actionable_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_REPORT_KEEP", "none")
    with pytest.raises(ConfigInvalid, match=r"^ORCHESTRA_REPORT_KEEP='none' must be a whole number of reports to keep, "
                                            r"at least 1 \(default 50\)$"):
        prune_reports(tmp_path, "production")
