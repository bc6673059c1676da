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
from automation.errors import Terminated

OnOutput = Callable[[str], None]
CANCEL_GRACE_S = 5.0    # after the first SIGTERM the engine cancels: finishes in-flight operations if they are quick
STOP_GRACE_S = 10.0     # after the second it terminates: stops its plugins, writes its checkpoint, releases the lock


class EngineCommand(PulumiCommand):
    """The engine CLI, run in its own process group so Ctrl-C reaches it exactly once.

    A terminal's Ctrl-C goes to the whole foreground group; a second SIGINT makes
    the engine abandon in-flight operations. Here only the driver gets it and
    forwards one SIGINT: the engine finishes what it started, writes its
    checkpoint, releases the lock, and the driver then re-raises KeyboardInterrupt.
    SIGTERM to the driver (a CI runner cancelling the job) cannot wait that long:
    see `_stop_engine`.
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
        stopped: KeyboardInterrupt | None = None
        while True:
            try:
                proc.wait()
                break
            except Terminated as exc:
                exc.engine_killed = _stop_engine(proc, cancelling=stopped is not None)
                stopped = exc
                break
            except KeyboardInterrupt as exc:
                stopped = stopped or exc
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
        proctree.finish(proc, known)
        for thread in pumps:
            thread.join()
        if stopped is not None:
            raise stopped
        result = CommandResult(stdout="\n".join(chunks["out"]), stderr="\n".join(chunks["err"]), code=proc.returncode)
        if check and proc.returncode != 0:
            raise create_command_error(result)
        return result


def _stop_engine(proc: subprocess.Popen, *, cancelling: bool) -> bool:
    """Stop the engine soon: it cancels (first SIGTERM), then terminates (second), else is killed; True if killed.

    The engine treats SIGTERM as Ctrl-C: the first cancels the update gracefully, the
    second terminates it, still writing the checkpoint and releasing the lock. Only an
    engine that ignores both is killed (its plugins then die with it in `proctree.finish`,
    its lock stays behind, stale, for the next run to report). A further SIGTERM to the
    driver skips the wait in progress.
    """
    steps = [CANCEL_GRACE_S, STOP_GRACE_S][1 if cancelling else 0:]
    for grace in steps:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
            return False
        except (subprocess.TimeoutExpired, Terminated):
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


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
