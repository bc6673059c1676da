"""How many of a kind of file the driver keeps per stack (state backups, reports), read from the
environment: a whole number of at least 1, else one actionable ConfigInvalid line."""

from __future__ import annotations

import os

from automation.errors import ConfigInvalid


def keep_count(env: str, default: int, what: str) -> int:
    """`env` as the number of `what` (e.g. "backups") to keep; `default` when unset."""
    raw = os.environ.get(env, str(default))
    try:
        keep = int(raw)
    except ValueError:
        keep = 0
    if keep < 1:
        raise ConfigInvalid(f"{env}={raw!r} must be a whole number of {what} to keep, at least 1 (default {default})")
    return keep
