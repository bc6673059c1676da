"""End to end: `python -m automation` driving the real Pulumi engine against the sandbox emulators.

The project files are copied into a temp directory (the engine writes encryptionsalt and
ciphertext into Pulumi.local.yaml, state into .pulumi-state) and the sandbox runs on free
ports, so the repository is untouched. The tests run in file order and share one stack.
Canary keys are planted in the local store and must never show up in plaintext anywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from automation.engine import ensure_engine

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[3]
CANARIES = {
    "LAMBDA_API_KEY": "secret_canary0e2e.CANARYlambdaNEVERprinted0123456789",
    "OPENAI_API_KEY": "sk-proj-CANARYopenaiNEVERprintedT3BlbkFJabcdefghij0123456789",
    "PORTKEY_API_KEY": "CANARYportkeyNEVERprinted0123456789",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def engine():
    # No skip: a missing engine fails every e2e test with the engine module's own message.
    return ensure_engine(log=lambda msg: print(msg, file=sys.stderr))


class Project:
    def __init__(self, root: Path, env: dict[str, str], argv_log: Path, lambda_url: str):
        self.root, self.env, self.argv_log, self.lambda_url = root, env, argv_log, lambda_url
        self.outputs: list[str] = []

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


@pytest.fixture(scope="session")
def project(engine, tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, root / name)
    for package in ("infra", "secrets_bridge", "automation"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    venv = Path(sys.prefix)
    (root / ".venv").symlink_to(venv)
    lambda_port, backend_port = _free_port(), _free_port()
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


def _counts(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_unknown_stack_without_create_lists_stacks(project):
    proc = project.run("preview", "nosuch")
    assert proc.returncode == 33
    assert proc.stderr.startswith("error: stack 'nosuch' does not exist") and "--create" in proc.stderr


def test_driver_preview_agrees_with_plain_pulumi_preview(project):
    driver = _counts(project.run("preview", "local", "--json"))["preview"]["changes"]
    passphrase_store = {"PULUMI_BACKEND_URL": (project.root / ".pulumi-state").as_uri()}
    project.env.update(passphrase_store)
    from secrets_bridge.store import SecretStore
    store = SecretStore.open("local", master_key=project.env["ORCHESTRA_MASTER_KEY"],
                             directory=Path(project.env["ORCHESTRA_SECRETS_DIR"]))
    project.env["PULUMI_CONFIG_PASSPHRASE"] = store.get("PULUMI_CONFIG_PASSPHRASE")
    raw = project.pulumi("preview", "--stack", "local", "--json")
    assert raw.returncode == 0, raw.stderr
    assert json.loads(raw.stdout)["changeSummary"] == driver == {"create": 6}


def test_up_local_creates_ssh_key_instance_and_firewall_and_is_healthy(project):
    proc = project.run("up", "local", "--yes")
    assert proc.returncode == 0, proc.stderr
    for name in ("orchestra-backend-ssh-key", "orchestra-backend-instance", "orchestra-backend-firewall"):
        assert any(line.split()[:2] == ["create", name] and line.endswith("done") for line in proc.stdout.splitlines())
    assert "Health: healthy" in proc.stdout
    assert len(project.live_instances()) == 1


def test_second_up_reports_no_changes_and_inject_changes_nothing(project):
    before = (project.root / "Pulumi.local.yaml").read_bytes()
    calls_before = project.argv_log.read_text().count("\n")
    injected = _counts(project.run("inject", "local", "--json"))
    assert injected["changed"] == [] and injected["cli_calls"] == 1
    calls = project.argv_log.read_text().splitlines()[calls_before:]
    assert [c for c in calls if c.startswith("--non-interactive config")] == ["--non-interactive config --show-secrets --json --stack local"]
    assert (project.root / "Pulumi.local.yaml").read_bytes() == before
    result = _counts(project.run("up", "local", "--yes", "--json"))
    assert result["preview"]["summary"] == result["applied"]["summary"] == "no changes"


def test_refresh_finds_no_drift(project):
    assert _counts(project.run("refresh", "local", "--json"))["summary"] == "no changes"


def test_instance_terminated_behind_pulumis_back_is_noticed_and_recreated(project):
    (instance,) = project.live_instances()
    httpx.post(f"{project.lambda_url}/_emulator/instances/{instance['id']}/terminate", timeout=10)
    assert _counts(project.run("refresh", "local", "--json"))["summary"] != "no changes"
    proc = project.run("up", "local", "--yes")
    assert proc.returncode == 0, proc.stderr
    (again,) = project.live_instances()
    assert again["id"] != instance["id"]


def test_locked_stack_says_what_holds_it(project):
    locks = project.root / ".pulumi-state" / ".pulumi" / "locks" / "organization" / "orchestra" / "local"
    locks.mkdir(parents=True, exist_ok=True)
    lock = locks / "00000000-0000-0000-0000-000000000000.json"
    lock.write_text(json.dumps({"pid": 4242, "username": "someone", "hostname": "elsewhere",
                                "timestamp": "2026-01-01T00:00:00Z"}))
    try:
        proc = project.run("up", "local", "--yes")
    finally:
        lock.unlink()
    assert proc.returncode == 34, proc.stderr
    assert "locked" in proc.stderr and str(project.root / ".pulumi-state" / ".pulumi" / "locks") in proc.stderr


def test_ctrl_c_mid_up_stops_cleanly_and_a_rerun_converges(project):
    assert project.run("destroy", "local", "--yes").returncode == 0
    slow = {**project.env, "ORCHESTRA_SANDBOX_BOOT_SECONDS": "8"}
    proc = subprocess.Popen([sys.executable, "-m", "automation", "up", "local", "--yes"], cwd=project.root, env=slow,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:   # wait for the launch, then interrupt the driver only
        try:
            if project.live_instances():
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    project.outputs += [out, err]
    assert proc.returncode == 130, err
    locks = project.root / ".pulumi-state" / ".pulumi" / "locks"
    assert not [p for p in locks.rglob("*.json")], "the engine left its lock behind"
    rerun = project.run("up", "local", "--yes", extra_env={"ORCHESTRA_SANDBOX_BOOT_SECONDS": "8"})
    assert rerun.returncode == 0, rerun.stderr
    assert len(project.live_instances()) == 1, "an instance leaked"


def test_canaries_never_in_plaintext_anywhere(project):
    state = "".join(p.read_text(errors="replace") for p in (project.root / ".pulumi-state").rglob("*.json"))
    stack_file = (project.root / "Pulumi.local.yaml").read_text()
    reports = "".join(p.read_text() for p in (project.root / "reports").glob("*"))
    argv = project.argv_log.read_text()
    assert state and reports and argv
    for name, canary in CANARIES.items():
        for where, text in (("state", state), ("Pulumi.local.yaml", stack_file), ("reports", reports),
                            ("argv", argv), ("output", "".join(project.outputs))):
            assert canary not in text, f"{name} in plaintext in {where}"


def test_canaries_never_in_any_process_argv_during_up(project):
    seen: list[str] = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    text = cmdline.read_bytes().decode(errors="replace")
                except OSError:
                    continue
                seen.extend(name for name, canary in CANARIES.items() if canary in text)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        proc = project.run("up", "local", "--yes")
    finally:
        stop.set()
        sampler.join()
    assert proc.returncode == 0, proc.stderr
    assert seen == []


def test_destroy_local_removes_everything_and_stops_the_sandbox(project):
    proc = project.run("destroy", "local", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "sandbox: stopped" in proc.stdout
    state = json.loads(Path(project.root / ".orchestra" / "sandbox" / "lambda-state.json").read_text())
    assert [i for i in state["instances"].values() if i["status"] not in ("terminated", "terminating")] == []
