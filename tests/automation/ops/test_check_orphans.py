"""`check`'s orphan lines: read-only and quick when the Lambda API cannot answer (the full path, with
an orphan listed and its pending create left in place, is tests/automation/ops/test_pending_create_up.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from automation.orphans import check_lines
from tests.support.loopback import FakeApi, Route, refused_url

KEY = "secret_canary0chk.CANARYcheckNEVERshown0123456789abcdef"


@dataclass
class Reply:
    code: int
    stdout: str
    stderr: str = ""


def _state(calls: list[list[str]]):
    def cli(args: list[str]) -> Reply:
        calls.append(args)
        return Reply(0, json.dumps({"deployment": {"resources": [], "pending_operations": []}}))
    return cli


def test_an_api_that_fails_is_asked_once_and_check_says_orphans_were_not_checked():
    calls: list[list[str]] = []
    with FakeApi({"/api/v1/instances": Route(500, {"error": {"code": "global/unknown", "message": "boom"}})}) as api:
        lines = check_lines(_state(calls), KEY, api.url, "local")
    assert len(lines) == 1 and lines[0].startswith("orphans: not checked (") and KEY not in lines[0]
    assert [(s.method, s.path) for s in api.seen] == [("GET", "/api/v1/instances")]   # no retry, nothing written
    assert calls == [["stack", "export"]]


def test_an_api_that_refuses_connections_does_not_fail_check():
    lines = check_lines(_state([]), KEY, refused_url(), "local")
    assert len(lines) == 1 and lines[0].startswith("orphans: not checked (")


def test_a_state_that_cannot_be_read_is_reported_without_calling_the_api():
    with FakeApi({}) as api:
        lines = check_lines(lambda args: Reply(255, "", "error: no stack named 'local' found"), KEY, api.url, "local")
    assert lines == ["orphans: not checked (reading the stack's state failed: no stack named 'local' found)"]
    assert api.seen == []
