"""The CI workflows: actionlint passes, deploy runs exactly the driver's command, no secret is echoed."""

from __future__ import annotations

import re
import shutil
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


def test_actionlint_passes_with_shellcheck_checking_the_run_scripts():
    found = next((path for path in CANDIDATES if path.is_file()), None)
    assert found is not None, (f"actionlint {ACTIONLINT_VERSION} not found at {' or '.join(map(str, CANDIDATES))}: "
                               "run ./scripts/setup.sh (it builds actionlint from Go modules)")
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed: run ./scripts/setup.sh (it installs the Debian package)"
    proc = subprocess.run([str(found), "-no-color", f"-shellcheck={shellcheck}", *sorted(map(str, WORKFLOWS.glob("*.yml")))],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_really_runs_shellcheck_on_run_scripts(tmp_path):
    found = next((path for path in CANDIDATES if path.is_file()), None)
    shellcheck = shutil.which("shellcheck")
    assert found is not None and shellcheck
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $UNQUOTED_VAR\n")
    proc = subprocess.run([str(found), "-no-color", f"-shellcheck={shellcheck}", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0 and "shellcheck" in proc.stdout


def test_every_action_is_pinned_by_commit_sha():
    for name in ("preview.yml", "deploy.yml"):
        for step in steps(load(name)):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), f"{name}: {step['uses']}"
                assert re.search(re.escape(step["uses"]) + r" # v\d", (WORKFLOWS / name).read_text()), "name the version"


def test_the_engine_cache_key_covers_the_engine_sources():
    for name in ("preview.yml", "deploy.yml"):
        cache = next(step for step in steps(load(name)) if step.get("uses", "").startswith("actions/cache@"))
        for source in ("pyproject.toml", "scripts/setup.sh", "automation/engine/**", "tools/engine/**"):
            assert f"'{source}'" in cache["with"]["key"], f"{name}: {source}"


def test_preview_runs_in_its_own_environment_with_only_the_secrets_it_needs():
    workflow = load("preview.yml")
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "preview" != load("deploy.yml")["jobs"]["deploy"]["environment"]
    text = (WORKFLOWS / "preview.yml").read_text()
    assert "toJSON(secrets)" not in text
    (step,) = [step for step in steps(workflow) if "secrets" in str(step.get("env", {}))]
    used = set(re.findall(r"secrets\.(\w+)", str(step["env"])))
    assert used == {"LAMBDA_API_KEY", "GH_TOKEN", "VERCEL_TOKEN", "OPENAI_API_KEY", "PORTKEY_API_KEY",
                    "PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "VAULT_SERVER_URL", "VAULT_SERVER_TOKEN"}


def test_each_backend_kind_has_documented_inputs():
    text = (WORKFLOWS / "preview.yml").read_text()
    for needed in ("PULUMI_ACCESS_TOKEN", "AWS_ROLE_ARN", "awskms://", "postgres://", "PULUMI_CONFIG_PASSPHRASE",
                   "VAULT_SERVER_URL", "VAULT_SERVER_TOKEN", "hashivault://"):
        assert needed in text


def test_the_pr_comment_shows_a_failures_message_and_fix():
    script = next(step for step in steps(load("preview.yml")) if step.get("uses", "").startswith("actions/github-script@"))
    code = script["with"]["script"]
    assert "result.ok" in code and "error.message" in code and "error.fix" in code and "r.diff_text" in code


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
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write", "id-token": "write"}
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
        assert env["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
        assert all(value.startswith("${{ secrets.") for value in env.values()), "each secret by name, never all at once"
