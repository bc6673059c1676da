"""The typed result of one live check, shared by the checks, the runner and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["valid", "invalid", "unknown", "missing", "malformed"]

# Verdicts that mean "a person must replace or set this key" (exit code 20).
BLOCKING: frozenset[str] = frozenset({"invalid", "missing", "malformed"})


@dataclass(frozen=True)
class CheckResult:
    """What one check found.

    `invalid` only when the API itself rejected the key (401/403); anything that
    leaves the key's fate open (network error, timeout, 429, 5xx, a body that is
    not what the API documents) is `unknown`, never `invalid`.
    """

    name: str                         # the key's canonical name
    verdict: Verdict
    latency_ms: float | None = None   # of the request that decided the verdict
    http_status: int | None = None
    error_code: str | None = None     # the API's own code, e.g. "global/invalid-api-key"
    detail: str = ""
    recommendation: str = ""          # what a person does next; "" when nothing
    extra: dict[str, Any] = field(default_factory=dict)  # per-API facts (login, scopes, instances)
