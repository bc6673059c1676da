"""The Vercel component against the SDK's typed Args, and how the frontend follows the backend."""

from __future__ import annotations

import copy
import runpy

import pulumi
import pytest

from tests.infra.harness import CANARIES, INSTANCE_IP, ROOT, full_config, plaintext_leaks, run_program, stack_config
from tests.infra.vercel_args import validate

DEPLOYMENT = "vercel:index/deployment:Deployment"
ROUTE = "vercel:index/projectRoute:ProjectRoute"
GIT = {"vercel_git_repository": "acme/orchestra"}


def _run(**overrides):
    run = run_program(full_config(**overrides))
    assert run.error is None, run.error
    return run


def _vercel(run):
    return [r for r in run.resources if r.type.startswith(("vercel:", "pulumi:providers:vercel"))]


@pytest.mark.parametrize("overrides", [{}, GIT, {**GIT, "vercel_domain": "app.example.com", "vercel_team_id": "team_1",
                                                "vercel_build_command": "pnpm build", "vercel_install_command": "pnpm i",
                                                "vercel_output_directory": "dist", "vercel_node_version": "20.x"}],
                         ids=["unconnected", "git", "everything"])
def test_every_vercel_resource_matches_the_sdk_args(overrides):
    resources = _vercel(_run(**overrides))
    assert [e for r in resources for e in validate(r.type, r.name, r.inputs)] == []


def test_the_production_stack_matches_the_sdk_args():
    run = run_program(stack_config("production"))
    assert run.error is None, run.error
    resources = _vercel(run)
    assert {r.type for r in resources} >= {DEPLOYMENT, ROUTE, "vercel:index/project:Project"}
    assert len(resources) >= 4
    assert [e for r in resources for e in validate(r.type, r.name, r.inputs)] == []


def test_the_args_validator_rejects_a_wrong_name_a_missing_input_and_a_plaintext_secret():
    run = _run(**GIT)
    env = next(r for r in run.resources if r.name == "orchestra-frontend-env-OPENAI_API_KEY")
    inputs = copy.deepcopy(env.inputs)
    inputs["project_id"] = inputs.pop("projectId")
    errors = validate(env.type, env.name, inputs)
    assert any("unknown input 'project_id'" in e for e in errors)
    assert any("required input 'projectId' is missing" in e for e in errors)
    plain = dict(env.inputs, value=CANARIES["OPENAI_API_KEY"], targets="production")
    errors = validate(env.type, env.name, plain)
    assert any(e.endswith(".value: the SDK always sends it as a secret, but it was plaintext") for e in errors)
    assert any(".targets: expected a list" in e for e in errors)


def test_project_settings_come_from_stack_config_with_defaults():
    project = _run(**GIT).one("vercel:index/project:Project")
    assert project["nodeVersion"] == "22.x"
    assert project["gitRepository"]["productionBranch"] == "main"
    assert "buildCommand" not in project.inputs and "outputDirectory" not in project.inputs
    project = _run(**GIT, vercel_production_branch="release", vercel_build_command="pnpm build",
                   vercel_install_command="pnpm i", vercel_output_directory="dist",
                   vercel_node_version="20.x").one("vercel:index/project:Project")
    assert (project["buildCommand"], project["installCommand"], project["outputDirectory"], project["nodeVersion"]) == (
        "pnpm build", "pnpm i", "dist", "20.x")
    assert project["gitRepository"]["productionBranch"] == "release"


def test_bad_vercel_settings_are_config_errors():
    run = run_program(full_config(vercel_node_version="lts", vercel_backend_rewrite="api/*"))
    assert "orchestra:vercel_node_version: 'lts' is not a Vercel Node.js version" in str(run.error)
    assert "orchestra:vercel_backend_rewrite: 'api/*' is not a path prefix" in str(run.error)


