"""The stack the driver works on: engine, state backend, secrets provider, select/create.

The Automation API runs the project's own program (work_dir = project root, never
inline) so `pulumi preview` by hand executes exactly what the driver deploys. The
YAML files are only read here, never rewritten through project/stack settings.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from pulumi.automation import (
    CommandError,
    ConcurrentUpdateError,
    LocalWorkspace,
    PulumiCommand,
    Stack,
    StackNotFoundError,
)
from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import create_command_error
from semver import VersionInfo

from automation.engine import Engine, EngineUnavailable, engine_env, ensure_engine
from automation.errors import BackendUnreachable, ConfigInvalid, EngineMissing, StackLocked, StackNotFound
from secrets_bridge.catalog import CATALOG, PULUMI_PASSPHRASE_NAME, KeySpec

PASSPHRASE_NAME = PULUMI_PASSPHRASE_NAME
STATE_DIR = ".pulumi-state"
# Components a stack enables unless its config says otherwise (infra/config.py defaults).
_COMPONENT_FLAGS = {"lambda": "enable_lambda", "github": "enable_github", "vercel": "enable_vercel"}


def project_root(start: Path | None = None) -> Path:
    """The nearest directory holding Pulumi.yaml, from `start` (cwd) upwards."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    raise ConfigInvalid(f"no Pulumi.yaml in {here} or above: run from the project directory")


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigInvalid(f"{path.name} is not valid YAML ({exc.__class__.__name__}): fix the file") from None


def project_file(root: Path) -> dict:
    return _read_yaml(root / "Pulumi.yaml")


def stack_file(root: Path, stack: str) -> dict:
    return _read_yaml(root / f"Pulumi.{stack}.yaml")


def _flag(value: object) -> bool:
    return str(value).strip().lower() in {"true", "1", "yes"}


def enabled_components(root: Path, stack: str) -> set[str]:
    """Components the stack deploys: stack file value, else Pulumi.yaml's default, else on."""
    project_cfg = project_file(root).get("config") or {}
    stack_cfg = stack_file(root, stack).get("config") or {}
    enabled = {"app"}
    for component, flag in _COMPONENT_FLAGS.items():
        key = f"orchestra:{flag}"
        if key in stack_cfg:
            value = stack_cfg[key]
        else:
            default = project_cfg.get(key, project_cfg.get(flag, True))
            value = default.get("default", True) if isinstance(default, dict) else default
        if _flag(value):
            enabled.add(component)
    return enabled


def required_specs(root: Path, stack: str) -> list[KeySpec]:
    """The catalog keys the stack's enabled components need, in catalog order."""
    enabled = enabled_components(root, stack)
    return [spec for spec in CATALOG if spec.secret and enabled.intersection(spec.components)]


def backend_url(root: Path, environ: Mapping[str, str] = os.environ) -> tuple[str, bool]:
    """(url, is_default): PULUMI_BACKEND_URL › Pulumi.yaml backend.url › file backend in the project."""
    if environ.get("PULUMI_BACKEND_URL"):
        return environ["PULUMI_BACKEND_URL"], False
    configured = (project_file(root).get("backend") or {}).get("url")
    if configured:
        return str(configured), False
    return (root / STATE_DIR).as_uri(), True


def check_backend(url: str) -> None:
    """File backends must be creatable and writable; others are checked by the engine itself."""
    if not url.startswith("file://"):
        return
    path = Path(url.removeprefix("file://")).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackendUnreachable(f"state directory {path} cannot be created ({exc.strerror}): fix its permissions or set PULUMI_BACKEND_URL") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise BackendUnreachable(f"state directory {path} is not writable: fix its permissions or set PULUMI_BACKEND_URL")


