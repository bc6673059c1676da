"""Preview, up, refresh and destroy through the Automation API, with a concise view of engine events.

The view prints one line per resource (op, type, name, status) from the engine's
structured events instead of the CLI's own output, and keeps one readable line
per failed resource from error diagnostics. Every call passes show_secrets=False
so no result object carries decrypted config.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from pulumi.automation import CommandError, ConcurrentUpdateError, EngineEvent, OutputMap

from automation.errors import AutomationError, Declined, DestroyFailed, PreviewFailed, RefreshFailed, StackLocked, UpFailed
from automation.workspace import StackSession, engine_error_line, lock_message

_COLOR = re.compile(r"<\{%[^%]*%\}>|\x1b\[[0-9;]*m")
_NOISE = re.compile(r"^(goroutine \d+|panic:|Traceback|File \"|\S+\.go:\d+|created by )")
_QUIET_OPS = {"same", "read", "refresh"}
_GENERIC = {"update failed", "preview failed", "refresh failed", "destroy failed", "update canceled"}


def _clean(message: str) -> str:
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


def _name_and_type(urn: str) -> tuple[str, str]:
    """`urn:pulumi:stack::project::parent$type::name` → (name, innermost type)."""
    parts = urn.split("::")
    return (parts[-1], parts[-2].split("$")[-1]) if len(parts) >= 4 else (urn, "")


def _shown(meta) -> bool:
    """Changes to real resources; the stack itself and default providers are bookkeeping."""
    return meta.op.value not in _QUIET_OPS and not meta.type.startswith(("pulumi:pulumi:Stack", "pulumi:providers:"))


@dataclass
class EventView:
    """Turns engine events into one line per resource; collects failures and the summary."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    failures: dict[str, str] = field(default_factory=dict)   # resource name → readable reason
    warnings: list[str] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)
    _ops: dict[str, str] = field(default_factory=dict)

    def line(self, op: str, urn: str, status: str) -> str:
        name, rtype = _name_and_type(urn)
        return f"  {op:<8} {name:<30} {rtype:<50} {status}".rstrip()

    def __call__(self, event: EngineEvent) -> None:
        if event.resource_pre_event:
            meta = event.resource_pre_event.metadata
            self._ops[meta.urn] = meta.op.value
            if event.resource_pre_event.planning and _shown(meta):
                self._emit(self.line(meta.op.value, meta.urn, "planned"))
        elif event.res_outputs_event and not event.res_outputs_event.planning:
            meta = event.res_outputs_event.metadata
            if _shown(meta):
                self._emit(self.line(meta.op.value, meta.urn, "done"))
        elif event.res_op_failed_event:
            meta = event.res_op_failed_event.metadata
            self._emit(self.line(meta.op.value, meta.urn, "failed"))
        elif event.diagnostic_event:
            self._diagnostic(event.diagnostic_event)
        elif event.summary_event:
            self.changes = {op.value if hasattr(op, "value") else str(op): n
                            for op, n in (event.summary_event.resource_changes or {}).items()}

    def _diagnostic(self, diag) -> None:
        if diag.ephemeral:
            return
        urn = diag.urn or ""
        if diag.severity == "error":
            name = _name_and_type(urn)[0] if urn else "program"
            # The engine repeats a failure on the stack resource ("update failed"); keep the first reason.
            self.failures.setdefault(name, _clean(diag.message))
        elif diag.severity == "warning":
            from automation.runbooks import PENDING_OPERATION, link

            self.warnings.append(_clean(diag.message))
            pending = "pending operations" in self.warnings[-1]
            self._emit(f"  warning: {self.warnings[-1]}" + (f" (runbook: {link(PENDING_OPERATION)})" if pending else ""))

    def _emit(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def failure_summary(self) -> str:
        """The resources' own reasons; the engine's closing "update failed" only when there is nothing else."""
        specific = {n: r for n, r in self.failures.items() if r not in _GENERIC} or self.failures
        return "; ".join(f"{name}: {reason}" for name, reason in specific.items())


def has_changes(changes: Mapping[str, int]) -> bool:
    return any(n for op, n in changes.items() if op not in {"same"})


def change_line(changes: Mapping[str, int]) -> str:
    shown = {op: n for op, n in changes.items() if op != "same" and n}
    if not shown:
        return "no changes"
    same = changes.get("same", 0)
    return ", ".join(f"{n} to {op}" for op, n in sorted(shown.items())) + (f", {same} unchanged" if same else "")


def _translate(err: CommandError, session: StackSession, view: EventView, kind: type[AutomationError], verb: str) -> AutomationError:
    if isinstance(err, ConcurrentUpdateError):
        return StackLocked(lock_message(err, session.name, session.backend))
    reason = view.failure_summary() or engine_error_line(err)
    if "no resource plugin" in reason:
        reason += (" (install it with `pulumi plugin install resource NAME VERSION` where the network allows, "
                   "or turn the component off: `pulumi config set orchestra:enable_<component> false`)")
    return kind(f"{verb} of stack {session.name} failed: {reason}")


def _guarded(session: StackSession, view: EventView, kind: type[AutomationError], verb: str, call: Callable):
    try:
        return call()
    except CommandError as err:
        raise _translate(err, session, view, kind, verb) from None


def _backup(session: StackSession, view: EventView, operation: str) -> None:
    """The state as it was, exported before the engine changes it (automation/backups.py)."""
    from automation import backups

    taken = backups.take(session, operation)
    view._emit(f"backup: {taken.path} ({taken.resources} resources)")


def preview(session: StackSession, view: EventView) -> dict[str, int]:
    result = _guarded(session, view, PreviewFailed, "preview",
                      lambda: session.stack.preview(on_event=view, color="never"))
    return {op.value if hasattr(op, "value") else str(op): n for op, n in result.change_summary.items()}


def up(session: StackSession, view: EventView) -> OutputMap:
    """Apply; returns the stack outputs (secret ones stay in memory, the pipeline masks them)."""
    _backup(session, view, "up")
    result = _guarded(session, view, UpFailed, "up",
                      lambda: session.stack.up(on_event=view, show_secrets=False, color="never"))
    return result.outputs


def refresh(session: StackSession, view: EventView) -> dict[str, int]:
    _backup(session, view, "refresh")
    _guarded(session, view, RefreshFailed, "refresh",
             lambda: session.stack.refresh(on_event=view, show_secrets=False, color="never"))
    return view.changes


def destroy(session: StackSession, view: EventView) -> dict[str, int]:
    _backup(session, view, "destroy")
    _guarded(session, view, DestroyFailed, "destroy",
             lambda: session.stack.destroy(on_event=view, show_secrets=False, color="never"))
    return view.changes


def confirm(changes: Mapping[str, int], stack: str, *, yes: bool, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    """Ask before changing anything; without a terminal only --yes may proceed."""
    if yes or not has_changes(changes):
        return
    if not stdin.isatty():
        raise Declined(f"stack {stack} has changes ({change_line(changes)}) and there is no terminal to confirm on: pass --yes")
    print(f"Apply to stack {stack}: {change_line(changes)}? [y/N] ", end="", file=out, flush=True)
    if stdin.readline().strip().lower() not in {"y", "yes"}:
        raise Declined(f"nothing applied to stack {stack}: the update was declined")
