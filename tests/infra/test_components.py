"""What each component asks the engine to create, and which inputs travel as secrets."""

from __future__ import annotations

from tests.infra.harness import CANARIES, INSTANCE_IP, full_config, run_program

LAMBDA = ("LambdaSshKey", "LambdaFirewallRuleset", "LambdaInstance")


def _run(**overrides):
    run = run_program(full_config(**overrides))
    assert run.error is None, run.error
    return run


def test_lambda_backend_launches_the_configured_instance():
    run = _run(lambda_region="us-west-1", lambda_instance_type="gpu_1x_a100", lambda_fallback_regions=["us-east-1"],
               lambda_file_system_names=["models"], lambda_active_timeout_seconds=600, backend_port=9000,
               lambda_api_url="https://lambda.example.test/")
    instance = run.one("LambdaInstance")
    assert instance["region_name"] == "us-west-1"
    assert instance["instance_type_name"] == "gpu_1x_a100"
    assert instance["fallback_regions"] == ["us-east-1"]
    assert instance["file_system_names"] == ["models"]
    assert instance["active_timeout_seconds"] == 600
    assert instance["name"] == "orchestra-production"
    assert instance["ssh_key_names"] == [run.one("LambdaSshKey")["name"]] == ["orchestra-production"]
    assert instance["api_url"] == "https://lambda.example.test"
    # One ruleset per region it may launch in, attached at launch: only this instance gets the port.
    rulesets = {r["region"]: r for r in run.of("LambdaFirewallRuleset")}
    assert set(rulesets) == {"us-west-1", "us-east-1"} and run.of("LambdaFirewallRules") == []
    assert rulesets["us-west-1"].name == "orchestra-backend-firewall"
    assert all([rule["port"] for rule in r["rules"]] == [9000, 22] for r in rulesets.values())
    assert set(instance["firewall_ruleset_ids"]) == {"us-west-1", "us-east-1"}


def test_lambda_secrets_travel_as_secrets():
    run = _run()
    for kind in LAMBDA:
        resource = run.one(kind)
        assert resource.is_secret("api_key") and resource["api_key"] == CANARIES["LAMBDA_API_KEY"]
    instance = run.one("LambdaInstance")
    assert instance.is_secret("user_data")
    assert CANARIES["OPENAI_API_KEY"] in instance["user_data"] and CANARIES["PORTKEY_API_KEY"] in instance["user_data"]


def test_github_ci_publishes_secrets_and_variables_through_its_own_provider():
    run = _run(github_base_url="https://ghe.example.com/api/v3/")
    provider = run.one("pulumi:providers:github")
    assert provider["owner"] == "acme" and provider["baseUrl"] == "https://ghe.example.com/api/v3/"
    assert provider.is_secret("token")
    secrets = {r["secretName"]: r for r in run.of("github:index/actionsSecret:ActionsSecret")}
    assert set(secrets) == {"LAMBDA_API_KEY", "GH_TOKEN", "VERCEL_TOKEN", "OPENAI_API_KEY", "PORTKEY_API_KEY"}
    for _name, resource in secrets.items():
        assert resource["repository"] == "orchestra"
        assert resource.is_secret("value")
    assert secrets["GH_TOKEN"]["value"] == CANARIES["GITHUB_TOKEN"]
    variables = {r["variableName"]: r["value"] for r in run.of("github:index/actionsVariable:ActionsVariable")}
    # No git repository, so nothing deploys and no frontend URL is known to publish.
    assert variables == {"BACKEND_URL": f"http://{INSTANCE_IP}:8000"}
    assert run.outputs["github_secret_names"] == ["LAMBDA_API_KEY", "GH_TOKEN", "VERCEL_TOKEN", "OPENAI_API_KEY",
                                                  "PORTKEY_API_KEY"]


