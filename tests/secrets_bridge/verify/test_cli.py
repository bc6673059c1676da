"""`verify` as a command: exit codes, the three outputs, and no secret in any of them."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from secrets_bridge.catalog import CATALOG
from secrets_bridge.verify.cli import register
from tests.support.verify_apis import CANARY, VALID_ROUTES, Route, fake_apis, lambda_error

ROOT = Path(__file__).resolve().parents[3]
URL_ENV = {"lambda_cloud": "ORCHESTRA_LAMBDA_API_URL", "github": "ORCHESTRA_GITHUB_API_URL",
           "vercel": "ORCHESTRA_VERCEL_API_URL", "openai": "ORCHESTRA_OPENAI_API_URL",
           "portkey": "ORCHESTRA_PORTKEY_API_URL"}


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A cwd and environment where only what the test sets can be found."""
    for spec in CATALOG:
        for var in spec.env_names:
            monkeypatch.delenv(var, raising=False)
    for var in ("ORCHESTRA_CI_SECRETS", "ORCHESTRA_MASTER_KEY", "ORCHESTRA_MASTER_KEY_FILE", "ORCHESTRA_ENV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ORCHESTRA_SECRETS_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def point_at(monkeypatch, urls) -> None:
    for field, var in URL_ENV.items():
        monkeypatch.setenv(var, getattr(urls, field))


def invoke(*args: str):
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:  # a group, so the command is addressed by name as in the real app
        pass

    return CliRunner().invoke(app, ["verify", *args])


def assert_no_canary(*texts: str) -> None:
    for text in texts:
        for value in CANARY.values():
            assert value not in text


def test_all_valid_exits_0_with_table_file_and_no_secret(isolated, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    for name, value in CANARY.items():
        isolated.setenv(name, value)
    isolated.setenv("ORCHESTRA_CI_SECRETS", json.dumps({"GITHUB_TOKEN": CANARY["GITHUB_TOKEN"]}))  # shadowed by env
    with fake_apis() as (_, urls):
        point_at(isolated, urls)
        result = invoke("--env", "staging", "--timeout", "5")
    assert result.exit_code == 0, result.output
    assert "✅ LAMBDA_API_KEY" in result.output and "env:LAMBDA_API_KEY" in result.output
    results_file = tmp_path / "api_connectivity_test_results.json"
    assert stat.S_IMODE(results_file.stat().st_mode) == 0o600
    data = json.loads(results_file.read_text())
    assert data["environment"] == "staging"
    assert data["secrets"]["GITHUB_TOKEN"]["source"] == "env:GITHUB_TOKEN"
    assert data["secrets"]["GITHUB_TOKEN"]["shadowed"] == ["ci-secrets"]
    assert_no_canary(result.output, results_file.read_text(), caplog.text)
    assert "verify LAMBDA_API_KEY: valid" in caplog.text


def test_some_invalid_exits_20_and_json_goes_to_stdout(isolated, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    for name, value in CANARY.items():
        if name != "PORTKEY_API_KEY":
            isolated.setenv(name, value)
    bad_lambda = {"LAMBDA_API_KEY": {"/api/v1/instance-types": Route(401, lambda_error("global/invalid-api-key"))}}
    out = tmp_path / "sub" / "report.json"
    out.parent.mkdir()
    with fake_apis(bad_lambda) as (servers, urls):
        point_at(isolated, urls)
        result = invoke("--json", "--output", str(out), "--timeout", "5")
    assert result.exit_code == 20, result.output
    data = json.loads(result.output)
    assert data == json.loads(out.read_text())
    verdicts = {r["name"]: r["verdict"] for r in data["results"]}
    assert verdicts["LAMBDA_API_KEY"] == "invalid" and verdicts["PORTKEY_API_KEY"] == "missing"
    assert data["missing_secrets"] == ["PORTKEY_API_KEY"]
    assert {x["priority"] for x in data["recommendations"] if x["name"] in ("LAMBDA_API_KEY", "PORTKEY_API_KEY")} == {"high"}
    assert servers["PORTKEY_API_KEY"].seen == []
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not (tmp_path / "api_connectivity_test_results.json").exists()
    assert_no_canary(result.output, out.read_text(), caplog.text)


def test_only_unknown_exits_21(isolated):
    for name, value in CANARY.items():
        isolated.setenv(name, value)
    failing = {name: {path: Route(503, "down")} for name, (path, _) in VALID_ROUTES.items()}
    with fake_apis(failing) as (_, urls):
        point_at(isolated, urls)
        result = invoke("--timeout", "5")
    assert result.exit_code == 21, result.output
    assert result.output.count("⚠️") == len(CANARY)
    assert_no_canary(result.output)


@pytest.mark.parametrize("scenario, code", [("all-valid", 0), ("some-invalid", 20), ("only-unknown", 21)])
def test_python_m_secrets_bridge_verify_exit_codes(isolated, tmp_path, scenario, code):
    for name, value in CANARY.items():
        isolated.setenv(name, value)
    routes = {
        "all-valid": {},
        "some-invalid": {"OPENAI_API_KEY": {"/v1/models": Route(401, {"error": {"code": "invalid_api_key"}})}},
        "only-unknown": {name: {path: Route(500, "oops")} for name, (path, _) in VALID_ROUTES.items()},
    }[scenario]
    with fake_apis(routes) as (_, urls):
        point_at(isolated, urls)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run([sys.executable, "-m", "secrets_bridge", "verify", "--timeout", "5"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == code, proc.stdout + proc.stderr
    results_file = tmp_path / "api_connectivity_test_results.json"
    assert json.loads(results_file.read_text())["exit_code"] == code
    assert_no_canary(proc.stdout, proc.stderr, results_file.read_text())
