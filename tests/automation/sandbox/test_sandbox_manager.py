"""The sandbox manager with the real emulator processes: start, reuse, restart on new keys, stop, busy port."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

import httpx
import pytest

from automation.errors import SandboxFailed
from automation.sandbox.manager import sandbox_status, start_sandbox, stop_sandbox
from tests.support.loopback import free_port

KEY = "secret_canarysandbox01.Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz2Xc"
OTHER_KEY = "secret_canarysandbox02.Mn4Bv6Cx8Za1Sd3Fg5Hj7Kl9Qw2Er4Ty"


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # TIME_WAIT is not "in use"
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def root(tmp_path):
    yield tmp_path
    stop_sandbox(tmp_path, grace_s=2)


def start(root: Path, keys=(KEY,), **ports):
    ports = ports or {"lambda_port": free_port(), "backend_port": free_port()}
    return start_sandbox(root, lambda_api_keys=list(keys), boot_seconds=0.2, start_timeout_s=30, **ports)


def pids(root: Path) -> dict[str, int]:
    return {p.name: p.pid for p in sandbox_status(root).processes}


def test_starts_both_answering_with_keys_never_on_argv(root):
    info = start(root)
    assert httpx.get(info.backend_url + "/").status_code == 200
    assert httpx.get(info.lambda_url + "/api/v1/instances", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert httpx.get(info.lambda_url + "/api/v1/instances", headers={"Authorization": "Bearer nope"}).status_code == 401
    status = sandbox_status(root)
    assert status.running and {p.name for p in status.processes} == {"lambda", "backend"}
    for pid in pids(root).values():
        assert KEY.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    record = info.state_dir / "sandbox.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert KEY not in record.read_text()
    for log in ("lambda.log", "backend.log"):
        assert KEY not in (info.state_dir / log).read_text()


def test_second_start_reuses_running_processes(root):
    ports = {"lambda_port": free_port(), "backend_port": free_port()}
    first = start(root, **ports)
    before = pids(root)
    assert start(root, **ports) == first
    assert pids(root) == before


def test_changed_keys_restart_the_emulator(root):
    ports = {"lambda_port": free_port(), "backend_port": free_port()}
    start(root, **ports)
    before = pids(root)
    info = start(root, keys=(OTHER_KEY,), **ports)
    after = pids(root)
    assert after["lambda"] != before["lambda"] and after["backend"] != before["backend"]
    assert not any(Path(f"/proc/{pid}").exists() and b"automation.sandbox" in Path(f"/proc/{pid}/cmdline").read_bytes()
                   for pid in before.values())
    def ask(key):
        return httpx.get(info.lambda_url + "/api/v1/instances", headers={"Authorization": f"Bearer {key}"}).status_code
    assert (ask(OTHER_KEY), ask(KEY)) == (200, 401)


def test_stop_kills_both_frees_the_ports_and_keeps_state_unless_purged(root):
    ports = {"lambda_port": free_port(), "backend_port": free_port()}
    info = start(root, **ports)
    running = pids(root)
    assert stop_sandbox(root) is True
    for pid in running.values():
        assert not Path(f"/proc/{pid}").exists()
    assert all(port_free(port) for port in ports.values())
    assert not (info.state_dir / "sandbox.json").exists() and info.state_dir.is_dir()
    assert sandbox_status(root).processes == () and not sandbox_status(root).running
    assert stop_sandbox(root) is False                 # nothing left to stop
    stop_sandbox(root, purge=True)
    assert not info.state_dir.exists()


def test_busy_port_names_the_port_and_how_to_free_it(root):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        with pytest.raises(SandboxFailed) as caught:
            start(root, lambda_port=busy, backend_port=free_port())
    message = str(caught.value)
    assert f"port {busy}" in message and f"ss -ltnp 'sport = :{busy}'" in message
    assert "orchestra:lambda_api_url" in message and str(root / "Pulumi.local.yaml") in message   # the file and key to change
    assert sandbox_status(root).processes == ()


def test_a_process_that_dies_at_start_fails_with_its_log_tail(root, monkeypatch):
    fake = root / "automation" / "sandbox"                       # a package whose emulator dies at import
    fake.mkdir(parents=True)
    for path in (root / "automation" / "__init__.py", fake / "__init__.py"):
        path.write_text("")
    (fake / "lambda_emulator.py").write_text("raise SystemExit('emulator exploded on purpose')\n")
    (fake / "backend.py").write_text("import time\ntime.sleep(60)\n")
    monkeypatch.setattr("automation.sandbox.manager._PACKAGE_ROOT", root)
    with pytest.raises(SandboxFailed, match="emulator exploded on purpose") as caught:
        start(root)
    assert "lambda process exited" in str(caught.value)
    assert sandbox_status(root).processes == ()


def test_status_without_a_sandbox(tmp_path):
    status = sandbox_status(tmp_path)
    assert status.processes == () and not status.running


def test_record_survives_as_json(root):
    info = start(root)
    record = json.loads((info.state_dir / "sandbox.json").read_text())
    assert record["lambda"]["url"] == info.lambda_url and record["backend"]["url"] == info.backend_url
    assert record["keys"].startswith("sha256:")