def test_github_environment_scopes_secrets_and_variables_to_it():
    run = _run(github_environment="production", github_ci_secret_names=["OPENAI_API_KEY"])
    assert not run.of("github:index/actionsSecret:ActionsSecret")
    (secret,) = run.of("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret")
    assert (secret["environment"], secret["secretName"]) == ("production", "OPENAI_API_KEY") and secret.is_secret("value")
    variables = run.of("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
    assert {v["environment"] for v in variables} == {"production"}


def test_vercel_frontend_project_env_vars_and_domain():
    run = _run(vercel_framework="vite", vercel_root_directory="web", vercel_git_repository="acme/orchestra",
               vercel_team_id="team_123", vercel_domain="app.example.com")
    assert run.one("pulumi:providers:vercel")["team"] == "team_123"
    assert run.one("pulumi:providers:vercel").is_secret("apiToken")
    project = run.one("vercel:index/project:Project")
    assert project["name"] == "orchestra-web" and project["framework"] == "vite" and project["rootDirectory"] == "web"
    assert project["gitRepository"] == {"type": "github", "repo": "acme/orchestra", "productionBranch": "main"}
    env = {r["key"]: r for r in run.of("vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable")}
    assert set(env) == {"BACKEND_URL", "OPENAI_API_KEY", "PORTKEY_API_KEY"}
    for variable in env.values():
        assert variable["targets"] == ["production", "preview"]
    assert env["BACKEND_URL"]["value"] == f"http://{INSTANCE_IP}:8000" and env["BACKEND_URL"]["sensitive"] is False
    for key in ("OPENAI_API_KEY", "PORTKEY_API_KEY"):
        assert env[key]["sensitive"] is True and env[key].is_secret("value") and env[key]["value"] == CANARIES[key]
    assert run.one("vercel:index/projectDomain:ProjectDomain")["domain"] == "app.example.com"
    assert run.outputs["frontend_url"] == "https://app.example.com"


def test_backend_url_override_replaces_the_instance_url_everywhere():
    run = _run(backend_url_override="https://api.example.com")
    assert run.outputs["backend_url"] == "https://api.example.com"
    env = {r["key"]: r["value"] for r in run.of("vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable")}
    assert env["BACKEND_URL"] == "https://api.example.com"
    assert run.outputs["instance_ip"] == INSTANCE_IP  # the instance still exists


def test_disabled_components_create_nothing():
    run = run_program({"enable_lambda": False, "enable_github": False, "enable_vercel": False,
                       "frontend_url": "https://example.com"}, secrets={})
    assert run.error is None, run.error
    assert [r.type for r in run.resources] == ["orchestra:infra:Platform"]
    assert run.outputs == {"backend_url": None, "instance_id": None, "instance_ip": None,
                           "frontend_url": "https://example.com", "github_secret_names": []}


def test_each_component_can_be_disabled_alone():
    for flag, gone in (("enable_lambda", "orchestra:infra:LambdaBackend"), ("enable_github", "orchestra:infra:GitHubCi"),
                       ("enable_vercel", "orchestra:infra:VercelFrontend")):
        run = _run(**{flag: False})
        types = {r.type for r in run.resources}
        assert gone not in types
        assert len(types & {"orchestra:infra:LambdaBackend", "orchestra:infra:GitHubCi", "orchestra:infra:VercelFrontend"}) == 2


def test_the_instance_follows_its_ssh_key_and_the_boot_wait_settings():
    run = _run(lambda_poll_interval_seconds=5, lambda_keep_on_timeout=True)
    [ruleset] = run.of("LambdaFirewallRuleset")
    instance, key = run.one("LambdaInstance"), run.one("LambdaSshKey")
    assert instance["ssh_key_ids"] == [f"{key.name}-id"]  # the key's id: a new key replaces the instance
    assert (instance["poll_interval_seconds"], instance["keep_on_timeout"]) == (5, True)
    assert instance["tags"] == {"project": "orchestra", "stack": "production"}
    assert len(instance["launch_key"]) == 16  # the resource's part of every launch token
    assert instance["firewall_ruleset_ids"] == {"us-east-1": f"{ruleset.name}-id"}


def test_a_region_without_firewall_rules_is_warned_about_and_gets_no_ruleset(caplog):
    run = _run(lambda_region="us-east-1", lambda_fallback_regions=["us-south-1"])
    assert "firewall rules do not apply in us-south-1" in caplog.text
    assert [r["region"] for r in run.of("LambdaFirewallRuleset")] == ["us-east-1"]
    caplog.clear()
    _run(lambda_region="us-east-1")
    assert "firewall rules do not apply" not in caplog.text
