"""`python -m automation preview production --create` on a machine without the GitHub and Vercel plugins
and without network: it stops at the plugin check, says exactly what is missing, exit 31, and the stack
is not created."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from automation.engine import cache_root, find_engine
from tests.support.loopback import refused_url

REPO = Path(__file__).resolve().parents[2]


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def test_production_preview_stops_at_the_plugin_check_and_changes_nothing(tmp_path):
    engine = find_engine()
    assert engine is not None, "no Pulumi engine: run scripts/setup.sh"
    root = tmp_path / "project"
    root.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.production.yaml", "__main__.py"):
        shutil.copy(REPO / name, root / name)
    for package in ("infra", "secrets_bridge", "automation"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    os.symlink(Path(sys.prefix), root / ".venv")
    state, home = tmp_path / "state", tmp_path / "pulumi-home"
    before = _digest(root)
    env = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]), "HOME": str(tmp_path),
           "ORCHESTRA_ENGINE_CACHE": str(cache_root()), "PULUMI_HOME": str(home), "PULUMI_BACKEND_URL": state.as_uri(), "PYTHONPATH": str(root),
           # The machine has no network; the refused loopback port makes that certain and fast.
           "PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES": f"^.*$={refused_url()}/",
           # As in CI: the passphrase from the environment, so no local key store is involved.
           "PULUMI_CONFIG_PASSPHRASE": "not-a-secret-test-passphrase"}
    proc = subprocess.run([sys.executable, "-m", "automation", "preview", "production", "--create"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 31, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    assert errors[0].startswith("error: provider plugin missing, nothing was changed: pulumi-resource-github 6.15.0 "
                                "(the github component): `pulumi plugin install resource github 6.15.0 --exact` failed")
    assert ("pulumi-resource-vercel 5.21.1 (the vercel component): `pulumi plugin install resource vercel 5.21.1 "
            "--exact --server github://api.github.com/pulumiverse` failed") in errors[0]
    assert "--file pulumi-resource-vercel-v5.21.1-" in errors[0]
    # No stack, no config written, no plugin half-installed, the project files as they were.
    assert not (state / ".pulumi" / "stacks").exists()
    assert _digest(root) == before
    assert not (home / "plugins").exists() or not any((home / "plugins").iterdir())
