"""End to end: what a Pulumi user relies on, through real processes and the real engine.

Nothing written before preflight passes; a failed `up --create` leaves no trace; every
--json outcome is one parsable document; read-only commands start nothing; diffs in
JSON; lock waiting and stale locks; the code-review command. The tests run in file
order on this module's own project and local stack.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.lambda_faults import KEY_B
from tests.support.loopback import FakeApi, Route, refused_url

pytestmark = pytest.mark.e2e
PRODUCTION_KEYS = {   # valid formats, so the preview is reached; canaries: never shown anywhere
    "LAMBDA_API_KEY": "secret_canaryprod.CANARYprodLAMBDAnever0123456789ab",
    "GITHUB_TOKEN": "ghp_CANARYgithubNEVERshown0123456789abcd",
    "VERCEL_TOKEN": "CANARYvercelNEVERshown01",
    "OPENAI_API_KEY": "sk-proj-CANARYprodOPENAInever0T3BlbkFJabcdefghij0123456789",
    "PORTKEY_API_KEY": "CANARYprodPORTKEYnever0123456789",
}
READ_ONLY_AND_CHANGING = ("check", "inject", "preview", "up", "refresh", "destroy", "health", "outputs", "report")


def _git(project, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project.root, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def tracked(project):
    """The project as a git checkout with Pulumi.production.yaml committed, as a clone has it."""
    repo = Path(__file__).resolve().parents[3]
    (project.root / "Pulumi.production.yaml").write_bytes((repo / "Pulumi.production.yaml").read_bytes())
    (project.root / ".gitignore").write_bytes((repo / ".gitignore").read_bytes())
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clone")
    return project


def _stacks(project) -> list[str]:
    proc = subprocess.run(["pulumi", "--non-interactive", "stack", "ls", "--json"], cwd=project.root,
                          env=_without_keys(project), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 and "no such file or directory" in proc.stderr:
        return []                        # the state directory was never made
    assert proc.returncode == 0, proc.stderr
    return [s["name"] for s in json.loads(proc.stdout)]


def _unchanged(project, before: dict[str, bytes]) -> None:
    assert _git(project, "status", "--porcelain") == ""
    assert {p: (project.root / p).read_bytes() for p in before} == before
    for where in (project.root, Path(project.env["ORCHESTRA_SECRETS_DIR"])):
        assert not (where / ".secrets.production.json").exists()       # no store, so no passphrase either


def _snapshot(project) -> dict[str, bytes]:
    files = [p for p in _git(project, "ls-files").split() if not (project.root / p).is_symlink()]   # .venv
    return {p: (project.root / p).read_bytes() for p in files}


def _without_keys(project) -> dict[str, str]:
    env = {k: v for k, v in project.env.items() if k not in PRODUCTION_KEYS}
    env["PULUMI_BACKEND_URL"] = (project.root / ".pulumi-state").as_uri()
    return env


def _run(project, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "automation", *args], cwd=project.root, env=env,
                          capture_output=True, text=True, timeout=600)
    project.outputs += [proc.stdout, proc.stderr]
    return proc


def test_an_unknown_stack_is_named_before_any_master_key_is_asked_for(tracked):
    env = {k: v for k, v in tracked.env.items() if not k.startswith("ORCHESTRA_MASTER_KEY")}
    proc = _run(tracked, "preview", "nosuch", env=env)
    assert proc.returncode == 33, proc.stderr
    assert "does not exist" in proc.stderr and "master key" not in proc.stderr


def test_check_writes_nothing_and_its_failure_is_one_json_document(tracked):
    before = _snapshot(tracked)
    proc = _run(tracked, "check", "production", "--json", env=_without_keys(tracked))
    assert proc.returncode == 30, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["exit_code"] == 30 and doc["error"]["kind"] == "PreflightFailed"
    assert doc["error"]["fix"] and {k["name"] for k in doc["preflight"]["keys"] if k["blocking"]} >= {"LAMBDA_API_KEY"}
    _unchanged(tracked, before)
    assert not (tracked.root / ".pulumi-state").exists()


def test_up_create_without_keys_leaves_no_stack_and_an_identical_tree(tracked):
    before = _snapshot(tracked)
    proc = _run(tracked, "up", "production", "--yes", "--create", env=_without_keys(tracked))
    assert proc.returncode == 30, proc.stderr
    _unchanged(tracked, before)
    assert "production" not in _stacks(tracked)


def test_up_create_whose_preview_fails_leaves_no_stack_no_passphrase_and_an_identical_tree(tracked, tmp_path):
    from automation.plugins import sdk_plugin
    from tests.support.loopback import refused_url
    from tests.support.standin_plugin import write_archive

    before = _snapshot(tracked)
    # The GitHub and Vercel plugins: stand-ins (installed by the driver, into a private PULUMI_HOME)
    # that refuse every resource, so the preview fails inside the engine after the stack was created.
    for component, package in (("github", "pulumi_github"), ("vercel", "pulumiverse_vercel")):
        spec = sdk_plugin(component, package)
        write_archive(tmp_path / "mirror", spec.name, spec.version, spec.asset,
                      validator="tests.support.standin_plugin:refuse")
    env = {**_without_keys(tracked), **PRODUCTION_KEYS, "PULUMI_HOME": str(tmp_path / "pulumi-home"),
           "ORCHESTRA_PLUGIN_FILES": str(tmp_path / "mirror"), "ORCHESTRA_LAMBDA_API_URL": refused_url(),
           "ORCHESTRA_LAMBDA_MAX_ATTEMPTS": "1"}
    proc = _run(tracked, "up", "production", "--yes", "--create", "--skip-verify", "--json", env=env)
    assert proc.returncode == 36, proc.stderr
    assert "the stand-in provider refuses" in proc.stdout
    doc = json.loads(proc.stdout)
    assert doc["error"]["kind"] == "PreviewFailed" and doc["inject"]["changed"] and doc["preflight"]["ok"]
    _unchanged(tracked, before)
    assert "production" not in _stacks(tracked)


# `report` of a stack not deployed yet is a report (keys, connectivity, plan: issue 15), not a failure.
@pytest.mark.parametrize("command", [c for c in READ_ONLY_AND_CHANGING if c != "report"])
def test_every_json_command_failure_parses_and_carries_its_exit_code(tracked, command):
    proc = _run(tracked, command, "nosuch", "--json", *(["--yes"] if command in ("up", "destroy") else []),
                env=_without_keys(tracked))
    assert proc.returncode != 0
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["exit_code"] == proc.returncode
    assert set(doc["error"]) == {"kind", "message", "fix"} and doc["error"]["message"]


def test_ctrl_c_during_preflight_says_so_and_that_nothing_changed(tracked):
    with FakeApi({"/api/v1/instance-types": Route(200, {"data": {}}, delay_s=60)}) as lambda_api:
        env = {**_without_keys(tracked), **PRODUCTION_KEYS, "ORCHESTRA_LAMBDA_API_URL": lambda_api.url,
               **{f"ORCHESTRA_{name}_API_URL": refused_url() for name in ("GITHUB", "VERCEL", "OPENAI", "PORTKEY")}}
        proc = subprocess.Popen([sys.executable, "-m", "automation", "up", "production", "--yes", "--create"],
                                cwd=tracked.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not lambda_api.seen and time.monotonic() < deadline:   # the live check is in flight
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    tracked.outputs += [out, err]
    assert proc.returncode == 130, err
    assert "interrupted during preflight: nothing was changed" in err and "engine stopped" not in err
    assert "production" not in _stacks(tracked)


def test_a_bad_stack_name_exits_2_stating_the_rule(tracked):
    proc = _run(tracked, "up", "a/b/c/d", "--json", env=tracked.env)
    assert proc.returncode == 2
    assert "STACK, ORG/STACK or ORG/PROJECT/STACK" in json.loads(proc.stdout)["error"]["message"]


def test_a_busy_sandbox_port_names_the_file_and_key_to_change(tracked):
    config = (tracked.root / "Pulumi.local.yaml").read_text()
    port = int(config.split("orchestra:backend_port:")[1].split()[0].strip('"'))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        proc = tracked.run("up", "local", "--yes")
    assert proc.returncode == 42, proc.stderr
    assert f"port {port}" in proc.stderr and "orchestra:backend_port" in proc.stderr
    assert str(tracked.root / "Pulumi.local.yaml") in proc.stderr and "--backend_port" not in proc.stderr


def test_local_stack_comes_up(tracked):
    proc = tracked.run("up", "local", "--yes")
    assert proc.returncode == 0, proc.stderr


def test_health_watch_json_prints_one_json_line_per_round_until_ctrl_c(tracked):
    proc = subprocess.Popen([sys.executable, "-m", "automation", "health", "local", "--watch", "0.2", "--json"],
                            cwd=tracked.root, env=tracked.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = [proc.stdout.readline() for _ in range(3)]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    tracked.outputs += [*lines, out, err]
    rounds = [json.loads(line) for line in [*lines, *out.splitlines()] if line.strip()]
    assert len(rounds) >= 3 and all(r["healthy"] and r["targets"] for r in rounds)
    assert proc.returncode == 0, err


def test_code_review_runs_plain_pulumi_preview_through_one_documented_command(tracked):
    plain = subprocess.run(["pulumi", "--non-interactive", "preview", "--stack", "local"], cwd=tracked.root,
                           env={k: v for k, v in tracked.env.items() if not k.startswith("PULUMI_")},
                           capture_output=True, text=True, timeout=300)
    assert plain.returncode != 0      # by hand, without the backend and passphrase, it cannot work
    proc = tracked.run("exec", "local", "--", "pulumi", "preview", "--stack", "local", "--json")
    assert proc.returncode == 0, proc.stderr
    assert all(op == "same" for op in json.loads(proc.stdout)["changeSummary"])


def test_a_changed_config_value_appears_as_a_property_diff_in_the_json(tracked):
    stack_file = tracked.root / "Pulumi.local.yaml"
    original = stack_file.read_bytes()
    config_end = original.index(b"\n", original.index(b"orchestra:frontend_url")) + 1   # last key of the template
    stack_file.write_bytes(original[:config_end] + b"  orchestra:lambda_instance_name: orchestra-renamed\n"
                           + original[config_end:])
    try:
        proc = tracked.run("preview", "local", "--json", "--diff")
    finally:
        stack_file.write_bytes(original)      # the keys were injected before: the preview changed nothing else
    assert proc.returncode == 0, proc.stderr
    (instance,) = [r for r in json.loads(proc.stdout)["preview"]["resources"] if r["name"] == "orchestra-backend-instance"]
    assert instance["op"] in {"replace", "update"}
    (name,) = [p for p in instance["properties"] if p["name"] == "name"] or [instance]
    assert "new" in name, instance
    assert name["new"] == "orchestra-renamed" and "~name" in instance["diff_text"]


def test_a_replacement_that_must_delete_first_says_so_in_the_preview_and_its_json(tracked):
    # The sandbox key was generated by Lambda; a public key of our own under the same name can only be
    # uploaded once the old key is gone, and the instance launched with that key goes first with it.
    stack_file = tracked.root / "Pulumi.local.yaml"
    original = stack_file.read_bytes()
    config_end = original.index(b"\n", original.index(b"orchestra:frontend_url")) + 1
    stack_file.write_bytes(original[:config_end] + f"  orchestra:lambda_ssh_public_key: {KEY_B}\n".encode()
                           + original[config_end:])
    try:
        plain = tracked.run("preview", "local")
        proc = tracked.run("preview", "local", "--json")
    finally:
        stack_file.write_bytes(original)
    assert plain.returncode == 0 and proc.returncode == 0, plain.stderr + proc.stderr
    planned = json.loads(proc.stdout)["preview"]
    first = {r["name"]: r["delete_first"] for r in planned["resources"] if r["op"] == "replace"}
    assert first == {"orchestra-backend-ssh-key": True, "orchestra-backend-instance": True}, planned["resources"]
    (note,) = [w for w in planned["warnings"] if "replaced under the same name" in w]
    assert "a failed launch leaves no instance" in note and "orchestra:lambda_ssh_key_name" in note
    (line,) = [x for x in plain.stdout.splitlines() if "orchestra-backend-instance" in x]
    assert "replace" in line and "delete first" in line and "a failed create leaves none" in line, plain.stdout
    assert f"warning: {note}" in plain.stdout
    assert tracked.live_instances() != []       # a preview deletes nothing


def _backend_pid(project) -> tuple[int, str]:
    record = json.loads((project.root / ".orchestra" / "sandbox" / "sandbox.json").read_text())
    return int(record["backend"]["pid"]), str(record["backend"]["url"])


def test_read_only_commands_leave_a_killed_sandbox_backend_dead(tracked):
    pid, url = _backend_pid(tracked)
    os.kill(pid, signal.SIGKILL)
    for command in ("health", "outputs", "report"):
        tracked.run(command, "local")
    health = tracked.run("health", "local", "--json")
    assert health.returncode == 38, health.stderr
    assert json.loads(health.stdout)["error"]["kind"] == "Unhealthy"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health", timeout=5)
    assert tracked.run("up", "local", "--yes").returncode == 0     # a changing command restarts it


def _lock_file(project, timeout_s: float = 120) -> Path:
    locks = project.root / ".pulumi-state" / ".pulumi" / "locks"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = list(locks.rglob("*.json")) if locks.exists() else []
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError("no lock appeared")


def _slow_up(project) -> subprocess.Popen:
    assert project.run("destroy", "local", "--yes").returncode == 0
    env = {**project.env, "ORCHESTRA_SANDBOX_BOOT_SECONDS": "8"}
    return subprocess.Popen([sys.executable, "-m", "automation", "up", "local", "--yes"], cwd=project.root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_lock_wait_succeeds_when_the_holder_finishes_in_time(tracked):
    holder = _slow_up(tracked)
    _lock_file(tracked)
    waiter = tracked.run("refresh", "local", "--yes", "--lock-wait", "5m", extra_env={"ORCHESTRA_SANDBOX_BOOT_SECONDS": "8"})
    out, err = holder.communicate(timeout=300)
    tracked.outputs += [out, err]
    assert holder.returncode == 0, err
    assert waiter.returncode == 0, waiter.stderr


def test_a_stale_lock_of_a_killed_engine_is_reported_and_cleared_with_the_flag(tracked):
    holder = _slow_up(tracked)
    lock = _lock_file(tracked)
    engine_pid = json.loads(lock.read_text())["pid"]
    os.killpg(engine_pid, signal.SIGKILL)          # the engine runs in its own process group
    holder.kill()
    tracked.outputs += list(holder.communicate(timeout=60))
    stale = tracked.run("up", "local", "--yes", "--json")
    assert stale.returncode == 34, stale.stderr
    message = json.loads(stale.stdout)["error"]["message"]
    assert "no longer runs on this host" in message and "stale" in message
    assert "python -m automation up local --clear-stale-lock" in message
    cleared = tracked.run("up", "local", "--yes", "--clear-stale-lock")
    assert "removed the stale lock" in cleared.stdout
    assert not lock.exists()
    assert cleared.returncode == 0, cleared.stderr


def test_health_after_destroy_is_unhealthy(tracked):
    assert tracked.run("destroy", "local", "--yes").returncode == 0
    proc = tracked.run("health", "local")
    assert proc.returncode == 38, proc.stderr
    assert "nothing deployed" in proc.stdout + proc.stderr


def test_no_canary_in_any_output_file_or_state(tracked):
    seen = "".join(tracked.outputs)
    texts = []
    for folder, dirs, names in os.walk(tracked.root):   # not into the .venv symlink
        dirs[:] = [d for d in dirs if d not in {".git", "__pycache__"}]
        texts += [(Path(folder) / n).read_text(errors="replace") for n in names
                  if n.endswith((".json", ".yaml", ".md", ".log"))]
    files = "".join(texts)
    assert "orchestra-backend-instance" in files     # the state is among what was searched
    for value in [*PRODUCTION_KEYS.values(), *tracked.canaries.values()]:
        assert value not in seen and value not in files
