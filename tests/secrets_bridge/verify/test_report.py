"""Exit codes, priorities and the results file."""

from __future__ import annotations

import json
import os
import stat

import pytest

from secrets_bridge.verify import CheckResult
from secrets_bridge.verify.report import SecretOrigin, build_document, exit_code, priority, render_table, write_results_file


def r(name: str, verdict: str, **kw) -> CheckResult:
    return CheckResult(name, verdict, **kw)


@pytest.mark.parametrize("verdicts, code", [
    (["valid", "valid"], 0),
    (["valid", "unknown"], 21),
    (["unknown", "invalid"], 20),
    (["valid", "missing"], 20),
    (["malformed"], 20),
    ([], 0),
])
def test_exit_code(verdicts, code):
    assert exit_code([r(f"K{i}", v) for i, v in enumerate(verdicts)]) == code


def test_priorities():
    assert priority(r("A", "invalid")) == "high"
    assert priority(r("A", "missing")) == "high"
    assert priority(r("A", "unknown")) == "medium"
    assert priority(r("A", "valid", recommendation="info")) == "low"
    assert priority(r("GITHUB_TOKEN", "valid", extra={"missing_scopes": ("workflow",)})) == "high"


def test_document_and_file(tmp_path):
    secret = "sk-proj-reportCanary0123456789T3BlbkFJabcdef"
    results = [r("OPENAI_API_KEY", "valid", http_status=200, latency_ms=12.5, recommendation="note"),
               r("VERCEL_TOKEN", "missing", recommendation="set it"),
               r("PORTKEY_API_KEY", "unknown", recommendation="retry")]
    origins = {"OPENAI_API_KEY": SecretOrigin.of(secret, "env:OPENAI_API_KEY"),
               "VERCEL_TOKEN": SecretOrigin.of(None, None, notes=("store locked: set ORCHESTRA_MASTER_KEY",))}
    doc = build_document(results, environment="staging", origins=origins)
    target = tmp_path / "results.json"
    target.write_text("old, world-readable")
    os.chmod(target, 0o644)
    write_results_file(target, doc)

    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temp file left behind
    text = target.read_text()
    assert secret not in text
    data = json.loads(text)
    assert data["environment"] == "staging" and data["exit_code"] == 20
    assert data["missing_secrets"] == ["VERCEL_TOKEN"]
    assert [x["priority"] for x in data["recommendations"]] == ["high", "medium", "low"]
    assert data["secrets"]["OPENAI_API_KEY"]["source"] == "env:OPENAI_API_KEY"
    assert data["secrets"]["OPENAI_API_KEY"]["fingerprint"].startswith("sha256:")
    assert data["secrets"]["VERCEL_TOKEN"]["notes"] == ["store locked: set ORCHESTRA_MASTER_KEY"]
    assert data["summary"] == {"valid": 1, "invalid": 0, "unknown": 1, "missing": 1, "malformed": 0}

    table = render_table(results, origins)
    assert "✅ OPENAI_API_KEY" in table and "❌ VERCEL_TOKEN" in table and "⚠️ PORTKEY_API_KEY" in table
    assert "[high] VERCEL_TOKEN: set it" in table
