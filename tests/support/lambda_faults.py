"""The fault matrix of issue 10 as runnable scenarios: the real engine (tests/support/lambda_stack.py)
against the emulator on loopback, one fault injected through its hooks, then the run repeated.

Each scenario returns an `Outcome` read from the emulator (its state and request log, the evidence
of how many launches were sent) and from the stack's state. The tests assert on it; the benchmark
(bench/lambda_faults_bench.py) prints it as a table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automation.sandbox.emulator_hooks import EmulatorHooks
from automation.sandbox.lambda_emulator import LambdaEmulator
from infra.lambda_cloud import FirewallRule, LambdaClient
from infra.lambda_cloud.catalog import LAUNCH_PATH, TERMINATE_PATH
from tests.support.lambda_stack import LambdaStack
from tests.support.processes import stop, working_under

API_KEY = "secret_faultmatrix0.FAULTmatrixKEY0123456789abcdefgh"
KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm0pVb0uR6bWlqFJwQ6r0pG3Zt0hK1nJc9aX2dYf4qL a@orchestra"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq7cKmX2vZr4sT9yJ1nP0wE5dL8hF3gA6uQ2iO7bN4x b@orchestra"
PROGRAM = """
import pulumi
from infra.lambda_dynamic import LambdaFirewallRules, LambdaFirewallRuleset, LambdaInstance, LambdaSshKey

c = pulumi.Config("t")
api = {"api_key": c.require_secret("api_key"), "api_url": c.require("api_url")}
key = LambdaSshKey("key", **api, name=c.get("key_name") or "faults-key", public_key=c.require("public_key"))
rule = LambdaFirewallRules("port", **api, port=8000)
ruleset = LambdaFirewallRuleset("ruleset", **api, name="faults", region="us-east-1", rules=[{"port": 8000}])
instance = LambdaInstance("instance", **api, instance_type_name=c.get("type") or "gpu_1x_a10",
                          region_name=c.get("region") or "us-east-1", ssh_key_names=[key.name], ssh_key_ids=[key.id],
                          name="faults", user_data=c.get("user_data"), tags={"project": "orchestra", "stack": pulumi.get_stack()},
                          poll_interval_seconds=0.2, active_timeout_seconds=60, unhealthy_grace_seconds=1,
                          firewall_ruleset_ids={"us-east-1": ruleset.id}, opts=pulumi.ResourceOptions(depends_on=[rule]))
