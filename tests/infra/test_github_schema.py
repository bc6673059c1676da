"""Every resource the GitHub component registers satisfies pulumi-github 6.15.0's own schema."""

from __future__ import annotations

import copy

import pytest
from pulumi.runtime import rpc

from tests.infra.github_schema import SCHEMA_FILE, schema, validate
from tests.infra.harness import full_config, run_program, stack_config

SHAPES = {
    "repository": {},
    "environment": {"github_environment": "production"},
    "managed environment": {"github_environment": "production", "github_manage_environment": True,
                            "github_environment_wait_timer": 30, "github_environment_reviewer_users": [1001, 1002],
                            "github_environment_reviewer_teams": [77], "github_environment_prevent_self_review": True,
                            "github_environment_can_admins_bypass": False,
                            "github_environment_protected_branches": True},
    "enterprise server": {"github_base_url": "https://ghe.example.com/api/v3/"},
    "production stack": {"production": True},
}


def _github_resources(**overrides):
    run = run_program(stack_config("production") if overrides.pop("production", False) else full_config(**overrides))
    assert run.error is None, run.error
    found = [r for r in run.resources if r.type.startswith(("github:", "pulumi:providers:github"))]
    assert found
    return found


def test_the_schema_copy_is_the_one_of_the_version_the_sdk_requires():
    import json
    from importlib.metadata import version
    from pathlib import Path

    import pulumi_github

    meta = json.loads((Path(pulumi_github.__file__).parent / "pulumi-plugin.json").read_text())
    assert meta["version"] == version("pulumi_github") == "6.15.0"
    assert "6.15.0" in SCHEMA_FILE.name and schema()["name"] == "github"


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_github_resource_matches_the_provider_schema(shape):
    resources = _github_resources(**SHAPES[shape])
    errors = [e for r in resources for e in validate(r.type, r.name, r.inputs)]
    assert errors == []


def test_secret_values_are_always_sent_as_secrets():
    for shape in SHAPES.values():
        for r in _github_resources(**shape):
            if "Secret" in r.type:
                assert "value" in r.inputs and r.is_secret("value") and "plaintextValue" not in r.inputs
            if r.type == "pulumi:providers:github":
                assert r.is_secret("token")


def test_the_managed_environment_carries_the_protection_from_stack_config():
    resources = _github_resources(**SHAPES["managed environment"])
    (env,) = [r for r in resources if r.type == "github:index/repositoryEnvironment:RepositoryEnvironment"]
    assert (env["environment"], env["repository"], env["waitTimer"]) == ("production", "orchestra", 30)
    assert env["reviewers"] == [{"users": [1001, 1002], "teams": [77]}]
    assert env["deploymentBranchPolicy"] == {"protectedBranches": True, "customBranchPolicies": False}
    assert env["preventSelfReview"] is True and env["canAdminsBypass"] is False
    secrets = [r for r in resources if r.type.endswith("ActionsEnvironmentSecret")]
    assert secrets and {s["environment"] for s in secrets} == {"production"}


def test_an_unmanaged_environment_is_not_created():
    resources = _github_resources(**SHAPES["environment"])
    assert not [r for r in resources if r.type.endswith("RepositoryEnvironment")]


def _one(type_suffix: str):
    return next(r for r in _github_resources() if r.type.endswith(type_suffix))


def test_the_validator_rejects_a_wrong_property_name():
    secret = _one("actionsSecret:ActionsSecret")
    inputs = copy.deepcopy(secret.inputs)
    inputs["secret_name"] = inputs.pop("secretName")   # the Python name instead of the wire name
    errors = validate(secret.type, secret.name, inputs)
    assert any("unknown input 'secret_name'" in e for e in errors)
    assert any("required input 'secretName' is missing" in e for e in errors)


def test_the_validator_rejects_a_missing_required_input():
    variable = _one("actionsVariable:ActionsVariable")
    inputs = {k: v for k, v in variable.inputs.items() if k != "value"}
    assert validate(variable.type, variable.name, inputs) == [
        f"{variable.name} ({variable.type}): required input 'value' is missing"]


def test_the_validator_rejects_a_wrong_type_and_a_plaintext_secret():
    secret = _one("actionsSecret:ActionsSecret")
    inputs = dict(secret.inputs, value=rpc.unwrap_rpc_secret(secret.inputs["value"]), destroyOnDrift="yes")
    errors = validate(secret.type, secret.name, inputs)
    assert any(e.endswith(".value: the schema marks it secret, but it was sent in plaintext") for e in errors)
    assert any(".destroyOnDrift: expected a boolean" in e for e in errors)


def test_the_validator_checks_nested_types():
    resources = _github_resources(**SHAPES["managed environment"])
    env = next(r for r in resources if r.type.endswith("RepositoryEnvironment"))
    inputs = dict(env.inputs, deploymentBranchPolicy={"protectedBranches": True}, reviewers=[{"users": ["octocat"]}])
    errors = validate(env.type, env.name, inputs)
    assert any("deploymentBranchPolicy: required input 'customBranchPolicies' is missing" in e for e in errors)
    assert any("reviewers[0].users[0]: expected an integer" in e for e in errors)
