"""What each command returns, and the one JSON form of every outcome (failures included).

No result holds a secret value: keys appear masked, stack outputs the program
marked secret stay "[secret]" or masked. A failed command's document carries
what was learned before the failure (e.g. the preflight table), so a PR comment
or a script can say exactly what went wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automation.events import ResourceChange
from automation.health import HealthReport
from automation.inject import InjectResult
from automation.preflight import PreflightResult
from infra.lambda_cloud.reconcile import PendingCreate
from secrets_bridge import errors
from secrets_bridge.masking import mask


@dataclass
class Run:
    """The command in progress: the stage it is in (named when Ctrl-C interrupts it) and what it learned."""

    command: str = ""
    stack: str = ""
    stage: str = "start"
    learned: dict[str, Any] = field(default_factory=dict)

    def enter(self, stage: str) -> None:
        self.stage = stage


@dataclass(frozen=True)
class ChangeResult:
    operation: str              # preview | up | refresh | destroy (and their previews)
    stack: str
    changes: dict[str, int]
    summary: str
    resources: tuple[ResourceChange, ...] = ()
    warnings: tuple[str, ...] = ()   # the engine's and the providers' (e.g. a replacement that must delete first)


@dataclass(frozen=True)
class DeployResult:
    stack: str
    preflight: PreflightResult
    inject: InjectResult
    preview: ChangeResult | None = None
    applied: ChangeResult | None = None
    outputs: dict[str, Any] = field(default_factory=dict)   # secret outputs masked
    health: HealthReport | None = None
    report: tuple[str, str] | None = None
    resolved: tuple[PendingCreate, ...] = ()                # interrupted creates this up cleared or adopted


def to_jsonable(value: Any) -> Any:
    """Dataclasses, paths and tuples to plain JSON types (results hold no secrets)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")}
        for prop in ("ok", "problems", "diff_text", "healthy", "summary"):
            if isinstance(getattr(type(value), prop, None), property):
                data[prop] = to_jsonable(getattr(value, prop))
        return data
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def masked_outputs(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {name: mask(str(out.value)) if out.secret and out.value != "[secret]" else out.value
            for name, out in raw.items()}


def plain_outputs(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {name: out.value for name, out in raw.items()}


def success_document(result: Any, key: str | None = None) -> dict[str, Any]:
    """A command that succeeded: its result's fields (or under `key`), with ok and exit_code 0."""
    data = to_jsonable(result)
    if key is not None or not isinstance(data, dict):
        data = {key or "result": data}
    return {**data, "ok": True, "exit_code": 0}


def failure_document(exit_code: int, kind: str, message: str, learned: Mapping[str, Any],
                     fix: str | None = None) -> dict[str, Any]:
    """secrets_bridge's failure document (`ok`, `exit_code`, `error`) with what was learned before the failure."""
    return {**to_jsonable(dict(learned)), **errors.failure_document(exit_code, kind, message, fix)}
