"""Engine events to what a person reads: one line per resource with its property diff, in-flight
lines with elapsed time, one readable reason per failure, and the per-resource changes for JSON.

Values never come from here in plaintext: every call runs with show_secrets=False, so the
engine already writes secret inputs as "[secret]"; property values are only listed with
`--diff` and secret-marked values are shown as "[secret]" again on the way out.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from pulumi.automation import EngineEvent

from infra.lambda_dynamic.common import PROVIDER_WARNING

_COLOR = re.compile(r"<\{%[^%]*%\}>|\x1b\[[0-9;]*m")
_NOISE = re.compile(r"^(goroutine \d+|panic:|Traceback|File \"|\S+\.go:\d+|created by )")
_QUIET_OPS = {"same", "read", "refresh"}
# The steps of one replacement: the plan shows it once, as `replace`; progress shows each step.
_REPLACE_STEPS = {"create-replacement", "delete-replaced", "discard-replaced", "remove-pending-replace",
                  "import-replacement", "read-replacement"}
_GENERIC = {"update failed", "preview failed", "refresh failed", "destroy failed", "update canceled"}
_KIND_MARK = {"add": "+", "add-replace": "+", "delete": "-", "delete-replace": "-", "update": "~", "update-replace": "~"}
_SECRET_SIG = "4dabf18193072939515e22adb298388d"
TICK_S = 10.0     # how often a plain (non-terminal) view repeats what is still in flight


def clean(message: str) -> str:
    """First meaningful line of a diagnostic: colours, stack frames and `error:` prefixes removed."""
    for raw in _COLOR.sub("", message).splitlines():
        if not raw.strip() or raw[:1].isspace() or _NOISE.match(raw.strip()):
            continue
        line = raw.strip()
        while line.lower().startswith(("error:", "exception:")):
            line = line.split(":", 1)[1].strip()
        if line:
            return line
    return "failed (no message)"


def name_and_type(urn: str) -> tuple[str, str]:
    """`urn:pulumi:stack::project::parent$type::name` → (name, innermost type)."""
    parts = urn.split("::")
    return (parts[-1], parts[-2].split("$")[-1]) if len(parts) >= 4 else (urn, "")


def _bookkeeping(rtype: str) -> bool:
    """The stack resource and default providers: counted by the engine, not worth a progress line."""
    return rtype.startswith(("pulumi:pulumi:Stack", "pulumi:providers:"))


def _shown_value(value: Any) -> Any:
    """A property value fit to print: secrets (already masked by the engine) stay "[secret]"."""
    if isinstance(value, Mapping):
        if _SECRET_SIG in value:
            return "[secret]"
        return {k: _shown_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown_value(v) for v in value]
    return value


@dataclass(frozen=True)
class PropertyChange:
    name: str
    kind: str                   # add | delete | update, with -replace when it forces a replacement
    old: Any = None             # only with --diff
    new: Any = None


@dataclass(frozen=True)
class ResourceChange:
    name: str
    type: str
    op: str
    properties: tuple[PropertyChange, ...]
    # A replacement the engine does delete-first (the provider or a dependency said create-first is
    # impossible): the old one goes before the new one is created, so a failed create leaves none.
    delete_first: bool = False

    @property
    def diff_text(self) -> str:
        """Pulumi's `[diff: ~name +tags]` shorthand ("" when no property changed)."""
        if not self.properties:
            return ""
        return "[diff: " + " ".join(f"{_KIND_MARK.get(p.kind, '~')}{p.name}" for p in self.properties) + "]"


