"""The connectivity report in its three forms: terminal table, JSON document, and the
results file (the same document, written 0600 from the first byte, atomically).

Values appear only through `masking.mask` and `masking.fingerprint`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..files import write_private
from ..masking import fingerprint, mask
from ..tables import render_table as render_status_table
from .results import BLOCKING, CheckResult

RESULTS_FILE = "api_connectivity_test_results.json"

EXIT_OK, EXIT_BLOCKING, EXIT_UNKNOWN = 0, 20, 21

_MARKS = {"valid": "✅", "invalid": "❌", "missing": "❌", "malformed": "❌", "unknown": "⚠️"}


@dataclass(frozen=True)
class SecretOrigin:
    """Where a value came from, as the report may show it (never the value)."""
    source: str | None       # the resolver's label, e.g. "env:GH_TOKEN"
    masked: str
    fingerprint: str | None
    shadowed: tuple[str, ...] = ()   # lower sources that also hold a value
    notes: tuple[str, ...] = ()      # sources that could not be read, e.g. "store locked: ..."

    @classmethod
    def of(cls, value: str | None, source: str | None, shadowed: Iterable[str] = (),
           notes: Iterable[str] = ()) -> SecretOrigin:
        return cls(source, mask(value), fingerprint(value) if value else None, tuple(shadowed), tuple(notes))


def exit_code(results: Iterable[CheckResult]) -> int:
    verdicts = {r.verdict for r in results}
    if verdicts & BLOCKING:
        return EXIT_BLOCKING
    return EXIT_UNKNOWN if "unknown" in verdicts else EXIT_OK


def priority(result: CheckResult) -> str:
    """high: deploying would fail (bad key, or a GitHub token without the scopes to write
    Actions secrets); medium: could not be decided; low: advice on a working key."""
    if result.verdict in BLOCKING or result.extra.get("missing_scopes"):
        return "high"
    return "medium" if result.verdict == "unknown" else "low"


def build_document(results: list[CheckResult], *, environment: str,
                   origins: Mapping[str, SecretOrigin], now: datetime | None = None) -> dict[str, Any]:
    counts = {v: sum(r.verdict == v for r in results) for v in ("valid", "invalid", "unknown", "missing", "malformed")}
    recs = sorted(({"priority": priority(r), "name": r.name, "recommendation": r.recommendation}
                   for r in results if r.recommendation),
                  key=lambda rec: ("high", "medium", "low").index(rec["priority"]))
    return {
        "timestamp": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "environment": environment,
        "exit_code": exit_code(results),
        "summary": counts,
        "secrets": {name: asdict(origin) for name, origin in origins.items()},
        "results": [asdict(r) for r in results],
        "missing_secrets": [r.name for r in results if r.verdict == "missing"],
        "recommendations": recs,
    }


def render_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, default=str)


def write_results_file(path: Path, document: Mapping[str, Any]) -> Path:
    """files.write_private: 0600 from the first byte, atomically replacing `path`."""
    return write_private(Path(path), render_json(document) + "\n")


def render_table(results: list[CheckResult], origins: Mapping[str, SecretOrigin]) -> str:
    rows = [("", "CHECK", "VERDICT", "SOURCE", "HTTP", "MS", "DETAIL")]
    for r in results:
        origin = origins.get(r.name)
        rows.append((_MARKS[r.verdict], r.name, r.verdict, (origin.source if origin else None) or "-",
                     str(r.http_status or "-"), f"{r.latency_ms:.0f}" if r.latency_ms is not None else "-",
                     r.detail or "-"))
    lines = [render_status_table(rows[0], rows[1:], marks=True)]
    recs = [r for r in results if r.recommendation]
    if recs:
        lines += ["", "Recommendations:"]
        lines += [f"  [{priority(r)}] {r.name}: {r.recommendation}"
                  for r in sorted(recs, key=lambda r: ("high", "medium", "low").index(priority(r)))]
    return "\n".join(lines)
