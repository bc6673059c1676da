"""The e2e project: the repository's program copied into a temp directory, the sandbox on free
ports, canary keys in the local store, and `pulumi` on PATH logging its argv. Each test module
gets its own project (module scope), so the modules' stacks do not disturb one another.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from automation.engine import ensure_engine
from tests.support.loopback import free_port

REPO = Path(__file__).resolve().parents[3]
CANARIES = {
    "LAMBDA_API_KEY": "secret_canary0e2e.CANARYlambdaNEVERprinted0123456789",
    "OPENAI_API_KEY": "sk-proj-CANARYopenaiNEVERprintedT3BlbkFJabcdefghij0123456789",
    "PORTKEY_API_KEY": "CANARYportkeyNEVERprinted0123456789",
}


@pytest.fixture(scope="session")
def engine():
    # No skip: a missing engine fails every e2e test with the engine module's own message.
    return ensure_engine(log=lambda msg: print(msg, file=sys.stderr))


class Project:
    def __init__(self, root: Path, env: dict[str, str], argv_log: Path, lambda_url: str):
        self.root, self.env, self.argv_log, self.lambda_url = root, env, argv_log, lambda_url
        self.outputs: list[str] = []     # every stdout and stderr seen, for the canary checks
        self.canaries = dict(CANARIES)

    def run(self, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "automation", *args], cwd=self.root,
                              env={**self.env, **(extra_env or {})}, capture_output=True, text=True, timeout=600)
        self.outputs += [proc.stdout, proc.stderr]
        return proc

    def pulumi(self, *args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(["pulumi", "--non-interactive", *args], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=600)
        self.outputs += [proc.stdout, proc.stderr]
        return proc

    def emulator(self, path: str, method: str = "GET") -> object:
        headers = {"Authorization": f"Bearer {CANARIES['LAMBDA_API_KEY']}"}
        return httpx.request(method, self.lambda_url + path, headers=headers, timeout=10).json()

    def live_instances(self) -> list[dict]:
        return self.emulator("/api/v1/instances")["data"]


@pytest.fixture(scope="module")
def project(engine, tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, root / name)
    for package in ("infra", "secrets_bridge", "automation"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    venv = Path(sys.prefix)
    (root / ".venv").symlink_to(venv)
    lambda_port, backend_port = free_port(), free_port()
    stack_yaml = (REPO / "automation" / "sandbox" / "Pulumi.local.template.yaml").read_text()
    stack_yaml = stack_yaml.replace("18787", str(lambda_port)).replace("18788", str(backend_port))
    (root / "Pulumi.local.yaml").write_text(stack_yaml)
    # `pulumi` on PATH is a wrapper that logs its argv, so argv can be searched for canaries.
    wrap = root.parent / f"{root.name}-bin"
    wrap.mkdir()
    argv_log = root.parent / f"{root.name}-argv.log"
    (wrap / "pulumi").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{argv_log}"\nexec "{engine.pulumi}" "$@"\n')
    (wrap / "pulumi").chmod(0o755)
    secrets_dir = root.parent / f"{root.name}-secrets"
    secrets_dir.mkdir()
    env = {**os.environ, "PATH": os.pathsep.join([str(wrap), str(engine.bin_dir), os.environ["PATH"]]),
           "ORCHESTRA_SECRETS_DIR": str(secrets_dir), "ORCHESTRA_MASTER_KEY": "e2e-master-key-0123456789abcdef",
           "PYTHONPATH": str(root)}
    for name in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE",
                 "ORCHESTRA_LAMBDA_API_URL", "ORCHESTRA_ENV"):
        env.pop(name, None)
    from secrets_bridge.store import SecretStore
    SecretStore.open("local", master_key=env["ORCHESTRA_MASTER_KEY"], directory=secrets_dir).set_many(CANARIES)
    proj = Project(root, env, argv_log, f"http://127.0.0.1:{lambda_port}")
    yield proj
    proj.run("destroy", "local", "--yes")
    subprocess.run([sys.executable, "-c", "from automation.sandbox.manager import stop_sandbox; import pathlib; "
                    f"stop_sandbox(pathlib.Path({str(root)!r}))"], cwd=root, env=env, check=False)


