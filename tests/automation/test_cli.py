"""The command line: errors map to one line and their own exit code."""

from __future__ import annotations

import os

import pytest

from automation import cli, pipeline
from automation.errors import (
    INTERRUPTED_EXIT_CODE,
    AutomationError,
    Declined,
    PreflightFailed,
    StackLocked,
    StackNotFound,
    UsageError,
)
from secrets_bridge.errors import MasterKeyMissing


@pytest.mark.parametrize("exc", [PreflightFailed("keys missing: set X"), StackNotFound("no stack"),
                                 StackLocked("locked"), Declined("declined"), MasterKeyMissing("no master key")])
def test_errors_map_to_their_exit_code_and_one_line(monkeypatch, capsys, exc):
    def boom(opts):
        raise exc
    monkeypatch.setattr(pipeline, "check", boom)
    monkeypatch.setattr(cli, "project_root", lambda: os.getcwd())
    assert cli.main(["check", "production"]) == exc.exit_code
    err = capsys.readouterr().err
    # One line; a message with a runbook section ends with its link (tests/automation/ops/test_runbooks.py).
    assert err.startswith(f"error: {exc}") and err.endswith("\n") and err.count("\n") == 1


def test_ctrl_c_exits_130(monkeypatch, capsys):
    def interrupted(opts):
        raise KeyboardInterrupt
    monkeypatch.setattr(pipeline, "check", interrupted)
    monkeypatch.setattr(cli, "project_root", lambda: os.getcwd())
    assert cli.main(["check", "production"]) == INTERRUPTED_EXIT_CODE
    assert "interrupted" in capsys.readouterr().err


def test_usage_error_exits_2(capsys):
    assert cli.main(["up"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_bad_stack_name_is_a_usage_error_stating_the_rule(capsys):
    assert cli.main(["check", "../etc"]) == 2
    assert "a stack name is STACK, ORG/STACK or ORG/PROJECT/STACK" in capsys.readouterr().err


def test_every_automation_error_has_a_distinct_code():
    codes = [cls.exit_code for cls in AutomationError.__subclasses__() if cls is not UsageError]
    assert len(codes) == len(set(codes)) and all(30 <= c <= 47 for c in codes)
    assert UsageError.exit_code == 2   # what typer's own usage errors exit with


def test_store_env_defaults(monkeypatch):
    monkeypatch.delenv("ORCHESTRA_ENV", raising=False)
    assert cli.store_env("local", None) == "local"
    assert cli.store_env("staging", None) == "production"
    monkeypatch.setenv("ORCHESTRA_ENV", "ci")
    assert cli.store_env("staging", None) == "ci"
    assert cli.store_env("staging", "mine") == "mine"
