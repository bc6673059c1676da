"""Operations through the real engine and the sandbox: watch and alerts, cost, backups and restore.

The tests run in file order on one deployed stack (`ops_project`), each leaving it healthy.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from datetime import datetime

import pytest

from tests.support.loopback import FakeApi, Route

pytestmark = pytest.mark.e2e
HOOK = "/services/T0OPS/B0OPS/hookcredential"


def _wait_for(condition, what: str, limit_s: float = 120) -> None:
    # A safety limit so a broken feature fails instead of hanging; the tests assert events, not durations.
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


class Watcher:
    """`health local --watch` in the background, its JSON lines collected as they come."""

    def __init__(self, project, *args: str, env: dict | None = None):
        self.project = project
        self.proc = subprocess.Popen([sys.executable, "-m", "automation", "health", "local", *args], cwd=project.root,
                                     env={**project.env, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(iter(self.proc.stdout.readline, "")), daemon=True)
        self._reader.start()

    def rounds(self) -> list[dict]:
        return [json.loads(line) for line in list(self.lines) if line.startswith("{")]

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=60)
        self._reader.join(timeout=10)
        self.project.outputs += ["".join(self.lines), err]
        return err


def test_watch_sends_exactly_one_alert_per_state_change_and_exit_on_failure_exits_38(ops_project):
    with FakeApi({f"POST {HOOK}": Route(200, "ok")}) as hook:
        watcher = Watcher(ops_project, "--watch", "0.5", "--json", env={"ORCHESTRA_ALERT_WEBHOOK": hook.url + HOOK})
        strict = Watcher(ops_project, "--watch", "0.5", "--json", "--exit-on-failure")
        try:
            _wait_for(lambda: len(watcher.rounds()) >= 2 and len(strict.rounds()) >= 1, "two healthy rounds")
            assert {r["state"] for r in watcher.rounds()} == {"healthy"} and hook.seen == []
            os.killpg(ops_project.sandbox_record()["backend"]["pid"], signal.SIGTERM)   # the backend goes down
            _wait_for(lambda: strict.proc.poll() is not None, "the --exit-on-failure watch to end")
            assert strict.proc.returncode == 38
            assert "error: stack local is unhealthy" in strict.stop()
            _wait_for(lambda: sum(r["state"] == "unhealthy" for r in watcher.rounds()) >= 3, "three unhealthy rounds")
            assert len(hook.seen) == 1
            assert ops_project.run("up", "local", "--yes").returncode == 0   # a redeploy brings the sandbox back
            _wait_for(lambda: watcher.rounds()[-1]["state"] == "healthy", "recovery")
            recovered_at = len(watcher.rounds())
            _wait_for(lambda: len(watcher.rounds()) >= recovered_at + 3, "three more rounds")
        finally:
            watcher.stop()
    alerts = [json.loads(seen.body) for seen in hook.seen]
    assert [a["alert"]["kind"] for a in alerts] == ["unhealthy", "recovered"]
    assert all(seen.path == HOOK and seen.method == "POST" for seen in hook.seen)
    assert "backend unreachable" in alerts[0]["text"] and alerts[0]["alert"]["runbook"] == "docs/runbooks.md#unhealthy-backend"
    sent = [r["alert"] for r in watcher.rounds() if r["alert"]]
    assert sent == ["unhealthy", "recovered"]
    assert all(d["ok"] and "hookcredential" not in d["sink"] for r in watcher.rounds() for d in r["deliveries"])
    bodies = "".join(seen.body.decode() for seen in hook.seen)
    for canary in ops_project.canaries.values():
        assert canary not in bodies and canary not in "".join(watcher.lines)


def test_cost_is_the_emulators_price_times_the_uptime(ops_project):
    full = ops_project.json("outputs", "local")
    doc, (cost,) = full["outputs"], full["cost"]
    instance = ops_project.emulator(f"/api/v1/instances/{doc['instance_id']}")["data"]
    kind = instance["instance_type"]["name"]
    listed = ops_project.emulator("/api/v1/instance-types")["data"][kind]["instance_type"]
    assert (cost["instance_id"], cost["instance_type"], cost["region"], cost["orphan"]) == (
        doc["instance_id"], kind, instance["region"]["name"], False)
    assert (cost["gpu_description"], cost["price_cents_per_hour"]) == (listed["gpu_description"], listed["price_cents_per_hour"])
    assert cost["cost_usd"] == round(listed["price_cents_per_hour"] * cost["uptime_s"] / 3600 / 100, 4)
    # Uptime counts from the launch-time tag the provider set on the launch request, which the API keeps.
    tags = {t["key"]: t["value"] for t in instance["tags"]}
    ours = datetime.fromisoformat(cost["launched_at"]).timestamp()
    assert cost["launched_from"] == "launch" and ours == float(tags["orchestra-launched-at"])
    assert ours <= ops_project.emulator("/_emulator/state")["state"]["instances"][doc["instance_id"]]["launched_at"]
    health = ops_project.run("health", "local")
    assert health.returncode == 0, health.stderr
    assert f"cost: {doc['instance_id'][:12]} {kind} ({listed['gpu_description']}) in {instance['region']['name']}: " \
           f"${listed['price_cents_per_hour'] / 100:.2f}/h, up " in health.stdout


def test_a_backup_is_taken_before_every_change_and_only_the_newest_are_kept(ops_project):
    first = ops_project.json("backups", "local")["backups"]
    assert (first[-1]["operation"], first[-1]["resources"]) == ("up", 0)   # the fixture's up, before it created anything
    assert {b["operation"] for b in first} == {"up"} and all(b["resources"] > 0 for b in first[:-1])
    keep = {"ORCHESTRA_BACKUP_KEEP": "3"}
    for _ in range(3):
        proc = ops_project.run("up", "local", "--yes", extra_env=keep)
        assert proc.returncode == 0, proc.stderr
        assert "backup: " in proc.stdout
    listed = ops_project.json("backups", "local")["backups"]
    assert [b["operation"] for b in listed] == ["up", "up", "up"]
    # A refresh whose preview finds no drift changes nothing, so it needs no backup.
    proc = ops_project.run("refresh", "local", extra_env=keep)
    assert proc.returncode == 0 and "backup: " not in proc.stdout, proc.stderr
    assert ops_project.json("backups", "local")["backups"] == listed
    files = sorted((ops_project.root / ".orchestra" / "backups" / "local").iterdir())
    assert [f.name for f in files] == sorted(b["name"] for b in listed)
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    exported = files[-1].read_text()
    assert '"ciphertext"' in exported and '"secrets_providers"' in exported   # secrets stay encrypted
    table = ops_project.run("backups", "local").stdout
    assert table.splitlines()[0].split() == ["Backup", "Before", "Taken", "Resources", "Size"]
    for canary in ops_project.canaries.values():
        assert canary not in exported and canary not in table


def test_restore_after_losing_the_state_file_converges_with_no_changes(ops_project):
    newest = ops_project.json("backups", "local")["backups"][0]
    stacks = ops_project.root / ".pulumi-state" / ".pulumi" / "stacks"
    lost = [p for p in stacks.rglob("local.json*")]
    assert lost
    for path in lost:
        path.unlink()
    gone = ops_project.run("outputs", "local")
    assert gone.returncode == 33, gone.stderr
    declined = ops_project.run("restore", "local", newest["name"])
    assert declined.returncode == 43 and "pass --yes" in declined.stderr
    restored = ops_project.json("restore", "local", newest["name"], "--yes")
    assert restored["restored"] == newest["name"] and restored["summary"] == "no changes"
    again = ops_project.json("up", "local", "--yes")
    assert again["preview"]["summary"] == again["applied"]["summary"] == "no changes"
    assert again["health"]["ok"] is True
    missing = ops_project.run("restore", "local", "local-nosuch.json", "--yes")
    assert missing.returncode == 46 and missing.stderr.startswith("error: no backup 'local-nosuch.json' for stack local")
    assert "runbook: docs/runbooks.md#restore-from-backup" in missing.stderr


def _issue_sandbox_key(project) -> str:
    proc = subprocess.run([sys.executable, "-m", "automation.sandbox.issued_keys"], cwd=project.root, env=project.env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_rotate_deploys_the_new_key_keeps_the_old_as_previous_and_says_where_to_revoke_it(ops_project):
    from secrets_bridge.masking import mask

    store = ops_project.store()
    old = store.get("LAMBDA_API_KEY")
    new = _issue_sandbox_key(ops_project)      # "create a new key in the console"
    proc = ops_project.run("rotate", "LAMBDA_API_KEY", "local", "--json", stdin=new)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["new"], result["old"], result["previous_kept_as"], result["healthy"]) == (
        mask(new), mask(old), "LAMBDA_API_KEY_PREVIOUS", True)
    assert "the old key" in proc.stderr and "can now be revoked at https://cloud.lambda.ai/api-keys" in proc.stderr
    store = ops_project.store()
    assert store.get("LAMBDA_API_KEY") == new and store.get("LAMBDA_API_KEY_PREVIOUS") == old
    assert store.meta("LAMBDA_API_KEY").rotated_at >= store.meta("LAMBDA_API_KEY_PREVIOUS").rotated_at
    # From now on the sandbox accepts only the new key (the old one is as good as revoked): the stack still works.
    health = ops_project.run("health", "local")
    assert health.returncode == 0, health.stdout + health.stderr
    assert new not in "".join(ops_project.outputs) and old not in "".join(ops_project.outputs)


def test_rotate_to_an_invalid_key_changes_nothing_or_rolls_back_and_the_stack_stays_healthy(ops_project):
    store = ops_project.store()
    current, previous = store.get("LAMBDA_API_KEY"), store.get("LAMBDA_API_KEY_PREVIOUS")
    never_issued = "secret_sandboxdeadbeef.NOTissuedANYWHEREabcdefghij012345"
    rejected = ops_project.run("rotate", "LAMBDA_API_KEY", "local", stdin=never_issued)
    assert rejected.returncode == 47, rejected.stderr
    assert "was not accepted live (invalid" in rejected.stderr and "nothing changed" in rejected.stderr
    assert "runbook: docs/runbooks.md#rotate-a-leaked-key" in rejected.stderr
    store = ops_project.store()
    assert (store.get("LAMBDA_API_KEY"), store.get("LAMBDA_API_KEY_PREVIOUS")) == (current, previous)
    # Verification skipped: the key reaches the deploy, which fails, and the old key goes back.
    rolled = ops_project.run("rotate", "LAMBDA_API_KEY", "local", "--skip-verify", stdin=never_issued)
    assert rolled.returncode == 47, rolled.stderr
    assert "the old key was put back and the stack redeployed healthy" in rolled.stderr
    assert "putting the old key back and redeploying" in rolled.stdout
    store = ops_project.store()
    assert (store.get("LAMBDA_API_KEY"), store.get("LAMBDA_API_KEY_PREVIOUS")) == (current, previous)
    health = ops_project.run("health", "local")
    assert health.returncode == 0, health.stdout + health.stderr
    for text in ("".join(ops_project.outputs), ops_project.every_file_text()):
        assert never_issued not in text and current not in text


def _latest_report(project) -> tuple[str, dict]:
    reports = sorted((project.root / "reports").glob("local-*.md"))
    md = reports[-1]
    return md.read_text(), json.loads(md.with_suffix(".json").read_text())


def test_report_of_a_deployed_stack_reads_history_prices_it_and_draws_its_connectivity(ops_project):
    from tests.automation.ops.mermaid import mermaid_block, parse

    proc = ops_project.run("report", "local")
    assert proc.returncode == 0, proc.stderr
    md, doc = _latest_report(ops_project)
    lines = md.splitlines()
    assert lines[0] == "# Orchestra status report: local" and lines[2] == "**✅ Healthy: no action required**"
    assert doc["verdict"] == "✅ Healthy: no action required" and doc["recommendations"] == []
    assert "No action required." in md
    assert doc["last_update"]["kind"] == "update" and doc["last_update"]["result"] == "succeeded"
    assert "| Last update | ✅ update succeeded at " in md
    (cost,) = doc["cost"]
    assert cost["instance_type"] == "gpu_1x_a10" and cost["region"] == "us-east-1" and cost["price_cents_per_hour"] == 75
    assert f"| {cost['instance_id']} | gpu_1x_a10 | us-east-1 | A10 (24 GB PCIe) | $0.75/h |" in md
    nodes, edges, _ = parse(mermaid_block(md))
    assert {("key_LAMBDA_API_KEY", "svc_lambda"), ("svc_lambda", "res_instance"), ("svc_lambda", "res_backend"),
            ("svc_app", "res_backend")} <= edges
    assert nodes["res_instance"] == ("Lambda instance<br/>ok", "ok") and nodes["key_LAMBDA_API_KEY"][1] == "ok"
    rotation = next(ln for ln in lines if ln.startswith("| LAMBDA_API_KEY |") and "d left" in ln)
    assert "| 90 d |" in rotation and doc["key_versions"]["LAMBDA_API_KEY"]["previous_rotated_at"]   # kept by `rotate`
    assert "python -m automation rotate KEY local" in md


def test_report_retention_keeps_the_newest_and_leaves_other_stacks_alone(ops_project):
    other = ops_project.root / "reports" / "localhost-20260101T000000000000Z.md"
    other.write_text("another stack's report\n")
    for _ in range(3):
        assert ops_project.run("report", "local", extra_env={"ORCHESTRA_REPORT_KEEP": "2"}).returncode == 0
    names = sorted(p.name for p in (ops_project.root / "reports").iterdir())
    ours = [n for n in names if n.startswith("local-")]
    assert len(ours) == 4 and {n.rsplit(".", 1)[1] for n in ours} == {"md", "json"}
    assert other.name in names


def test_report_after_destroy_says_nothing_is_deployed_and_what_to_do(ops_project):
    assert ops_project.run("destroy", "local", "--yes").returncode == 0
    newest = ops_project.json("backups", "local")["backups"][0]
    assert newest["operation"] == "destroy" and newest["resources"] > 0     # what was there, kept
    proc = ops_project.run("report", "local")
    assert proc.returncode == 0, proc.stderr
    md, doc = _latest_report(ops_project)
    # The sandbox stopped with the destroy, so the Lambda key cannot be checked live: the verdict says so.
    assert doc["verdict"].startswith("➖ Not deployed: keys not all verified live; nothing is deployed on stack local "
                                     "(last: destroy succeeded at ")
    assert doc["deployed"] is False and doc["infrastructure"] == [] and doc["cost"] == []
    assert "No action required" not in md and "❌" not in md
    assert "| infrastructure | ➖ not deployed |" in md and "| health | ➖ not deployed |" in md
    assert any("`python -m automation up local` to deploy again" in r["text"] for r in doc["recommendations"])


def test_canaries_never_in_reports_backups_alerts_or_output(ops_project):
    text = ops_project.every_file_text() + "".join(ops_project.outputs)
    assert (ops_project.root / "reports").is_dir() and (ops_project.root / ".orchestra" / "backups").is_dir()
    for name, canary in ops_project.canaries.items():
        assert canary not in text, f"{name} in plaintext"
