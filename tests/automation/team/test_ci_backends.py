"""CI per backend kind (inputs documented in preview.yml, tested in tests/automation/ci): the AWS role is assumed
through OIDC only when one is configured, before the driver runs, with no secret as an action input; the driver
step gets the variables of every kind, so switching kind is a settings change, not a workflow edit."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[3] / ".github" / "workflows"


@pytest.mark.parametrize("name", ["deploy.yml", "preview.yml"])
def test_driver_step_gets_every_backend_kind_after_the_oidc_role(name):
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    assert workflow["permissions"]["id-token"] == "write"
    (job,) = workflow["jobs"].values()
    oidc = next(i for i, s in enumerate(job["steps"]) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    driver = next(i for i, s in enumerate(job["steps"]) if "python -m automation" in s.get("run", ""))
    assert oidc < driver, "credentials must be in place before the driver runs"
    role = job["steps"][oidc]
    assert role["if"] == "vars.AWS_ROLE_ARN != ''" and "secrets" not in str(role["with"])
    env = job["steps"][driver]["env"]
    for variable in ("PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "VAULT_SERVER_URL",
                     "VAULT_SERVER_TOKEN"):
        assert variable in env, f"{name}: {variable} does not reach the driver"
