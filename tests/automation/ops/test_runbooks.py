"""docs/runbooks.md has a section per failure, each opening with a message the tool prints and links to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from automation import runbooks
from automation.errors import RestoreFailed, RotationFailed, StackLocked, StackNotFound, Unhealthy, UpFailed
from automation.report import IacStatus, KeyRow, ReportData, recommendations
from secrets_bridge.masking import mask
from tests.automation.ops.runbook_doc import pattern, sections

TITLES = {"locked-stack", "pending-operation", "orphaned-instance", "incorrect-passphrase", "invalid-or-expired-key",
          "rate-limited", "no-capacity", "unhealthy-backend", "restore-from-backup", "rotate-a-leaked-key"}


def test_one_section_per_failure_and_every_link_target_exists():
    assert set(sections()) == TITLES == set(runbooks.ANCHORS)


@pytest.mark.parametrize("anchor", sorted(TITLES - {"rotate-a-leaked-key", "orphaned-instance"}))
def test_each_error_message_quoted_ends_with_the_link_to_its_own_section(anchor):
    assert sections()[anchor].endswith(f"(runbook: docs/runbooks.md#{anchor})")


@pytest.mark.parametrize(("error", "anchor"), [
    (StackLocked("stack production is locked by someone@host (pid 1): wait for it"), "locked-stack"),
    (UpFailed("up of stack p failed: orchestra-backend-instance: InsufficientCapacity: no capacity for gpu_1x_a10 in "
              "us-east-1; regions with capacity now: none; try again later [instance-operations/launch/insufficient-capacity]"),
     "no-capacity"),
    (UpFailed("up of stack p failed: x: RateLimited: GET /api/v1/instances: Too many requests. [global/too-many-requests]"),
     "rate-limited"),
    (Unhealthy("stack p deployed but is not healthy: backend unreachable (connection failed)"), "unhealthy-backend"),
    (Unhealthy("stack p deployed but is not healthy: instance 401 (global/invalid-api-key: bad key)"), "invalid-or-expired-key"),
    (StackNotFound("stack 'p' does not exist (stacks: none yet): pass --create to create it"), "restore-from-backup"),
    (RestoreFailed("no backup 'x' for stack p"), "restore-from-backup"),
    (RotationFailed("the new LAMBDA_API_KEY was not accepted live (invalid: rejected): nothing changed"), "rotate-a-leaked-key"),
])
def test_errors_link_the_section_that_answers_them(error, anchor):
    assert runbooks.for_error(error) == f"docs/runbooks.md#{anchor}"


def test_an_error_without_a_section_gets_no_link():
    assert runbooks.for_error(StackNotFound("stack 'x' does not exist (stacks: local, production)")) is None


def test_the_rotation_section_opens_with_the_reports_rotation_line():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    old = KeyRow("LAMBDA_API_KEY", "store", mask("secret_x.abcdefghijklmnopqrstuvwxyz012345"), "ok", "valid", "",
                 now - timedelta(days=120))
    data = ReportData(stack="production", keys=(old,), infrastructure=(),
                      iac=IacStatus("3.274.1", "file:///s", "production", "update succeeded"), generated_at=now)
    (line,) = [f"**{p}** {t}" for p, t in recommendations(data) if p == "P2"]
    assert pattern(sections()["rotate-a-leaked-key"]).fullmatch(line), line