def _property_changes(meta: Any, detail: bool) -> tuple[PropertyChange, ...]:
    detailed = meta.detailed_diff or {}
    names = list(detailed) or list(meta.diffs or [])
    old_inputs = (meta.old.inputs if meta.old else None) or {}
    new_inputs = (meta.new.inputs if meta.new else None) or {}
    if meta.op.value == "refresh":   # drift: what the provider read differs from the recorded outputs
        old_inputs = (meta.old.outputs if meta.old else None) or {}
        new_inputs = (meta.new.outputs if meta.new else None) or {}
    if not names and meta.op.value in {"update", "replace"}:
        # The provider said "changed" without saying what (dynamic providers do): compare the
        # inputs as Pulumi's own display does; `__provider` is the pickled provider, not config.
        names = sorted(k for k in {*old_inputs, *new_inputs}
                       if not k.startswith("__") and old_inputs.get(k) != new_inputs.get(k))
    found = []
    for name in names:
        diff = detailed.get(name)
        kind = diff.diff_kind.value if diff is not None else (
            "add" if name not in old_inputs and name in new_inputs else "delete" if name not in new_inputs else "update")
        top = name.split(".", 1)[0].split("[", 1)[0]
        if detail:
            found.append(PropertyChange(name, kind, _shown_value(old_inputs.get(top)), _shown_value(new_inputs.get(top))))
        else:
            found.append(PropertyChange(name, kind))
    return tuple(found)


