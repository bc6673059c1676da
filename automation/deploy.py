"""Preview, up, refresh and destroy through the Automation API, waiting for or clearing locks.

Every call passes show_secrets=False so no result object carries decrypted config,
and runs under a Ticker so a long create shows what is in flight.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

from pulumi.automation import CommandError, ConcurrentUpdateError

from automation import locks as stack_locks
from automation.engine_cli import engine_error_line
from automation.errors import (
    AutomationError,
    Declined,
    DestroyFailed,
    PreviewFailed,
    RefreshFailed,
    StackLocked,
    UpFailed,
    UsageError,
)
from automation.events import EventView, Ticker
from automation.workspace import StackSession

T = TypeVar("T")
LOCK_POLL_S = 1.0
_PRESENT = {"create": "to create", "update": "to update", "delete": "to delete", "replace": "to replace",
            "read": "to read", "import": "to import"}
_PAST = {"create": "created", "update": "updated", "delete": "deleted", "replace": "replaced", "read": "read",
         "import": "imported", "refresh": "refreshed"}


_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")


def parse_duration(text: str, option: str = "--lock-wait") -> float:
    """`90`, `30s`, `5m`, `1h`, `1m30s`, `2d` to seconds; anything else is a usage error naming the option."""
    wanted = text.strip().lower()
    parts = _DURATION_PART.findall(wanted)
    if not parts or "".join(number + unit for number, unit in parts) != wanted:
        raise UsageError(f"{option} {text!r} is not a duration: use e.g. 30s, 5m or 1h")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


@dataclass(frozen=True)
class LockPolicy:
    wait_s: float = 0.0            # --lock-wait: keep retrying a busy lock this long
    clear_stale: bool = False      # --clear-stale-lock
    command: str = "up"            # named in the stale-lock fix
    stale_after_s: float = parse_duration(stack_locks.STALE_AFTER_DEFAULT)   # --stale-lock-after: another host's lock


def has_changes(changes: Mapping[str, int]) -> bool:
    return any(n for op, n in changes.items() if op != "same")


def change_line(changes: Mapping[str, int], *, past: bool = False) -> str:
    """`2 to create, 1 unchanged` before the fact, `2 created, 1 unchanged` after it."""
    shown = {op: n for op, n in changes.items() if op != "same" and n}
    if not shown:
        return "no changes"
    words = _PAST if past else _PRESENT
    same = changes.get("same", 0)
    text = ", ".join(f"{n} {words.get(op, op)}" for op, n in sorted(shown.items()))
    return text + (f", {same} unchanged" if same else "")


def _translate(err: CommandError, session: StackSession, view: EventView, kind: type[AutomationError], verb: str,
               locks: LockPolicy) -> AutomationError:
    if isinstance(err, ConcurrentUpdateError):
        return StackLocked(stack_locks.lock_message(err, stack=session.name, backend=session.backend, command=locks.command,
                                                    stale_after_s=locks.stale_after_s))
    reason = view.failure_summary() or engine_error_line(err)
    if "no resource plugin" in reason:
        reason += (" (install it with `pulumi plugin install resource NAME VERSION` where the network allows, "
                   "or turn the component off: `pulumi config set orchestra:enable_<component> false`)")
    if "expect-no-changes" in reason or "no changes were expected" in reason:
        reason = "changes were found but --expect-no-changes was given"
    return kind(f"{verb} of stack {session.name} failed: {reason}")


def _guarded(session: StackSession, view: EventView, kind: type[AutomationError], verb: str, locks: LockPolicy,
             call: Callable[[], T]) -> T:
    """Run one engine operation; a busy lock is waited for (--lock-wait) or, when stale, cleared on request."""
    deadline = time.monotonic() + locks.wait_s
    cleared = waiting = False
    while True:
        try:
            with Ticker(view):
                return call()
        except ConcurrentUpdateError as err:
            held = stack_locks.listed_locks(err)
            if locks.clear_stale and not cleared and stack_locks.all_stale(held, locks.stale_after_s):
                stack_locks.clear(held, session.backend, lambda: _cancel(session))
                for lock in held:
                    print(f"lock: removed the stale lock of {lock.describe()} ({stack_locks.where(lock, session.backend)})",
                          file=view.out, flush=True)
                cleared = True
                continue
            if time.monotonic() + LOCK_POLL_S > deadline or stack_locks.all_stale(held, locks.stale_after_s):
                raise _translate(err, session, view, kind, verb, locks) from None   # a stale lock is never released
            if not waiting and held:
                holder = next(lock for lock in held if not lock.stale(locks.stale_after_s))
                print(f"lock: stack {session.name} is locked by {holder.describe()}; waiting up to "
                      f"{stack_locks.format_age(locks.wait_s)} (--lock-wait)", file=view.out, flush=True)
            waiting = True
            time.sleep(LOCK_POLL_S)
        except CommandError as err:
            raise _translate(err, session, view, kind, verb, locks) from None


def _cancel(session: StackSession) -> str | None:
    """`pulumi cancel`: deletes the stack's lock objects (only called when every one of them is stale)."""
    proc = session.cli(["cancel", "--yes"])
    return engine_error_line(proc.stderr) if proc.code else None


