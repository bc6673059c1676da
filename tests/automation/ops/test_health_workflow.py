"""The scheduled health workflow runs exactly the driver's one-round check; the webhook URL stays out of argv."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / ".github" / "workflows" / "health.yml"


def test_health_workflow_is_scheduled_and_runs_the_driver_check_with_alerts():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow[True]["schedule"] == [{"cron": "*/15 * * * *"}] and "workflow_dispatch" in workflow[True]
    (job,) = workflow["jobs"].values()
    runs = [step for step in job["steps"] if "run" in step]
    assert [s["run"] for s in runs] == ["./scripts/setup.sh",
                                        ".venv/bin/python -m automation health production --json --exit-on-failure"]
    assert runs[1]["env"]["ORCHESTRA_ALERT_WEBHOOK"] == "${{ secrets.ORCHESTRA_ALERT_WEBHOOK }}"
    text = WORKFLOW.read_text()
    assert not re.search(r"\becho\b|set -x", text)
    assert all("secrets." not in s["run"] for s in runs)
    # The webhook and backend secrets only, and only in the step that runs the driver.
    assert [s for s in job["steps"] if "secrets." in str(s)] == [runs[1]]
    for step in job["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


def test_health_workflow_passes_actionlint():
    actionlint = next(p for p in (ROOT / ".venv" / "bin" / "actionlint",
                                  *Path.home().glob(".cache/orchestra/tools/actionlint-*/actionlint")) if p.is_file())
    proc = subprocess.run([str(actionlint), "-no-color", str(WORKFLOW)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_webhook_url_can_come_from_the_environment(capsys, monkeypatch, tmp_path):
    from automation import cli

    (tmp_path / "Pulumi.yaml").write_text("name: orchestra\nruntime: python\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRA_ALERT_WEBHOOK", "ftp://hooks.example/T/B/X")
    assert cli.main(["health", "production"]) == 41
    assert capsys.readouterr().err.startswith("error: --alert-webhook must be an http(s) URL")
