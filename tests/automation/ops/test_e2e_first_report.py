"""`report` before the first deploy: keys checked live, the plan priced, the connectivity drawn."""

from __future__ import annotations

import json

import pytest

from tests.automation.ops.mermaid import mermaid_block, parse

pytestmark = pytest.mark.e2e


def _start_sandbox(project) -> None:
    """The emulators up (as any `up` leaves them) while the stack does not exist yet; `report` starts nothing."""
    from urllib.parse import urlsplit

    from automation.sandbox.manager import start_sandbox

    stack_yaml = (project.root / "Pulumi.local.yaml").read_text()
    backend_port = int(stack_yaml.split("orchestra:backend_port:")[1].split()[0].strip('"'))
    start_sandbox(project.root, lambda_api_keys=[project.canaries["LAMBDA_API_KEY"]],
                  lambda_port=urlsplit(project.lambda_url).port, backend_port=backend_port)


def test_report_before_the_first_deploy_shows_keys_connectivity_and_plan(fresh_project):
    _start_sandbox(fresh_project)
    proc = fresh_project.run("report", "local")
    assert proc.returncode == 0, proc.stderr
    (md_path,) = (fresh_project.root / "reports").glob("local-*.md")
    md, doc = md_path.read_text(), json.loads(md_path.with_suffix(".json").read_text())
    assert md.splitlines()[2] == ("**➖ Not deployed: keys ready; stack local has never been deployed: "
                                  "`python -m automation up local`**")
    assert doc["stack_exists"] is False and doc["iac"]["last_update"] == "never deployed"
    assert {k["name"]: k["live"] for k in doc["keys"]}["LAMBDA_API_KEY"] == "valid"     # checked against the emulator
    (plan,) = doc["plan"]
    assert "gpu_1x_a10 instance in us-east-1 at $0.75/h (A10 (24 GB PCIe))" in plan
    nodes, edges, _ = parse(mermaid_block(md))
    assert ("key_LAMBDA_API_KEY", "svc_lambda") in edges and ("svc_lambda", "res_instance") in edges
    assert nodes["res_instance"] == ("Lambda instance<br/>planned", "idle") and nodes["svc_lambda"][1] == "ok"
    assert "No action required" not in md
    for canary in fresh_project.canaries.values():
        assert canary not in md + json.dumps(doc) + proc.stdout + proc.stderr
