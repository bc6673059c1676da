"""The status report: sections, ✅/❌, rotation due, no secret in either file, 0600 from the first byte."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from automation.health import HealthReport, TargetResult
from automation.report import IacStatus, InfraRow, KeyRow, ReportData, infra_rows, key_rows, latest_report, write_report
from secrets_bridge.masking import mask

NOW = datetime(2025, 11, 29, 12, 0, tzinfo=UTC)
CANARY = {"LAMBDA_API_KEY": "secret_canaryreport01.Hh7Kk2Mm9Pp4Rr6Tt1Vv3Xx5Zz8Bb0Dd",
          "GITHUB_TOKEN": "ghp_CanaryReport0123456789abcdefghijKLMN"}
BACKEND_PASSWORD = "canary-backend-password-77"


def health(backend_ok: bool = True) -> HealthReport:
    return HealthReport(targets=(
        TargetResult("instance", "i-1", True, "active", 200, 12.0, "", 1),
        TargetResult("backend", "http://127.0.0.1:18788/health", backend_ok, "200" if backend_ok else "503",
                     200 if backend_ok else 503, 3.0, "" if backend_ok else "expected 200 from /health", 4)),
        checked_at=NOW, elapsed_s=1.5)


def data(*, backend_ok: bool = True, github_live: str = "valid", last_update: str = "succeeded") -> ReportData:
    statuses = [
        SimpleNamespace(name="LAMBDA_API_KEY", source="store:.secrets.production.json", masked=mask(CANARY["LAMBDA_API_KEY"]),
                        format="ok", live="valid", action=""),
        SimpleNamespace(name="GITHUB_TOKEN", source="env:GH_TOKEN", masked=mask(CANARY["GITHUB_TOKEN"]), format="ok",
                        live=github_live, action="" if github_live == "valid" else "GITHUB_TOKEN was rejected: replace it"),
    ]
    ages = {"LAMBDA_API_KEY": NOW - timedelta(days=100), "GITHUB_TOKEN": NOW - timedelta(days=10)}
    report_health = health(backend_ok)
    outputs = {"instance_id": "i-1", "instance_ip": "127.0.0.1", "backend_url": "http://127.0.0.1:18788"}
    iac = IacStatus(engine_version="v3.210.0 (cache)", backend=f"s3://ops:{BACKEND_PASSWORD}@state-bucket/orchestra?region=x",
                    stack="production", last_update=last_update, changes={"create": 3, "same": 1})
    return ReportData(stack="production", keys=key_rows(statuses, ages), infrastructure=infra_rows(outputs, report_health),
                      iac=iac, health=report_health, generated_at=NOW)


def test_markdown_has_every_section_and_flags(tmp_path):
    md_path, json_path = write_report("production", data(), tmp_path)
    text = md_path.read_text()
    for heading in ("# Orchestra status report: production", "## Executive summary", "## API keys", "## Infrastructure",
                    "## IaC status", "## Recommendations"):
        assert heading in text
    assert "Generated: 2025-11-29 12:00:00 UTC" in text
    assert "| keys | ✅ |" in text and "| health | ✅ |" in text and "| iac | ✅ |" in text
    assert "100 d, rotation due" in text and "| 10 d |" in text
    assert "**P2** rotate LAMBDA_API_KEY (100 days old" in text and "https://cloud.lambda.ai/api-keys" in text
    assert "| Backend | s3 (s3://state-bucket/orchestra) |" in text
    assert "i-1 (127.0.0.1)" in text and "create 3, same 1" in text
    assert md_path.name.startswith("production-20251129T120000") and md_path.suffix == ".md"
    assert json_path == md_path.with_suffix(".json")


def test_failures_show_as_red_with_p1_recommendations(tmp_path):
    md_path, json_path = write_report("production", data(backend_ok=False, github_live="invalid", last_update="failed"), tmp_path)
    text = md_path.read_text()
    assert "| keys | ❌ |" in text and "| health | ❌ |" in text and "| iac | ❌ |" in text
    assert "**P1** GITHUB_TOKEN was rejected: replace it" in text
    assert "**P1** backend at http://127.0.0.1:18788/health is not healthy (503: expected 200 from /health)" in text
    report = json.loads(json_path.read_text())
    assert report["summary"] == {"keys": False, "infrastructure": False, "iac": False, "health": False}
    assert [r["priority"] for r in report["recommendations"]] == ["P1", "P1", "P1", "P2"]


def test_json_mirrors_the_markdown(tmp_path):
    _, json_path = write_report("production", data(), tmp_path)
    report = json.loads(json_path.read_text())
    assert report["stack"] == "production" and report["generated_at"] == NOW.isoformat()
    assert report["summary"] == {"keys": True, "infrastructure": True, "iac": True, "health": True}
    lambda_row = report["keys"][0]
    assert lambda_row["age_days"] == 100 and lambda_row["rotation_due"] is True
    assert report["iac"]["backend"] == "s3://state-bucket/orchestra" and report["iac"]["backend_kind"] == "s3"
    assert report["health"]["healthy"] is True and len(report["health"]["targets"]) == 2


def test_no_secret_in_either_file_and_both_are_0600(tmp_path):
    old_umask = os.umask(0)   # a permissive umask must not widen the files
    try:
        paths = write_report("production", data(), tmp_path)
    finally:
        os.umask(old_umask)
    for path in paths:
        text = path.read_text()
        for value in (*CANARY.values(), BACKEND_PASSWORD, "region=x"):
            assert value not in text
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_key_rows_refuse_unmasked_values():
    with pytest.raises(ValueError, match="mask"):
        KeyRow("GITHUB_TOKEN", "env", CANARY["GITHUB_TOKEN"], "ok", "valid", "", None)
    assert KeyRow("X", "-", mask(None), "missing", "missing", "set X", None).ok is False


def test_nothing_deployed_and_no_health_check(tmp_path):
    empty = ReportData(stack="local", keys=(), infrastructure=(), generated_at=NOW,
                       iac=IacStatus("v3.210.0", "file://./.pulumi-state", "local", "not run"))
    md_path, _ = write_report("local", empty, tmp_path)
    text = md_path.read_text()
    assert "(nothing deployed)" in text and "| infrastructure | ❌ |" in text
    assert "no health check ran" in text and "file (file://./.pulumi-state)" in text


def test_latest_report_picks_the_newest_of_that_stack(tmp_path):
    assert latest_report("production", tmp_path) is None
    write_report("production", data(), tmp_path)
    newer = ReportData(**{**data().__dict__, "generated_at": NOW + timedelta(seconds=1)})
    expected = write_report("production", newer, tmp_path)
    other = ReportData(**{**data().__dict__, "stack": "production-eu", "generated_at": NOW + timedelta(hours=1)})
    write_report("production-eu", other, tmp_path)
    assert latest_report("production", tmp_path) == expected


def test_stack_names_cannot_escape_the_directory(tmp_path):
    with pytest.raises(ValueError):
        write_report("../evil", data(), tmp_path)


def test_infra_rows_without_a_health_check():
    rows = infra_rows({"backend_url": "http://x", "frontend_url": None}, None)
    assert rows == (InfraRow("Backend /health", "http://x", "deployed (not checked)", True),)
