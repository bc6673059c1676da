"""The entry point: every expected failure becomes one stderr line and an exit code.

Exit codes: usage 2, SecretsBridgeError subclasses 3..12 (see errors.py), `verify`
20/21, `run` the child's (126/127 when it cannot start), Ctrl-C 130. Every message
goes through masking.scrub, so a value typed where a name or option goes is never
echoed back; on Ctrl-C the message says exactly whether anything was written.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
import typer.main

from secrets_bridge.errors import SecretsBridgeError
from secrets_bridge.masking import scrub
from secrets_bridge.store import ENV_ALLOW_INSECURE
from secrets_bridge.verify.cli import register as register_verify

from . import admin, envfiles, keys, run  # noqa: F401  (they register their commands)
from .common import PROG, anything_written, app


@app.callback()
def _options(
    allow_insecure_permissions: Annotated[bool, typer.Option(
        "--allow-insecure-permissions",
        help="Use a store file that group or others can read (instead of refusing).")] = False,
) -> None:
    if allow_insecure_permissions:
        # The store reads this switch, so every command (verify included) honours it.
        os.environ[ENV_ALLOW_INSECURE] = "1"


register_verify(app)


def _error(message: str) -> None:
    typer.echo(scrub(f"error: {message}"), err=True)


def main() -> None:
    """Entry point: runs the app and turns every expected failure into one stderr line and an exit code."""
    command = typer.main.get_command(app)
    try:
        with command.make_context(PROG, sys.argv[1:]) as ctx:
            command.invoke(ctx)
        code = 0
    except typer.Exit as exc:
        code = exc.exit_code
    except SecretsBridgeError as exc:
        _error(str(exc))
        code = exc.exit_code
    except typer.TyperException as exc:  # click's usage errors: bad option, bad key name, missing file
        usage_ctx = getattr(exc, "ctx", None)
        hint = f" (see: {usage_ctx.command_path} --help)" if usage_ctx else ""
        message = exc.format_message()
        if message.startswith("Got unexpected extra argument"):
            # Click would echo them, and the likeliest extra argument is a pasted key.
            message = ("unexpected extra arguments (not shown: they may be secret values); "
                       "values are read from stdin or a hidden prompt, never from the command line")
        _error(f"{message}{hint}")
        code = exc.exit_code
    except (KeyboardInterrupt, typer.Abort, EOFError):
        if anything_written():
            typer.echo("\ninterrupted after the change was written (the store holds the new value)", err=True)
        else:
            typer.echo("\ninterrupted, nothing was changed", err=True)
        code = 130
    except BrokenPipeError:
        # The reader went away (`| head`); silence the flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)
