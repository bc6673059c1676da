"""Stack config: typed settings, and every mistake caught before a resource exists."""

from __future__ import annotations

import pytest

from infra.config import LAMBDA_API_URL_ENV, StackConfigError, ci_secret_name, load_settings
from tests.infra.harness import CANARIES, full_config, run_program


def load(config, environ=None, **kw):
    box = {}

    def program():
        box["settings"] = load_settings(environ or {})

    run = run_program(config, program=program, **kw)
    if run.error is not None:
        raise run.error
    return box["settings"]


def problems(config, **kw) -> str:
    with pytest.raises(StackConfigError) as exc:
        load(config, **kw)
    return str(exc.value)


def test_full_config_is_typed_with_defaults():
    s = load(full_config(lambda_fallback_regions=["us-west-1", "us-east-1"], backend_port="9000"), stack="prod")
    assert s.lambda_.region == "us-east-1"
    assert s.lambda_.instance_type == "gpu_1x_a10"
    assert s.lambda_.fallback_regions == ("us-west-1",)  # the primary region is not its own fallback
    assert s.lambda_.backend_port == 9000
    assert s.lambda_.active_timeout_seconds == 900
    assert (s.lambda_.poll_interval_seconds, s.lambda_.keep_on_timeout) == (10, False)
    assert s.lambda_.api_url == "https://cloud.lambda.ai"
    assert s.lambda_.instance_name == s.lambda_.ssh_key_name == "orchestra-prod"
    assert s.lambda_.ssh_public_key is None
    assert s.github.secret_names == ("LAMBDA_API_KEY", "GITHUB_TOKEN", "VERCEL_TOKEN", "OPENAI_API_KEY", "PORTKEY_API_KEY")
    assert s.github.base_url is None and s.github.environment is None
    assert (s.vercel.production_branch, s.vercel.node_version, s.vercel.backend_rewrite) == ("main", "22.x", "/api")
    assert s.vercel.build_command is s.vercel.install_command is s.vercel.output_directory is None
    assert set(s.secrets) == set(CANARIES)


def test_env_overrides_lambda_api_url():
    s = load(full_config(lambda_api_url="http://127.0.0.1:18787"), environ={LAMBDA_API_URL_ENV: "http://127.0.0.1:40123/"})
    assert s.lambda_.api_url == "http://127.0.0.1:40123"


def test_unknown_region_names_key_known_regions_and_fix():
    text = problems(full_config(lambda_region="moon-1"))
    assert "orchestra:lambda_region: 'moon-1' is not a Lambda Cloud region" in text
    assert "us-west-2" in text
    assert "Fix: pulumi config set orchestra:lambda_region us-east-1" in text


def test_unknown_fallback_region_fails():
    assert "orchestra:lambda_fallback_regions: 'mars-2'" in problems(full_config(lambda_fallback_regions=["mars-2"]))


