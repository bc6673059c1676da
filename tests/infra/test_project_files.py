"""Pulumi.yaml and the stack files: parseable, consistent with the code and the key catalog."""

from __future__ import annotations

import yaml

from infra.config import DEFAULTS, SECRET_KEYS
from secrets_bridge.catalog import CATALOG
from tests.infra.harness import ROOT

PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
SCHEMA = PROJECT["config"]
LOCAL_TEMPLATE = ROOT / "automation" / "sandbox" / "Pulumi.local.template.yaml"


def test_project_runs_the_root_program_with_the_project_venv():
    assert PROJECT["name"] == "orchestra"
    assert PROJECT["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    # The engine gives dynamic providers the program's directory as cwd and resolves
    # `virtualenv: .venv` against it, so the program must be the project root.
    assert "main" not in PROJECT
    assert "from infra.program import run" in (ROOT / "__main__.py").read_text()


def test_secret_keys_are_exactly_the_catalog_keys():
    declared = {key for key, spec in SCHEMA.items() if spec.get("secret")}
    assert declared == {spec.config_key for spec in CATALOG if spec.secret} == set(SECRET_KEYS)
    for key in declared:
        # No type: a typed secret with a default fails every stack that leaves it unset.
        assert SCHEMA[key] == {"description": SCHEMA[key]["description"], "secret": True, "default": ""}


def test_schema_defaults_match_the_program_defaults():
    non_secret = {key: spec for key, spec in SCHEMA.items() if not spec.get("secret")}
    assert {key: spec["default"] for key, spec in non_secret.items()} == DEFAULTS
    for _key, spec in non_secret.items():
        assert spec["type"] in {"string", "integer", "boolean", "array"} and spec["description"]
        if spec["type"] == "array":
            assert spec["items"] in ({"type": "string"}, {"type": "integer"})


def test_stack_files_hold_known_keys_and_no_secrets():
    for stack, path in (("production", ROOT / "Pulumi.production.yaml"), ("local", LOCAL_TEMPLATE)):
        data = yaml.safe_load(path.read_text())
        assert set(data) == {"config"}, f"{stack}: only config (encryptionsalt is added by the engine)"
        keys = {key.removeprefix("orchestra:") for key in data["config"]}
        assert keys <= set(DEFAULTS), f"{stack}: unknown keys {keys - set(DEFAULTS)}"
        assert not keys & set(SECRET_KEYS)


def test_local_stack_matches_the_sandbox_contract():
    config = yaml.safe_load(LOCAL_TEMPLATE.read_text())["config"]
    assert config["orchestra:lambda_api_url"] == "http://127.0.0.1:18787"
    assert config["orchestra:backend_port"] == "18788"
    assert (config["orchestra:enable_lambda"], config["orchestra:enable_github"], config["orchestra:enable_vercel"]) == (
        "true", "false", "false")
