"""Fixtures of the secrets_bridge tests: a throwaway project directory and a clean
environment (no real keys leak in from the developer's shell)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.secrets_project import KEY_ENV_NAMES, MASTER_KEY, REPO, Project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO),
        "ORCHESTRA_SECRETS_DIR": str(tmp_path),
        "ORCHESTRA_MASTER_KEY": MASTER_KEY,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    # In-process calls (resolve_all) see the same world as the subprocesses.
    for name in list(os.environ):
        if name.startswith(("ORCHESTRA_", "PULUMI_")) or name in KEY_ENV_NAMES:
            monkeypatch.delenv(name)
    for name in ("ORCHESTRA_SECRETS_DIR", "ORCHESTRA_MASTER_KEY"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.chdir(tmp_path)
    return Project(tmp_path, env)

