"""Where the store's master key comes from: the environment, a file, or a hidden prompt.

Order: ORCHESTRA_MASTER_KEY › ORCHESTRA_MASTER_KEY_FILE › getpass on a terminal.
An empty variable counts as unset (an exported-but-empty variable must not hide a
valid key file). There is deliberately no default key: without one of these,
MasterKeyMissing; a source that is set but unusable (the file is missing, empty, a
directory, unreadable) is MasterKeyUnusable, naming the variable and the reason, so
it can never pass for "no store" or "missing keys".

New master keys (a new store, a rotation) must pass `check_new_master_key`.
"""

from __future__ import annotations

import errno
import getpass
import os
import string
import sys
from collections.abc import Mapping
from pathlib import Path

from secrets_bridge.errors import MasterKeyMissing, MasterKeyUnusable, WeakMasterKey

ENV_KEY = "ORCHESTRA_MASTER_KEY"
ENV_KEY_FILE = "ORCHESTRA_MASTER_KEY_FILE"
ENV_NEW_KEY = "ORCHESTRA_NEW_MASTER_KEY"
ENV_NEW_KEY_FILE = "ORCHESTRA_NEW_MASTER_KEY_FILE"
# Every variable that can open a store: never handed to a child process.
KEY_VARIABLES = (ENV_KEY, ENV_KEY_FILE, ENV_NEW_KEY, ENV_NEW_KEY_FILE)

MIN_LENGTH = 16
_HOW = f"set {ENV_KEY}, or {ENV_KEY_FILE} to a 0600 file holding the key, or run on a terminal to be asked"
_COMMON_PARTS = ("password", "passw0rd", "changeme", "change-me", "default", "master", "secret", "letmein",
                 "qwerty", "admin", "orchestra", "key", "test")
_RUNS = (string.ascii_lowercase, string.digits, "qwertyuiop", "asdfghjkl", "zxcvbnm")


def load_master_key(*, interactive: bool = True, confirm: bool = False,
                    environ: Mapping[str, str] | None = None) -> str:
    """Return the master key; `confirm` asks twice on a prompt (used when a new store is created,
    where a typo would lock the operator out of everything written under it)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY):
        return env[ENV_KEY]
    if env.get(ENV_KEY_FILE):
        return read_key_file(ENV_KEY_FILE, Path(env[ENV_KEY_FILE]))
    if interactive and sys.stdin is not None and sys.stdin.isatty():
        return _prompt(confirm)
    empty = [name for name in (ENV_KEY, ENV_KEY_FILE) if name in env]
    why = f" ({' and '.join(empty)} set but empty, which counts as unset)" if empty else ""
    raise MasterKeyMissing(f"no master key for the secret store{why}: {_HOW}")


def read_key_file(variable: str, path: Path) -> str:
    """The key held in `path` (one final newline is the editor's), or MasterKeyUnusable saying why not."""
    def unusable(reason: str) -> MasterKeyUnusable:
        return MasterKeyUnusable(f"{variable}={path} {reason}; point {variable} at the file holding the master key")

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise unusable("does not exist") from None
    except IsADirectoryError:
        raise unusable("is a directory, not a file") from None
    except OSError as exc:
        reason = "is a directory, not a file" if exc.errno == errno.EISDIR else f"cannot be read ({exc.strerror})"
        raise unusable(reason) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise unusable("is not UTF-8 text") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise unusable("is empty")
    return text


def check_new_master_key(key: str) -> None:
    """Refuse a new master key that is short or made of common words and keyboard runs."""
    if len(key) < MIN_LENGTH:
        raise WeakMasterKey(f"the new master key is shorter than {MIN_LENGTH} characters; "
                            "use a long random one, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    rest = key.lower()
    for part in _COMMON_PARTS:
        rest = rest.replace(part, "")
    rest = _without_runs(rest)
    if len(set(key)) < 6 or len(rest) < 6:
        raise WeakMasterKey("the new master key is made of repeated characters, common words or keyboard runs; "
                            "use a long random one, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")


def _without_runs(text: str) -> str:
    """`text` minus runs of 4+ consecutive characters of the alphabet, the digits or a keyboard row."""
    for run in _RUNS:
        for seq in (run, run[::-1]):
            for size in range(len(seq), 3, -1):
                for start in range(len(seq) - size + 1):
                    text = text.replace(seq[start:start + size], "")
    return text


def _prompt(confirm: bool) -> str:
    try:
        key = getpass.getpass("Master key for the secret store: ")
        if not key:
            raise MasterKeyMissing(f"empty master key entered: {_HOW}")
        if confirm and getpass.getpass("Repeat the master key: ") != key:
            raise MasterKeyMissing("the two master keys entered differ; run the command again")
    except EOFError:
        raise MasterKeyMissing(f"no master key entered: {_HOW}") from None
    return key


def load_new_master_key(*, environ: Mapping[str, str] | None = None) -> str:
    """The key to rotate to: ORCHESTRA_NEW_MASTER_KEY › ..._FILE › a prompt (twice) on a terminal."""
    env = os.environ if environ is None else environ
    if env.get(ENV_NEW_KEY):
        return env[ENV_NEW_KEY]
    if env.get(ENV_NEW_KEY_FILE):
        return read_key_file(ENV_NEW_KEY_FILE, Path(env[ENV_NEW_KEY_FILE]))
    if sys.stdin is not None and sys.stdin.isatty():
        try:
            key = getpass.getpass("New master key: ")
            if getpass.getpass("Repeat the new master key: ") != key:
                raise MasterKeyMissing("the two new master keys entered differ; run the command again")
        except EOFError:
            raise MasterKeyMissing("no new master key entered") from None
        return key
    raise MasterKeyMissing(f"no new master key: set {ENV_NEW_KEY} or {ENV_NEW_KEY_FILE}, "
                           "or run on a terminal to be asked")