def test_a_production_deployment_of_the_production_branch_follows_the_variables():
    run = _run(**GIT)
    deployment = run.one(DEPLOYMENT)
    assert (deployment["ref"], deployment["production"]) == ("main", True)
    assert deployment["meta"]["orchestra_backend_url"] == f"http://{INSTANCE_IP}:8000"
    assert plaintext_leaks(run, list(CANARIES.values())) == []


def test_no_git_repository_means_no_deployment_and_the_configured_url():
    run = _run(frontend_url="https://www.example.com")
    assert not run.of(DEPLOYMENT)
    assert run.outputs["frontend_url"] == "https://www.example.com"


def test_frontend_url_is_read_from_the_deployment_outputs():
    run = _run(**GIT)
    # The mock Vercel answers with a production alias that is not <project>.vercel.app.
    assert run.outputs["frontend_url"] == "https://orchestra-acme.vercel.app"
    variables = {r["variableName"]: r["value"] for r in run.of("github:index/actionsVariable:ActionsVariable")}
    assert variables["FRONTEND_URL"] == "https://orchestra-acme.vercel.app"


def test_a_custom_domain_is_the_frontend_url():
    assert _run(**GIT, vercel_domain="app.example.com").outputs["frontend_url"] == "https://app.example.com"


def test_the_backend_is_reached_through_a_rewrite_on_the_frontends_origin():
    route = _run(**GIT).one(ROUTE)
    assert route["route"] == {"src": "^/api/(.*)$", "dest": f"http://{INSTANCE_IP}:8000/$1"}
    assert not _run(**GIT, vercel_backend_rewrite="").of(ROUTE)


def _planned(**overrides):
    """Register the program under mocks, recording each resource's inputs and replace_on_changes."""
    options: dict[str, list[str]] = {}

    def record(args: pulumi.ResourceTransformationArgs):
        options[args.name] = list(args.opts.replace_on_changes or [])
        return None

    def program():
        pulumi.runtime.register_stack_transformation(record)
        runpy.run_path(str(ROOT), run_name="__main__")

    run = run_program(full_config(**GIT, **overrides), program=program)
    assert run.error is None, run.error
    return {r.name: r for r in run.resources}, options


def _plan(before, after, replace_on):
    """What the engine would do, from two registrations: a changed input listed in
    replace_on_changes is a replacement, any other change an update."""
    plan = {}
    for name, new in after.items():
        old = before.get(name)
        changed = {k for k in set(old.inputs) | set(new.inputs) if old.get(k) != new.get(k)} if old else {"*"}
        if changed:
            plan[name] = "replace" if changed & set(replace_on.get(name, [])) else "update" if old else "create"
    return plan


def test_a_changed_backend_url_plans_a_new_production_deployment():
    before, _ = _planned(backend_url_override="http://203.0.113.10:8000")
    after, replace_on = _planned(backend_url_override="http://203.0.113.99:8000")
    plan = _plan(before, after, replace_on)
    assert plan["orchestra-frontend-production"] == "replace"
    assert plan["orchestra-frontend-env-BACKEND_URL"] == "update"
    assert plan["orchestra-frontend-backend-rewrite"] == "update"
    assert "orchestra-frontend-project" not in plan


def test_a_rotated_frontend_key_plans_a_new_deployment_too():
    before, _ = _planned()
    secrets = dict(CANARIES, OPENAI_API_KEY="canary-rotated-openai-key-5b1e0c7d")
    run = run_program(full_config(**GIT), secrets=secrets)
    after = {r.name: r for r in run.resources}
    assert before["orchestra-frontend-production"]["meta"]["orchestra_env_digest"] != \
        after["orchestra-frontend-production"]["meta"]["orchestra_env_digest"]
    assert plaintext_leaks(run, [secrets["OPENAI_API_KEY"]]) == []


def test_an_unchanged_stack_plans_no_new_deployment():
    before, replace_on = _planned()
    after, _ = _planned()
    assert _plan(before, after, replace_on) == {}
