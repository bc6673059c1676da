"""Operations around the engine: summaries before and after the fact, the confirmation, error translation."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from pulumi.automation import EngineEvent
from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import CommandError

from automation import deploy
from automation.errors import Declined, UpFailed
from automation.events import EventView

URN = "urn:pulumi:local::orchestra::orchestra:lambda:Backend$pulumi-python:dynamic:Resource::backend-instance"


def _events(view, *payloads):
    for seq, payload in enumerate(payloads):
        view(EngineEvent.from_json({"sequence": seq, "timestamp": 0, **payload}))


def test_change_line_is_future_before_and_past_tense_after_the_fact():
    assert deploy.change_line({"same": 3}) == "no changes"
    assert deploy.change_line({"create": 2, "same": 1}) == "2 to create, 1 unchanged"
    assert deploy.change_line({"create": 2, "delete": 1, "same": 1}, past=True) == "2 created, 1 deleted, 1 unchanged"


def test_confirm_refuses_without_terminal_and_yes_after_saying_what_would_change():
    out = io.StringIO()
    with pytest.raises(Declined, match="pass --yes"):
        deploy.confirm({"delete": 6}, "production", yes=False, verb="Delete from", stdin=io.StringIO(""), out=out)
    assert out.getvalue() == "Delete from stack production: 6 to delete\n"
    deploy.confirm({"create": 1}, "production", yes=True, stdin=io.StringIO(""))
    deploy.confirm({"same": 4}, "production", yes=False, stdin=io.StringIO(""))


def test_a_missing_provider_plugin_says_how_to_get_it_or_turn_the_component_off():
    view = EventView(out=io.StringIO())
    message = ("error: no resource plugin 'pulumi-resource-vercel' found in the workspace at version v5.21.1 "
               "or on your $PATH")
    _events(view, {"diagnosticEvent": {"message": message, "color": "raw", "severity": "error", "urn": URN}})
    err = deploy._translate(CommandError(CommandResult(stdout="", stderr="", code=255)),
                            SimpleNamespace(name="production", short="production", project="orchestra", backend="file:///x"),
                            view, UpFailed, "up", deploy.LockPolicy())
    assert isinstance(err, UpFailed) and err.exit_code == 37
    assert "pulumi-resource-vercel" in str(err) and "orchestra:enable_<component> false" in str(err)
