"""Creates left pending by a killed engine are resolved by launch token, and orphans are listed,
through the real engine (automation/orphans.py's reconcile, with the stack's own engine CLI)."""

from __future__ import annotations

import signal
from dataclasses import dataclass

import pytest

from automation.orphans import OrphansResult, reconcile, render
from infra.lambda_cloud import LambdaClient
from tests.support.lambda_faults import API_KEY, BENCH_ENV, Bench, _interrupted_boot

pytestmark = pytest.mark.e2e


@dataclass
class Reply:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def bench(tmp_path):
    bench = Bench(tmp_path, env=BENCH_ENV)
    yield bench
    bench.close()


def _cli(bench):
    def run(args: list[str]) -> Reply:
        proc = bench.stack.pulumi(*args, "--stack", bench.stack.stack, check=False)
        return Reply(proc.returncode, proc.stdout, proc.stderr)
    return run


def _killed_during_boot(bench) -> None:
    _interrupted_boot(bench, [signal.SIGKILL])
    bench.run("cancel", "--yes")
    assert len(bench.stack.pending_operations()) == 1 and bench.stack.resources(":LambdaInstance") == []


def test_a_launched_pending_create_is_cleared_and_the_next_up_adopts_it(bench):
    _killed_during_boot(bench)
    [launched] = [i["id"] for i in bench.hooks.live_instances()]
    with LambdaClient(API_KEY, bench.url, pace=False) as client:
        plans, orphans = reconcile(_cli(bench), client, stack="test")
    assert [(p.action, p.instance_id) for p in plans] == [("adopt", launched)] and orphans == []
    assert bench.stack.pending_operations() == []
    up = bench.up()
    assert up.returncode == 0 and "pending operations" not in up.stdout and bench.launches() == 1
    assert [r["id"] for r in bench.stack.resources(":LambdaInstance")] == [launched]
    assert [i["id"] for i in bench.hooks.live_instances()] == [launched]


def test_a_pending_create_that_launched_nothing_is_cleared(bench):
    bench.hooks.config(fail_next={"count": 1000, "kind": "internal", "path": "/api/v1/instance-operations/launch"},
                       boot_seconds=4)
    _interrupted_boot(bench, [signal.SIGKILL])  # killed right after the refused launch, while it looks for its token
    bench.run("cancel", "--yes")
    bench.hooks.config(fail_next=None)
    if not bench.stack.pending_operations():
        pytest.fail("the engine recorded no pending create: the scenario did not happen")
    with LambdaClient(API_KEY, bench.url, pace=False) as client:
        plans, orphans = reconcile(_cli(bench), client, stack="test")
    assert [(p.action, p.instance_id) for p in plans] == [("clear", None)] and orphans == []
    assert bench.stack.pending_operations() == [] and bench.hooks.live_instances() == []


def test_a_pending_create_a_later_run_adopted_is_cleared_so_the_warning_stops(bench):
    _killed_during_boot(bench)
    assert bench.up().returncode == 0  # adopts by token; the engine keeps the pending create
    assert "pending operations" in bench.runs[-1].stdout and len(bench.stack.pending_operations()) == 1
    with LambdaClient(API_KEY, bench.url, pace=False) as client:
        plans, orphans = reconcile(_cli(bench), client, stack="test")
    assert [p.action for p in plans] == ["clear"] and orphans == []
    assert bench.stack.pending_operations() == []
    assert "pending operations" not in bench.up().stdout and bench.launches() == 1


def test_an_untracked_instance_of_this_stack_is_an_orphan_with_its_cost(bench):
    assert bench.up().returncode == 0
    with LambdaClient(API_KEY, bench.url, pace=False) as client:
        [stray] = client.launch(region_name="us-east-1", instance_type_name="gpu_1x_a10", ssh_key_names=["faults-key"],
                                name="stray", tags={"project": "orchestra", "stack": "test"})
        plans, orphans = reconcile(_cli(bench), client, stack="test")
    assert plans == [] and [(o.id, o.instance_type, o.region) for o in orphans] == [(stray, "gpu_1x_a10", "us-east-1")]
    text = render(OrphansResult("test", (), tuple(orphans), ()))
    assert stray in text and "RUNNING, untracked" in text and "gpu_1x_a10" in text
