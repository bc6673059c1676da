"""The status report of a stack, as Markdown for people and JSON for machines.

Sections: executive summary (✅/❌ per area), keys, infrastructure, IaC status,
recommendations by priority. The report never holds a secret: `KeyRow` accepts only
`mask()` output, backend URLs lose credentials and query strings on the way in, and
the files are created 0600 (os.open with the mode, never chmod afterwards).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from automation.health import HealthReport
from secrets_bridge.files import write_private

if TYPE_CHECKING:
    from automation.report_sections import ReportExtras

ROTATION_DAYS = 90
_MASKED = re.compile(r"^(\(empty\)|[A-Za-z_-]*…\(\d+ chars\) sha256:[0-9a-f]{12})$")
_OK_FORMATS = {"ok", "warn"}
_OK_LIVE = {"valid", "unknown", "skipped"}
_STAMP = "%Y%m%dT%H%M%S%fZ"
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")   # it becomes part of a file name


def redact_url(url: str) -> str:
    """Scheme, host and path only: user:password@ and ?query (SAS tokens, keys) dropped."""
    parts = urlsplit(url)
    if not parts.scheme:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True)
class KeyRow:
    name: str
    source: str                    # where the value came from, e.g. "store:.secrets.production.json"
    masked: str                    # mask(value): the constructor rejects anything else
    format: str                    # ok | warn | error | missing
    live: str                      # valid | invalid | unknown | missing | malformed | skipped
    action: str                    # "" when nothing to do
    rotated_at: datetime | None    # last set/rotation in the store; None when unknown

    def __post_init__(self) -> None:
        if not _MASKED.match(self.masked):
            raise ValueError(f"KeyRow {self.name}: `masked` must be secrets_bridge.masking.mask() output")

    @property
    def ok(self) -> bool:
        return self.format in _OK_FORMATS and self.live in _OK_LIVE

    def age_days(self, now: datetime) -> int | None:
        return (now - self.rotated_at).days if self.rotated_at else None

    def rotation_due(self, now: datetime) -> bool:
        age = self.age_days(now)
        return age is not None and age > ROTATION_DAYS


@dataclass(frozen=True)
class InfraRow:
    resource: str                  # e.g. "Lambda instance", "Backend /health"
    endpoint: str                  # URL, IP or id
    status: str
    ok: bool


@dataclass(frozen=True)
class IacStatus:
    engine_version: str
    backend: str                   # state backend URL; credentials are stripped here
    stack: str
    last_update: str               # succeeded | failed | not run
    changes: Mapping[str, int] = field(default_factory=dict)
    secrets_provider: str = "passphrase"   # or the provider URL (awskms://, hashivault://, ...), query dropped

    def __post_init__(self) -> None:
        object.__setattr__(self, "backend", redact_url(self.backend))
        object.__setattr__(self, "secrets_provider", redact_url(self.secrets_provider))

    @property
    def backend_kind(self) -> str:
        scheme = urlsplit(self.backend).scheme
        return {"https": "pulumi-cloud", "http": "pulumi-cloud", "": "unknown"}.get(scheme, scheme)

    @property
    def ok(self) -> bool:
        return self.last_update != "failed"


@dataclass(frozen=True)
class ReportData:
    stack: str
    keys: tuple[KeyRow, ...]
    infrastructure: tuple[InfraRow, ...]
    iac: IacStatus
    health: HealthReport | None = None
    findings: tuple[Any, ...] = ()     # automation.access.Finding: plugins, token permissions, mixed content
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    extras: ReportExtras | None = None      # verdict, cost, diagram, rotation, plan (automation/report_sections.py)

    def summary(self) -> dict[str, bool]:
        return {
            "keys": all(k.ok for k in self.keys),
            "infrastructure": bool(self.infrastructure) and all(r.ok for r in self.infrastructure),
            "iac": self.iac.ok,
            "health": self.health is not None and self.health.healthy,
        }


class KeyStatusLike(Protocol):
    """What the preflight reports per key (automation.preflight.KeyStatus)."""

    @property
    def name(self) -> str: ...
    @property
    def source(self) -> str | None: ...
    @property
    def masked(self) -> str: ...
    @property
    def format(self) -> str: ...
    @property
    def live(self) -> str: ...
    @property
    def action(self) -> str: ...


def key_rows(statuses: Iterable[KeyStatusLike], rotated_at: Mapping[str, datetime | None]) -> tuple[KeyRow, ...]:
    """Key rows from the preflight's key statuses and the store's rotation dates."""
    return tuple(KeyRow(name=s.name, source=s.source or "-", masked=s.masked, format=s.format, live=s.live,
                        action=s.action, rotated_at=rotated_at.get(s.name)) for s in statuses)


def infra_rows(outputs: Mapping[str, Any], health: HealthReport | None) -> tuple[InfraRow, ...]:
    """One row per deployed endpoint; the status comes from the health check when there was one."""
    checked = {t.name: t for t in health.targets} if health else {}
    rows = []
    for name, label, key in (("instance", "Lambda instance", "instance_id"), ("backend", "Backend /health", "backend_url"),
                             ("frontend", "Frontend", "frontend_url")):
        if not outputs.get(key):
            continue
        endpoint = str(outputs[key])
        if key == "instance_id" and outputs.get("instance_ip"):
            endpoint = f"{endpoint} ({outputs['instance_ip']})"
        target = checked.get(name)
        if target is None:
            rows.append(InfraRow(label, endpoint, "deployed (not checked)", True))
        else:
            status = f"{target.status}: {target.detail}" if target.detail else target.status
            rows.append(InfraRow(label, endpoint, status, target.ok))
    return tuple(rows)


def recommendations(data: ReportData) -> list[tuple[str, str]]:
    """(priority, text), most urgent first: P1 blocks the platform, P2 is due, P3 is hygiene."""
    from automation import report_sections

    now = data.generated_at
    found: list[tuple[str, str]] = []
    for k in data.keys:
        if not k.ok:
            found.append(("P1", k.action or f"{k.name}: fix the key (format {k.format}, live {k.live})"))
    if data.health is not None or (data.extras is not None and not data.extras.deployed):
        found += [("P1", f"{t.name} at {t.target} is not healthy ({t.status}{': ' + t.detail if t.detail else ''})")
                  for t in (data.health.targets if data.health else ()) if not t.ok]
    else:
        found.append(("P1", f"no health check ran: `python -m automation health {data.stack}`"))
    found += [("P1" if f.blocking else "P2", f"{f.subject}: {f.detail}: {f.action}") for f in data.findings if f.action]
    if not data.iac.ok:
        found.append(("P1", f"the last update of stack {data.stack} failed: fix the error, then `python -m automation up {data.stack}`"))
    for k in data.keys:
        if k.rotation_due(now):
            found.append(("P2", f"rotate {k.name} ({k.age_days(now)} days old, policy {ROTATION_DAYS}): create a new key at "
                                f"{_key_url(k.name)}, then `python -m automation rotate {k.name} {data.stack}`"))
    found += report_sections.recommendations(data)
    for k in data.keys:
        if k.ok and k.live == "unknown":
            found.append(("P3", f"{k.name} could not be verified live: re-run `python -m automation check {data.stack}`"))
        elif k.ok and k.format == "warn":
            found.append(("P3", k.action or f"{k.name}: its format looks unusual"))
    return found


def _key_url(name: str) -> str:
    from secrets_bridge.catalog import get_spec

    try:
        return get_spec(name).url
    except KeyError:
        return "its provider"


def _icon(ok: bool) -> str:
    return "✅" if ok else "❌"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _age(row: KeyRow, now: datetime) -> str:
    days = row.age_days(now)
    if days is None:
        return "-"
    return f"{days} d, rotation due" if row.rotation_due(now) else f"{days} d"


def render_markdown(data: ReportData) -> str:
    from automation import report_sections

    now = data.generated_at
    summary = data.summary()
    recs = recommendations(data)
    lines = [f"# Orchestra status report: {data.stack}", "", f"**{report_sections.verdict(data, recs)}**", "",
             f"Generated: {now:%Y-%m-%d %H:%M:%S} UTC  ", f"Stack: `{data.stack}`", "",
             "## Executive summary", ""]
    lines += _table(("Area", "Status"), ((area, report_sections.area_cell(area, ok, data)) for area, ok in summary.items()))
    lines += ["", "## API keys", ""]
    lines += _table(("", "Key", "Source", "Value (masked)", "Format", "Live", "Age", "Action required"),
                    ((_icon(k.ok), k.name, k.source, f"`{k.masked}`", k.format, k.live, _age(k, now), k.action or "-")
                     for k in data.keys))
    lines += ["", "## Infrastructure", ""]
    lines += _table(("", "Resource", "URL / IP", "Status"),
                    ((_icon(r.ok), r.resource, r.endpoint, r.status) for r in data.infrastructure))
    if not data.infrastructure:
        lines.append("(nothing deployed)")
    iac = data.iac
    change_text = ", ".join(f"{op} {n}" for op, n in sorted(iac.changes.items())) or "no changes"
    lines += ["", "## IaC status", ""]
    lines += _table(("Item", "Value"), (("Engine", iac.engine_version), ("Backend", f"{iac.backend_kind} ({iac.backend})"),
                                        ("Secrets provider", iac.secrets_provider),
                                        ("Stack", iac.stack), ("Last update", f"{_icon(iac.ok)} {iac.last_update}"),
                                        ("Changes", change_text)))
    lines += [""] + report_sections.markdown(data, _table)
    lines += ["## Recommendations", ""]
    lines += [f"{i}. **{prio}** {text}" for i, (prio, text) in enumerate(recs, 1)] or ["No action required."]
    return "\n".join(lines) + "\n"


def render_json(data: ReportData) -> dict[str, Any]:
    from automation import report_sections

    now = data.generated_at
    recs = recommendations(data)
    return {**report_sections.to_jsonable(data, recs),
        "title": f"Orchestra status report: {data.stack}",
        "generated_at": now.isoformat(),
        "stack": data.stack,
        "summary": data.summary(),
        "keys": [{**asdict(k), "rotated_at": k.rotated_at.isoformat() if k.rotated_at else None, "ok": k.ok,
                  "age_days": k.age_days(now), "rotation_due": k.rotation_due(now)} for k in data.keys],
        "infrastructure": [asdict(r) for r in data.infrastructure],
        "iac": {**asdict(data.iac), "changes": dict(data.iac.changes), "backend_kind": data.iac.backend_kind, "ok": data.iac.ok},
        "health": None if data.health is None else {
            "healthy": data.health.healthy, "checked_at": data.health.checked_at.isoformat(),
            "elapsed_s": data.health.elapsed_s, "targets": [asdict(t) for t in data.health.targets]},
        "recommendations": [{"priority": p, "text": t} for p, t in recs],
    }


def write_report(stack: str, data: ReportData, directory: Path | None = None) -> tuple[Path, Path]:
    """Write <directory>/<stack>-<UTC timestamp>.md and .json (default directory: ./reports)."""
    if not _STACK_NAME.match(stack):
        raise ValueError(f"not a stack name: {stack!r}")
    directory = directory or Path.cwd() / "reports"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    base = directory / f"{stack}-{data.generated_at.astimezone(UTC).strftime(_STAMP)}"
    md_path, json_path = base.with_name(base.name + ".md"), base.with_name(base.name + ".json")
    write_private(md_path, render_markdown(data), overwrite=False)
    write_private(json_path, json.dumps(render_json(data), indent=2, ensure_ascii=False) + "\n", overwrite=False)
    from automation.report_build import prune_reports

    prune_reports(directory, stack)
    return md_path, json_path


def latest_report(stack: str, directory: Path | None = None) -> tuple[Path, Path] | None:
    """The newest (markdown, json) pair of `stack`, or None; other stacks sharing a prefix are ignored."""
    directory = directory or Path.cwd() / "reports"
    pattern = re.compile(rf"^{re.escape(stack)}-\d{{8}}T\d{{12}}Z\.md$")
    names = sorted(p.name for p in directory.glob(f"{stack}-*.md") if pattern.match(p.name)) if directory.is_dir() else []
    if not names:
        return None
    md_path = directory / names[-1]
    return md_path, md_path.with_suffix(".json")