@dataclass
class EventView:
    """Turns engine events into lines; collects failures, per-resource changes and the summary.

    On a terminal (`live`) one status line, rewritten in place, shows what is in flight;
    otherwise in-flight resources are repeated as plain lines every TICK_S seconds.
    """

    out: TextIO = field(default_factory=lambda: sys.stdout)
    detail: bool = False
    live: bool = False
    failures: dict[str, str] = field(default_factory=dict)   # resource name → readable reason
    warnings: list[str] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)
    resources: list[ResourceChange] = field(default_factory=list)
    _started: dict[tuple[str, str], float] = field(default_factory=dict)   # (urn, op) → monotonic start
    _replacing: set[str] = field(default_factory=set)      # urns whose replacement was created (or planned)
    _deleted_first: set[str] = field(default_factory=set)  # urns whose old resource goes before its replacement
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _status_shown: bool = False

    def line(self, op: str, urn: str, status: str) -> str:
        name, rtype = name_and_type(urn)
        return f"  {op:<8} {name:<30} {rtype:<50} {status}".rstrip()

    def __call__(self, event: EngineEvent) -> None:
        if event.resource_pre_event:
            self._order(event.resource_pre_event.metadata)
            self._pre(event.resource_pre_event.metadata, bool(event.resource_pre_event.planning))
        elif event.res_outputs_event:
            self._done(event.res_outputs_event.metadata, bool(event.res_outputs_event.planning))
        elif event.res_op_failed_event:
            meta = event.res_op_failed_event.metadata
            self._emit(self.line(meta.op.value, meta.urn, f"failed{self._elapsed(meta.urn, meta.op.value)}"))
        elif event.diagnostic_event:
            self._diagnostic(event.diagnostic_event)
        elif event.summary_event:
            self.changes = {op.value if hasattr(op, "value") else str(op): n
                            for op, n in (event.summary_event.resource_changes or {}).items()}

    def _order(self, meta: Any) -> None:
        """The engine deletes a replaced resource before creating its replacement only when it must
        (deleteBeforeReplace, or a dependency replaced that way); otherwise the delete comes last."""
        op = meta.op.value
        if op == "create-replacement":
            self._replacing.add(meta.urn)
        elif op == "delete-replaced" and meta.urn not in self._replacing:
            self._deleted_first.add(meta.urn)

    def _record(self, meta: Any) -> ResourceChange | None:
        op = meta.op.value
        properties = _property_changes(meta, self.detail)
        # The stack resource is listed (destroy deletes it too, and the engine counts it); providers are not.
        if meta.type.startswith("pulumi:providers:") or op in _REPLACE_STEPS or (op in _QUIET_OPS and not properties):
            return None
        name, rtype = name_and_type(meta.urn)
        change = ResourceChange(name=name, type=rtype, op=op, properties=properties,
                                delete_first=op == "replace" and meta.urn in self._deleted_first)
        self.resources = [r for r in self.resources if r.name != name or r.type != rtype] + [change]
        return change

    def _pre(self, meta: Any, planning: bool) -> None:
        if planning:
            change = self._record(meta)
            if change is not None:   # a plan lists the stack resource too, as the engine counts it
                note = " (delete first: the old one is deleted before the new one is created, so a failed create leaves none)"
                self._emit(self.line(change.op, meta.urn, f"planned {change.diff_text}".rstrip()
                                     + (note if change.delete_first else "")))
                self._details(change)
            return
        if _bookkeeping(meta.type) or meta.op.value in _QUIET_OPS:
            return
        with self._lock:
            self._started[(meta.urn, meta.op.value)] = time.monotonic()
        self._emit(self.line(meta.op.value, meta.urn, "started"))

    def _done(self, meta: Any, planning: bool) -> None:
        change = self._record(meta)
        op = meta.op.value
        if planning or _bookkeeping(meta.type) or (op in _QUIET_OPS and change is None):
            return
        status = "drifted" if op == "refresh" else "done"
        diff = change.diff_text if change else ""
        self._emit(self.line(op, meta.urn, f"{status}{self._elapsed(meta.urn, op)} {diff}".rstrip()))
        if change is not None and op == "refresh":
            self._details(change)

    def _details(self, change: ResourceChange) -> None:
        if self.detail:
            for prop in change.properties:
                self._emit(f"      {_KIND_MARK.get(prop.kind, '~')} {prop.name}: {prop.old!r} => {prop.new!r}")

    def _elapsed(self, urn: str, op: str) -> str:
        with self._lock:
            started = self._started.pop((urn, op), None)
        return f" ({time.monotonic() - started:.1f} s)" if started is not None else ""

    def in_flight(self) -> list[str]:
        """`op name (N s)` for every resource the engine is working on now."""
        now = time.monotonic()
        with self._lock:
            items = list(self._started.items())
        return [f"{op} {name_and_type(urn)[0]} ({now - start:.0f} s)" for (urn, op), start in items]

    def tick(self) -> None:
        """Called about once a second while an operation runs."""
        flying = self.in_flight()
        if self.live:
            with self._lock:
                self._status_shown = bool(flying)
                text = ("\r\x1b[K  … " + ", ".join(flying)) if flying else "\r\x1b[K"
                print(text, end="", file=self.out, flush=True)
        elif flying:
            self._emit("  … still running: " + ", ".join(flying))

    def _diagnostic(self, diag: Any) -> None:
        if diag.ephemeral:
            return
        urn = diag.urn or ""
        if diag.severity == "error":
            name = name_and_type(urn)[0] if urn else "program"
            # The engine repeats a failure on the stack resource ("update failed"); keep the first reason.
            self.failures.setdefault(name, clean(diag.message))
        elif diag.severity == "warning":
            self._warn(clean(diag.message))
        elif diag.severity == "info#err" and not urn and diag.message.lstrip().startswith(PROVIDER_WARNING):
            # A provider's own stderr line (infra/lambda_dynamic/common.py `warn`): the engine relays it as info.
            self._warn(clean(diag.message.lstrip()[len(PROVIDER_WARNING):]))

    def _warn(self, message: str) -> None:
        from automation.runbooks import for_message

        if message in self.warnings:   # the same provider note from preview and again from up
            return
        self.warnings.append(message)
        runbook = for_message(message) if "pending operations" in message else None
        self._emit(f"  warning: {message}" + (f" (runbook: {runbook})" if runbook else ""))

    def _emit(self, text: str) -> None:
        with self._lock:
            prefix = "\r\x1b[K" if self.live and self._status_shown else ""
            self._status_shown = False
            print(prefix + text, file=self.out, flush=True)

    def failure_summary(self) -> str:
        """The resources' own reasons; the engine's closing "update failed" only when there is nothing else."""
        specific = {n: r for n, r in self.failures.items() if r not in _GENERIC} or self.failures
        return "; ".join(f"{name}: {reason}" for name, reason in specific.items())


class Ticker:
    """Calls view.tick every second (live) or every TICK_S seconds (plain) while an operation runs."""

    def __init__(self, view: EventView) -> None:
        self.view = view
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        every = 1.0 if self.view.live else TICK_S
        while not self._stop.wait(every):
            self.view.tick()

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.view.live:
            print("\r\x1b[K", end="", file=self.view.out, flush=True)
