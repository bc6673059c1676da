"""The fault matrix through the real engine: after each fault and a re-run, exactly one instance
where one is wanted, on the emulator and in state, zero orphans, and never zero during a failed
replacement. The emulator's request log counts the launches (no second launch for one create)."""

from __future__ import annotations

import pytest

from tests.support.lambda_faults import BENCH_ENV, Bench, run_scenario

pytestmark = pytest.mark.e2e


def _one_instance(outcome) -> None:
    assert outcome.live == outcome.in_state and len(outcome.live) == 1, outcome.output
    assert outcome.orphans == []


@pytest.mark.parametrize("scenario", ["kill9", "sigint2"])
def test_an_interrupted_create_run_again_adopts_its_instance(scenario, tmp_path):
    outcome = run_scenario(scenario, tmp_path)
    assert outcome.runs[-1].returncode == 0, outcome.output
    _one_instance(outcome)
    assert outcome.launched == 1 and outcome.terminations == 0


@pytest.mark.parametrize("scenario", ["error_after_launch", "timeout_after_launch"])
def test_a_launch_whose_reply_is_lost_is_adopted_in_the_same_run(scenario, tmp_path):
    outcome = run_scenario(scenario, tmp_path)
    assert [r.returncode for r in outcome.runs] == [0], outcome.output
    _one_instance(outcome)
    assert outcome.launched == 1


def test_the_api_down_during_boot_does_not_kill_a_booting_instance(tmp_path):
    outcome = run_scenario("api_down", tmp_path)
    assert outcome.extra["dropped"] >= 12, "the fault never hit the status polls"
    assert [r.returncode for r in outcome.runs] == [0], outcome.output
    _one_instance(outcome)
    assert outcome.launched == 1 and outcome.terminations == 0


def test_a_type_not_offered_fails_in_preview_and_up_and_keeps_the_running_instance(tmp_path):
    outcome = run_scenario("type_not_offered", tmp_path)
    assert outcome.extra["preview_rc"] != 0 and outcome.runs[-1].returncode != 0
    assert "'gpu_1x_a6000' is not offered" in outcome.output
    _one_instance(outcome)
    assert outcome.launched == 1 and outcome.terminations == 0


def test_capacity_gone_between_preview_and_up_keeps_the_running_instance(tmp_path):
    outcome = run_scenario("capacity_gone", tmp_path)
    assert outcome.extra["preview_rc"] == 0 and outcome.runs[-1].returncode != 0, outcome.output
    assert "no capacity for gpu_1x_a100_sxm4" in outcome.output
    _one_instance(outcome)
    assert outcome.launched == 1 and outcome.terminations == 0


def test_a_replacement_with_no_room_for_a_second_instance_is_refused_in_preview_and_keeps_the_old(tmp_path):
    outcome = run_scenario("no_room_for_two", tmp_path)
    assert outcome.extra["preview_rc"] != 0 and outcome.runs[-1].returncode != 0, outcome.output
    said = " ".join(outcome.output.split())
    assert "this replacement cannot launch its new gpu_1x_a100_sxm4 while the old instance runs" in said, said
    assert "Add a region with capacity to fallback_regions" in said
    _one_instance(outcome)
    assert outcome.launched == 1 and outcome.terminations == 0


def test_a_new_ssh_key_replaces_the_instance_that_uses_it(tmp_path):
    outcome = run_scenario("ssh_key_replaced", tmp_path)
    assert [r.returncode for r in outcome.runs] == [0, 0, 0], outcome.output
    _one_instance(outcome)
    assert outcome.live != [outcome.extra["first"]] and outcome.launched == 2
    assert outcome.extra["instance_key_ids"] == [outcome.extra["key_id"]]
    # One key per name: the old key, and the instance launched with it, go first, and the preview says so.
    assert outcome.extra["order"] == ["terminate", "launch"]
    preview = " ".join(outcome.extra["preview_out"].split())
    assert "SSH key 'faults-key' is replaced under the same name" in preview, preview
    assert "a failed launch leaves no instance" in preview and "give the new key another name" in preview


def test_a_new_ssh_key_under_a_new_name_launches_the_new_instance_first(tmp_path):
    outcome = run_scenario("ssh_key_renamed", tmp_path)
    assert [r.returncode for r in outcome.runs] == [0, 0, 0], outcome.output
    _one_instance(outcome)
    assert outcome.extra["instance_key_ids"] == [outcome.extra["key_id"]]
    assert outcome.extra["order"] == ["launch", "terminate"]
    assert "replaced under the same name" not in outcome.extra["preview_out"]


def test_destroy_removes_the_firewall_rule_even_when_relabelled_by_hand(tmp_path):
    outcome = run_scenario("firewall_edited", tmp_path)
    assert outcome.runs[-1].returncode == 0, outcome.output
    assert outcome.extra["ports_open"] == [(22, 22)]
    assert len(outcome.extra["attached"]) == 1 and len(outcome.extra["attached"][0]) == 1  # launched with its ruleset
    assert outcome.extra["rulesets_left"] == 0
    assert outcome.live == [] and outcome.in_state == []


def test_preview_of_a_new_stack_passes_check_with_the_key_id_still_unknown(tmp_path):
    bench = Bench(tmp_path, env=BENCH_ENV)
    try:
        preview = bench.run("preview")
        assert preview.returncode == 0, preview.stdout + preview.stderr
        assert bench.launches() == 0 and bench.hooks.live_instances() == []
    finally:
        bench.close()