def _summary(result: Any) -> dict[str, int]:
    return {op.value if hasattr(op, "value") else str(op): n for op, n in (result.change_summary or {}).items()}


def _backup(session: StackSession, view: EventView, operation: str, exported: str | None = None) -> None:
    """The state as it was, exported before the engine changes it (automation/backups.py)."""
    from automation import backups

    taken = backups.take(session, operation, exported=exported)
    view._emit(f"backup: {taken.path} ({taken.resources} resources)")


def preview(session: StackSession, view: EventView, locks: LockPolicy, *, refresh: bool = False,
            expect_no_changes: bool = False) -> dict[str, int]:
    result = _guarded(session, view, PreviewFailed, "preview", locks,
                      lambda: session.stack.preview(on_event=view, color="never", refresh=refresh or None,
                                                    expect_no_changes=expect_no_changes or None))
    return _summary(result)


def up(session: StackSession, view: EventView, locks: LockPolicy, *, refresh: bool = False,
       exported: str | None = None) -> Any:
    """Apply; returns the stack outputs (secret ones stay in memory, the pipeline masks them).
    `exported`: the state as this command exported it before preview (preview does not change it)."""
    _backup(session, view, "up", exported)
    session.applied = True
    result = _guarded(session, view, UpFailed, "up", locks,
                      lambda: session.stack.up(on_event=view, show_secrets=False, color="never", refresh=refresh or None))
    return result.outputs


def clear_pending_creates(session: StackSession, view: EventView, locks: LockPolicy) -> None:
    """Drop the creates an interrupted run left pending (a refresh, as `pulumi refresh --clear-pending-creates`),
    waiting for or clearing a lock as every other change does."""
    session.applied = True
    _guarded(session, view, RefreshFailed, "clearing the interrupted creates", locks,
             lambda: session.stack.refresh(on_event=view, show_secrets=False, color="never", clear_pending_creates=True))


def preview_refresh(session: StackSession, view: EventView, locks: LockPolicy, *, expect_no_changes: bool = False
                    ) -> dict[str, int]:
    result = _guarded(session, view, RefreshFailed, "refresh preview", locks,
                      lambda: session.stack.preview_refresh(on_event=view, color="never",
                                                            expect_no_changes=expect_no_changes or None))
    return _summary(result)


def refresh(session: StackSession, view: EventView, locks: LockPolicy) -> dict[str, int]:
    _backup(session, view, "refresh")
    session.applied = True
    _guarded(session, view, RefreshFailed, "refresh", locks,
             lambda: session.stack.refresh(on_event=view, show_secrets=False, color="never"))
    return view.changes


def preview_destroy(session: StackSession, view: EventView, locks: LockPolicy) -> dict[str, int]:
    result = _guarded(session, view, DestroyFailed, "destroy preview", locks,
                      lambda: session.stack.preview_destroy(on_event=view, color="never"))
    return _summary(result)


def destroy(session: StackSession, view: EventView, locks: LockPolicy) -> dict[str, int]:
    _backup(session, view, "destroy")
    session.applied = True
    _guarded(session, view, DestroyFailed, "destroy", locks,
             lambda: session.stack.destroy(on_event=view, show_secrets=False, color="never"))
    return view.changes


def confirm(changes: Mapping[str, int], stack: str, *, yes: bool, verb: str = "Apply to", stdin: TextIO = sys.stdin,
            out: TextIO = sys.stdout) -> None:
    """Ask before changing anything (the plan's lines are already shown); without a terminal only --yes may proceed."""
    if yes or not has_changes(changes):
        return
    print(f"{verb} stack {stack}: {change_line(changes)}", file=out, flush=True)
    if not stdin.isatty():
        raise Declined(f"stack {stack} has changes ({change_line(changes)}) and there is no terminal to confirm on: pass --yes")
    print("Proceed? [y/N] ", end="", file=out, flush=True)
    if stdin.readline().strip().lower() not in {"y", "yes"}:
        raise Declined(f"nothing applied to stack {stack}: the person answered no")
