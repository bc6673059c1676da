"""The driver's preflight: which value is deployed (env › CI secrets › store, the stack config only
filling gaps), what blocks a deploy (missing, malformed, rejected) and what never does (`unknown`).

Real sources: the process environment, the CI secrets JSON, an encrypted store in a temp
directory; live checks go over loopback to a FakeApi standing in for Lambda Cloud.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automation import preflight
from automation.errors import PreflightFailed
from secrets_bridge.store import SecretStore
from tests.support.loopback import FakeApi, Route

MASTER = "preflight-test-master-key-0123456789abcdef"
LAMBDA = {name: f"secret_{name}0001.{name.upper()}valueCANARYnotSHOWN0123456789"[:60] for name in
          ("env", "ci", "store", "stack")}
OPENAI = {name: f"sk-proj-{name}CANARY0123456789T3BlbkFJabcdefghij0123456789" for name in ("ci", "store", "stack")}
PORTKEY = {name: f"{name}CANARYportkey0123456789abcdef" for name in ("store", "stack")}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose stack `dev` deploys only the Lambda backend (keys: Lambda, OpenAI, Portkey)."""
    (tmp_path / "Pulumi.yaml").write_text("name: orchestra\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  orchestra:enable_github: 'false'\n"
                                              "  orchestra:enable_vercel: 'false'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRA_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("ORCHESTRA_MASTER_KEY", MASTER)
    for name in ("LAMBDA_API_KEY", "OPENAI_API_KEY", "PORTKEY_API_KEY", "GITHUB_TOKEN", "GH_TOKEN", "VERCEL_TOKEN",
                 "ORCHESTRA_CI_SECRETS", "PULUMI_BACKEND_URL", "ORCHESTRA_LAMBDA_API_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _run(root: Path, stack_config: dict[str, str], **kwargs):
    kwargs.setdefault("skip_verify", True)
    return preflight.run_preflight(root, "dev", "dev", stack_config=stack_config, **kwargs)


def _by_name(result) -> dict:
    return {k.name: k for k in result.keys}


def test_env_beats_ci_secrets_beats_store_and_stack_config_only_fills_gaps(project, monkeypatch):
    monkeypatch.setenv("LAMBDA_API_KEY", LAMBDA["env"])
    monkeypatch.setenv("ORCHESTRA_CI_SECRETS", json.dumps({"LAMBDA_API_KEY": LAMBDA["ci"], "OPENAI_API_KEY": OPENAI["ci"]}))
    SecretStore.open("dev", master_key=MASTER, directory=project).set_many(
        {"LAMBDA_API_KEY": LAMBDA["store"], "OPENAI_API_KEY": OPENAI["store"], "PORTKEY_API_KEY": PORTKEY["store"]})
    stack_config = {"orchestra:lambda_api_key": LAMBDA["stack"], "orchestra:openai_api_key": OPENAI["stack"],
                    "orchestra:portkey_api_key": PORTKEY["stack"]}
    result, values = _run(project, stack_config)
    deployed = {spec.name: value for spec, value in values.items()}
    assert deployed == {"LAMBDA_API_KEY": LAMBDA["env"], "OPENAI_API_KEY": OPENAI["ci"], "PORTKEY_API_KEY": PORTKEY["store"]}
    sources = {name: status.source for name, status in _by_name(result).items()}
    assert sources["LAMBDA_API_KEY"].startswith("env")
    assert sources["OPENAI_API_KEY"].startswith("ci-secrets")
    assert sources["PORTKEY_API_KEY"].startswith("store")
    assert result.ok


def test_a_rotated_store_key_is_never_shadowed_by_its_old_stack_copy(project):
    SecretStore.open("dev", master_key=MASTER, directory=project).set("PORTKEY_API_KEY", PORTKEY["store"])
    _, values = _run(project, {"orchestra:portkey_api_key": PORTKEY["stack"]})
    assert {s.name: v for s, v in values.items()}["PORTKEY_API_KEY"] == PORTKEY["store"]


def test_a_key_only_in_the_stack_config_counts_as_present(project, monkeypatch):
    monkeypatch.setenv("LAMBDA_API_KEY", LAMBDA["env"])
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI["ci"])
    result, values = _run(project, {"orchestra:portkey_api_key": PORTKEY["stack"]})
    assert _by_name(result)["PORTKEY_API_KEY"].source == "stack-config"
    assert {s.name: v for s, v in values.items()}["PORTKEY_API_KEY"] == PORTKEY["stack"]
    assert result.ok


def test_a_missing_key_blocks_and_says_where_to_get_one(project, monkeypatch):
    monkeypatch.setenv("LAMBDA_API_KEY", LAMBDA["env"])
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI["ci"])
    result, _ = _run(project, {})
    portkey = _by_name(result)["PORTKEY_API_KEY"]
    assert portkey.blocking and portkey.live == "missing" and "https://" in portkey.action
    with pytest.raises(PreflightFailed, match="PORTKEY_API_KEY") as info:
        preflight.require_ok(result)
    assert info.value.exit_code == 30


def _lambda_api(status: int, body: object) -> FakeApi:
    return FakeApi({"/api/v1/instance-types": Route(status, body), "/api/v1/instances": Route(200, {"data": []})})


@pytest.mark.parametrize("status", [429, 500, 503])
def test_an_unknown_live_verdict_never_blocks_a_deploy(project, monkeypatch, status):
    monkeypatch.setenv("LAMBDA_API_KEY", LAMBDA["env"])
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI["ci"])
    monkeypatch.setenv("PORTKEY_API_KEY", PORTKEY["store"])
    with _lambda_api(status, {"error": {"code": "global/unknown", "message": "try later"}}) as api:
        monkeypatch.setenv("ORCHESTRA_LAMBDA_API_URL", api.url)
        result, _ = _run(project, {}, skip_verify=False, live_names={"LAMBDA_API_KEY"})
    lam = _by_name(result)["LAMBDA_API_KEY"]
    assert lam.live == "unknown" and not lam.blocking
    assert "could not be checked" in lam.action
    assert result.ok
    preflight.require_ok(result)


def test_a_key_the_api_rejects_blocks(project, monkeypatch):
    monkeypatch.setenv("LAMBDA_API_KEY", LAMBDA["env"])
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI["ci"])
    monkeypatch.setenv("PORTKEY_API_KEY", PORTKEY["store"])
    with _lambda_api(401, {"error": {"code": "global/invalid-api-key", "message": "bad key"}}) as api:
        monkeypatch.setenv("ORCHESTRA_LAMBDA_API_URL", api.url)
        result, _ = _run(project, {}, skip_verify=False, live_names={"LAMBDA_API_KEY"})
    lam = _by_name(result)["LAMBDA_API_KEY"]
    assert lam.live == "invalid" and lam.blocking and not result.ok


def test_preflight_writes_nothing_and_shows_no_secret(project, monkeypatch):
    monkeypatch.setenv("LAMBDA_API_KEY", LAMBDA["env"])
    before = sorted(p.name for p in project.iterdir())
    result, _ = _run(project, {})
    assert sorted(p.name for p in project.iterdir()) == before   # no state dir, no store, no stack file
    shown = preflight.render(result)
    assert LAMBDA["env"] not in shown and "LAMBDA_API_KEY" in shown
