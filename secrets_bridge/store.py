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

from secrets_bridge.catalog import name_problem
from secrets_bridge.errors import (
    InvalidValue,
    MasterKeyMissing,
    StoreLocked,
    StorePermissionsTooBroad,
    StoreUnreadable,
    WrongMasterKey,
)
from secrets_bridge.files import LockTimeout, file_lock, interrupts_deferred, remove_stale_temps, write_private
from secrets_bridge.masking import looks_like_key
from secrets_bridge.masterkey import check_new_master_key, load_master_key
from secrets_bridge.project import project_root
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
ENV_LOCK_TIMEOUT = "ORCHESTRA_LOCK_TIMEOUT"
DEFAULT_ENV = "production"
# Long enough for a queue of writers each holding the lock for milliseconds, short enough
# that a writer stuck behind a hung process says so.
DEFAULT_LOCK_TIMEOUT_S = 30.0
_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def resolve_env(env: str | None) -> str:
    """--env, else ORCHESTRA_ENV, else production."""
    chosen = env if env is not None else (os.environ.get(ENV_ENV) or DEFAULT_ENV)
    _check_env(chosen)
    return chosen


def store_path(env: str, directory: Path | None = None) -> Path:
    """<dir>/.secrets.<env>.json; dir = `directory`, else ORCHESTRA_SECRETS_DIR, else the project
    root (the nearest directory upwards holding Pulumi.yaml, else the cwd)."""
    _check_env(env)
    base = directory if directory is not None else os.environ.get(ENV_DIR)
    root = Path(base).expanduser() if base else project_root()
    return root / f".secrets.{env}.json"


def store_envs(directory: Path | None = None) -> list[str]:
    """The environments that have a store file next to `env`'s (same directory rules)."""
    folder = store_path(DEFAULT_ENV, directory).parent
    found = (path.name.removeprefix(".secrets.").removesuffix(".json") for path in folder.glob(".secrets.*.json"))
    return sorted(env for env in found if _ENV_NAME.fullmatch(env))


def lock_timeout_from_env() -> float:
    raw = os.environ.get(ENV_LOCK_TIMEOUT, "")
    try:
        value = float(raw) if raw else DEFAULT_LOCK_TIMEOUT_S
    except ValueError:
        raise InvalidValue(f"{ENV_LOCK_TIMEOUT} must be a number of seconds, e.g. 30") from None
    if value <= 0:
        raise InvalidValue(f"{ENV_LOCK_TIMEOUT} must be a positive number of seconds")
    return value


@dataclass(frozen=True)
class EntryMeta:
    created_at: datetime
    rotated_at: datetime


class SecretStore:
    """One environment's secrets. Use `SecretStore.open`; `repr` shows where, never what."""

    def __init__(self, path: Path, env: str, *, master_key: str | None, insecure_ok: bool,
                 kdf: KdfParams, lock_timeout: float, interactive: bool = True) -> None:
        self.path = path
        self.env = env
        self.commits = 0          # files written by this object (an interrupt after one changed something)
        self._interactive = interactive
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
             lock_timeout: float | None = None, interactive: bool = True) -> SecretStore:
        """Open (and verify) the store of `env`. master_key None -> load_master_key() (which may
        prompt on a terminal unless `interactive` is False), but only once the file exists or a
        write needs it. `kdf` sets the parameters of a file this store creates or re-keys
        (default: OWASP scrypt); existing files keep theirs until rotation. `lock_timeout`:
        seconds a write waits for other writers (default ORCHESTRA_LOCK_TIMEOUT, else 30)."""
        if master_key == "":
            raise MasterKeyMissing("the master key given is empty")
        store = cls(
            store_path(env, directory),
            env,
            master_key=master_key,
            insecure_ok=allow_insecure_permissions or os.environ.get(ENV_ALLOW_INSECURE) == "1",
            kdf=kdf or DEFAULT_KDF,
            lock_timeout=lock_timeout_from_env() if lock_timeout is None else lock_timeout,
            interactive=interactive,
        )
        store._doc = store._load()
        return store

    def __repr__(self) -> str:
        return f"SecretStore(env={self.env!r}, path='{self.path}')"

    def exists(self) -> bool:
        return self.path.exists()

    def reload(self) -> None:
        """Read the file again (another process may have changed it); no KDF unless it was re-keyed."""
        self._doc = self._load()

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

    def rotate_master_key(self, new_master_key: str, *, allow_same_key: bool = False) -> None:
        """Re-encrypt every entry under a new salt and key in one atomic replace.
        The new key must be strong (masterkey.check_new_master_key) and differ from the current
        one, unless `allow_same_key` (re-salting, or moving the file to new KDF parameters)."""
        if not new_master_key:
            raise MasterKeyMissing("the new master key is empty; choose a long random one")
        check_new_master_key(new_master_key)
        current = self._keys
        if (not allow_same_key and current is not None
                and derive_keys(new_master_key, current.kdf, current.salt).key_check == current.key_check):
            raise InvalidValue("the new master key is the current one; nothing was re-encrypted")
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
            self._master_key = load_master_key(interactive=self._interactive, confirm=confirm)
        return self._master_key

    def _load(self, raw: bytes | None = None) -> Document | None:
        """Read (unless `raw` is given) and verify the file; adopt its keys. None if there is no file."""
        raw = self._read() if raw is None else raw
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
        keys for a new file if there is none.

        The slow KDF never runs under the lock others wait on: keys are derived first, the
        file is re-read under the lock and only verified there. If the file appeared while
        this writer waited, the lock is let go, its keys derived, and the write tried again."""
        while True:
            if self._keys is None:
                self._doc = self._load()  # the file may have appeared since open
            if self._keys is None and new_file_keys is None:
                master = self._master(confirm=True)
                check_new_master_key(master)
                new_file_keys = derive_keys(master, self._new_kdf, new_salt())
            with self._locked():
                raw = self._read()
                if raw is None or self._keys is not None:
                    doc = self._load(raw) if raw is not None else None
                    keys = self._keys or new_file_keys
                    assert keys is not None  # a file adopts its keys in _load; no file means new ones above
                    yield doc, keys
                    return

    def _commit(self, entries: dict[str, Entry], keys: StoreKeys) -> None:
        doc = Document(env=self.env, kdf=keys.kdf, salt=keys.salt, key_check=keys.key_check, entries=entries)
        data = serialize(doc, keys)
        # Ctrl-C waits until the replace and `commits` agree, so "written or not" is always exact.
        with interrupts_deferred():
            self._replace_file(data)
            self._doc, self._keys, self._master_key = doc, keys, None
            self.commits += 1

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        held = ExitStack()
        try:
            held.enter_context(file_lock(lock_path, timeout=self._lock_timeout))
        except LockTimeout as exc:
            holder = f" by {exc.holder}" if exc.holder else ""
            raise StoreLocked(
                f"{self.path} is locked by another writer: waited {exc.waited_s:.1f} s for {lock_path}, "
                f"held{holder}; retry when it has finished, or wait longer with {ENV_LOCK_TIMEOUT}=SECONDS"
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
    if not _ENV_NAME.fullmatch(env) or looks_like_key(env):
        raise InvalidValue(
            "the environment name given is not allowed (not shown: it may be a pasted value): "
            "use up to 64 letters, digits, '.', '_' or '-', e.g. production"
        )


def _check_name(name: str) -> None:
    problem = name_problem(name)
    if problem:
        raise InvalidValue(problem)
