"""Start, reuse and stop the local sandbox: the Lambda Cloud emulator and the backend it "serves".

Both run as detached processes (own session, logs under <root>/.orchestra/sandbox/)
so they outlive the command that started them, like the cloud they stand in for.
sandbox.json (0600) records their pids, ports and a fingerprint of the emulator's
key set: a second start reuses running processes and restarts them when the keys,
ports or boot time changed. The keys reach the emulator through its environment,
never its argv (/proc/<pid>/cmdline is world-readable).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

import automation
from automation.errors import SandboxFailed
from automation.sandbox.lambda_emulator import KEYS_ENV
from secrets_bridge.files import write_private
from secrets_bridge.masking import fingerprint

_LAMBDA_MODULE = "automation.sandbox.lambda_emulator"
_BACKEND_MODULE = "automation.sandbox.backend"
_PACKAGE_ROOT = Path(automation.__file__).resolve().parents[1]


@dataclass(frozen=True)
class SandboxInfo:
    lambda_url: str
    backend_url: str
    state_dir: Path


@dataclass(frozen=True)
class ProcessStatus:
    name: str            # lambda | backend
    pid: int
    port: int
    url: str
    alive: bool
    answering: bool


@dataclass(frozen=True)
class SandboxStatus:
    state_dir: Path
    processes: tuple[ProcessStatus, ...]    # empty when no sandbox is recorded

    @property
    def running(self) -> bool:
        return bool(self.processes) and all(p.alive and p.answering for p in self.processes)


def sandbox_dir(root: Path) -> Path:
    return root / ".orchestra" / "sandbox"


def _record_path(root: Path) -> Path:
    return sandbox_dir(root) / "sandbox.json"


def _read_record(root: Path) -> dict | None:
    try:
        return json.loads(_record_path(root).read_text())
    except (FileNotFoundError, ValueError):
        return None


def _write_record(root: Path, record: dict) -> None:
    write_private(_record_path(root), json.dumps(record, indent=2))


def _proc_state(pid: int) -> str | None:
    """The kernel's one-letter state (R, S, Z, ...), None when the pid is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def _is_ours(pid: int, module: str) -> bool:
    """Alive and still running our module: a recycled pid is never signalled."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return False
    return _proc_state(pid) not in (None, "Z") and module.encode() in cmdline


def _answering(url: str, timeout: float = 1.0) -> bool:
    """Any HTTP answer counts: the emulator says 401 without a key, the backend 503 before boot."""
    try:
        httpx.get(url, timeout=timeout)
    except httpx.HTTPError:
        return False
    return True


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers bind: connections left in TIME_WAIT do not count, a listener does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) or "(log empty)"
    except FileNotFoundError:
        return "(no log)"


def _spawn(name: str, module: str, args: list[str], state_dir: Path, env: dict[str, str]) -> subprocess.Popen:
    log = open(state_dir / f"{name}.log", "ab")   # the child keeps its own copy of the descriptor
    with log:
        return subprocess.Popen([sys.executable, "-m", module, *args], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=state_dir, start_new_session=True)


def _wait_ready(procs: dict[str, subprocess.Popen], urls: dict[str, str], state_dir: Path, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    pending = dict(urls)
    while pending:
        for name in list(pending):
            if procs[name].poll() is not None:
                raise SandboxFailed(f"the sandbox {name} process exited with code {procs[name].returncode}; "
                                    f"last lines of {state_dir / (name + '.log')}:\n{_log_tail(state_dir / (name + '.log'))}")
            if _answering(pending[name]):
                del pending[name]
        if pending and time.monotonic() > deadline:
            name = next(iter(pending))
            raise SandboxFailed(f"the sandbox {name} did not answer at {pending[name]} within {deadline_s:.0f} s; "
                                f"last lines of {state_dir / (name + '.log')}:\n{_log_tail(state_dir / (name + '.log'))}")
        if pending:
            time.sleep(0.05)


def _reusable(root: Path, wanted: dict) -> SandboxInfo | None:
    record = _read_record(root)
    if not record or any(record.get(k) != v for k, v in wanted.items()):
        return None
    status = sandbox_status(root)
    if not status.running:
        return None
    return SandboxInfo(lambda_url=record["lambda"]["url"], backend_url=record["backend"]["url"], state_dir=sandbox_dir(root))


def start_sandbox(root: Path, *, lambda_api_keys: Sequence[str], lambda_port: int = 18787, backend_port: int = 18788,
                  boot_seconds: float = 2.0, start_timeout_s: float = 20.0) -> SandboxInfo:
    """Both emulators running and answering; reuses a running sandbox with the same settings."""
    if not lambda_api_keys:
        raise SandboxFailed("the sandbox needs at least one Lambda API key to accept")
    state_dir = sandbox_dir(root)
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    wanted = {"keys": fingerprint("\n".join(sorted(lambda_api_keys))), "boot_seconds": boot_seconds,
              "ports": [lambda_port, backend_port]}
    reused = _reusable(root, wanted)
    if reused:
        return reused
    stop_sandbox(root)
    # The ports come from the stack file, so that is where another one is chosen.
    for name, port, key in (("Lambda emulator", lambda_port, "the port in orchestra:lambda_api_url"),
                            ("backend", backend_port, "orchestra:backend_port and the port in orchestra:frontend_url")):
        if not _port_free(port):
            raise SandboxFailed(f"port {port} for the sandbox {name} is in use: find the process with "
                                f"`ss -ltnp 'sport = :{port}'` and stop it, or change {key} in "
                                f"{root / 'Pulumi.local.yaml'}")
    lambda_state = state_dir / "lambda-state.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
    urls = {"lambda": f"http://127.0.0.1:{lambda_port}", "backend": f"http://127.0.0.1:{backend_port}"}
    procs = {
        "lambda": _spawn("lambda", _LAMBDA_MODULE, ["--port", str(lambda_port), "--state", str(lambda_state),
                                                    "--boot-seconds", str(boot_seconds)],
                         state_dir, {**env, KEYS_ENV: ",".join(lambda_api_keys)}),
        "backend": _spawn("backend", _BACKEND_MODULE, ["--port", str(backend_port), "--lambda-state", str(lambda_state)],
                          state_dir, env),
    }
    _write_record(root, {**wanted, "lambda": {"pid": procs["lambda"].pid, "port": lambda_port, "url": urls["lambda"]},
                         "backend": {"pid": procs["backend"].pid, "port": backend_port, "url": urls["backend"]}})
    try:
        _wait_ready(procs, urls, state_dir, start_timeout_s)
    except SandboxFailed:
        stop_sandbox(root)
        raise
    return SandboxInfo(lambda_url=urls["lambda"], backend_url=urls["backend"], state_dir=state_dir)


def _terminate(pid: int, grace_s: float) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)   # its own session and group: helpers it started go too
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while _proc_state(pid) not in (None, "Z"):   # until it has let go of its port
        if time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        time.sleep(0.02)
    try:
        os.waitpid(pid, 0)   # reap it when this process started it (tests, a single CLI run)
    except ChildProcessError:
        pass                 # started by an earlier run: init reaps it


def stop_sandbox(root: Path, *, purge: bool = False, grace_s: float = 5.0) -> bool:
    """Stop the recorded processes (SIGTERM, SIGKILL after `grace_s`); True if any was running.

    State files stay for the next start unless `purge`, which removes the whole sandbox dir.
    """
    record = _read_record(root)
    stopped = False
    for name, module in (("lambda", _LAMBDA_MODULE), ("backend", _BACKEND_MODULE)):
        pid = (record or {}).get(name, {}).get("pid")
        if pid and _is_ours(pid, module):
            _terminate(pid, grace_s)
            stopped = True
    _record_path(root).unlink(missing_ok=True)
    if purge:
        shutil.rmtree(sandbox_dir(root), ignore_errors=True)
    return stopped


def sandbox_status(root: Path) -> SandboxStatus:
    record = _read_record(root) or {}
    processes = []
    for name, module in (("lambda", _LAMBDA_MODULE), ("backend", _BACKEND_MODULE)):
        entry = record.get(name)
        if entry:
            alive = _is_ours(entry["pid"], module)
            processes.append(ProcessStatus(name=name, pid=entry["pid"], port=entry["port"], url=entry["url"],
                                           alive=alive, answering=alive and _answering(entry["url"])))
    return SandboxStatus(state_dir=sandbox_dir(root), processes=tuple(processes))
