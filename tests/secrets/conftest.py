"""Shared fixtures: a throwaway project directory, a clean environment (no real keys leak
in from the developer's shell), canary values, and a helper that runs the real CLI as a
subprocess and checks that no canary ever shows up in its output."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from secrets_bridge.catalog import CATALOG
from secrets_bridge.store import SecretStore
from secrets_bridge.store_format import ScryptParams

REPO = Path(__file__).resolve().parents[2]
MASTER_KEY = "test-master-key-correct-horse"
FAST_KDF = ScryptParams(n=2**14)  # the store's floor: keeps each test process quick
KEY_ENV_NAMES = {name for spec in CATALOG for name in spec.env_names}

# Valid-format values whose tails are unmistakable in any output.
CANARIES = {
    "GITHUB_TOKEN": "ghp_" + "CanaryGithubZq7".ljust(36, "x"),
    "OPENAI_API_KEY": "sk-proj-" + "CanaryOpenaiZq7" + "T3BlbkFJ" + "y" * 40,
    "VERCEL_TOKEN": "CanaryVercelZq7".ljust(24, "v"),
    "LAMBDA_API_KEY": "secret_canary-id.CanaryLambdaZq7tok",
    "PORTKEY_API_KEY": "pk-CanaryPortkeyZq7",
}


def assert_no_canary(text: str, values=CANARIES.values()) -> None:
    for value in values:
        # The mask shows a public prefix like ghp_; the secret part must never appear.
        assert value not in text
        assert value[-12:] not in text


@dataclass
class Project:
    root: Path
    env: dict[str, str]

    def cli(self, *args: str, input: str | bytes | None = None, extra_env: dict | None = None,
            allow_reveal: bool = False) -> subprocess.CompletedProcess:
        data = input.encode() if isinstance(input, str) else input
        env = {**self.env, **(extra_env or {})}
        done = subprocess.run([sys.executable, "-m", "secrets_bridge", *args], cwd=self.root, env=env,
                              input=data if data is not None else b"", capture_output=True, timeout=120)
        done.stdout, done.stderr = done.stdout.decode(), done.stderr.decode()
        assert "Traceback" not in done.stderr, done.stderr
        if not allow_reveal:
            assert_no_canary(done.stdout + done.stderr)
        return done

    def store(self, env: str = "production", master_key: str = MASTER_KEY) -> SecretStore:
        return SecretStore.open(env, master_key=master_key, directory=self.root, kdf=FAST_KDF)

    def seed(self, values: dict[str, str], env: str = "production") -> None:
        self.store(env).set_many(values)

    def empty_store(self, env: str = "production") -> None:
        """Create the file with fast KDF parameters, so CLI subprocesses derive quickly."""
        store = self.store(env)
        store.set("SEED", "x")
        store.delete("SEED")


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

