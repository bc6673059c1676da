"""Preflight: every key the stack needs is present, well-formed and (live) valid; engine and backend usable.

Which value wins is the chain's DEPLOY policy (secrets_bridge.resolver.values_to_deploy):
env › CI secrets › store, the stack config only filling gaps, so a key set by hand
with `pulumi config set --secret` counts as present but a rotated store key is never
shadowed by its old stack copy. A live verdict of `unknown` (network, 429, 5xx)
never blocks: only a key the API rejected, or one missing or malformed, does.
Preflight writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from semver import VersionInfo

from automation import backends
from automation.errors import PreflightFailed
from automation.platform_checks import Finding, findings
from automation.project import backend_url, config_key, file_backend_problem, required_specs, stack_secrets_provider
from secrets_bridge.catalog import KeySpec
from secrets_bridge.masking import mask
from secrets_bridge.tables import render_table

# Engine events arrive over gRPC from 3.206 on; older engines lack flags the driver uses.
MIN_ENGINE = VersionInfo(3, 206, 0)
_BLOCKING_VERDICTS = {"invalid", "missing", "malformed"}


@dataclass(frozen=True)
class KeyStatus:
    name: str
    source: str | None
    masked: str
    format: str          # ok | warn | error | missing
    live: str            # valid | invalid | unknown | missing | malformed | skipped
    action: str          # "" when nothing to do
    blocking: bool


@dataclass(frozen=True)
class PreflightResult:
    stack: str
    env: str
    verification: str    # live | skipped | sandbox: live verification against the emulator only
    keys: tuple[KeyStatus, ...]
    engine: str
    engine_problem: str | None
    backend: str
    backend_problem: str | None
    backend_kind: str = "file"
    secrets_provider: str = backends.PASSPHRASE
    findings: tuple[Finding, ...] = ()   # plugins, token permissions, environment, mixed content

    @property
    def problems(self) -> tuple[str, ...]:
        """Blocking actions, one line each."""
        found = [k.action for k in self.keys if k.blocking] + [f.problem for f in self.findings if f.blocking]
        return tuple(found + [p for p in (self.engine_problem, self.backend_problem) if p])

    @property
    def ok(self) -> bool:
        return not self.problems


def resolve_values(env: str, specs: list[KeySpec], stack_config: Mapping[str, str]) -> tuple[dict[KeySpec, str], dict[str, str]]:
    """(values, sources) by the chain's DEPLOY policy; `stack_config` is the stack's config (orchestra:... keys)."""
    from secrets_bridge.resolver import values_to_deploy

    from_stack = {spec.name: stack_config[config_key(spec)] for spec in specs if stack_config.get(config_key(spec))}
    resolved = values_to_deploy(env, [spec.name for spec in specs], stack_config=from_stack)
    values: dict[KeySpec, str] = {}
    sources: dict[str, str] = {}
    for spec in specs:
        res = resolved.get(spec.name)
        if res is not None and res.value:
            values[spec], sources[spec.name] = res.value, res.source or "?"
    return values, sources


@dataclass(frozen=True)
class Located:
    """What `workspace.locate` found (or why it could not): engine and backend, for the table."""

    engine: str
    engine_problem: str | None
    backend: str
    backend_problem: str | None
    secrets_provider: str = backends.PASSPHRASE


def engine_status(version: str | None, origin: str = "") -> tuple[str, str | None]:
    if version is None:
        return "missing", "no Pulumi engine: run scripts/setup.sh (or `python -m automation engine`)"
    if VersionInfo.parse(version.removeprefix("v")) < MIN_ENGINE:
        return f"{version} ({origin})", f"engine {version} is older than {MIN_ENGINE}: run `python -m automation engine`"
    return f"{version} ({origin})", None


def _key_status(spec: KeySpec, value: str | None, source: str | None, live: str, detail: str) -> KeyStatus:
    from secrets_bridge.formats import check_format

    if value is None:
        return KeyStatus(spec.name, None, mask(None), "missing", "missing",
                         f"set {spec.name}: create one at {spec.url}, then `python -m secrets_bridge set {spec.name}`", True)
    verdict = check_format(spec.name, value)
    if verdict.status == "error":
        return KeyStatus(spec.name, source, mask(value), "error", "malformed", f"{spec.name}: {verdict.message}", True)
    if live in _BLOCKING_VERDICTS:
        return KeyStatus(spec.name, source, mask(value), verdict.status, live,
                         f"{spec.name} was rejected ({detail or live}): replace it from {spec.url}", True)
    action = verdict.message if verdict.status == "warn" else ""
    if live == "unknown":
        action = f"{spec.name} could not be checked ({detail or 'no answer'}): retry later or --skip-verify"
    return KeyStatus(spec.name, source, mask(value), verdict.status, live, action, False)


def run_preflight(root: Path, stack: str, env: str, *, stack_config: Mapping[str, str], skip_verify: bool,
                  live_names: frozenset[str] | None = None, located: Located | None = None
                  ) -> tuple[PreflightResult, dict[KeySpec, str]]:
    """Check everything `up` needs; `live_names` limits live checks (the sandbox emulates only some APIs).

    `located` is what the engine and backend checks found; without it only the
    file backend's directory is looked at (unit tests, no engine call)."""
    specs = required_specs(root, stack)
    values, sources = resolve_values(env, specs, stack_config)
    verdicts: dict[str, tuple[str, str]] = {}
    if not skip_verify:
        from secrets_bridge.verify import verify_all_sync

        to_check = {s.name: values.get(s) for s in specs if live_names is None or s.name in live_names}
        for check in verify_all_sync(to_check) if to_check else []:
            verdicts[check.name] = (check.verdict, str(check.detail or ""))
    keys = tuple(_key_status(spec, values.get(spec), sources.get(spec.name),
                             *verdicts.get(spec.name, ("skipped", ""))) for spec in specs)
    if located is None:
        url = backend_url(root)[0]
        located = Located("not checked", None, url, file_backend_problem(url), stack_secrets_provider(root, stack))
    found = findings(root, stack, {s.name: v for s, v in values.items()},
                     skip_verify=skip_verify or live_names is not None)
    verification = "skipped" if skip_verify else ("live" if live_names is None else "sandbox: live verification against the emulator only")
    shown = backends.describe(located.backend, located.secrets_provider)
    result = PreflightResult(stack=stack, env=env, verification=verification, keys=keys, engine=located.engine,
                             engine_problem=located.engine_problem, backend=shown.backend,
                             backend_problem=located.backend_problem, backend_kind=shown.backend_kind,
                             secrets_provider=shown.secrets_provider, findings=found)
    return result, values


def render(result: PreflightResult) -> str:
    """Status tables: one row per key with ✅/❌ and the action required."""
    icon = {True: "❌", False: "✅"}
    rows = [(icon[k.blocking], k.name, k.source or "-", k.masked, k.format, k.live, k.action or "-") for k in result.keys]
    lines = [f"Preflight for stack {result.stack} (store env {result.env}; verification: {result.verification})",
             render_table(("", "Key", "Source", "Value", "Format", "Live", "Action required"), rows, marks=True)]
    lines.append(f"{icon[bool(result.engine_problem)]} engine   {result.engine}  {result.engine_problem or ''}".rstrip())
    lines.append(f"{icon[bool(result.backend_problem)]} backend  {result.backend_kind} ({result.backend})  {result.backend_problem or ''}".rstrip())
    lines.append(f"{icon[bool(result.backend_problem)]} secrets  {result.secrets_provider}")
    lines += [f.line() for f in result.findings]
    return "\n".join(lines)


def require_ok(result: PreflightResult) -> None:
    if not result.ok:
        raise PreflightFailed(f"preflight failed for stack {result.stack}: " + "; ".join(result.problems))
