"""A throwaway copy of the project driving the real engine against the sandbox (the operations tests).

Like tests/automation/test_e2e_local.py: project files copied into a temp directory, the
sandbox on free ports, canary keys planted in the local store, every output kept so a test
can sweep it for canaries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.loopback import free_port

REPO = Path(__file__).resolve().parents[2]
CANARIES = {
    "LAMBDA_API_KEY": "secret_canary0ops.CANARYlambdaNEVERprinted0123456789",
    "OPENAI_API_KEY": "sk-proj-CANARYopenaiOPSnoprintT3BlbkFJabcdefghij0123456789",
    "PORTKEY_API_KEY": "CANARYportkeyOPSneverPrinted0123456789",
}


class Project:
    def __init__(self, root: Path, env: dict[str, str], lambda_url: str):
        self.root, self.env, self.lambda_url = root, env, lambda_url
        self.canaries = dict(CANARIES)     # planted in the store; must never appear in plaintext
        self.outputs: list[str] = []

    def run(self, *args: str, stdin: str | None = None, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "automation", *args], cwd=self.root, input=stdin,
                              env={**self.env, **(extra_env or {})}, capture_output=True, text=True, timeout=600)
        self.outputs += [proc.stdout, proc.stderr]
        return proc

    def json(self, *args: str, **kw) -> dict:
        proc = self.run(*args, "--json", **kw)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def store(self):
        from secrets_bridge.store import SecretStore

        return SecretStore.open("local", master_key=self.env["ORCHESTRA_MASTER_KEY"],
                                directory=Path(self.env["ORCHESTRA_SECRETS_DIR"]))

    def emulator(self, path: str, key: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {key or self.store().get('LAMBDA_API_KEY')}"}
        return httpx.get(self.lambda_url + path, headers=headers, timeout=10).json()

    def live_instances(self) -> list[dict]:
        return self.emulator("/api/v1/instances")["data"]

    def sandbox_record(self) -> dict:
        return json.loads((self.root / ".orchestra" / "sandbox" / "sandbox.json").read_text())

    def every_file_text(self) -> str:
        """Everything the tool wrote in the project: state, backups, reports, stack file, sandbox logs."""
        texts = []
        for path in self.root.rglob("*"):
            if path.is_file() and ".venv" not in path.parts and path.suffix in {".json", ".md", ".yaml", ".log", ".txt"}:
                texts.append(path.read_text(errors="replace"))
        return "".join(texts)


def make_project(root: Path, engine) -> Project:
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, root / name)
    for package in ("infra", "secrets_bridge", "automation"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".venv").symlink_to(Path(sys.prefix))
    lambda_port, backend_port = free_port(), free_port()
    stack_yaml = (REPO / "automation" / "sandbox" / "Pulumi.local.template.yaml").read_text()
    (root / "Pulumi.local.yaml").write_text(stack_yaml.replace("18787", str(lambda_port)).replace("18788", str(backend_port)))
    secrets_dir = root.parent / f"{root.name}-secrets"
    secrets_dir.mkdir()
    env = {**os.environ, "PATH": os.pathsep.join([str(engine.bin_dir), os.environ["PATH"]]),
           "ORCHESTRA_SECRETS_DIR": str(secrets_dir), "ORCHESTRA_MASTER_KEY": "ops-master-key-0123456789abcdef",
           "PYTHONPATH": str(root)}
    for name in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "ORCHESTRA_ENV", "ORCHESTRA_BACKUP_DIR", "ORCHESTRA_BACKUP_KEEP",
                 "ORCHESTRA_REPORT_KEEP", "ORCHESTRA_ALERT_WEBHOOK"):
        env.pop(name, None)
    # Read-only commands start no sandbox; their live checks go where the stack's program goes, never out.
    env["ORCHESTRA_LAMBDA_API_URL"] = f"http://127.0.0.1:{lambda_port}"
    project = Project(root, env, f"http://127.0.0.1:{lambda_port}")
    project.store().set_many(CANARIES)
    return project


def stop_sandbox(project: Project) -> None:
    subprocess.run([sys.executable, "-c", "from automation.sandbox.manager import stop_sandbox; import pathlib; "
                    f"stop_sandbox(pathlib.Path({str(project.root)!r}))"], cwd=project.root, env=project.env, check=False)
