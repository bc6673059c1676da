"""How a secret value may be shown: a short prefix and a fingerprint, never more.

Every output of the project (terminal, logs, JSON and Markdown reports,
exception messages) goes through `mask`; the only way to see a value is an
explicit `--reveal` flag.
"""

from __future__ import annotations

import hashlib

# Known public prefixes say which kind of key it is without revealing entropy.
_PUBLIC_PREFIXES = (
    "github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
    "sk-proj-", "sk-svcacct-", "sk-admin-", "sk-", "secret_",
)


def fingerprint(value: str) -> str:
    """A short, stable, one-way identifier: tells two values apart, reveals nothing."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


def mask(value: str | None) -> str:
    """`ghp_…(40 chars) sha256:1a2b3c4d5e6f`: the public prefix, the length, the fingerprint."""
    if not value:
        return "(empty)"
    prefix = next((p for p in _PUBLIC_PREFIXES if value.startswith(p)), "")
    return f"{prefix}…({len(value)} chars) {fingerprint(value)}"
