"""End to end: `python -m automation` driving the real Pulumi engine against the sandbox emulators.

The project files are copied into a temp directory (the engine writes encryptionsalt and
ciphertext into Pulumi.local.yaml, state into .pulumi-state) and the sandbox runs on free
ports, so the repository is untouched. The tests run in file order and share one stack.
Canary keys are planted in the local store and must never show up in plaintext anywhere.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[3]
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
        assert any(line.split()[:2] == ["create", name] and "started" in line for line in proc.stdout.splitlines())
        assert any(line.split()[:2] == ["create", name] and " done (" in line for line in proc.stdout.splitlines())
    assert "Health: healthy" in proc.stdout
    assert "up: 6 created" in proc.stdout            # after the fact: past tense
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
    assert project.run("refresh", "local", "--expect-no-changes").returncode == 0


def test_drift_is_previewed_and_not_recorded_without_yes_or_with_expect_no_changes(project):
    (instance,) = project.live_instances()
    httpx.post(f"{project.lambda_url}/_emulator/instances/{instance['id']}/terminate", timeout=10)
    strict = project.run("refresh", "local", "--expect-no-changes", "--json")
    assert strict.returncode == 44, strict.stderr
    doc = json.loads(strict.stdout)
    assert doc["ok"] is False and doc["error"]["kind"] == "DriftDetected" and doc["preview"]["changes"] != {}
    unasked = project.run("refresh", "local")      # no terminal to ask on, no --yes: nothing recorded
    assert unasked.returncode == 43 and "pass --yes" in unasked.stderr
    assert project.run("refresh", "local", "--expect-no-changes").returncode == 44   # still not recorded


def test_up_refresh_recreates_an_instance_terminated_behind_pulumis_back(project):
    gone = _counts(project.run("outputs", "local", "--json"))["outputs"]["instance_id"]
    proc = project.run("up", "local", "--yes", "--refresh", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["health"]["healthy"] is True
    ops = {r["name"]: r["op"] for r in result["preview"]["resources"]}
    assert ops.get("orchestra-backend-instance") in {"replace", "create", "create-replacement", "update"}
    running = [i for i in project.live_instances() if i["status"] == "active"]
    assert [i["id"] for i in running] == [result["outputs"]["instance_id"]] and running[0]["id"] != gone


def test_locked_stack_says_what_holds_it_for_how_long_and_judges_another_hosts_lock_by_age(project):
    locks = project.root / ".pulumi-state" / ".pulumi" / "locks" / "organization" / "orchestra" / "local"
    locks.mkdir(parents=True, exist_ok=True)
    lock = locks / "00000000-0000-0000-0000-000000000000.json"
    results = []
    try:
        for held in (timedelta(minutes=5), timedelta(days=30)):
            since = (datetime.now(UTC) - held).strftime("%Y-%m-%dT%H:%M:%SZ")
            lock.write_text(json.dumps({"pid": 4242, "username": "someone", "hostname": "elsewhere", "timestamp": since}))
            results.append(project.run("up", "local", "--yes"))
    finally:
        lock.unlink()
    recent, old = results
    assert recent.returncode == 34, recent.stderr
    assert "someone@elsewhere (pid 4242) for 5m" in recent.stderr and "on host elsewhere, which this machine cannot check" in recent.stderr
    assert "stale" not in recent.stderr.replace("judged stale after", "")     # another host, recent: not judged stale
    assert old.returncode == 34, old.stderr
    assert "someone@elsewhere (pid 4242) for 30d0h, on host elsewhere, held longer than 2h0m" in old.stderr
    assert "the lock is stale; clear it with `python -m automation up local --clear-stale-lock`" in old.stderr


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
    for name, canary in project.canaries.items():
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
                seen.extend(name for name, canary in project.canaries.items() if canary in text)
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


def test_destroy_lists_the_six_resources_it_would_delete_before_asking(project):
    proc = project.run("destroy", "local")          # no terminal and no --yes: listed, then declined
    assert proc.returncode == 43, proc.stderr
    assert "Delete from stack local: 6 to delete" in proc.stdout
    listed = [line.split()[1] for line in proc.stdout.splitlines() if line.split()[:1] == ["delete"]]
    assert len(listed) == 6 and "orchestra-backend-instance" in listed and "orchestra-local" in listed
    assert len([i for i in project.live_instances() if i["status"] == "active"]) == 1


def test_destroy_local_removes_everything_and_stops_the_sandbox(project):
    proc = project.run("destroy", "local", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "sandbox: stopped" in proc.stdout and "destroy: 6 deleted" in proc.stdout
    state = json.loads(Path(project.root / ".orchestra" / "sandbox" / "lambda-state.json").read_text())
    assert [i for i in state["instances"].values() if i["status"] not in ("terminated", "terminating")] == []
