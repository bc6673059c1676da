"""The engine CLI runner and the engine-message parser."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi.automation import CommandError

from automation import engine_cli
from automation.engine_cli import EngineCommand, engine_error_line


def test_engine_error_line_keeps_the_error_not_the_dump():
    text = "code: 255\n stdout: Updating\n stderr: warning: x\nerror: no stack named 'dev' found\n"
    assert engine_error_line(text) == "no stack named 'dev' found"


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


def _engine_answering_sigterm(tmp_path: Path, exits_at: int | None) -> subprocess.Popen:
    """A stand-in engine that counts SIGTERMs and exits at the `exits_at`-th (never, if None)."""
    script = tmp_path / "engine.py"
    script.write_text("import signal, sys, time\nseen = []\n"
                      f"def on_term(*_):\n    seen.append(1)\n    if len(seen) == {exits_at!r}:\n        sys.exit(0)\n"
                      "signal.signal(signal.SIGTERM, on_term)\nprint('ready', flush=True)\n"
                      "while True:\n    time.sleep(0.05)\n")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, process_group=0)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


@pytest.mark.parametrize(("exits_at", "killed"), [(1, False), (2, False), (None, True)])
def test_sigterm_stops_the_engine_by_cancel_then_terminate_and_kills_only_one_that_ignores_both(
        tmp_path, monkeypatch, exits_at, killed):
    monkeypatch.setattr(engine_cli, "CANCEL_GRACE_S", 0.5)
    monkeypatch.setattr(engine_cli, "STOP_GRACE_S", 0.5)
    proc = _engine_answering_sigterm(tmp_path, exits_at)
    assert engine_cli._stop_engine(proc, cancelling=False) is killed
    assert proc.returncode == (-signal.SIGKILL if killed else 0)


def test_an_engine_already_cancelling_gets_one_sigterm_to_terminate(tmp_path, monkeypatch):
    """Ctrl-C (forwarded as SIGINT) already started the cancel: SIGTERM's one signal is the terminate, then kill."""
    monkeypatch.setattr(engine_cli, "CANCEL_GRACE_S", 0.5)
    monkeypatch.setattr(engine_cli, "STOP_GRACE_S", 0.5)
    proc = _engine_answering_sigterm(tmp_path, 2)     # would exit at a second SIGTERM, which never comes
    assert engine_cli._stop_engine(proc, cancelling=True) is True and proc.returncode == -signal.SIGKILL
