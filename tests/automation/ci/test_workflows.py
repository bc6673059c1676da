"""The CI workflows: actionlint passes, deploy runs exactly the driver's command, no secret is echoed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT_VERSION = "v1.7.12"
CANDIDATES = (ROOT / ".venv" / "bin" / "actionlint",
              Path.home() / ".cache" / "orchestra" / "tools" / f"actionlint-{ACTIONLINT_VERSION}" / "actionlint")


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_actionlint_passes():
    found = next((path for path in CANDIDATES if path.is_file()), None)
    assert found is not None, (f"actionlint {ACTIONLINT_VERSION} not found at {' or '.join(map(str, CANDIDATES))}: "
                               "run ./scripts/setup.sh (it builds actionlint from Go modules)")
    proc = subprocess.run([str(found), "-no-color", *sorted(map(str, WORKFLOWS.glob("*.yml")))],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_deploy_runs_exactly_the_driver_on_push_to_main_one_at_a_time():
    workflow = load("deploy.yml")
    assert workflow[True] == {"push": {"branches": ["main"]}}          # PyYAML reads the `on` key as True
    assert workflow["concurrency"]["cancel-in-progress"] is False
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "production"
    runs = [step["run"] for step in steps(workflow) if "run" in step]
    assert runs == ["./scripts/setup.sh", ".venv/bin/python -m automation up production --yes"]
    upload = next(step for step in steps(workflow) if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "reports/" and upload["if"] == "always()"


def test_preview_runs_on_pull_requests_and_may_comment():
    workflow = load("preview.yml")
    assert "pull_request" in workflow[True]
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    runs = [step["run"] for step in steps(workflow) if "run" in step]
    assert runs == ["./scripts/setup.sh", ".venv/bin/python -m automation preview production --json > preview.json"]
    assert any(step.get("uses", "").startswith("actions/github-script@") for step in steps(workflow))


def test_secrets_reach_only_the_driver_step_through_its_environment():
    for name in ("preview.yml", "deploy.yml"):
        workflow = load(name)
        text = (WORKFLOWS / name).read_text()
        assert not re.search(r"\becho\b|set -x|::add-mask::", text), name
        for step in steps(workflow):
            assert "secrets." not in step.get("run", "") and "toJSON(secrets)" not in step.get("run", "")
            assert "secrets" not in str(step.get("with", {})), f"{name}: a secret passed as an action input"
        with_secrets = [step for step in steps(workflow) if "secrets" in str(step.get("env", {}))]
        assert [step["run"].split(" >")[0] for step in with_secrets] == [
            f".venv/bin/python -m automation {'preview' if name == 'preview.yml' else 'up'} production"
            + (" --json" if name == "preview.yml" else " --yes")]
        env = with_secrets[0]["env"]
        assert env == {"ORCHESTRA_CI_SECRETS": "${{ toJSON(secrets) }}",
                       "PULUMI_BACKEND_URL": "${{ secrets.PULUMI_BACKEND_URL }}",
                       "PULUMI_CONFIG_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"}
