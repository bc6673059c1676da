"""The stack the driver works on, in two steps: `locate` (read-only) then `open_stack` (may write).

`locate` finds the engine, logs in to the backend for real (`pulumi stack ls`) and
learns whether the stack exists; `read_config` decrypts an existing stack's config
with a passphrase that already exists. Nothing in either writes a file, creates a
stack or generates a passphrase: that starts in `open_stack`, which the pipeline
enters only after preflight passed, and which undoes its own writes (created
stack, generated passphrase, changed stack file) when the run fails before the
engine applied anything.

The Automation API runs the project's own program (work_dir = project root, never
inline) so `pulumi preview` by hand executes exactly what the driver deploys.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import secrets
import sys
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pulumi.automation import CommandError, LocalWorkspace, OutputMap, OutputValue, Stack
from pulumi.automation._cmd import CommandResult

from automation import backends
from automation.engine import Engine, EngineUnavailable, engine_env, ensure_engine
from automation.engine_cli import EngineCommand, engine_error_line
from automation.errors import BackendUnreachable, EngineMissing, InjectFailed, StackNotFound
from automation.project import (
    StackName,
    backend_url,
    ensure_file_backend,
    file_backend_problem,
    parse_stack_name,
    project_file,
    stack_file_path,
)
from secrets_bridge.catalog import PULUMI_PASSPHRASE_NAME

PASSPHRASE_NAME = PULUMI_PASSPHRASE_NAME
_PASSPHRASE_VARS = {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"}


@dataclass
class Target:
    """What the read-only part of preflight learned about the stack."""

    root: Path
    name: StackName
    project: str
    engine: Engine
    command: EngineCommand
    backend: str
    base_env: dict[str, str]      # engine first on PATH, backend URL; never a passphrase
    provider: str                 # passphrase | awskms://... | ...
    exists: bool
    stacks: list[str]

    def needs_passphrase(self, environ: Mapping[str, str] = os.environ) -> bool:
        return self.provider.startswith("passphrase") and not (_PASSPHRASE_VARS & environ.keys())


@functools.cache
def require_engine() -> Engine:
    """The engine, found, cached or built (once per process); its absence is one actionable line."""
    try:
        return ensure_engine(log=lambda msg: print(msg, file=sys.stderr))
    except EngineUnavailable as exc:
        first = str(exc).splitlines()[0]
        raise EngineMissing(f"{first} Run `python -m automation engine` to see what was tried and how to fix it") from None


def locate(root: Path, stack: str, environ: Mapping[str, str] = os.environ, *, secrets_provider: str | None = None) -> Target:
    """Engine, backend login and the stack's existence, without writing anything.

    `secrets_provider` (--secrets-provider) is the provider a stack created by this run gets.
    """
    return _locate(root, stack, environ, None, secrets_provider)[0]


def locate_with_config(root: Path, stack: str, store_env: str, environ: Mapping[str, str] = os.environ, *,
                       secrets_provider: str | None = None) -> tuple[Target, dict[str, str]]:
    """`locate`, and the existing stack's config ({} for a stack not created yet).

    When reading the config cannot prompt for a master key, it is read while the backend
    lists its stacks (one engine call's time saved on every command); its outcome, an error
    included, counts only once the stack is known to exist, so an unknown stack is still
    named before anything about keys. `secrets_provider` (--secrets-provider) is the provider
    a stack created by this run gets.
    """
    return _locate(root, stack, environ, store_env, secrets_provider)


def _locate(root: Path, stack: str, environ: Mapping[str, str], config_env: str | None,
            secrets_provider: str | None) -> tuple[Target, dict[str, str]]:
    engine = require_engine()
    url, is_default = backend_url(root, environ)
    project = str(project_file(root).get("name") or "project")
    name = parse_stack_name(stack, project=project, backend=url)
    problem = file_backend_problem(url)
    if problem:
        raise BackendUnreachable(problem)
    provider = backends.effective_provider(root, name.short, secrets_provider)
    backends.require(url, provider, environ)   # a missing variable or credential, named before the engine runs
    base_env = {**backends.QUIET_AWS, **engine_env(engine, dict(environ))}  # engine first on PATH, no update check, no plugin downloads
    if is_default:
        base_env["PULUMI_BACKEND_URL"] = url
    target = Target(root=root, name=name, project=project, engine=engine,
                    command=EngineCommand(engine.pulumi, engine.version), backend=url, base_env=base_env,
                    provider=provider, exists=False, stacks=[])
    # Not on PostgreSQL: each engine process creates the state table if it is missing, and two doing
    # so at once on a new database fail (CREATE TABLE IF NOT EXISTS races on pg_type).
    speculate = (config_env is not None and not _creates_its_table(url) and stack_file_path(root, name.short).exists()
                 and _no_prompt(target, config_env, environ))
    with ThreadPoolExecutor(max_workers=1) as pool:
        early = pool.submit(_config_of, target, config_env, environ) if speculate and config_env else None
        target.stacks = _list_stacks(target)
        target.exists = bool({name.full, name.short} & set(target.stacks)) or any(
            s.endswith("/" + name.short) for s in target.stacks if name.org)
        if not target.exists or config_env is None:
            return target, {}
        return target, early.result() if early is not None else _config_of(target, config_env, environ)


def _creates_its_table(url: str) -> bool:
    """A PostgreSQL state backend: every engine process creates its table when the database has none."""
    return url.startswith(("postgres://", "postgresql://"))


# Another process (an operator, a CI job) created the state table of a new database at the same moment.
_TABLE_RACE = re.compile(r"failed to create table .*(duplicate key|already exists)", re.I | re.S)


def _list_stacks(target: Target) -> list[str]:
    url = target.backend
    state = Path(url.removeprefix("file://")) if url.startswith("file://") else None
    if state is not None and not state.is_dir():   # a file backend not made yet has no stacks: nothing to ask
        return []
    result = target.command.run(["stack", "ls", "--json"], str(target.root), target.base_env, check=False)
    if result.code != 0 and _creates_its_table(url) and _TABLE_RACE.search(result.stderr):
        result = target.command.run(["stack", "ls", "--json"], str(target.root), target.base_env, check=False)
    if result.code != 0:
        raise BackendUnreachable(backends.explain_backend(result.stderr, url) or
                                 f"backend {backends.display_url(url)}: {engine_error_line(result.stderr)}: "
                                 "check PULUMI_BACKEND_URL and your login (`pulumi login`)")
    return sorted(str(entry.get("name", "")) for entry in json.loads(result.stdout or "[]"))


def _no_prompt(target: Target, store_env: str, environ: Mapping[str, str]) -> bool:
    """Whether reading the config can do without asking a person for the master key."""
    from secrets_bridge.store import store_path

    return (not target.needs_passphrase(environ) or not store_path(store_env).exists()
            or bool(environ.get("ORCHESTRA_MASTER_KEY") or environ.get("ORCHESTRA_MASTER_KEY_FILE")))


def require_stack(target: Target, create: bool) -> None:
    if not target.exists and not create:
        listed = ", ".join(target.stacks) or "none yet"
        raise StackNotFound(f"stack {target.name.full!r} does not exist (stacks: {listed}): pass --create to create it")


def stored_passphrase(store_env: str) -> str | None:
    """The passphrase kept in the local store, read only when the store file exists (no prompt, no file)."""
    from secrets_bridge.store import SecretStore, store_path

    if not store_path(store_env).exists():
        return None
    return SecretStore.open(store_env).get(PASSPHRASE_NAME)


@contextlib.contextmanager
def passphrase_file(passphrase: str | None) -> Iterator[dict[str, str]]:
    """Hand the passphrase to the CLI through a 0600 file that lives as long as the block, never argv."""
    if passphrase is None:
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="orchestra-pp-") as private:  # mkdtemp: 0700
        path = os.path.join(private, "passphrase")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(passphrase)
        yield {"PULUMI_CONFIG_PASSPHRASE_FILE": path}


def _parse_config(stdout: str) -> dict[str, str]:
    return {key: str(entry.get("value", "")) for key, entry in json.loads(stdout or "{}").items()}


def read_config(target: Target, store_env: str, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """An existing stack's config, decrypted in memory; {} for a stack not created yet."""
    return _config_of(target, store_env, environ) if target.exists else {}


def _config_of(target: Target, store_env: str, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The stack's config, decrypted in memory only (the stack must exist)."""
    passphrase = stored_passphrase(store_env) if target.needs_passphrase(environ) else None
    with passphrase_file(passphrase) as secret_env:
        result = target.command.run(["config", "--show-secrets", "--json", "--stack", target.name.full],
                                    str(target.root), {**target.base_env, **secret_env}, check=False)
    if result.code != 0:
        unusable = backends.explain_provider(result.stderr, target.provider)
        if unusable:   # wrong key or token: the first command that decrypts, exit 32
            raise BackendUnreachable(f"stack {target.name.full}: {unusable}")
        fix = ("set PULUMI_CONFIG_PASSPHRASE (CI) or keep it in the store: `python -m secrets_bridge set "
               f"{PASSPHRASE_NAME} --env {store_env}`") if "passphrase" in result.stderr.lower() else "check the stack file"
        raise InjectFailed(f"reading the config of stack {target.name.full} failed: {engine_error_line(result.stderr)}: {fix}")
    return _parse_config(result.stdout)


def _outputs(stdout: str) -> OutputMap:
    return {key: OutputValue(value=value, secret=value == "[secret]") for key, value in json.loads(stdout or "{}").items()}


def read_outputs(target: Target, store_env: str, environ: Mapping[str, str] = os.environ) -> OutputMap:
    """An existing stack's outputs, secret ones left as "[secret]" (no --show-secrets)."""
    passphrase = stored_passphrase(store_env) if target.needs_passphrase(environ) else None
    with passphrase_file(passphrase) as secret_env:
        result = target.command.run(["stack", "output", "--json", "--stack", target.name.full],
                                    str(target.root), {**target.base_env, **secret_env}, check=False)
    if result.code != 0:
        raise BackendUnreachable(f"reading the outputs of stack {target.name.full} failed: {engine_error_line(result.stderr)}")
    return _outputs(result.stdout)


class DriverWorkspace(LocalWorkspace):
    """LocalWorkspace that skips `pulumi stack select` for a stack `locate` already found (every
    command carries --stack, so the selection file is never needed), and reads outputs in one
    call without --show-secrets: secret outputs stay "[secret]", which is all the driver shows."""

    known_stack: str | None = None

    def select_stack(self, stack_name: str) -> None:
        if stack_name != self.known_stack:
            super().select_stack(stack_name)

    def stack_outputs(self, stack_name: str) -> OutputMap:
        return _outputs(self._run_pulumi_cmd_sync(["stack", "output", "--json", "--stack", stack_name]).stdout)


@dataclass
class StackSession:
    """An open stack plus what every engine call needs; the stack config is read once per command."""

    root: Path
    name: str
    short: str
    project: str
    stack: Stack
    cli_env: dict[str, str]
    command: EngineCommand
    engine_version: str
    backend: str
    applied: bool = False          # set once an operation that changes state has started
    secrets_provider: str = backends.PASSPHRASE
    _config: dict[str, str] | None = field(default=None, repr=False)

    def cli(self, args: list[str], *, stdin: str | None = None) -> CommandResult:
        """A direct engine call on this stack (values go on stdin, never argv); failures are returned."""
        return self.command.run([*args, "--stack", self.name], str(self.root), self.cli_env, stdin=stdin, check=False)

    def config(self) -> dict[str, str]:
        """The stack's config, decrypted, in memory only: read at most once per command."""
        if self._config is None:
            proc = self.cli(["config", "--show-secrets", "--json"])
            if proc.code != 0:
                unusable = backends.explain_provider(proc.stderr, self.secrets_provider)
                if unusable:
                    raise BackendUnreachable(f"stack {self.name}: {unusable}")
                raise InjectFailed(f"reading the config of stack {self.name} failed: {engine_error_line(proc.stderr)}")
            self._config = _parse_config(proc.stdout)
        return dict(self._config)

    def config_changed(self, key: str, value: str) -> None:
        """Keep the one read current after the driver set a value itself."""
        if self._config is not None:
            self._config[key] = value


@contextlib.contextmanager
def open_stack(target: Target, *, store_env: str, create: bool = False, config: Mapping[str, str] | None = None,
               environ: Mapping[str, str] = os.environ) -> Iterator[StackSession]:
    """Select (or with `create`, create) the stack; from here on the run may write.

    A run that fails before the engine applied anything leaves what it found: the
    stack it created is removed, a passphrase it generated is dropped from the store,
    and the stack file gets its old bytes back (or is removed if it did not exist).
    """
    require_stack(target, create)
    stack_path = stack_file_path(target.root, target.name.short)
    before = stack_path.read_bytes() if stack_path.exists() else None
    ensure_file_backend(target.backend)
    passphrase, generated = None, False
    if target.needs_passphrase(environ):
        passphrase = stored_passphrase(store_env)
        if passphrase is None:
            if target.exists and before is not None and b"encryptionsalt" in before:
                raise InjectFailed(f"stack {target.name.full} is encrypted with a passphrase that is neither in "
                                   f"PULUMI_CONFIG_PASSPHRASE(_FILE) nor in the {store_env} store: set it there")
            from secrets_bridge.store import SecretStore

            passphrase, generated = secrets.token_urlsafe(32), True
            SecretStore.open(store_env).set(PASSPHRASE_NAME, passphrase)
    created = False
    session: StackSession | None = None
    with passphrase_file(passphrase) as secret_env:
        cli_env = {**target.base_env, **secret_env}
        workspace = DriverWorkspace(work_dir=str(target.root), env_vars=cli_env, secrets_provider=target.provider,
                                    pulumi_command=target.command)
        try:
            if target.exists:
                workspace.known_stack = target.name.full
                stack = Stack.select(target.name.full, workspace)
            else:
                try:
                    stack = Stack.create(target.name.full, workspace)
                except CommandError as err:   # e.g. a KMS key that does not exist: exit 32 naming it
                    line = backends.explain(str(err), target.backend, target.provider)
                    if line:
                        raise BackendUnreachable(f"creating stack {target.name.full}: {line}") from None
                    raise
                created = True
            session = StackSession(root=target.root, name=target.name.full, short=target.name.short,
                                   project=target.project, stack=stack, cli_env=cli_env, command=target.command,
                                   engine_version=target.engine.version, backend=target.backend,
                                   secrets_provider=target.provider, _config=dict(config) if config is not None and target.exists else None)
            yield session
        except BaseException:
            if session is None or not session.applied:
                _undo(target, cli_env, created=created, before=before, stack_path=stack_path,
                      dropped=store_env if generated else None)
            raise


def _undo(target: Target, cli_env: dict[str, str], *, created: bool, before: bytes | None, stack_path: Path,
          dropped: str | None) -> None:
    if created:
        with contextlib.suppress(CommandError):
            target.command.run(["stack", "rm", "--yes", "--stack", target.name.full], str(target.root), cli_env, check=False)
    if before is None:
        stack_path.unlink(missing_ok=True)
    elif not stack_path.exists() or stack_path.read_bytes() != before:
        stack_path.write_bytes(before)
    if dropped is not None:
        from secrets_bridge.store import SecretStore, store_path

        store = SecretStore.open(dropped)
        store.delete(PASSPHRASE_NAME)
        if not store.names():            # the store was made for the passphrase alone: no store at all
            store_path(dropped).unlink(missing_ok=True)
