"""The stack the driver works on: open (select or create) it, and hand the engine its passphrase.

The Automation API runs the project's own program (work_dir = project root, never
inline) so `pulumi preview` by hand executes exactly what the driver deploys.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pulumi.automation import CommandError, ConcurrentUpdateError, LocalWorkspace, Stack, StackNotFoundError
from pulumi.automation._cmd import CommandResult

from automation.engine import Engine, EngineUnavailable, engine_env, ensure_engine
from automation.engine_cli import EngineCommand, engine_error_line
from automation.errors import BackendUnreachable, EngineMissing, InjectFailed, StackLocked, StackNotFound
from automation.locks import lock_message
from automation.project import backend_url, ensure_file_backend, stack_secrets_provider
from secrets_bridge.catalog import PULUMI_PASSPHRASE_NAME

PASSPHRASE_NAME = PULUMI_PASSPHRASE_NAME


@contextlib.contextmanager
def passphrase_env(provider: str, store_env: str, environ: Mapping[str, str] = os.environ) -> Iterator[dict[str, str]]:
    """Environment that hands the passphrase to the CLI through a 0600 file, never argv.

    CI's own PULUMI_CONFIG_PASSPHRASE(_FILE) wins; KMS-style providers need none.
    The passphrase is generated once and kept in the encrypted local store.
    """
    if not provider.startswith("passphrase") or {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} & environ.keys():
        yield {}
        return
    from secrets_bridge.store import SecretStore

    store = SecretStore.open(store_env)
    passphrase = store.get(PASSPHRASE_NAME)
    if passphrase is None:
        passphrase = secrets.token_urlsafe(32)
        store.set(PASSPHRASE_NAME, passphrase)
    with tempfile.TemporaryDirectory(prefix="orchestra-pp-") as private:  # mkdtemp: 0700
        path = os.path.join(private, "passphrase")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(passphrase)
        yield {"PULUMI_CONFIG_PASSPHRASE_FILE": path}


@dataclass
class StackSession:
    """An open stack plus what every engine call needs; the stack config is read once per session."""

    root: Path
    name: str
    stack: Stack
    cli_env: dict[str, str]
    command: EngineCommand
    engine_version: str
    backend: str
    _config: dict[str, str] | None = field(default=None, repr=False)

    def cli(self, args: list[str], *, stdin: str | None = None) -> CommandResult:
        """A direct engine call on this stack (values go on stdin, never argv); failures are returned."""
        return self.command.run([*args, "--stack", self.name], str(self.root), self.cli_env, stdin=stdin, check=False)

    def config(self) -> dict[str, str]:
        """The stack's config, decrypted, in memory only: one engine call per session."""
        if self._config is None:
            proc = self.cli(["config", "--show-secrets", "--json"])
            if proc.code != 0:
                raise InjectFailed(f"reading the config of stack {self.name} failed: {engine_error_line(proc.stderr)}")
            self._config = {key: str(entry.get("value", "")) for key, entry in json.loads(proc.stdout or "{}").items()}
        return dict(self._config)

    def config_changed(self, key: str, value: str) -> None:
        """Keep the one read current after the driver set a value itself."""
        if self._config is not None:
            self._config[key] = value


def _translate_select(err: CommandError, stack: str, backend: str) -> Exception:
    if isinstance(err, ConcurrentUpdateError):
        return StackLocked(lock_message(err, stack, backend))
    return BackendUnreachable(f"backend {backend}: {engine_error_line(err)}: check PULUMI_BACKEND_URL and your login")


def known_stacks(workspace: LocalWorkspace) -> list[str]:
    return sorted(summary.name for summary in workspace.list_stacks())


def require_engine() -> Engine:
    """The engine, found, cached or built; its absence is one actionable line."""
    try:
        return ensure_engine(log=lambda msg: print(msg, file=sys.stderr))
    except EngineUnavailable as exc:
        first = str(exc).splitlines()[0]
        raise EngineMissing(f"{first} Run `python -m automation engine` to see what was tried and how to fix it") from None


@contextlib.contextmanager
def open_stack(root: Path, stack_name: str, *, store_env: str, create: bool = False,
               environ: Mapping[str, str] = os.environ) -> Iterator[StackSession]:
    """Select (or with `create`, create) the stack; the passphrase file lives as long as the session."""
    engine = require_engine()
    url, is_default = backend_url(root, environ)
    ensure_file_backend(url)
    provider = stack_secrets_provider(root, stack_name)
    base_env = engine_env(engine, dict(environ))  # engine first on PATH, no update check, no plugin downloads
    if is_default:
        base_env["PULUMI_BACKEND_URL"] = url
    command = EngineCommand(engine.pulumi, engine.version)
    with passphrase_env(provider, store_env, environ) as secret_env:
        cli_env = {**base_env, **secret_env}
        workspace = LocalWorkspace(work_dir=str(root), env_vars=cli_env, secrets_provider=provider, pulumi_command=command)
        try:
            stack = Stack.select(stack_name, workspace)
        except StackNotFoundError:
            if not create:
                listed = ", ".join(known_stacks(workspace)) or "none yet"
                raise StackNotFound(f"stack {stack_name!r} does not exist (stacks: {listed}): pass --create to create it") from None
            try:
                stack = Stack.create(stack_name, workspace)
            except CommandError as err:
                raise _translate_select(err, stack_name, url) from None
        except CommandError as err:
            raise _translate_select(err, stack_name, url) from None
        yield StackSession(root=root, name=stack_name, stack=stack, cli_env=cli_env, command=command,
                           engine_version=engine.version, backend=url)
