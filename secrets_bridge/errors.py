"""Errors of secrets_bridge, one class per thing a person can act on.

    SecretsBridgeError                 base; `exit_code` is what the CLI exits with
    ├── MasterKeyMissing        (3)    no ORCHESTRA_MASTER_KEY(_FILE) and no terminal to ask on
    │   └── MasterKeyUnusable   (3)    a master-key source is set but unusable (missing/empty/dir/unreadable file)
    ├── WrongMasterKey          (4)    the master key does not open this store
    ├── StoreCorrupt            (5)    tampered, swapped, truncated or non-JSON store file
    ├── StoreVersionTooNew      (6)    the file was written by a newer format version
    ├── StoreUnreadable         (7)    the OS refused to read or write the file
    ├── StorePermissionsTooBroad(8)    group or others may read the store file
    ├── KeyNotFound             (9)    the key is set nowhere in the chain / store
    ├── InvalidValue            (10)   a value failed its format rule or has pasted whitespace
    │   └── WeakMasterKey       (10)   a new master key is too short or trivially guessable
    ├── NoTerminal              (11)   an interactive command was run without a terminal
    └── StoreLocked             (12)   the store's lock could not be taken in time

Messages are one line, say what to do, and never contain a secret value.
Causes are chained (`raise ... from exc`) only where the cause cannot carry a
secret (an OSError about a path); a cause that may hold a value (a decryption or
JSON error over secret text) is dropped with `from None`.
The verification command uses exit codes 20 (a key invalid, missing or
malformed) and 21 (only unknown verdicts): see secrets_bridge/verify.
With --json, a failure is also one JSON document on stdout (`failure_document`), the
same shape for this CLI and the driver's.
"""

from __future__ import annotations

from typing import Any


def split_fix(message: str) -> str:
    """The actionable tail of a `what happened: what to do` message.

    The last `: ` that stands outside parentheses, brackets and backquotes: `(keys: A, B)` or a
    quoted command is part of what happened or of the fix, never where one ends and the other begins.
    """
    depth, quoted, cut = 0, False, -1
    for i, ch in enumerate(message):
        if ch == "`":
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth = max(depth - 1, 0)
        elif not quoted and depth == 0 and message.startswith(": ", i):
            cut = i
    return message[cut + 2:] if cut >= 0 else ""


def failure_document(exit_code: int, kind: str, message: str, fix: str | None = None) -> dict[str, Any]:
    """`{"ok": false, "exit_code", "error": {"kind", "message", "fix"}}`: what --json prints for a failure.

    The fix is the message's tail (`split_fix`) unless one is given."""
    return {"ok": False, "exit_code": exit_code,
            "error": {"kind": kind, "message": message, "fix": split_fix(message) if fix is None else fix}}


def wants_json(argv: list[str]) -> bool:
    """--json among the options (not among a child command's arguments after `--`)."""
    return "--json" in (argv[:argv.index("--")] if "--" in argv else argv)


class SecretsBridgeError(Exception):
    exit_code = 1


class MasterKeyMissing(SecretsBridgeError):
    exit_code = 3


class MasterKeyUnusable(MasterKeyMissing):
    """A variable names a master-key source that cannot be used: never treated as "no store"."""


class WrongMasterKey(SecretsBridgeError):
    exit_code = 4


class StoreCorrupt(SecretsBridgeError):
    exit_code = 5


class StoreVersionTooNew(SecretsBridgeError):
    exit_code = 6


class StoreUnreadable(SecretsBridgeError):
    exit_code = 7


class StorePermissionsTooBroad(SecretsBridgeError):
    exit_code = 8


class KeyNotFound(SecretsBridgeError):
    exit_code = 9


class InvalidValue(SecretsBridgeError):
    exit_code = 10


class WeakMasterKey(InvalidValue):
    pass


class NoTerminal(SecretsBridgeError):
    exit_code = 11


class StoreLocked(SecretsBridgeError):
    exit_code = 12
