"""Engine events to one line per resource; failures to one readable line; the confirmation."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from pulumi.automation import EngineEvent
from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import CommandError

from automation import deploy
from automation.errors import Declined, UpFailed

URN = "urn:pulumi:local::orchestra::orchestra:lambda:Backend$pulumi-python:dynamic:Resource::backend-instance"


def _step(op: str) -> dict:
    return {"op": op, "urn": URN, "type": "pulumi-python:dynamic:Resource", "provider": ""}


def _events(view, *payloads):
    for seq, payload in enumerate(payloads):
        view(EngineEvent.from_json({"sequence": seq, "timestamp": 0, **payload}))


def test_view_renders_one_line_per_resource():
    out = io.StringIO()
    view = deploy.EventView(out=out)
    _events(view, {"resourcePreEvent": {"metadata": _step("create")}},
            {"resOutputsEvent": {"metadata": _step("create")}},
            {"summaryEvent": {"maybeCorrupt": False, "durationSeconds": 1, "resourceChanges": {"create": 1, "same": 2}}})
    assert out.getvalue().splitlines() == [
        "  create   backend-instance               pulumi-python:dynamic:Resource                     done"]
    assert view.changes == {"create": 1, "same": 2}


def test_view_hides_unchanged_and_stack_resources():
    out = io.StringIO()
    view = deploy.EventView(out=out)
    stack = {"op": "create", "urn": "urn:pulumi:local::orchestra::pulumi:pulumi:Stack::orchestra-local",
             "type": "pulumi:pulumi:Stack", "provider": ""}
    _events(view, {"resOutputsEvent": {"metadata": _step("same")}}, {"resOutputsEvent": {"metadata": stack}})
    assert out.getvalue() == ""


def test_failure_is_one_readable_line_without_stack_trace():
    view = deploy.EventView(out=io.StringIO())
    message = ("<{%fg 1%}>error: <{%reset%}>Exception: instance-operations/launch/insufficient-capacity: "
               "no capacity in us-east-1; capacity in: us-west-1\n"
               "goroutine 1 [running]:\n\tmain.go:12 +0x1\nTraceback (most recent call last):\n  File \"x.py\", line 1\n")
    _events(view, {"diagnosticEvent": {"message": message, "color": "raw", "severity": "error", "urn": URN}},
            {"diagnosticEvent": {"message": "error: update failed", "color": "raw", "severity": "error",
                                 "urn": "urn:pulumi:local::orchestra::pulumi:pulumi:Stack::orchestra-local"}})
    assert view.failures["backend-instance"] == ("instance-operations/launch/insufficient-capacity: "
                                                 "no capacity in us-east-1; capacity in: us-west-1")
    assert view.failure_summary().startswith("backend-instance: instance-operations") and "\n" not in view.failure_summary()
    assert "update failed" not in view.failure_summary()


def test_change_line():
    assert deploy.change_line({"same": 3}) == "no changes"
    assert deploy.change_line({"create": 2, "same": 1}) == "2 to create, 1 unchanged"


def test_confirm_refuses_without_terminal_and_yes():
    with pytest.raises(Declined, match="pass --yes"):
        deploy.confirm({"create": 1}, "production", yes=False, stdin=io.StringIO(""))
    deploy.confirm({"create": 1}, "production", yes=True, stdin=io.StringIO(""))
    deploy.confirm({"same": 4}, "production", yes=False, stdin=io.StringIO(""))


def test_a_missing_provider_plugin_says_how_to_get_it_or_turn_the_component_off():
    view = deploy.EventView(out=io.StringIO())
    message = ("error: no resource plugin 'pulumi-resource-vercel' found in the workspace at version v5.21.1 "
               "or on your $PATH")
    _events(view, {"diagnosticEvent": {"message": message, "color": "raw", "severity": "error", "urn": URN}})
    err = deploy._translate(CommandError(CommandResult(stdout="", stderr="", code=255)),
                            SimpleNamespace(name="production", backend="file:///x"), view, UpFailed, "up")
    assert isinstance(err, UpFailed) and err.exit_code == 37
    assert "pulumi-resource-vercel" in str(err) and "orchestra:enable_<component> false" in str(err)
