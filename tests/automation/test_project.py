"""Reading the project: backend URL, enabled components, secrets provider, stack names."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation import project
from automation.errors import UsageError


def _project(tmp_path, project_yaml="name: orchestra\nruntime: python\n", stack_yaml=None):
    (tmp_path / "Pulumi.yaml").write_text(project_yaml)
    if stack_yaml is not None:
        (tmp_path / "Pulumi.dev.yaml").write_text(stack_yaml)
    return tmp_path


def test_backend_defaults_to_file_state_in_project(tmp_path):
    root = _project(tmp_path)
    assert project.backend_url(root, {}) == ((root / ".pulumi-state").as_uri(), True)


def test_backend_env_and_project_setting_win(tmp_path):
    root = _project(tmp_path, "name: orchestra\nruntime: python\nbackend:\n  url: s3://bucket\n")
    assert project.backend_url(root, {}) == ("s3://bucket", False)
    assert project.backend_url(root, {"PULUMI_BACKEND_URL": "gs://other"}) == ("gs://other", False)


def test_enabled_components_follow_stack_then_project_defaults(tmp_path):
    root = _project(tmp_path, "name: orchestra\nruntime: python\nconfig:\n  orchestra:enable_vercel:\n    default: false\n",
                    "config:\n  orchestra:enable_github: 'false'\n")
    assert project.enabled_components(root, "dev") == {"app", "lambda"}
    assert [s.name for s in project.required_specs(root, "dev")] == ["LAMBDA_API_KEY", "OPENAI_API_KEY", "PORTKEY_API_KEY"]


def _repo_project(tmp_path, stack_yaml):
    """The real Pulumi.yaml (its defaults) and a stack file."""
    repo = Path(__file__).resolve().parents[2]
    tmp_path.mkdir(exist_ok=True)
    return _project(tmp_path, (repo / "Pulumi.yaml").read_text(), stack_yaml)


def test_keys_listed_for_github_are_required_when_lambda_is_off(tmp_path):
    # Pulumi.yaml's github_ci_secret_names lists all five keys: the program asks for LAMBDA_API_KEY
    # though no instance is deployed, so the driver must inject it too.
    root = _repo_project(tmp_path, "config:\n  orchestra:enable_lambda: 'false'\n  orchestra:enable_vercel: 'false'\n")
    assert [s.name for s in project.required_specs(root, "dev")] == [
        "LAMBDA_API_KEY", "GITHUB_TOKEN", "VERCEL_TOKEN", "OPENAI_API_KEY", "PORTKEY_API_KEY"]


def test_only_what_the_enabled_components_publish_is_required(tmp_path):
    root = _repo_project(tmp_path, "config:\n  orchestra:enable_lambda: 'false'\n  orchestra:enable_vercel: 'false'\n"
                                   "  orchestra:github_ci_secret_names:\n    - GH_TOKEN\n")
    assert [s.name for s in project.required_specs(root, "dev")] == ["GITHUB_TOKEN"]   # alias made canonical
    root = _repo_project(tmp_path / "v", "config:\n  orchestra:enable_lambda: 'false'\n  orchestra:enable_github: 'false'\n"
                                         "  orchestra:vercel_env_secret_names: '[\"OPENAI_API_KEY\"]'\n")
    assert [s.name for s in project.required_specs(root, "dev")] == ["VERCEL_TOKEN", "OPENAI_API_KEY"]


def test_the_driver_and_the_program_apply_one_rule():
    from infra.needed_keys import needed_keys
    assert list(needed_keys(lambda_=False, github_names=["OPENAI_API_KEY"], vercel_names=None)) == [
        "GITHUB_TOKEN", "OPENAI_API_KEY"]
    assert needed_keys(lambda_=True, github_names=None, vercel_names=["OPENAI_API_KEY"])["OPENAI_API_KEY"] == (
        "enable_lambda is true (the backend uses it)")


def test_stack_secrets_provider_is_respected(tmp_path):
    root = _project(tmp_path, stack_yaml="secretsprovider: awskms://alias/x\n")
    assert project.stack_secrets_provider(root, "dev") == "awskms://alias/x"


@pytest.mark.parametrize("name, short", [("local", "local"), ("acme/production", "production"),
                                         ("acme/orchestra/staging", "staging")])
def test_stack_names_with_organization_and_project_are_accepted(name, short):
    parsed = project.parse_stack_name(name, project="orchestra", backend="https://api.pulumi.com")
    assert (parsed.full, parsed.short) == (name, short)


@pytest.mark.parametrize("name", ["../etc", "a/b/c/d", "", "prod uction", "acme//x"])
def test_bad_stack_names_are_usage_errors_stating_the_rule(name):
    with pytest.raises(UsageError, match="a stack name is STACK, ORG/STACK or ORG/PROJECT/STACK") as info:
        project.parse_stack_name(name)
    assert info.value.exit_code == 2


def test_stack_name_of_another_project_is_refused():
    with pytest.raises(UsageError, match="project 'other'"):
        project.parse_stack_name("acme/other/dev", project="orchestra")


def test_self_managed_backends_keep_stacks_under_organization(tmp_path):
    assert project.parse_stack_name("organization/dev", backend=tmp_path.as_uri()).short == "dev"
    with pytest.raises(UsageError, match="organization/dev"):
        project.parse_stack_name("acme/dev", backend="s3://bucket")


def test_stack_file_is_named_after_the_short_name(tmp_path):
    assert project.stack_file_path(tmp_path, "acme/orchestra/dev") == tmp_path / "Pulumi.dev.yaml"


def test_file_backend_problem_creates_nothing(tmp_path):
    url = (tmp_path / "state" / "deeper").as_uri()
    assert project.file_backend_problem(url) is None
    assert not (tmp_path / "state").exists()
    (tmp_path / "blocked").write_text("a file, not a directory")
    assert "cannot be created" in project.file_backend_problem((tmp_path / "blocked" / "state").as_uri())


def test_a_stack_may_refresh_before_every_up_by_default(tmp_path):
    root = _project(tmp_path, stack_yaml="config:\n  orchestra:refresh_before_up: 'true'\n")
    assert project.refresh_by_default(root, "dev")
    (root / "Pulumi.dev.yaml").write_text("config: {}\n")
    assert not project.refresh_by_default(root, "dev")
