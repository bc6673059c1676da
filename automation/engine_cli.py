"""The one way the driver runs the engine CLI, and the one reader of the engine's messages.

`EngineCommand` is the PulumiCommand the Automation API runs every command
through; the driver's own direct calls (`config set --secret` with the value on
stdin, `config --json`) go through the same `run`, so every engine process gets
the same environment, process group and Ctrl-C handling, and `calls` counts them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from pulumi.automation import CommandError, PulumiCommand
from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import create_command_error
from semver import VersionInfo

from automation import proctree

OnOutput = Callable[[str], None]


class EngineCommand(PulumiCommand):
    """The engine CLI, run in its own process group so Ctrl-C reaches it exactly once.

    A terminal's Ctrl-C goes to the whole foreground group; a second SIGINT makes
    the engine abandon in-flight operations. Here only the driver gets it and
    forwards one SIGINT: the engine finishes what it started, writes its
    checkpoint, releases the lock, and the driver then re-raises KeyboardInterrupt.
    """

    def __init__(self, pulumi: Path, version: str) -> None:  # no `pulumi version` probe: the engine is known
        self.command = str(pulumi)
        self.version = VersionInfo.parse(version.removeprefix("v"))
        self.calls: list[list[str]] = []   # argv of every engine process started (values never on argv)

    def run(self, args: list[str], cwd: str, additional_env: Mapping[str, str],
            on_output: OnOutput | None = None, on_error: OnOutput | None = None, *,
            stdin: str | None = None, check: bool = True) -> CommandResult:
        """Run one engine command; with `check`, a non-zero exit raises the SDK's typed CommandError."""
        if "--non-interactive" not in args:
            args.insert(0, "--non-interactive")
        self.calls.append(list(args))
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        env["PATH"] = os.pathsep.join([os.path.dirname(self.command), env.get("PATH", "")])
        # An engine that dies leaves its plugins to us, to stop (automation/proctree.py).
        proc, known = proctree.start(lambda: subprocess.Popen(
            [self.command, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, encoding="utf-8", process_group=0))
        chunks: dict[str, list[str]] = {"out": [], "err": []}
        pumps = [threading.Thread(target=_pump, args=(proc.stdout, chunks["out"], on_output), daemon=True),
                 threading.Thread(target=_pump, args=(proc.stderr, chunks["err"], on_error), daemon=True)]
        for thread in pumps:
            thread.start()
        if stdin is not None and proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.write(stdin)
            proc.stdin.close()
        interrupted = False
        while True:
            try:
                proc.wait()
                break
            except KeyboardInterrupt:
                interrupted = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
        proctree.finish(proc, known)
        for thread in pumps:
            thread.join()
        if interrupted:
            raise KeyboardInterrupt
        result = CommandResult(stdout="\n".join(chunks["out"]), stderr="\n".join(chunks["err"]), code=proc.returncode)
        if check and proc.returncode != 0:
            raise create_command_error(result)
        return result


def _pump(stream: IO[str], sink: list[str], callback: OnOutput | None) -> None:
    for line in stream:
        line = line.rstrip("\n")
        sink.append(line)
        if callback:
            callback(line)


def engine_error_line(err: CommandError | str) -> str:
    """The engine's own `error:` line, without Go stack traces or the command dump."""
    text = err if isinstance(err, str) else str(err)
    lines = [ln.strip() for ln in text.splitlines()]
    errors = [ln.removeprefix("error:").strip() for ln in lines if ln.startswith("error:")]
    return errors[-1] if errors else next((ln for ln in reversed(lines) if ln), "no output")


def lock_holder(err: CommandError | str) -> str:
    """`someone@host (pid N) at TIME` from the engine's lock-conflict message."""
    text = err if isinstance(err, str) else str(err)
    line = next((ln.strip() for ln in text.splitlines() if "created by" in ln), "")
    return line.split("created by", 1)[1].strip() if line else "another update"