pulumi.export("instance_id", instance.id)
"""


@dataclass
class Outcome:
    scenario: str
    launched: int                      # launch requests the API received
    live: list[str]                    # live instance ids on the emulator
    in_state: list[str]                # LambdaInstance ids in the stack's state
    terminations: int
    wall_s: float
    runs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def orphans(self) -> list[str]:
        return [i for i in self.live if i not in self.in_state]

    @property
    def output(self) -> str:
        return "\n".join(p.stdout + p.stderr for p in self.runs)


class Bench:
    """One emulator, one stack, and the counters a scenario reads at the end."""

    def __init__(self, workdir: Path, *, boot_seconds: float = 1.0, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.emulator = LambdaEmulator(workdir / "lambda-state.json", [API_KEY], boot_seconds=boot_seconds)
        self.url = self.emulator.start()
        self.hooks = EmulatorHooks(self.url)
        self.stack = LambdaStack(workdir / "project", program=PROGRAM, env=env)
        self.stack.init({"t:api_url": self.url, "t:public_key": KEY_A}, {"t:api_key": API_KEY})
        self.runs: list[subprocess.CompletedProcess[str]] = []
        self.started = time.monotonic()

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = self.stack.pulumi(*args, check=False)
        self.runs.append(proc)
        return proc

    def up(self) -> subprocess.CompletedProcess[str]:
        return self.run("up", "--yes", "--skip-preview")

    def launches(self) -> int:
        return sum(1 for r in self.hooks.requests() if r["method"] == "POST" and r["path"] == LAUNCH_PATH)

    def outcome(self, scenario: str, **extra: Any) -> Outcome:
        live = [i["id"] for i in self.hooks.live_instances()]
        in_state = [r["id"] for r in self.stack.resources(":LambdaInstance")]
        terminations = sum(1 for r in self.hooks.requests() if r["path"] == TERMINATE_PATH)
        return Outcome(scenario, self.launches(), live, in_state, terminations,
                       round(time.monotonic() - self.started, 1), self.runs, extra)

    def close(self) -> None:
        """Stop the emulator and what the engines killed on purpose left running (their language host, providers)."""
        self.emulator.stop()
        stop(working_under(self.workdir.resolve()))


def _interrupted_boot(bench: Bench, signals: list[signal.Signals]) -> None:
    bench.hooks.config(boot_seconds=4)
    proc = bench.stack.spawn("up", "--yes", "--skip-preview")
    deadline = time.monotonic() + 120
    while bench.launches() == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    for signum in signals:
        os.killpg(proc.pid, signum)
        time.sleep(0.3)
    if proc.poll() is None and signals[-1] != signal.SIGKILL:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    out = proc.stdout.read() if proc.stdout else ""
    bench.runs.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, ""))
    bench.hooks.config(boot_seconds=1)


def kill9_during_boot(bench: Bench) -> Outcome:
    _interrupted_boot(bench, [signal.SIGKILL])
    pending = len(bench.stack.pending_operations())
    bench.run("cancel", "--yes")  # a killed engine leaves its lock; the engine says to cancel it
    bench.up()
    return bench.outcome("kill -9 during boot, up again", pending_after_kill=pending)


def double_sigint_during_boot(bench: Bench) -> Outcome:
    _interrupted_boot(bench, [signal.SIGINT, signal.SIGINT])
    bench.up()
    return bench.outcome("double SIGINT during boot, up again")


def error_after_launch(bench: Bench) -> Outcome:
    bench.hooks.config(reply_faults=[{"kind": "error", "method": "POST", "path": LAUNCH_PATH}])
    bench.up()
    return bench.outcome("500 after launch")


def timeout_after_launch(bench: Bench) -> Outcome:
    bench.hooks.config(reply_faults=[{"kind": "slow", "seconds": 3, "method": "POST", "path": LAUNCH_PATH}])
    bench.up()
    return bench.outcome("timeout after launch")


def api_down_during_boot(bench: Bench) -> Outcome:
    # Every status poll's connection dropped for a while: about 12 failed polls with retries.
    bench.hooks.config(boot_seconds=2, reply_faults=[{"kind": "drop", "method": "GET", "path": "/api/v1/instances/",
                                                      "count": 36}])
    bench.up()
    dropped = sum(1 for r in bench.hooks.requests() if r["status"] == 0)
    return bench.outcome("API down during boot", dropped=dropped)


def _replace(bench: Bench, changes: dict[str, str], between: Callable[[], None] | None = None) -> Outcome:
    assert bench.up().returncode == 0
    for key, value in changes.items():
        bench.stack.pulumi("config", "set", key, value)
    preview = bench.run("preview")
    if between:
        between()
    bench.up()
    return bench.outcome("", preview_rc=preview.returncode)


def type_not_offered_at_replace(bench: Bench) -> Outcome:
    outcome = _replace(bench, {"t:type": "gpu_1x_a6000"})
    outcome.scenario = "type not offered at replace"
    return outcome


def capacity_gone_before_up(bench: Bench) -> Outcome:
    outcome = _replace(bench, {"t:type": "gpu_1x_a100_sxm4", "t:region": "us-west-1"},
                       between=lambda: bench.hooks.config(capacity={"gpu_1x_a10": {"us-east-1": 2}}))
    outcome.scenario = "capacity gone between preview and up"
    return outcome


def no_room_for_a_second_instance(bench: Bench) -> Outcome:
    # The type's only slot in the region is the running instance's: create-first cannot launch another.
    bench.stack.pulumi("config", "set", "t:type", "gpu_1x_a100_sxm4")
    bench.stack.pulumi("config", "set", "t:region", "us-west-1")
    outcome = _replace(bench, {"t:user_data": "#cloud-config\n"})
    outcome.scenario = "replacement with no room for a second instance"
    return outcome


def _new_ssh_key(bench: Bench, scenario: str, changes: dict[str, str]) -> Outcome:
    assert bench.up().returncode == 0
    [first] = [r["id"] for r in bench.stack.resources(":LambdaInstance")]
    before = len(bench.hooks.requests())
    for key, value in changes.items():
        bench.stack.pulumi("config", "set", key, value)
    preview = bench.run("preview")
    bench.up()
    [key] = bench.stack.resources(":LambdaSshKey")
    [instance] = bench.stack.resources(":LambdaInstance")
    # The order Lambda saw the replacement in: launch before terminate is create-first.
    order = [{LAUNCH_PATH: "launch", TERMINATE_PATH: "terminate"}[r["path"]] for r in bench.hooks.requests()[before:]
             if r["method"] == "POST" and r["path"] in (LAUNCH_PATH, TERMINATE_PATH)]
    return bench.outcome(scenario, first=first, key_id=key["id"], instance_key_ids=instance["outputs"].get("ssh_key_ids"),
                         preview_out=preview.stdout + preview.stderr, order=order)


def ssh_key_replaced(bench: Bench) -> Outcome:
    return _new_ssh_key(bench, "SSH key replaced (same name)", {"t:public_key": KEY_B})


def ssh_key_renamed(bench: Bench) -> Outcome:
    return _new_ssh_key(bench, "SSH key replaced under a new name", {"t:public_key": KEY_B, "t:key_name": "faults-key-2"})


def firewall_edited_out_of_band(bench: Bench) -> Outcome:
    assert bench.up().returncode == 0
    with LambdaClient(API_KEY, bench.url, pace=False) as client:  # another tool relabels our rule
        rules = client.get_firewall_rules()
        client.put_firewall_rules([FirewallRule(r.protocol, r.port_range, r.source_network, "edited by hand")
                                   if r.port_range == (8000, 8000) else r for r in rules])
    attached = [i.get("firewall_ruleset_ids") for i in bench.hooks.live_instances()]
    bench.run("destroy", "--yes")
    with LambdaClient(API_KEY, bench.url, pace=False) as client:
        ports = [r.port_range for r in client.get_firewall_rules()]
        rulesets = client.list_firewall_rulesets()
    return bench.outcome("firewall rule edited out of band, destroy", ports_open=ports, rulesets_left=len(rulesets),
                         attached=attached)


SCENARIOS: dict[str, Callable[[Bench], Outcome]] = {
    "kill9": kill9_during_boot, "sigint2": double_sigint_during_boot, "error_after_launch": error_after_launch,
    "timeout_after_launch": timeout_after_launch, "api_down": api_down_during_boot,
    "type_not_offered": type_not_offered_at_replace, "capacity_gone": capacity_gone_before_up,
    "no_room_for_two": no_room_for_a_second_instance,
    "ssh_key_replaced": ssh_key_replaced, "ssh_key_renamed": ssh_key_renamed, "firewall_edited": firewall_edited_out_of_band,
}
# The provider's request timeout, short so the slow-reply scenario stays short.
BENCH_ENV = {"ORCHESTRA_LAMBDA_TIMEOUT_SECONDS": "1"}


def run_scenario(name: str, workdir: Path) -> Outcome:
    bench = Bench(workdir, env=BENCH_ENV)
    try:
        return SCENARIOS[name](bench)
    finally:
        bench.close()
