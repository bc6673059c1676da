"""The production stack's GitHub and Vercel parts through the real engine: the driver installs the
plugins (stand-ins, from a local archive as on an air-gapped machine), the engine loads them, and
each stand-in checks every resource's inputs against the provider's contract (the pulumi-github
schema, the Vercel SDK's Args) as the real provider would in `check`. Nothing is created."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from automation.engine import cache_root, find_engine
from automation.plugins import sdk_plugin
from tests.support.loopback import refused_url
from tests.support.standin_plugin import write_archive

REPO = Path(__file__).resolve().parents[2]
KEYS = {
    "LAMBDA_API_KEY": "secret_canary0prod.CANARYlambdaNEVERprinted0123456789",
    "GITHUB_TOKEN": "ghp_CANARYgithubNEVERprinted0123456789ab",
    "VERCEL_TOKEN": "CANARYvercelNEVERprinted",
    "OPENAI_API_KEY": "sk-proj-CANARYopenaiNEVERprintedT3BlbkFJabcdefghij0123456789",
    "PORTKEY_API_KEY": "CANARYportkeyNEVERprinted0123456789",
}


def _project(tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    engine = find_engine()
    assert engine is not None, "no Pulumi engine: run scripts/setup.sh"
    root = tmp_path / "project"
    root.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, root / name)
    for package in ("infra", "secrets_bridge", "automation", "tests"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    os.symlink(Path(sys.prefix), root / ".venv")
    stack = yaml.safe_load((REPO / "Pulumi.production.yaml").read_text())
    # The Lambda part needs the Lambda API even to preview; this test is about the other two.
    stack["config"].update({"orchestra:enable_lambda": "false", "orchestra:backend_url_override": "https://api.example.com",
                            "orchestra:github_environment": "production", "orchestra:github_manage_environment": "true",
                            # Without Lambda, the driver's preflight does not ask for LAMBDA_API_KEY.
                            "orchestra:github_ci_secret_names": ["GITHUB_TOKEN", "VERCEL_TOKEN", "OPENAI_API_KEY"]})
    (root / "Pulumi.production.yaml").write_text(yaml.safe_dump(stack))

    mirror, log = tmp_path / "mirror", tmp_path / "checks.jsonl"
    for component, package, validator in (("github", "pulumi_github", "tests.infra.github_schema:validate"),
                                          ("vercel", "pulumiverse_vercel", "tests.infra.vercel_args:validate")):
        spec = sdk_plugin(component, package)
        write_archive(mirror, spec.name, spec.version, spec.asset, validator=validator, log=str(log))
    env = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]), "HOME": str(tmp_path),
           "ORCHESTRA_ENGINE_CACHE": str(cache_root()), "PULUMI_HOME": str(tmp_path / "pulumi-home"),
           "PULUMI_BACKEND_URL": (tmp_path / "state").as_uri(), "PULUMI_CONFIG_PASSPHRASE": "not-a-secret",
           "PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES": f"^.*$={refused_url()}/", "ORCHESTRA_PLUGIN_FILES": str(mirror),
           "ORCHESTRA_SECRETS_DIR": str(tmp_path / "no-store"), **KEYS}
    return root, env, log


def _preview(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "automation", "preview", "production", "--create", "--skip-verify",
                           "--json"], cwd=root, env=env, capture_output=True, text=True, timeout=600)


def test_production_preview_runs_github_and_vercel_through_installed_plugins(tmp_path):
    root, env, log = _project(tmp_path)
    proc = _preview(root, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "plugins: pulumi plugin install resource github 6.15.0 --exact --file" in proc.stderr
    checked = [json.loads(line) for line in log.read_text().splitlines()]
    types = {c["urn"].split("::")[-2].split("$")[-1] for c in checked}
    assert {"github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret",
            "github:index/repositoryEnvironment:RepositoryEnvironment", "vercel:index/project:Project",
            "vercel:index/deployment:Deployment", "vercel:index/projectRoute:ProjectRoute"} <= types
    assert [c for c in checked if c["problems"]] == []
    changes = json.loads(proc.stdout)["preview"]["changes"]
    assert changes["create"] >= len(checked)
    # Where the stack now lives: the place test_production_preview.py finds empty after a refused plugin.
    assert list((tmp_path / "state" / ".pulumi" / "stacks").rglob("production.json"))
    written = [p.read_text(errors="replace") for p in (tmp_path / "state").rglob("*") if p.is_file()]
    written += [(root / "Pulumi.production.yaml").read_text(), log.read_text()]
    for value in KEYS.values():
        assert value not in proc.stdout + proc.stderr
        assert not [text for text in written if value in text]


def test_an_input_the_provider_would_reject_fails_the_preview_at_the_plugins_check(tmp_path):
    root, env, log = _project(tmp_path)
    component = root / "infra" / "components" / "github_ci.py"
    source = component.read_text()
    assert "wait_timer=protection.wait_timer" in source
    component.write_text(source.replace("wait_timer=protection.wait_timer", "wait_timer=str(protection.wait_timer)"))
    proc = _preview(root, env)
    assert proc.returncode == 36
    assert "waitTimer: expected an integer, got str" in proc.stderr
    assert any(c["problems"] for c in map(json.loads, log.read_text().splitlines()))
