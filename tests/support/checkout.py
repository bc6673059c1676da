"""A checkout of the project in a temp dir, as one operator has it: own files, own store, own master key.

The driver runs in it as `python -m automation ...` (a real process, real engine);
`pulumi` runs through a wrapper that logs its argv so argv can be searched for
canaries. Two Checkouts on one shared backend are two operators on two machines.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from secrets_bridge.store import SecretStore

REPO = Path(__file__).resolve().parents[2]
CLEARED = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "ORCHESTRA_LAMBDA_API_URL",
           "ORCHESTRA_ENV", "ORCHESTRA_MASTER_KEY_FILE", "VAULT_ADDR", "VAULT_TOKEN", "VAULT_SERVER_URL",
           "VAULT_SERVER_TOKEN", "PULUMI_ACCESS_TOKEN")
CLEARED_PREFIXES = ("AWS_", "PG")


def sandbox_stack_yaml(lambda_port: int, backend_port: int) -> str:
    """The sandbox stack file (automation/sandbox's template) pointed at these emulator ports."""
    text = (REPO / "automation" / "sandbox" / "Pulumi.local.template.yaml").read_text()
    return text.replace("18787", str(lambda_port)).replace("18788", str(backend_port))


class Checkout:
    def __init__(self, root: Path, engine_bin: Path, environ: Mapping[str, str]):
        self.root = root
        root.mkdir(parents=True)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(REPO / name, root / name)
        for package in ("infra", "secrets_bridge", "automation"):
            shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
        (root / ".venv").symlink_to(Path(sys.prefix))
        wrap = root.parent / f"{root.name}-bin"
        wrap.mkdir()
        self.argv_log = root.parent / f"{root.name}-argv.log"
        self.argv_log.touch()
        (wrap / "pulumi").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{self.argv_log}"\nexec "{engine_bin / "pulumi"}" "$@"\n')
        (wrap / "pulumi").chmod(0o755)
        self.secrets_dir = root.parent / f"{root.name}-secrets"
        self.secrets_dir.mkdir()
        self.master_key = secrets.token_urlsafe(24)
        base = {k: v for k, v in os.environ.items() if k not in CLEARED and not k.startswith(CLEARED_PREFIXES)}
        self.env = {**base, "PATH": os.pathsep.join([str(wrap), str(engine_bin), os.environ["PATH"]]),
                    "ORCHESTRA_SECRETS_DIR": str(self.secrets_dir), "ORCHESTRA_MASTER_KEY": self.master_key,
                    "PYTHONPATH": str(root), "PULUMI_SKIP_UPDATE_CHECK": "true", **environ}
        self.outputs: list[str] = []

    def store(self, env: str = "local") -> SecretStore:
        return SecretStore.open(env, master_key=self.master_key, directory=self.secrets_dir)

    def run(self, *args: str, extra_env: Mapping[str, str] | None = None, drop: tuple[str, ...] = (),
            timeout: float = 600) -> subprocess.CompletedProcess:
        env = {k: v for k, v in {**self.env, **(extra_env or {})}.items() if k not in drop}
        proc = subprocess.run([sys.executable, "-m", "automation", *args], cwd=self.root, env=env,
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        self.outputs += [proc.stdout, proc.stderr]
        return proc

    def json(self, *args: str, **kwargs) -> dict:
        proc = self.run(*args, "--json", **kwargs)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout)

    def command(self, *argv: str, extra_env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
        """Any other command in the checkout (plain `pulumi`, `python -m secrets_bridge`), output kept for sweeps."""
        proc = subprocess.run(list(argv), cwd=self.root, env={**self.env, **(extra_env or {})}, capture_output=True,
                              text=True, timeout=600, stdin=subprocess.DEVNULL)
        self.outputs += [proc.stdout, proc.stderr]
        return proc

    def stack_file(self, stack: str) -> Path:
        return self.root / f"Pulumi.{stack}.yaml"

    def files_text(self) -> str:
        """Everything the checkout wrote: stack files, reports, argv of every engine call, driver output."""
        parts = [p.read_text(errors="replace") for p in self.root.glob("Pulumi.*.yaml")]
        parts += [p.read_text(errors="replace") for p in (self.root / "reports").glob("*")] if (self.root / "reports").is_dir() else []
        parts += [self.argv_log.read_text(), *self.outputs]
        return "\n".join(parts)

    def stop_sandbox(self) -> None:
        subprocess.run([sys.executable, "-c", "import pathlib, sys; from automation.sandbox.manager import stop_sandbox; "
                        "stop_sandbox(pathlib.Path(sys.argv[1]))", str(self.root)], cwd=self.root, env=self.env, check=False)