def stack_secrets_provider(root: Path, stack: str) -> str:
    """The stack's own secretsprovider (awskms://, ...) or `passphrase`."""
    return str(stack_file(root, stack).get("secretsprovider") or "passphrase")


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

    def run(self, args, cwd, additional_env, on_output=None, on_error=None) -> CommandResult:
        if "--non-interactive" not in args:
            args.insert(0, "--non-interactive")
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        env["PATH"] = os.pathsep.join([os.path.dirname(self.command), env.get("PATH", "")])
        chunks: dict[str, list[str]] = {"out": [], "err": []}
        proc = subprocess.Popen([self.command, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, encoding="utf-8",
                                process_group=0)

        def pump(stream, sink, callback):
            for line in stream:
                line = line.rstrip("\n")
                sink.append(line)
                if callback:
                    callback(line)

        pumps = [threading.Thread(target=pump, args=(proc.stdout, chunks["out"], on_output), daemon=True),
                 threading.Thread(target=pump, args=(proc.stderr, chunks["err"], on_error), daemon=True)]
        for thread in pumps:
            thread.start()
        interrupted = False
        while True:
            try:
                proc.wait()
                break
            except KeyboardInterrupt:
                interrupted = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
        for thread in pumps:
            thread.join()
        if interrupted:
            raise KeyboardInterrupt
        result = CommandResult(stdout="\n".join(chunks["out"]), stderr="\n".join(chunks["err"]), code=proc.returncode)
        if proc.returncode != 0:
            raise create_command_error(result)
        return result


@dataclass
class StackSession:
    """An open stack plus what every engine call needs (the CLI's extra environment)."""

    root: Path
    name: str
    stack: Stack
    cli_env: dict[str, str]
    pulumi: str
    engine_version: str
    backend: str

    def cli(self, args: list[str], *, stdin: str | None = None) -> subprocess.CompletedProcess:
        """Run the engine CLI directly (values go on stdin, never argv); output captured."""
        return subprocess.run([self.pulumi, "--non-interactive", *args, "--stack", self.name],
                              cwd=self.root, env={**os.environ, **self.cli_env}, input=stdin,
                              capture_output=True, text=True, check=False)


def engine_error_line(err: CommandError | str) -> str:
    """The engine's own `error:` line, without Go stack traces or the command dump."""
    text = err if isinstance(err, str) else str(err)
    lines = [ln.strip() for ln in text.splitlines()]
    errors = [ln.removeprefix("error:").strip() for ln in lines if ln.startswith("error:")]
    return errors[-1] if errors else next((ln for ln in reversed(lines) if ln), "no output")


def lock_message(err: CommandError, stack: str, backend: str) -> str:
    holder = next((ln.strip() for ln in str(err).splitlines() if "created by" in ln), "another update")
    if backend.startswith("file://"):
        locks = Path(backend.removeprefix("file://")) / ".pulumi" / "locks"
        fix = f"wait for it, or if that process is gone delete its lock file under {locks}"
    else:
        fix = f"wait for it, or if that process is gone run `pulumi cancel --stack {stack}`"
    return f"stack {stack} is locked by {holder}: {fix}"


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
    check_backend(url)
    provider = stack_secrets_provider(root, stack_name)
    base_env = engine_env(engine, dict(environ))  # engine first on PATH, no update check, no plugin downloads
    if is_default:
        base_env["PULUMI_BACKEND_URL"] = url
    pulumi = str(engine.pulumi)
    with passphrase_env(provider, store_env, environ) as secret_env:
        cli_env = {**base_env, **secret_env}
        workspace = LocalWorkspace(work_dir=str(root), env_vars=cli_env, secrets_provider=provider,
                                   pulumi_command=EngineCommand(Path(pulumi), engine.version))
        from automation.plugins import prepare  # in place before the stack is created or changed

        def plugins() -> None:
            prepare(engine, enabled_components(root, stack_name), base_env, log=lambda msg: print(msg, file=sys.stderr))

        try:
            stack = Stack.select(stack_name, workspace)
            plugins()
        except StackNotFoundError:
            if not create:
                listed = ", ".join(known_stacks(workspace)) or "none yet"
                raise StackNotFound(f"stack {stack_name!r} does not exist (stacks: {listed}): pass --create to create it") from None
            plugins()
            try:
                stack = Stack.create(stack_name, workspace)
            except CommandError as err:
                raise _translate_select(err, stack_name, url) from None
        except CommandError as err:
            raise _translate_select(err, stack_name, url) from None
        yield StackSession(root=root, name=stack_name, stack=stack, cli_env=cli_env, pulumi=pulumi,
                           engine_version=engine.version, backend=url)


_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def valid_stack_name(name: str) -> str:
    if not _STACK_NAME.match(name):
        raise ConfigInvalid(f"stack name {name!r} may only use letters, digits, '-', '_' and '.'")
    return name
