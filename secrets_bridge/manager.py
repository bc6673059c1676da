"""The Python API: one object for a project's keys in one environment.

    from secrets_bridge import SecretManager
    keys = SecretManager("production")
    keys.get("GITHUB_TOKEN")            # Resolution: .value, .source, .shadowed, .masked
    keys.set("DATABASE_URL", url)       # encrypted, format-checked; any env-var name
    keys.list(), keys.explain(name), keys.delete(name), keys.verify()

The CLI is a thin layer over this class, so both answer the same way. A store file
that exists must open (a bad master-key source raises MasterKeyUnusable, naming the
variable and why), never pass for "keys missing". The old system's calls
(`get_secret`, `set_local_secret`, `test_api_connections`) remain as deprecated
aliases, and `EnhancedSecretManager` is this class under its old name.
"""

from __future__ import annotations

import builtins
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from secrets_bridge.catalog import CATALOG, PULUMI_PASSPHRASE_NAME, KeySpec, spec_for
from secrets_bridge.errors import InvalidValue
from secrets_bridge.formats import FormatVerdict, check_format
from secrets_bridge.masking import fingerprint
from secrets_bridge.project import declared_keys, project_root
from secrets_bridge.resolver import Resolution, Step, build_chain, resolve_specs, trace
from secrets_bridge.sources import Source, StoreSource
from secrets_bridge.store import ENV_DIR, SecretStore, resolve_env, store_envs
from secrets_bridge.verify import CheckResult

__all__ = ["EnhancedSecretManager", "Explanation", "KeyInfo", "SecretManager"]


@dataclass(frozen=True)
class KeyInfo:
    """One row of `list`: where a key stands, never its value."""

    name: str
    kind: str                 # catalog | declared | custom | pulumi
    purpose: str
    present: bool
    source: str | None
    masked: str
    fingerprint: str | None
    format: FormatVerdict | None
    age_days: int | None
    shadowed: tuple[str, ...]
    notes: tuple[str, ...] = ()   # sources that could not be read, e.g. a missing pulumi CLI


@dataclass(frozen=True)
class Explanation:
    spec: KeySpec
    steps: tuple[Step, ...]

    @property
    def winner(self) -> Step | None:
        return next((step for step in self.steps if step.hit), None)


