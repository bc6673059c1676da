"""`run -- COMMAND...`: a command with the resolved keys in its environment.

The child gets the keys it needs and nothing that opens the store: every
ORCHESTRA_MASTER_KEY* and ORCHESTRA_NEW_MASTER_KEY* variable is removed. Its
stdout and stderr are masked by default, as 1Password's `op run` does: any
resolved value it prints is replaced by its masked form (`--no-masking` hands it
the terminal instead). A command that is missing exits 127, one that cannot be
executed 126, each with one line; otherwise the child's exit code is passed on.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from typing import IO, Annotated

import typer

from secrets_bridge.catalog import PULUMI_PASSPHRASE_NAME
from secrets_bridge.masking import mask
from secrets_bridge.masterkey import KEY_VARIABLES

from .common import EnvOpt, StackOpt, app, manager

_MIN_MASKED_LEN = 4  # shorter values ("1", "on") would mangle ordinary output


class Masker:
    """Replaces values in a byte stream, even when one is split across reads: the longest tail
    that could still grow into a value is held back until the next read (or the end)."""

    def __init__(self, values: Iterable[str]) -> None:
        unique = {v for v in values if len(v) >= _MIN_MASKED_LEN}
        self._pairs = sorted(((v.encode(), mask(v).encode()) for v in unique), key=lambda p: -len(p[0]))
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._pending + chunk
        for value, masked in self._pairs:
            data = data.replace(value, masked)
        hold = 0
        for value, _ in self._pairs:
            for size in range(min(len(value) - 1, len(data)), hold, -1):
                if data.endswith(value[:size]):
                    hold = size
                    break
        self._pending = data[len(data) - hold:] if hold else b""
        return data[:len(data) - hold]

    def flush(self) -> bytes:
        rest, self._pending = self._pending, b""
        return rest


def _pump(source: IO[bytes], target: IO[bytes], masker: Masker) -> None:
    fd = source.fileno()
    while chunk := os.read(fd, 65536):
        target.write(masker.feed(chunk))
        target.flush()
    target.write(masker.flush())
    target.flush()


def _child_env(values: dict[str, str], passphrase: str | None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in KEY_VARIABLES}
    env.update(values)
    # So plain `pulumi` runs against stacks whose passphrase the driver keeps in the store;
    # a passphrase already in the environment (CI) wins.
    if passphrase and not {PULUMI_PASSPHRASE_NAME, "PULUMI_CONFIG_PASSPHRASE_FILE"} & env.keys():
        env[PULUMI_PASSPHRASE_NAME] = passphrase
    return env


def _start(command: list[str], env: dict[str, str], masking: bool) -> subprocess.Popen[bytes]:
    pipe = subprocess.PIPE if masking else None
    program = command[0]
    try:
        return subprocess.Popen(command, env=env, stdout=pipe, stderr=pipe)
    except FileNotFoundError:
        typer.echo(f"error: command not found: {program}", err=True)
        raise typer.Exit(127) from None
    except PermissionError:
        typer.echo(f"error: cannot run {program}: permission denied (not executable?)", err=True)
        raise typer.Exit(126) from None
    except OSError as exc:
        reason = "it is a directory" if exc.errno == errno.EISDIR else exc.strerror
        typer.echo(f"error: cannot run {program}: {reason}", err=True)
        raise typer.Exit(126) from None


@app.command(context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
def run(
    command: Annotated[list[str], typer.Argument(help="The command and its arguments, after --.")],
    env: EnvOpt = None,
    stack: StackOpt = None,
    no_masking: Annotated[bool, typer.Option(
        "--no-masking", help="Let the command's output through unmasked, straight to the terminal.")] = False,
) -> None:
    """Run a command with the resolved keys in its environment; its output masked, its exit code passed through."""
    keys = manager(env, stack)
    resolutions = keys.resolve()
    values = {name: r.value for name, r in resolutions.items()
              if r.value is not None and name != PULUMI_PASSPHRASE_NAME}
    passphrase = resolutions[PULUMI_PASSPHRASE_NAME].value if PULUMI_PASSPHRASE_NAME in resolutions else None
    child_env = _child_env(values, passphrase)
    # Ctrl-C reaches the child through the terminal; we wait for its verdict instead of dying first.
    # A Python handler (unlike SIG_IGN) is reset to the default in the child at exec.
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        child = _start(command, child_env, masking=not no_masking)
        pumps = []
        if not no_masking:
            secrets = [*values.values(), *([passphrase] if passphrase else [])]
            assert child.stdout is not None and child.stderr is not None
            pumps = [threading.Thread(target=_pump, args=(pipe, target, Masker(secrets)), daemon=True)
                     for pipe, target in ((child.stdout, sys.stdout.buffer), (child.stderr, sys.stderr.buffer))]
            for pump in pumps:
                pump.start()
        returncode = child.wait()
        for pump in pumps:
            pump.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    raise typer.Exit(returncode if returncode >= 0 else 128 - returncode)