def test_unknown_instance_type_fails_unless_allowed():
    text = problems(full_config(lambda_instance_type="gpu_9x_z900"))
    assert "orchestra:lambda_instance_type: 'gpu_9x_z900' is not a known Lambda Cloud instance type" in text
    assert "gpu_1x_a10" in text and "orchestra:lambda_allow_unknown_instance_type true" in text
    s = load(full_config(lambda_instance_type="gpu_9x_z900", lambda_allow_unknown_instance_type=True))
    assert s.lambda_.instance_type == "gpu_9x_z900"


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("backend_port", "eighty", "orchestra:backend_port: 'eighty' is not an integer. Fix: pulumi config set orchestra:backend_port 8000"),
    ("backend_port", "70000", "orchestra:backend_port: 70000 is outside 1..65535"),
    ("backend_port", "22", "orchestra:backend_port: 22 is the instance's SSH port"),
    ("enable_vercel", "yes", "orchestra:enable_vercel: 'yes' is not a boolean. Fix: pulumi config set orchestra:enable_vercel true"),
    ("lambda_file_system_names", "data", "orchestra:lambda_file_system_names: 'data' is not a list of strings"),
    ("lambda_file_system_names", '["data", 7]', "orchestra:lambda_file_system_names: '[\"data\", 7]' is not a list of strings"),
    ("lambda_active_timeout_seconds", "5", "orchestra:lambda_active_timeout_seconds: 5 is outside 30..7200"),
    ("lambda_poll_interval_seconds", "0", "orchestra:lambda_poll_interval_seconds: 0 is outside 1..300"),
    ("lambda_keep_on_timeout", "maybe", "orchestra:lambda_keep_on_timeout: 'maybe' is not a boolean"),
    ("lambda_api_url", "cloud.lambda.ai", "orchestra:lambda_api_url: 'cloud.lambda.ai' is not an http(s) URL"),
    ("github_repository", "acme/orchestra", "orchestra:github_repository: 'acme/orchestra' must be the repository's name"),
    ("github_ci_secret_names", ["OPENAI_API_KEY", "AWS_KEY"], "orchestra:github_ci_secret_names: 'AWS_KEY' is not a catalog key"),
    ("vercel_project_name", "Orchestra Web", "orchestra:vercel_project_name: 'Orchestra Web' is not a Vercel project name"),
    ("vercel_git_repository", "orchestra", "orchestra:vercel_git_repository: 'orchestra' is not OWNER/REPO"),
    ("backend_image", "", "orchestra:backend_image: '' is not a container image reference"),
])
def test_wrong_values_name_the_key_and_the_fix(key, value, expected):
    text = problems(full_config(**{key: value}))
    assert expected in text
    assert "Fix: " in text


def test_reviewer_ids_must_be_integers_not_booleans():
    text = problems(full_config(github_environment="production", github_manage_environment=True,
                                github_environment_reviewer_users=[123, True]))
    assert ("orchestra:github_environment_reviewer_users: '[123, true]' is not a list of integers. "
            "Fix: pulumi config set --path 'orchestra:github_environment_reviewer_users[0]' 1234567") in text


def test_all_problems_reported_at_once():
    text = problems(full_config(lambda_region="moon-1", backend_port="x", github_owner=""))
    assert "3 config problem(s)" in text
    for key in ("lambda_region", "backend_port", "github_owner"):
        assert f"orchestra:{key}:" in text


def test_missing_secret_for_enabled_component_says_how_to_set_it():
    secrets = {k: v for k, v in CANARIES.items() if k != "VERCEL_TOKEN"}
    text = problems(full_config(), secrets=secrets)
    assert "orchestra:vercel_token: VERCEL_TOKEN is required because enable_vercel is true" in text
    assert "pulumi config set --secret orchestra:vercel_token" in text


def test_plaintext_secret_is_refused_without_echoing_it():
    secrets = {k: v for k, v in CANARIES.items() if k != "OPENAI_API_KEY"}
    text = problems(full_config(openai_api_key=CANARIES["OPENAI_API_KEY"]), secrets=secrets)
    assert "orchestra:openai_api_key: stored in plaintext" in text
    assert "pulumi config set --secret orchestra:openai_api_key" in text
    assert CANARIES["OPENAI_API_KEY"] not in text


def test_disabled_components_need_neither_settings_nor_their_keys():
    s = load({"enable_lambda": False, "enable_github": False, "enable_vercel": False}, secrets={})
    assert (s.lambda_, s.github, s.vercel, dict(s.secrets)) == (None, None, None, {})


def test_lambda_only_needs_lambda_and_app_keys():
    secrets = {k: CANARIES[k] for k in ("LAMBDA_API_KEY", "OPENAI_API_KEY", "PORTKEY_API_KEY")}
    s = load({"backend_image": "img:1", "enable_github": False, "enable_vercel": False}, secrets=secrets)
    assert set(s.secrets) == set(secrets)


def test_github_reserved_prefix_is_published_under_an_alias():
    assert ci_secret_name("GITHUB_TOKEN") == "GH_TOKEN"
    assert ci_secret_name("OPENAI_API_KEY") == "OPENAI_API_KEY"