class SecretManager:
    """Keys of one environment (default: ORCHESTRA_ENV, else production) through the chain.

    `stack` adds that Pulumi stack's config to the chain; `master_key` opens the store
    instead of ORCHESTRA_MASTER_KEY(_FILE); `interactive` lets it be asked on a terminal.
    """

    def __init__(self, env: str | None = None, *, stack: str | None = None, master_key: str | None = None,
                 root: Path | None = None, interactive: bool = False,
                 environ: Mapping[str, str] | None = None) -> None:
        self.env = resolve_env(env)
        self.stack = stack
        self.root = Path(root).resolve() if root is not None else project_root()
        # ORCHESTRA_SECRETS_DIR wins, as everywhere; else the store sits at the project root.
        self._store_dir = Path(os.environ[ENV_DIR]).expanduser() if os.environ.get(ENV_DIR) else self.root
        self._master_key = master_key
        self._interactive = interactive
        self._environ = environ
        self._written: list[SecretStore] = []

    def __repr__(self) -> str:
        return f"SecretManager(env={self.env!r}, root='{self.root}')"

    # -- the chain ------------------------------------------------------------------------

    def _chain(self) -> list[Source]:
        # One store source for the manager's life: the master key is asked at most once.
        self._store_source.refresh()
        return build_chain(self.env, stack=self.stack, environ=self._environ, root=self.root,
                           store_source=self._store_source)

    def spec(self, name: str) -> KeySpec:
        """The spec of `name`; InvalidValue (without the name) if it is no env-var name."""
        try:
            return spec_for(name, declared_keys(self.root))
        except ValueError as exc:
            raise InvalidValue(str(exc)) from None

    def names(self) -> list[str]:
        """Catalog keys, then declared ones, then the other names the store holds."""
        names = [spec.name for spec in CATALOG] + [spec.name for spec in declared_keys(self.root)]
        store = self.store
        return names + sorted(set(store.names() if store else ()) - set(names))

    def get(self, name: str) -> Resolution:
        """`name`'s value by the chain with its provenance; `.value` is None when set nowhere."""
        return self.resolve([name])[self.spec(name).name]

    def resolve(self, names: Iterable[str] | None = None) -> dict[str, Resolution]:
        """Several keys in one pass over the chain (None: every known name)."""
        specs = [self.spec(name) for name in (self.names() if names is None else names)]
        return resolve_specs(specs, self._chain())

    def explain(self, name: str) -> Explanation:
        return Explanation(self.spec(name), tuple(trace(self.spec(name), self._chain())))

    def list(self) -> list[KeyInfo]:
        rows = []
        for name, res in self.resolve().items():
            spec = self.spec(name)
            verdict = check_format(spec, res.value) if res.value is not None else None
            age = (datetime.now(UTC) - res.updated_at).days if res.updated_at else None
            rows.append(KeyInfo(name, spec.kind, spec.purpose, res.value is not None, res.source, res.masked,
                                fingerprint(res.value) if res.value is not None else None, verdict, age,
                                res.shadowed, res.notes))
        return rows

    # -- the store ------------------------------------------------------------------------

    @cached_property
    def _store_source(self) -> StoreSource:
        return StoreSource(self.env, master_key=self._master_key, strict=True, interactive=self._interactive,
                           directory=self._store_dir)

    @property
    def store(self) -> SecretStore | None:
        """The opened store, None when its file does not exist yet."""
        return self._store_source.store

    def writable_store(self) -> SecretStore:
        """The store to write to (created on the first write); its commits count in `commits`."""
        store = self.store
        if store is None:
            store = SecretStore.open(self.env, master_key=self._master_key, interactive=self._interactive,
                                     directory=self._store_dir)
            self._store_source.adopt(store)
        self._written.append(store)
        return store

    @property
    def commits(self) -> int:
        """Store files this manager has written: after Ctrl-C, whether anything changed."""
        return sum(store.commits for store in set(self._written))

    def check(self, name: str, value: str) -> FormatVerdict:
        """The format verdict; InvalidValue (never echoing the value) when it is an error."""
        spec = self.spec(name)
        if not isinstance(value, str):
            raise InvalidValue(f"the value of {spec.name} must be a str, not {type(value).__name__}")
        verdict = check_format(spec, value)
        if verdict.status == "error":
            raise InvalidValue(f"{spec.name}: {verdict.message}; nothing was stored")
        return verdict

    def set(self, name: str, value: str) -> FormatVerdict:
        """Store `value` encrypted under the canonical name; returns the verdict (ok or warn)."""
        return self.set_many({name: value})[self.spec(name).name]

    def set_many(self, values: Mapping[str, str]) -> dict[str, FormatVerdict]:
        """All or nothing: every value is checked before one write."""
        verdicts = {self.spec(name).name: self.check(name, value) for name, value in values.items()}
        self.writable_store().set_many({self.spec(name).name: value for name, value in values.items()})
        return verdicts

    def delete(self, name: str) -> bool:
        """Remove `name` from the store (other sources are not touched); False if it was not there."""
        return self.store is not None and self.writable_store().delete(self.spec(name).name)

    # -- live checks ----------------------------------------------------------------------

    def verify(self, names: Iterable[str] | None = None, *, timeout: float = 10.0) -> builtins.list[CheckResult]:
        """The live checks of the catalog keys (or `names`), as CheckResult objects."""
        from secrets_bridge.verify import ApiUrls, verify_all_sync

        resolved = self.resolve([spec.name for spec in CATALOG] if names is None else names)
        return verify_all_sync({name: r.value for name, r in resolved.items()}, urls=ApiUrls.from_env(),
                               timeout=timeout)

    # -- environments ---------------------------------------------------------------------

    def shared_across_envs(self) -> dict[str, builtins.list[str]]:
        """Fingerprints stored under the same name in more than one environment: name -> envs.
        Environments this master key cannot open are left out."""
        seen: dict[tuple[str, str], builtins.list[str]] = {}
        for env in store_envs(self._store_dir):
            other = SecretManager(env, master_key=self._master_key, root=self.root, environ=self._environ)
            try:
                store = other.store
            except Exception:  # noqa: BLE001 - another environment may have another key; skip it
                continue
            for name in store.names() if store else ():
                value = store.get(name) if store and name != PULUMI_PASSPHRASE_NAME else None
                if value:
                    seen.setdefault((name, fingerprint(value)), []).append(env)
        return {name: envs for (name, _), envs in sorted(seen.items()) if len(envs) > 1}

    # -- the old system's names -------------------------------------------------------------

    def get_secret(self, name: str) -> str | None:
        """Deprecated: use `get(name).value`."""
        _deprecated("get_secret(name)", "get(name).value")
        return self.get(name).value

    def set_local_secret(self, name: str, value: str) -> bool:
        """Deprecated: use `set(name, value)`."""
        _deprecated("set_local_secret(name, value)", "set(name, value)")
        self.set(name, value)
        return True

    def test_api_connections(self) -> dict[str, bool]:
        """Deprecated: use `verify()`, which returns the result objects."""
        _deprecated("test_api_connections()", "verify()")
        return {result.name: result.verdict == "valid" for result in self.verify()}


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated; use {new} (see the README's migration section)",
                  DeprecationWarning, stacklevel=3)


EnhancedSecretManager = SecretManager
