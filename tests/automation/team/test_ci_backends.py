"""CI per backend kind: each workflow documents the inputs of every kind, assumes an AWS role through OIDC only
when one is configured (no long-lived key, no secret as an action input), and hands the driver the variables of
every kind, so switching kind is a settings change, not a workflow edit."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[3] / ".github" / "workflows"
KIND_INPUTS = {"Pulumi Cloud": ["PULUMI_ACCESS_TOKEN"], "S3": ["AWS_ROLE_ARN", "AWS_REGION", "s3://"],
               "PostgreSQL": ["postgres://"], "Vault": ["VAULT_SERVER_URL", "VAULT_SERVER_TOKEN"],
               "Passphrase": ["PULUMI_CONFIG_PASSPHRASE"]}


@pytest.mark.parametrize("name", ["deploy.yml", "preview.yml"])
def test_workflow_is_parameterised_per_backend_kind(name):
    text = (WORKFLOWS / name).read_text()
    header = text.split("\nname:")[0]
    for kind, inputs in KIND_INPUTS.items():
        line = next((ln for ln in header.splitlines() if kind in ln), "")
        assert line and all(i in line or i in header for i in inputs), f"{name}: {kind} undocumented"
    workflow = yaml.safe_load(text)
    assert workflow["permissions"]["id-token"] == "write"
    (job,) = workflow["jobs"].values()
    names = [step.get("uses", step.get("run", "")) for step in job["steps"]]
    oidc = next(step for step in job["steps"] if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert oidc["if"] == "vars.AWS_ROLE_ARN != ''" and "secrets" not in str(oidc["with"])
    assert oidc["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    driver = next(i for i, n in enumerate(names) if "python -m automation" in n)
    assert names.index(oidc["uses"]) < driver, "credentials must be in place before the driver runs"
    env = job["steps"][driver]["env"]
    for variable in ("PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "VAULT_SERVER_URL", "VAULT_SERVER_TOKEN"):
        assert variable in env
