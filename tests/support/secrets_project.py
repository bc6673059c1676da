"""A throwaway project for the chain and CLI tests: canary values, the master key, and
`Project`, which runs the real CLI as a subprocess and checks that no canary ever shows
up in its output. The `project` fixture (tests/secrets_bridge/conftest.py) builds one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from secrets_bridge.catalog import CATALOG
from secrets_bridge.store import SecretStore
from tests.support.store_helpers import FAST_KDF

REPO = Path(__file__).resolve().parents[2]
MASTER_KEY = "test-master-key-correct-horse"
KEY_ENV_NAMES = {name for spec in CATALOG for name in spec.env_names}

# Valid-format values whose tails are unmistakable in any output.
CANARIES = {
    "GITHUB_TOKEN": "ghp_" + "CanaryGithubZq7".ljust(36, "x"),
    "OPENAI_API_KEY": "sk-proj-" + "CanaryOpenaiZq7" + "T3BlbkFJ" + "y" * 40,
    "VERCEL_TOKEN": "CanaryVercelZq7".ljust(24, "v"),
    "LAMBDA_API_KEY": "secret_canary-id.CanaryLambdaZq7tok",
    "PORTKEY_API_KEY": "pk-CanaryPortkeyZq7",
}


def assert_no_canary(text: str, values: Iterable[str] | None = None) -> None:
    for value in CANARIES.values() if values is None else values:
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
