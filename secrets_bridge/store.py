"""The encrypted secret store: one file per environment, `.secrets.<env>.json`.

Reads need no lock: writers replace the file atomically, so a reader sees the old or the new file.
Every write is a read-modify-write under an flock on the sidecar `.secrets.<env>.json.lock`
(files.file_lock): the file is read again, changed and replaced by files.write_private (0600
from the first byte, fsynced, renamed, directory fsynced). Concurrent writers lose nothing; a
crash leaves the old or the new file, and the next writer removes the stale temp file.

The format and its cryptography are in store_format; where the master key comes from, masterkey.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from secrets_bridge.errors import (
    InvalidValue,
    MasterKeyMissing,
    StoreLocked,
    StorePermissionsTooBroad,
    StoreUnreadable,
    WrongMasterKey,
)
from secrets_bridge.files import LockTimeout, file_lock, remove_stale_temps, write_private
from secrets_bridge.masterkey import load_master_key
from secrets_bridge.store_format import (
    DEFAULT_KDF,
    Document,
    Entry,
    KdfParams,
    StoreKeys,
    decrypt_value,
    derive_keys,
    encrypt_value,
    new_salt,
    parse,
    parse_timestamp,
    serialize,
    verify,
)

ENV_ENV = "ORCHESTRA_ENV"
ENV_DIR = "ORCHESTRA_SECRETS_DIR"
ENV_ALLOW_INSECURE = "ORCHESTRA_ALLOW_INSECURE_STORE"
DEFAULT_ENV = "production"
_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def resolve_env(env: str | None) -> str:
    """--env, else ORCHESTRA_ENV, else production."""
    chosen = env if env is not None else (os.environ.get(ENV_ENV) or DEFAULT_ENV)
    _check_env(chosen)
    return chosen


def store_path(env: str, directory: Path | None = None) -> Path:
    """<dir>/.secrets.<env>.json; dir = `directory`, else ORCHESTRA_SECRETS_DIR, else the cwd."""
    _check_env(env)
    base = directory if directory is not None else os.environ.get(ENV_DIR)
    root = Path(base).expanduser() if base else Path.cwd()
    return root / f".secrets.{env}.json"


@dataclass(frozen=True)
class EntryMeta:
    created_at: datetime
    rotated_at: datetime


class SecretStore:
    """One environment's secrets. Use `SecretStore.open`; `repr` shows where, never what."""

    def __init__(self, path: Path, env: str, *, master_key: str | None, insecure_ok: bool,
                 kdf: KdfParams, lock_timeout: float) -> None:
        self.path = path
        self.env = env
        # Held only until keys are derived from it; None with no file means "load when writing".
        self._master_key = master_key
        self._insecure_ok = insecure_ok
        self._new_kdf = kdf
        self._lock_timeout = lock_timeout
        self._keys: StoreKeys | None = None
        self._doc: Document | None = None

    @classmethod
    def open(cls, env: str, *, master_key: str | None = None, directory: Path | None = None,
             allow_insecure_permissions: bool = False, kdf: KdfParams | None = None,
             lock_timeout: float = 10.0) -> SecretStore:
        """Open (and verify) the store of `env`. master_key None -> load_master_key(), but only
        once the file exists or a write needs it. `kdf` sets the parameters of a file this store
        creates or re-keys (default: OWASP scrypt); existing files keep theirs until rotation."""
        if master_key == "":
            raise MasterKeyMissing("the master key given is empty")
        store = cls(
            store_path(env, directory),
            env,
            master_key=master_key,
            insecure_ok=allow_insecure_permissions or os.environ.get(ENV_ALLOW_INSECURE) == "1",
            kdf=kdf or DEFAULT_KDF,
            lock_timeout=lock_timeout,
        )
        store._doc = store._load()
        return store

    def __repr__(self) -> str:
        return f"SecretStore(env={self.env!r}, path='{self.path}')"

    def exists(self) -> bool:
        return self.path.exists()

    def names(self) -> list[str]:
        return sorted(self._doc.entries) if self._doc else []

    def get(self, name: str) -> str | None:
        entry = self._doc.entries.get(name) if self._doc else None
        if entry is None or self._keys is None:
            return None
        return decrypt_value(self._keys, self.env, name, entry.token, self.path)

    def meta(self, name: str) -> EntryMeta | None:
        entry = self._doc.entries.get(name) if self._doc else None
        if entry is None:
            return None
        return EntryMeta(parse_timestamp(entry.created_at), parse_timestamp(entry.rotated_at))

    def set(self, name: str, value: str) -> None:
        self.set_many({name: value})

    def set_many(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            _check_name(name)
            if not isinstance(value, str):
                raise TypeError(f"the value of {name} must be a str, not {type(value).__name__}")
        if not values:
            return
        with self._write_lock() as (doc, keys):
            entries = dict(doc.entries) if doc else {}
            now = datetime.now(UTC).isoformat()
            changed = False
            for name, value in values.items():
                old = entries.get(name)
                # The same value again keeps its ciphertext and rotated_at: no churn, no rewrite.
                if old is not None and decrypt_value(keys, self.env, name, old.token, self.path) == value:
                    continue
                token = encrypt_value(keys, self.env, name, value)
                entries[name] = Entry(token, old.created_at if old else now, now)
                changed = True
            if changed:
                self._commit(entries, keys)

    def delete(self, name: str) -> bool:
        if not self.exists():
            return False
        with self._write_lock() as (doc, keys):
            if doc is None or name not in doc.entries:
                return False
            self._commit({k: v for k, v in doc.entries.items() if k != name}, keys)
            return True

    def rotate_master_key(self, new_master_key: str) -> None:
        """Re-encrypt every entry under a new salt and key in one atomic replace."""
        if not new_master_key:
            raise MasterKeyMissing("the new master key is empty; choose a long random one")
        new_keys = derive_keys(new_master_key, self._new_kdf, new_salt())
        with self._write_lock(new_file_keys=new_keys) as (doc, keys):
            entries = {
                name: replace(e, token=encrypt_value(new_keys, self.env, name,
                                                     decrypt_value(keys, self.env, name, e.token, self.path)))
                for name, e in (doc.entries.items() if doc else ())
            }
            self._commit(entries, new_keys)

    # -- keys ---------------------------------------------------------------------------------

    def _master(self, *, confirm: bool) -> str:
        if self._master_key is None:
            self._master_key = load_master_key(confirm=confirm)
        return self._master_key

    def _load(self) -> Document | None:
        """Read and verify the file as it is now; adopt its keys. None if there is no file."""
        raw = self._read()
        if raw is None:
            return None
        doc, mac = parse(raw, self.path, self.env)
        keys = self._keys
        if keys is None:
            keys = derive_keys(self._master(confirm=False), doc.kdf, doc.salt)
        elif (keys.kdf, keys.salt) != (doc.kdf, doc.salt):
            raise WrongMasterKey(
                f"{self.path} was re-encrypted by another process since it was opened (master key rotated?); "
                "run the command again with the current master key"
            )
        verify(doc, mac, keys, self.path)
        self._keys, self._master_key = keys, None
        return doc

    # -- writing ------------------------------------------------------------------------------

    @contextmanager
    def _write_lock(self, new_file_keys: StoreKeys | None = None) -> Iterator[tuple[Document | None, StoreKeys]]:
        """Yield the current document (read under the lock) and the keys that open it, or the
        keys for a new file if there is none."""
        if self._keys is None:
            self._doc = self._load()  # the file may have appeared since open
        if self._keys is None and new_file_keys is None:
            # Ask for the key and run the slow KDF before taking the lock others wait on.
            new_file_keys = derive_keys(self._master(confirm=True), self._new_kdf, new_salt())
        with self._locked():
            doc = self._load()
            keys = self._keys or new_file_keys
            assert keys is not None  # a file adopts its keys in _load; no file means new ones above
            yield doc, keys

    def _commit(self, entries: dict[str, Entry], keys: StoreKeys) -> None:
        doc = Document(env=self.env, kdf=keys.kdf, salt=keys.salt, key_check=keys.key_check, entries=entries)
        self._replace_file(serialize(doc, keys))
        self._doc, self._keys, self._master_key = doc, keys, None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        held = ExitStack()
        try:
            held.enter_context(file_lock(lock_path, timeout=self._lock_timeout))
        except LockTimeout as exc:
            raise StoreLocked(
                f"{self.path} is locked by another writer ({lock_path} held over "
                f"{exc.waited_s:.1f}s); retry when it has finished"
            ) from None
        except OSError as exc:
            raise StoreUnreadable(f"cannot create the lock file {lock_path}: {exc.strerror}; "
                                  f"check that {lock_path.parent} exists and is writable") from exc
        with held:
            yield

    def _replace_file(self, data: bytes) -> None:
        """Atomic replace; the caller holds the lock, so any temp file left is a crashed writer's."""
        try:
            remove_stale_temps(self.path)
            write_private(self.path, data)
        except OSError as exc:
            raise StoreUnreadable(f"cannot write {self.path}: {exc.strerror}") from exc

    def _read(self) -> bytes | None:
        try:
            with open(self.path, "rb") as f:
                mode = os.fstat(f.fileno()).st_mode & 0o777
                if mode & 0o077 and not self._insecure_ok:
                    raise StorePermissionsTooBroad(
                        f"{self.path} is accessible by group or others (mode {mode:04o}); fix: chmod 600 {self.path} "
                        f"(or set {ENV_ALLOW_INSECURE}=1 to use it anyway)"
                    )
                return f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreUnreadable(f"cannot read {self.path}: {exc.strerror}; check its owner and permissions") from exc


def _check_env(env: str) -> None:
    if not _ENV_NAME.fullmatch(env):
        raise InvalidValue(
            f"environment name {env!r} is not allowed: use letters, digits, '.', '_' or '-' (e.g. production)"
        )


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or not name.isprintable():
        raise InvalidValue(f"key name {name!r} is empty or contains control characters; use e.g. OPENAI_API_KEY")
