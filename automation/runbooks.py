"""Which section of docs/runbooks.md answers an error, so every such message links to it.

The CLI appends `runbook: docs/runbooks.md#<anchor>` to an error line through `for_error`;
alerts carry the link too. tests/automation/ops/test_runbooks.py checks that every anchor
named here is a heading in docs/runbooks.md and that each section starts from a message
the tool really prints.
"""

from __future__ import annotations

import re

DOC = "docs/runbooks.md"

STALE_LOCK = "locked-stack"
PENDING_OPERATION = "pending-operation"
ORPHANED_INSTANCE = "orphaned-instance"
INCORRECT_PASSPHRASE = "incorrect-passphrase"
INVALID_KEY = "invalid-or-expired-key"
RATE_LIMITED = "rate-limited"
NO_CAPACITY = "no-capacity"
UNHEALTHY = "unhealthy-backend"
RESTORE = "restore-from-backup"
LEAKED_KEY = "rotate-a-leaked-key"

ANCHORS = (STALE_LOCK, PENDING_OPERATION, ORPHANED_INSTANCE, INCORRECT_PASSPHRASE, INVALID_KEY, RATE_LIMITED,
           NO_CAPACITY, UNHEALTHY, RESTORE, LEAKED_KEY)

# First match wins: (error class name or None for any, message pattern, anchor).
_RULES: tuple[tuple[str | None, re.Pattern[str], str], ...] = (
    ("StackLocked", re.compile(r"locked"), STALE_LOCK),
    ("RotationFailed", re.compile(r""), LEAKED_KEY),
    ("RestoreFailed", re.compile(r""), RESTORE),
    ("StackNotFound", re.compile(r"stacks: none yet"), RESTORE),
    (None, re.compile(r"pending operation", re.I), PENDING_OPERATION),
    (None, re.compile(r"incorrect passphrase|passphrase must be set|failed to decrypt|passphrase does not open", re.I), INCORRECT_PASSPHRASE),
    (None, re.compile(r"insufficient-capacity|no capacity|not enough capacity", re.I), NO_CAPACITY),
    (None, re.compile(r"rate.?limit|too-many-requests|too many requests|\b429\b", re.I), RATE_LIMITED),
    (None, re.compile(r"orphan|NOT in Pulumi state", re.I), ORPHANED_INSTANCE),
    (None, re.compile(r"rejected|invalid-api-key|account-inactive|unauthorized|expired|\b401\b|\b403\b", re.I), INVALID_KEY),
    ("Unhealthy", re.compile(r""), UNHEALTHY),
)


def link(anchor: str) -> str:
    if anchor not in ANCHORS:
        raise KeyError(anchor)
    return f"{DOC}#{anchor}"


def for_error(exc: BaseException) -> str | None:
    """The runbook link for an error, or None when no section covers it."""
    return for_message(str(exc), {klass.__name__ for klass in type(exc).__mro__})


def for_message(message: str, kinds: set[str] | frozenset[str] = frozenset()) -> str | None:
    """The runbook link for a message (of an error of one of `kinds`), or None."""
    for cls, pattern, anchor in _RULES:
        if (cls is None or cls in kinds) and pattern.search(message):
            return link(anchor)
    return None
