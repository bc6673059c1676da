"""The engine CLI runner and the engine-message parser."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pulumi.automation import CommandError

from automation.engine_cli import EngineCommand, engine_error_line, lock_holder


def test_engine_error_line_keeps_the_error_not_the_dump():
    text = "code: 255\n stdout: Updating\n stderr: warning: x\nerror: no stack named 'dev' found\n"
    assert engine_error_line(text) == "no stack named 'dev' found"


def test_lock_holder_is_read_from_the_conflict_message():
    text = ("error: the stack is currently locked by 1 lock(s).\n"
            "  file:///s/.pulumi/locks/organization/orchestra/local/x.json: created by ann@box (pid 77) at 2026-01-01\n")
    assert lock_holder(text) == "ann@box (pid 77) at 2026-01-01"
    assert lock_holder("error: something else") == "another update"


def _fake_engine(tmp_path: Path) -> EngineCommand:
    """A stand-in `pulumi` that echoes argv and stdin, so the runner itself is what is tested."""
    script = tmp_path / "pulumi"
    script.write_text(f"#!{sys.executable}\nimport sys\nprint(' '.join(sys.argv[1:]))\n"
                      "data = sys.stdin.read()\nprint('stdin:' + data)\nsys.exit(3 if 'fail' in sys.argv else 0)\n")
    script.chmod(0o755)
    return EngineCommand(script, "3.274.1")


def test_direct_calls_put_values_on_stdin_and_are_counted(tmp_path):
    command = _fake_engine(tmp_path)
    result = command.run(["config", "set", "k", "--secret"], str(tmp_path), {}, stdin="the-value", check=False)
    assert result.code == 0
    assert result.stdout.splitlines() == ["--non-interactive config set k --secret", "stdin:the-value"]
    assert command.calls == [["--non-interactive", "config", "set", "k", "--secret"]]


def test_a_failed_call_raises_the_sdk_error_unless_told_not_to(tmp_path):
    command = _fake_engine(tmp_path)
    assert command.run(["fail"], str(tmp_path), {}, check=False).code == 3
    with pytest.raises(CommandError):
        command.run(["fail"], str(tmp_path), {})
    assert len(command.calls) == 2
