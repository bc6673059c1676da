"""The command line: errors map to one line and their own exit code."""

from __future__ import annotations

import json
import os

import pytest

from automation import cli, status
from automation.deploy import parse_duration
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
    monkeypatch.setattr(status, "check", boom)
    monkeypatch.setattr(cli, "project_root", lambda: os.getcwd())
    assert cli.main(["check", "production"]) == exc.exit_code
    err = capsys.readouterr().err
    # One line; a message with a runbook section ends with its link (tests/automation/ops/test_runbooks.py).
    assert err.startswith(f"error: {exc}") and err.endswith("\n") and err.count("\n") == 1


def test_ctrl_c_exits_130(monkeypatch, capsys):
    def interrupted(opts):
        raise KeyboardInterrupt
    monkeypatch.setattr(status, "check", interrupted)
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


@pytest.mark.parametrize("exc", [PreflightFailed("preflight failed for stack production: set X: create one"),
                                 StackNotFound("stack 'x' does not exist (stacks: a): pass --create to create it"),
                                 MasterKeyMissing("no master key")])
def test_json_failure_is_one_document_with_code_kind_message_and_fix(monkeypatch, capsys, exc):
    def boom(opts):
        opts.run.learned["preflight"] = {"keys": []}
        raise exc
    monkeypatch.setattr(status, "check", boom)
    monkeypatch.setattr(cli, "project_root", lambda: os.getcwd())
    assert cli.main(["check", "production", "--json"]) == exc.exit_code
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["exit_code"] == exc.exit_code
    assert doc["error"] == {"kind": type(exc).__name__, "message": str(exc), "fix": str(exc).rsplit(": ", 1)[-1]
                            if ": " in str(exc) else ""}
    assert doc["preflight"] == {"keys": []}   # what was learned before the failure


def test_json_usage_error_is_a_document_too(capsys):
    assert cli.main(["check", "bad name", "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["exit_code"] == 2 and doc["error"]["kind"] == "UsageError"
    assert cli.main(["up", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["kind"] == "UsageError"


@pytest.mark.parametrize("stage, says", [("preflight", "nothing was changed"), ("preview", "nothing was changed"),
                                         ("up", "re-run to converge"), ("health check", "health production` checks again")])
def test_ctrl_c_names_the_stage_it_interrupted(monkeypatch, capsys, stage, says):
    def interrupted(opts):
        opts.run.enter(stage)
        raise KeyboardInterrupt
    monkeypatch.setattr(status, "check", interrupted)
    monkeypatch.setattr(cli, "project_root", lambda: os.getcwd())
    assert cli.main(["check", "production", "--json"]) == INTERRUPTED_EXIT_CODE
    captured = capsys.readouterr()
    assert f"interrupted during {stage}: " in captured.err and says in captured.err
    assert "engine stopped cleanly" not in captured.err or stage in ("preview", "up")
    assert json.loads(captured.out)["error"]["kind"] == "Interrupted"


def test_lock_wait_takes_durations_and_refuses_anything_else():
    assert [parse_duration(t) for t in ("0", "45", "30s", "5m", "1m30s", "1h")] == [0, 45, 30, 300, 90, 3600]
    for bad in ("soon", "5x", "", "-1", "m"):
        with pytest.raises(UsageError, match="not a duration"):
            parse_duration(bad)


def test_a_bad_lock_wait_is_refused_before_the_sandbox_starts(monkeypatch, capsys):
    def started(*args, **kwargs):
        raise AssertionError("the sandbox was started for a command line that is refused")
    monkeypatch.setattr(cli.local_stack, "prepare", started)
    monkeypatch.setattr(cli, "project_root", lambda: os.getcwd())
    assert cli.main(["up", "local", "--lock-wait", "soon", "--json"]) == 2
    captured = capsys.readouterr()
    assert "sandbox:" not in captured.err
    doc = json.loads(captured.out)
    assert doc["error"] == {"kind": "UsageError", "message": "--lock-wait 'soon' is not a duration: use e.g. 30s, 5m or 1h",
                            "fix": "use e.g. 30s, 5m or 1h"}


@pytest.mark.parametrize(("message", "fix"), [
    ("stack 'x' does not exist (stacks: a, b): pass --create to create it", "pass --create to create it"),
    ("NOT_A_KEY is not a key the platform uses (keys: A, B)", ""),
    ("locked by u@h: clear it with `python -m automation up x --clear-stale-lock`",
     "clear it with `python -m automation up x --clear-stale-lock`"),
    ("stack x: the passphrase does not open it: use `a: b` instead", "use `a: b` instead"),
    ("no separator here", ""),
])
def test_the_json_fix_is_the_tail_after_the_last_top_level_separator(message, fix):
    from secrets_bridge.errors import split_fix
    assert split_fix(message) == fix
