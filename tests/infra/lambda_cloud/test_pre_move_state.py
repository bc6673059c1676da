"""A stack state written by the layout before issue 9 (provider classes pickled as
infra.lambda_resources.*) still refreshes and destroys through the real engine after the move.

The fixture was made by fixtures/make_pre_move_state.py with the tree at d05a8c8.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from automation.sandbox.emulator_hooks import EmulatorHooks
from automation.sandbox.lambda_emulator import LambdaEmulator
from tests.support.lambda_stack import LambdaStack

pytestmark = pytest.mark.e2e
FIXTURE = Path(__file__).parent / "fixtures" / "pre-move-state"
API_KEY = "secret_premove0fixture.PREMOVEfixtureKEY0123456789abcdef"  # the fixture's own fake key
PASSPHRASE = "pre-move-fixture-passphrase"
PROGRAM = """
import pulumi
from infra.lambda_dynamic import LambdaFirewallRules, LambdaInstance, LambdaSshKey

config = pulumi.Config("fixture")
api = {"api_key": config.require_secret("api_key"), "api_url": config.require("api_url")}
key = LambdaSshKey("key", **api, name="premove-key")
rule = LambdaFirewallRules("port", **api, port=8000)
LambdaInstance("instance", **api, instance_type_name="gpu_1x_a10", region_name="us-east-1",
               ssh_key_names=["premove-key"], name="premove", tags={"project": "orchestra"},
               poll_interval_seconds=0.2, opts=pulumi.ResourceOptions(depends_on=[key, rule]))
"""


def _old_url() -> str:
    return yaml_value(FIXTURE / "Pulumi.premove.yaml", "fixture:api_url")


def yaml_value(path: Path, key: str) -> str:
    import yaml

    return yaml.safe_load(path.read_text())["config"][key]


def test_pre_move_state_refreshes_and_destroys_after_the_move(tmp_path):
    shutil.copy(FIXTURE / "lambda-state.json", tmp_path / "lambda-state.json")
    with LambdaEmulator(tmp_path / "lambda-state.json", [API_KEY], boot_seconds=0) as emulator:
        hooks = EmulatorHooks(emulator.base_url)
        [instance] = hooks.live_instances()
        old_url = _old_url()
        project = LambdaStack(tmp_path / "project", program=PROGRAM, name="premove", stack="premove",
                              env={"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE})
        stack_file = (FIXTURE / "Pulumi.premove.yaml").read_text().replace(old_url, emulator.base_url)
        (project.root / "Pulumi.premove.yaml").write_text(stack_file)
        export = (FIXTURE / "stack-export.json").read_text().replace(old_url, emulator.base_url)
        (tmp_path / "export.json").write_text(export)
        project.pulumi("stack", "init", "premove")
        project.pulumi("stack", "import", "--file", str(tmp_path / "export.json"))

        pickles = project.provider_pickles()
        assert len(pickles) == 3 and all(b"infra.lambda_resources" in p for p in pickles), \
            "the fixture must name the old module path, or this test proves nothing"

        project.pulumi("refresh", "--yes")
        [kept] = project.resources(":LambdaInstance")
        assert kept["id"] == instance["id"] and kept["outputs"]["status"] == "active"

        project.pulumi("destroy", "--yes")
        assert project.export()["deployment"].get("resources") in (None, [])
        assert hooks.live_instances() == []
        state = hooks.state()
        assert state["ssh_keys"] == {}
        assert [r["port_range"] for r in state["firewall_rules"]] == [[22, 22]]
        terminations = [r for r in hooks.requests() if r["path"] == "/api/v1/instance-operations/terminate"]
        assert [r["status"] for r in terminations] == [200]
    assert json.loads((tmp_path / "lambda-state.json").read_text())["instances"][instance["id"]]["status"] == "terminated"
