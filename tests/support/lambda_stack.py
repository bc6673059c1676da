"""A throwaway Pulumi project driving the Lambda resources through the real engine.

Each project is a temp directory with its own Pulumi.yaml, program, file backend and passphrase;
the repository is importable through PYTHONPATH, the test virtualenv is the program's. Tests use
it with the emulator on a loopback port to check what state and the emulator hold after a run.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from automation.engine import ensure_engine

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "lambda-stack-test-passphrase"
FAST_CLIENT = {"ORCHESTRA_LAMBDA_REQUEST_INTERVAL": "0", "ORCHESTRA_LAMBDA_LAUNCH_INTERVAL": "0",
               "ORCHESTRA_LAMBDA_BACKOFF_SECONDS": "0.05", "ORCHESTRA_LAMBDA_MAX_ATTEMPTS": "3"}


class LambdaStack:
    def __init__(self, root: Path, *, program: str, name: str = "lambdatest", stack: str = "test",
                 env: dict[str, str] | None = None) -> None:
        engine = ensure_engine(log=lambda msg: print(msg, file=sys.stderr))
        self.root, self.stack = root, stack
        root.mkdir(parents=True, exist_ok=True)
        (root / "Pulumi.yaml").write_text(f"name: {name}\nruntime:\n  name: python\n  options:\n"
                                          "    toolchain: pip\n    virtualenv: .venv\n")
        (root / "__main__.py").write_text(program)
        if not (root / ".venv").exists():
            (root / ".venv").symlink_to(Path(sys.prefix))
        (root / ".state").mkdir(exist_ok=True)
        self.env = {**os.environ, **FAST_CLIENT, "PATH": os.pathsep.join([str(engine.bin_dir), os.environ["PATH"]]),
                    "PULUMI_BACKEND_URL": (root / ".state").as_uri(), "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
                    "PULUMI_SKIP_UPDATE_CHECK": "true", "PYTHONPATH": str(REPO), **(env or {})}
        for name_ in ("PULUMI_CONFIG_PASSPHRASE_FILE", "ORCHESTRA_LAMBDA_API_URL"):
            self.env.pop(name_, None)
        self.pulumi_bin = str(engine.pulumi)

    def command(self, *args: str) -> list[str]:
        return [self.pulumi_bin, "--non-interactive", *args]

    def pulumi(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(self.command(*args), cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode:
            raise AssertionError(f"pulumi {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """The engine in the background (own process group), for tests that interrupt it."""
        return subprocess.Popen(self.command(*args), cwd=self.root, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def init(self, config: dict[str, str], secrets: dict[str, str] | None = None) -> None:
        self.pulumi("stack", "init", self.stack)
        for key, value in config.items():
            self.pulumi("config", "set", key, value)
        for key, value in (secrets or {}).items():
            self.pulumi("config", "set", "--secret", key, value)

    def export(self, *, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "export", "--stack", self.stack] + (["--show-secrets"] if show_secrets else [])
        return json.loads(self.pulumi(*args).stdout)

    def resources(self, type_suffix: str) -> list[dict[str, Any]]:
        """The state's resources whose type ends with `type_suffix` (e.g. ':LambdaInstance')."""
        return [r for r in self.export()["deployment"].get("resources") or [] if r["type"].endswith(type_suffix)]

    def pending_operations(self) -> list[dict[str, Any]]:
        return list(self.export()["deployment"].get("pending_operations") or [])

    def provider_pickles(self) -> list[bytes]:
        """The pickled dynamic providers as stored in state (decrypted)."""
        out = []
        for resource in self.export(show_secrets=True)["deployment"].get("resources") or []:
            blob = (resource.get("inputs") or {}).get("__provider")
            if isinstance(blob, dict):  # a secret: {"<sig>": ..., "plaintext": "\"...\""}
                blob = json.loads(blob["plaintext"])
            if isinstance(blob, str):
                out.append(base64.b64decode(blob))
        return out
