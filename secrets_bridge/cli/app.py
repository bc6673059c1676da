"""The entry point: every expected failure becomes one stderr line and an exit code.

Exit codes: usage 2, SecretsBridgeError subclasses 3..12 (see errors.py), `verify`
20/21, `run` the child's (126/127 when it cannot start), Ctrl-C 130. Every message
goes through masking.scrub, so a value typed where a name or option goes is never
echoed back; on Ctrl-C the message says exactly whether anything was written.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer
import typer.main

from secrets_bridge.errors import SecretsBridgeError, failure_document, wants_json
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


def _error(message: str, *, as_json: bool, code: int, kind: str) -> None:
    """One stderr line; with --json also the failure document on stdout (both scrubbed of anything key-like)."""
    typer.echo(scrub(f"error: {message}"), err=True)
    if as_json:
        typer.echo(json.dumps(failure_document(code, kind, scrub(message)), indent=2))


def main() -> None:
    """Entry point: runs the app and turns every expected failure into one stderr line and an exit code."""
    command = typer.main.get_command(app)
    as_json = wants_json(sys.argv[1:])
    try:
        with command.make_context(PROG, sys.argv[1:]) as ctx:
            command.invoke(ctx)
        code = 0
    except typer.Exit as exc:
        code = exc.exit_code
    except SecretsBridgeError as exc:
        code = exc.exit_code
        _error(str(exc), as_json=as_json, code=code, kind=type(exc).__name__)
    except typer.TyperException as exc:  # click's usage errors: bad option, bad key name, missing file
        usage_ctx = getattr(exc, "ctx", None)
        hint = f" (see: {usage_ctx.command_path} --help)" if usage_ctx else ""
        message = exc.format_message()
        if message.startswith("Got unexpected extra argument"):
            # Click would echo them, and the likeliest extra argument is a pasted key.
            message = ("unexpected extra arguments (not shown: they may be secret values); "
                       "values are read from stdin or a hidden prompt, never from the command line")
        code = exc.exit_code
        _error(f"{message}{hint}", as_json=as_json, code=code, kind="UsageError")
    except (KeyboardInterrupt, typer.Abort, EOFError):
        said = ("interrupted after the change was written (the store holds the new value)" if anything_written()
                else "interrupted, nothing was changed")
        typer.echo(f"\n{said}", err=True)
        code = 130
        if as_json:
            typer.echo(json.dumps(failure_document(code, "Interrupted", said, fix="re-run the command"), indent=2))
    except BrokenPipeError:
        # The reader went away (`| head`); silence the flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)
