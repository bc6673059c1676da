"""Where a key's value can come from: one small class per place.

Each source answers `lookup(spec) -> Hit | None` ("not there" is a normal
answer, never an exception) and `describe()` says where it reads from. A
source that cannot be read (no pulumi CLI, a locked store, malformed CI JSON)
records a line in `notes` and answers None, so the chain goes on. Sources load
lazily and at most once, so one resolution pass costs one `pulumi config` run.
Empty strings count as missing everywhere: an exported-but-empty variable
must not hide a real value further down.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Protocol

from dotenv import dotenv_values

from secrets_bridge.catalog import KeySpec
from secrets_bridge.errors import MasterKeyMissing, MasterKeyUnusable
from secrets_bridge.masterkey import load_master_key
from secrets_bridge.store import SecretStore, store_path

CI_SECRETS_VAR = "ORCHESTRA_CI_SECRETS"
PULUMI_PROJECT = "orchestra"
_PULUMI_TIMEOUT_S = 120


@dataclass(frozen=True)
class Hit:
    value: str = field(repr=False)
    label: str                              # e.g. "env:GH_TOKEN", shown to people
    updated_at: datetime | None = None      # when the source knows it (the store does)


class Source(Protocol):
    notes: list[str]

    def lookup(self, spec: KeySpec) -> Hit | None: ...

    def describe(self) -> str: ...


def _first_present(values: Mapping[str, str | None], names: tuple[str, ...]) -> tuple[str, str] | None:
    for name in names:
        value = values.get(name)
        if value:
            return name, value
    return None


class EnvSource:
    """The process environment, canonical name first, then the aliases."""

    def __init__(self, environ: Mapping[str, str]):
        self._environ = environ
        self.notes: list[str] = []

    def lookup(self, spec: KeySpec) -> Hit | None:
        found = _first_present(self._environ, spec.env_names)
        return Hit(found[1], f"env:{found[0]}") if found else None

    def describe(self) -> str:
        return "process environment"

    def __repr__(self) -> str:
        return "EnvSource()"


class DotenvSource:
    """One dotenv file, read without interpolation (a `$` in a key is literal)."""

    def __init__(self, path: Path):
        self.path = path
        self.notes: list[str] = []

    @cached_property
    def _values(self) -> Mapping[str, str | None]:
        if not self.path.is_file():
            return {}
        try:
            return dotenv_values(self.path, interpolate=False, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            self.notes.append(f"dotenv: cannot read {self.path.name}: {reason}")
            return {}

    def lookup(self, spec: KeySpec) -> Hit | None:
        found = _first_present(self._values, spec.env_names)
        return Hit(found[1], f"dotenv:{self.path.name}") if found else None

    def describe(self) -> str:
        return f"dotenv file {self.path}"

    def __repr__(self) -> str:
        return f"DotenvSource({str(self.path)!r})"


def dotenv_sources(root: Path, env: str) -> list[DotenvSource]:
    """`.env.<env>`, `.env.local`, `.env`, most specific first."""
    return [DotenvSource(root / name) for name in (f".env.{env}", ".env.local", ".env")]


class CiSecretsSource:
    """All CI secrets as one JSON object, e.g. `ORCHESTRA_CI_SECRETS: ${{ toJSON(secrets) }}`."""

    def __init__(self, environ: Mapping[str, str]):
        self._raw = environ.get(CI_SECRETS_VAR, "")
        self.notes: list[str] = []

    @cached_property
    def _values(self) -> Mapping[str, str]:
        if not self._raw:
            return {}
        try:
            data = json.loads(self._raw)
        except json.JSONDecodeError as exc:
            # exc.msg and the position only: the document itself is full of secrets.
            self.notes.append(f"ci-secrets: {CI_SECRETS_VAR} is not valid JSON "
                              f"({exc.msg} at line {exc.lineno} column {exc.colno}); ignored")
            return {}
        if not isinstance(data, dict):
            self.notes.append(f"ci-secrets: {CI_SECRETS_VAR} is JSON but not an object; ignored")
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str)}

    def lookup(self, spec: KeySpec) -> Hit | None:
        found = _first_present(self._values, spec.env_names)
        if not found:
            return None
        label = "ci-secrets" if found[0] == spec.name else f"ci-secrets:{found[0]}"
        return Hit(found[1], label)

    def describe(self) -> str:
        return f"CI secrets JSON in ${CI_SECRETS_VAR}"

    def __repr__(self) -> str:
        return "CiSecretsSource()"


class MappingSource:
    """Values someone already read, by catalog name (the driver's copy of the stack config)."""

    def __init__(self, values: Mapping[str, str], label: str, description: str):
        self._values = values
        self._label = label
        self._description = description
        self.notes: list[str] = []

    def lookup(self, spec: KeySpec) -> Hit | None:
        value = self._values.get(spec.name)
        return Hit(value, self._label) if value else None

    def describe(self) -> str:
        return self._description

    def __repr__(self) -> str:
        return f"MappingSource({self._label!r})"


class StackConfigSource:
    """The stack's config as the Pulumi CLI decrypts it: `orchestra:<config_key>`.

    The CLI runs in the project root so it finds Pulumi.yaml and the stack's
    settings; the decrypted JSON comes back on a pipe, never through argv.
    """

    def __init__(self, stack: str, root: Path, environ: Mapping[str, str]):
        self.stack = stack
        self._root = root
        self._environ = environ
        self.notes: list[str] = []

    @cached_property
    def _values(self) -> Mapping[str, str]:
        pulumi = shutil.which("pulumi", path=self._environ.get("PATH"))
        if pulumi is None:
            self.notes.append("stack config: pulumi CLI not found")
            return {}
        env = {**self._environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
        try:
            done = subprocess.run(
                [pulumi, "config", "--show-secrets", "--json", "--stack", self.stack, "--non-interactive"],
                cwd=self._root, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=_PULUMI_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.notes.append(f"stack config: pulumi config did not answer within {_PULUMI_TIMEOUT_S} s")
            return {}
        if done.returncode != 0:
            self.notes.append(self._failure_note(done.stderr))
            return {}
        try:
            data = json.loads(done.stdout)
        except json.JSONDecodeError:
            self.notes.append("stack config: pulumi config printed something other than JSON")
            return {}
        return {key: entry["value"] for key, entry in data.items()
                if isinstance(entry, dict) and isinstance(entry.get("value"), str)}

    def _failure_note(self, stderr: str) -> str:
        if "no stack named" in stderr:
            return f"stack config: stack {self.stack} not found"
        last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "no message")
        return f"stack config: pulumi config failed: {last[:200]}"

    def lookup(self, spec: KeySpec) -> Hit | None:
        value = self._values.get(f"{PULUMI_PROJECT}:{spec.config_key}")
        return Hit(value, f"stack-config:{self.stack}") if value else None

    def describe(self) -> str:
        return f"config of Pulumi stack {self.stack} (pulumi config, in {self._root})"

    def __repr__(self) -> str:
        return f"StackConfigSource({self.stack!r})"


class StoreSource:
    """The local encrypted store. A missing file is a note. No master key at all is a note too,
    unless `strict` (the CLI and the manager: a store that exists must open); a master-key
    source that is set but unusable, a wrong key or a tampered file always raise, because a
    person must act on them. `interactive` lets the master key be asked on a terminal."""

    def __init__(self, env: str, *, master_key: str | None, allow_insecure_permissions: bool = False,
                 strict: bool = False, interactive: bool = False, directory: Path | None = None):
        self.path = store_path(env, directory)
        self._directory = directory
        self._env = env
        self._master_key = master_key
        self._allow_insecure = allow_insecure_permissions
        self._strict = strict
        self._interactive = interactive
        self.notes: list[str] = []

    @cached_property
    def store(self) -> SecretStore | None:
        if not self.path.exists():
            self.notes.append(f"store: no file {self.path.name} yet")
            return None
        try:
            self._master_key = key = self._master_key or load_master_key(interactive=self._interactive)
        except MasterKeyUnusable:
            raise
        except MasterKeyMissing as exc:
            if self._strict:
                raise MasterKeyMissing(f"{self.path.name} exists but cannot be opened: {exc}") from None
            self.notes.append("store locked: set ORCHESTRA_MASTER_KEY")
            return None
        return SecretStore.open(self._env, master_key=key, directory=self._directory,
                                allow_insecure_permissions=self._allow_insecure)

    def refresh(self) -> None:
        """See the file as it is now (another process may have written or created it);
        the master key is not asked again."""
        store = self.__dict__.get("store")
        if store is not None:
            store.reload()
        elif self.path.exists():
            self.__dict__.pop("store", None)
            self.notes.clear()

    def adopt(self, store: SecretStore) -> None:
        """Use `store` (just created by a write) from now on."""
        self.__dict__["store"] = store
        self.notes.clear()

    def lookup(self, spec: KeySpec) -> Hit | None:
        store = self.store
        value = store.get(spec.name) if store else None
        if not value or store is None:
            return None
        meta = store.meta(spec.name)
        return Hit(value, f"store:{self.path.name}", meta.rotated_at if meta else None)

    def describe(self) -> str:
        return f"encrypted store {self.path}"

    def __repr__(self) -> str:
        return f"StoreSource({str(self.path)!r})"


class DefaultSource:
    """Catalog defaults, for non-secret settings only."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def lookup(self, spec: KeySpec) -> Hit | None:
        if spec.secret or not spec.default:
            return None
        return Hit(spec.default, "default")

    def describe(self) -> str:
        return "catalog defaults (non-secret settings only)"

    def __repr__(self) -> str:
        return "DefaultSource()"
