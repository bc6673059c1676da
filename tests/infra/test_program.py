"""The program as the language host runs it (infra/ via runpy), with the real stack files."""

from __future__ import annotations

from infra.config import StackConfigError
from tests.infra.harness import CANARIES, INSTANCE_IP, full_config, plaintext_leaks, run_program, stack_config

OUTPUTS = {"backend_url", "instance_id", "instance_ip", "frontend_url", "github_secret_names"}


def test_local_stack_deploys_only_the_backend_on_the_emulator():
    needed = {k: CANARIES[k] for k in ("LAMBDA_API_KEY", "OPENAI_API_KEY", "PORTKEY_API_KEY")}
    run = run_program(stack_config("local"), secrets=needed, stack="local")
    assert run.error is None, run.error
    assert not [r for r in run.resources if r.type.startswith(("github", "vercel", "pulumi:providers"))]
    instance = run.one("LambdaInstance")
    assert instance["api_url"] == "http://127.0.0.1:18787"
    assert (instance["region_name"], instance["instance_type_name"]) == ("us-east-1", "gpu_1x_a10")
    assert instance["active_timeout_seconds"] == 120
    assert [rule["port"] for rule in run.one("LambdaFirewallRuleset")["rules"]] == [18788, 22]
    assert run.outputs == {"backend_url": f"http://{INSTANCE_IP}:18788", "instance_id": "0920582c7ff041399e34823a0be62549",
                           "instance_ip": INSTANCE_IP, "frontend_url": "http://127.0.0.1:18788/",
                           "github_secret_names": []}


def test_local_stack_honours_the_emulator_port_from_the_environment(monkeypatch):
    monkeypatch.setenv("ORCHESTRA_LAMBDA_API_URL", "http://127.0.0.1:41234")
    run = run_program(stack_config("local"), stack="local")
    assert run.error is None, run.error
    assert run.one("LambdaInstance")["api_url"] == "http://127.0.0.1:41234"


def test_production_stack_deploys_every_component():
    run = run_program(stack_config("production"))
    assert run.error is None, run.error
    types = {r.type for r in run.resources}
    assert {"orchestra:infra:LambdaBackend", "orchestra:infra:GitHubCi", "orchestra:infra:VercelFrontend"} <= types
    assert set(run.outputs) == OUTPUTS
    assert run.outputs["backend_url"] == f"http://{INSTANCE_IP}:8000"
    assert run.outputs["frontend_url"] == "https://orchestra-acme.vercel.app"  # Vercel's answer, not a guess
    assert "GH_TOKEN" in run.outputs["github_secret_names"]


def test_no_canary_appears_outside_a_secret():
    run = run_program(full_config(github_environment="production", vercel_domain="app.example.com"))
    assert run.error is None, run.error
    assert len(run.resources) > 15
    assert plaintext_leaks(run, list(CANARIES.values())) == []
    assert not run.secret_outputs  # nothing secret is exported, so outputs stay readable


def test_the_leak_check_does_catch_a_plaintext_key():
    run = run_program(full_config(frontend_url=f"https://{CANARIES['OPENAI_API_KEY']}.example", enable_vercel=False))
    assert run.error is None, run.error
    canary = CANARIES["OPENAI_API_KEY"]
    assert plaintext_leaks(run, [canary]) == [f"orchestra-ci-variable-FRONTEND_URL.value holds {canary}",
                                              f"output frontend_url holds {canary}"]


def test_config_error_stops_the_program_before_any_resource():
    run = run_program(full_config(lambda_region="moon-1"))
    assert isinstance(run.error, StackConfigError)
    assert "orchestra:lambda_region" in str(run.error)
    assert run.resources == []
