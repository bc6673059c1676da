"""Where the store's master key comes from: the environment, a file, or a hidden prompt.

Order: ORCHESTRA_MASTER_KEY › ORCHESTRA_MASTER_KEY_FILE › getpass on a terminal.
There is deliberately no default key: without one of these, MasterKeyMissing.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from secrets_bridge.errors import MasterKeyMissing

ENV_KEY = "ORCHESTRA_MASTER_KEY"
ENV_KEY_FILE = "ORCHESTRA_MASTER_KEY_FILE"

_HOW = f"set {ENV_KEY}, or {ENV_KEY_FILE} to a 0600 file holding the key, or run on a terminal to be asked"


def load_master_key(*, interactive: bool = True, confirm: bool = False) -> str:
    """Return the master key; `confirm` asks twice on a prompt (used when a new store is created,
    where a typo would lock the operator out of everything written under it)."""
    if ENV_KEY in os.environ:
        return _non_empty(os.environ[ENV_KEY], f"{ENV_KEY} is set but empty")
    if ENV_KEY_FILE in os.environ:
        return _from_file(Path(os.environ[ENV_KEY_FILE]))
    if interactive and sys.stdin is not None and sys.stdin.isatty():
        return _prompt(confirm)
    raise MasterKeyMissing(f"no master key for the secret store: {_HOW}")


def _from_file(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise MasterKeyMissing(f"cannot read {ENV_KEY_FILE}={path}: {reason}") from None
    # Editors add one final newline; anything else is part of the key.
    text = text.removesuffix("\n").removesuffix("\r")
    return _non_empty(text, f"{ENV_KEY_FILE}={path} is empty")


def _prompt(confirm: bool) -> str:
    try:
        key = _non_empty(getpass.getpass("Master key for the secret store: "), "empty master key entered")
        if confirm and getpass.getpass("Repeat the master key: ") != key:
            raise MasterKeyMissing("the two master keys entered differ; run the command again")
    except EOFError:
        raise MasterKeyMissing(f"no master key entered: {_HOW}") from None
    return key


def _non_empty(key: str, problem: str) -> str:
    if not key:
        raise MasterKeyMissing(f"{problem}: {_HOW}")
    return key
