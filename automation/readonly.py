"""A deployed stack seen read-only, for the operations commands (watch, cost, report extras).

`ReadOnlyStack` runs engine commands that change nothing (`stack export`, `stack history`)
with the passphrase in a 0600 file, as workspace.read_config/read_outputs do; it has the
`.name` and `.cli()` a StackSession has, so the same code serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pulumi.automation._cmd import CommandResult

from automation.workspace import Target, locate, passphrase_file, read_config, read_outputs, require_stack, stored_passphrase


@dataclass(frozen=True)
class ReadOnlyStack:
    target: Target
    store_env: str

    @property
    def name(self) -> str:
        return self.target.name.full

    def cli(self, args: list[str]) -> CommandResult:
        passphrase = stored_passphrase(self.store_env) if self.target.needs_passphrase() else None
        with passphrase_file(passphrase) as secret_env:
            return self.target.command.run([*args, "--stack", self.name], str(self.target.root),
                                           {**self.target.base_env, **secret_env}, check=False)


@dataclass(frozen=True)
class Deployed:
    stack: ReadOnlyStack
    outputs: dict[str, Any]            # plain values (secret ones are "[secret]")
    lambda_key: str | None
    lambda_url: str | None


def deployed(opts: Any) -> Deployed:
    """The existing stack's outputs and the Lambda settings its program used (StackNotFound if none)."""
    from automation.status import lambda_settings

    target = locate(opts.root, opts.stack)
    require_stack(target, create=False)
    key, url = lambda_settings(read_config(target, opts.env))
    plain = {name: out.value for name, out in read_outputs(target, opts.env).items()}
    return Deployed(ReadOnlyStack(target, opts.env), plain, key, url)
