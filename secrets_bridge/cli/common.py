"""What every command shares: the typer app, its options, and the managers it opened.

The managers are remembered so that `main()` can say exactly, on Ctrl-C, whether
anything was written (the store counts its commits with Ctrl-C held back).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from secrets_bridge.catalog import name_problem
from secrets_bridge.manager import SecretManager

PROG = "secrets-bridge"

app = typer.Typer(
    help="Keep the platform's API keys: encrypted store, priority chain, format checks.",
    add_completion=False,
    pretty_exceptions_enable=False,
)

EnvOpt = Annotated[str | None, typer.Option(
    "--env", help="Environment: store .secrets.<env>.json, file .env.<env> (default: $ORCHESTRA_ENV, else production).")]
StackOpt = Annotated[str | None, typer.Option(
    "--stack", help="Pulumi stack whose config (orchestra:<key>) joins the chain, read with the pulumi CLI.")]


def _key_name(name: str) -> str:
    problem = name_problem(name)
    if problem:
        raise typer.BadParameter(problem)
    return name


KeyArg = Annotated[str, typer.Argument(
    metavar="KEY", callback=_key_name,
    help="Any environment-variable name; catalog keys also by alias, e.g. GITHUB_TOKEN or GH_TOKEN.")]

_opened: list[SecretManager] = []


def manager(env: str | None, stack: str | None = None) -> SecretManager:
    """A manager that may ask for the master key on a terminal, as the README promises."""
    opened = SecretManager(env, stack=stack, interactive=sys.stdin is not None and sys.stdin.isatty())
    _opened.append(opened)
    return opened


def anything_written() -> bool:
    return any(opened.commits for opened in _opened)
