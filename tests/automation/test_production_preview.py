"""`python -m automation preview production --create` on a machine without the GitHub and Vercel plugins
and without network: with every key present it passes preflight, stops at the plugin check, says
exactly what is missing, exit 31, and the stack is not created."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from automation.engine import cache_root, find_engine
from tests.support.loopback import refused_url

REPO = Path(__file__).resolve().parents[2]
KEYS = {   # valid formats, so preflight passes with --skip-verify; canaries: never shown anywhere
    "LAMBDA_API_KEY": "secret_canaryplug.CANARYlambdaNEVERshown0123456789ab",
    "GITHUB_TOKEN": "ghp_CANARYgithubNEVERshownPLUG456789abcd",
    "VERCEL_TOKEN": "CANARYvercelNEVERshownPL",
    "OPENAI_API_KEY": "sk-proj-CANARYplugOPENAInever0T3BlbkFJabcdefghij0123456789",
    "PORTKEY_API_KEY": "CANARYplugPORTKEYnever0123456789",
}


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture
def machine(tmp_path) -> dict:
    """A copy of the project and an environment with the engine but no plugin and no network."""
    engine = find_engine()
    assert engine is not None, "no Pulumi engine: run scripts/setup.sh"
    root = tmp_path / "project"
    root.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.production.yaml", "__main__.py"):
        shutil.copy(REPO / name, root / name)
    for package in ("infra", "secrets_bridge", "automation"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    os.symlink(Path(sys.prefix), root / ".venv")
    env = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]), "HOME": str(tmp_path),
           "ORCHESTRA_ENGINE_CACHE": str(cache_root()), "PULUMI_HOME": str(tmp_path / "pulumi-home"),
           "PULUMI_BACKEND_URL": (tmp_path / "state").as_uri(), "PYTHONPATH": str(root),
           # The machine has no network; the refused loopback port makes that certain and fast.
           "PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES": f"^.*$={refused_url()}/",
           # As in CI: the passphrase from the environment, so no local key store is involved.
           "PULUMI_CONFIG_PASSPHRASE": "not-a-secret-test-passphrase", **KEYS}
    return {"root": root, "env": env, "state": tmp_path / "state", "home": tmp_path / "pulumi-home"}


def _run(machine: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "automation", *args], cwd=machine["root"], env=machine["env"],
                          capture_output=True, text=True, timeout=300)


def test_production_preview_stops_at_the_plugin_check_and_changes_nothing(machine):
    before = _digest(machine["root"])
    proc = _run(machine, "preview", "production", "--create", "--skip-verify")
    assert proc.returncode == 31, proc.stderr
    assert "⚠️ plugin   pulumi-resource-github 6.15.0: not found; `up` installs it" in proc.stdout  # preflight passed
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    assert errors[0].startswith("error: provider plugin missing, nothing was changed: pulumi-resource-github 6.15.0 "
                                "(the github component): `pulumi plugin install resource github 6.15.0 --exact` failed")
    assert ("pulumi-resource-vercel 5.21.1 (the vercel component): `pulumi plugin install resource vercel 5.21.1 "
            "--exact --server github://api.github.com/pulumiverse` failed") in errors[0]
    assert "--file pulumi-resource-vercel-v5.21.1-" in errors[0]
    # No stack, no config written, no plugin half-installed, the project files as they were.
    assert not (machine["state"] / ".pulumi" / "stacks").exists()
    assert _digest(machine["root"]) == before
    plugins = machine["home"] / "plugins"
    assert not plugins.exists() or not any(plugins.iterdir())
    assert not [k for k in KEYS.values() if k in proc.stdout + proc.stderr]


def test_check_lists_each_plugin_with_its_origin_and_how_to_install_it(machine):
    proc = _run(machine, "check", "production", "--skip-verify")
    assert proc.returncode == 0, proc.stderr   # check installs nothing; a missing plugin is a warning
    lines = proc.stdout.splitlines()
    assert ("⚠️ plugin   pulumi-resource-github 6.15.0: not found; `up` installs it before the stack changes -> "
            "not found: install it with `pulumi plugin install resource github 6.15.0 --exact`") in "\n".join(lines)
    assert any(line.startswith("⚠️ plugin   pulumi-resource-vercel 5.21.1") for line in lines)
    assert not (machine["home"] / "plugins").exists()
    env = {k: v for k, v in machine["env"].items() if k != "GITHUB_TOKEN"}
    proc = subprocess.run([sys.executable, "-m", "automation", "check", "production", "--skip-verify"],
                          cwd=machine["root"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 30 and "set GITHUB_TOKEN" in proc.stderr   # keys still block, plugins listed beside
