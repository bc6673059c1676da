"""State backups: `pulumi stack export` before every up, refresh and destroy, kept N deep; restore.

The hook is in automation/deploy.py's up, refresh and destroy, so every operation that
changes the state is preceded by one. A backup is the engine's own export (secrets stay
ciphertext: no --show-secrets), written 0600 under <backup dir>/<stack>/<stack>-<UTC stamp>-<operation>.json. The backup dir is
ORCHESTRA_BACKUP_DIR, else .orchestra/backups in the project (gitignored). Only the
newest ORCHESTRA_BACKUP_KEEP (default 20) per stack are kept. A failed export stops the
operation before it changes anything: an update without a way back is not started.

`restore` imports one (`pulumi stack import`), after a backup of what it replaces, and
refreshes so the state matches the real resources again. docs/recovery.md is the guide.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from automation.errors import BackupFailed, Declined, RestoreFailed
from automation.retention import keep_count
from secrets_bridge.files import write_private

DIR_ENV = "ORCHESTRA_BACKUP_DIR"
KEEP_ENV = "ORCHESTRA_BACKUP_KEEP"
DEFAULT_KEEP = 20
_STAMP = "%Y%m%dT%H%M%S%fZ"
_NAME = re.compile(r"^(?P<stack>[A-Za-z0-9_.-]+)-(?P<stamp>\d{8}T\d{12}Z)-(?P<op>[a-z-]+)\.json$")


@dataclass(frozen=True)
class Backup:
    name: str
    path: Path
    stack: str
    operation: str           # up | refresh | destroy | restore: what it was taken before
    taken_at: datetime
    resources: int
    bytes: int


def _file_name(stack: str) -> str:
    """ORG/STACK names a stack too; files and directories get ORG__STACK."""
    return stack.replace("/", "__")


def backup_root(root: Path) -> Path:
    configured = os.environ.get(DIR_ENV)
    return Path(configured).expanduser() if configured else root / ".orchestra" / "backups"


def _resources(text: str) -> int:
    try:
        return len((json.loads(text).get("deployment") or {}).get("resources") or [])
    except (ValueError, AttributeError):
        return 0


def _parse(path: Path) -> Backup | None:
    match = _NAME.match(path.name)
    if not match:
        return None
    taken = datetime.strptime(match["stamp"], _STAMP).replace(tzinfo=UTC)
    text = path.read_text(encoding="utf-8", errors="replace")
    return Backup(name=path.name, path=path, stack=match["stack"], operation=match["op"], taken_at=taken,
                  resources=_resources(text), bytes=len(text.encode()))


def list_backups(root: Path, stack: str) -> list[Backup]:
    """The stack's backups, newest first."""
    name = _file_name(stack)
    directory = backup_root(root) / name
    found = [_parse(p) for p in sorted(directory.glob(f"{name}-*.json"))] if directory.is_dir() else []
    return sorted((b for b in found if b is not None and b.stack == name), key=lambda b: b.name, reverse=True)


def prune(root: Path, stack: str, keep: int) -> list[Path]:
    removed = []
    for old in list_backups(root, stack)[keep:]:
        old.path.unlink(missing_ok=True)
        removed.append(old.path)
    return removed


def export(session: Any, operation: str) -> str:
    """The engine's export of the stack's state. Raises BackupFailed: nothing is changed without one."""
    proc = session.cli(["stack", "export"])
    if proc.code != 0:
        from automation.engine_cli import engine_error_line

        raise BackupFailed(f"{operation} of stack {session.name} not started: `pulumi stack export` failed "
                           f"({engine_error_line(proc.stderr)}); fix that first, a backup is taken before every change")
    return str(proc.stdout)


def take(session: Any, operation: str, *, now: datetime | None = None, exported: str | None = None) -> Backup:
    """Export the stack's state before `operation` (or keep `exported`, an export this command took
    since the state last changed); prune to the retention. Raises BackupFailed."""
    keep = keep_count(KEEP_ENV, DEFAULT_KEEP, "backups")
    text = export(session, operation) if exported is None else exported
    stamp = (now or datetime.now(UTC)).strftime(_STAMP)
    name = _file_name(session.name)
    directory = backup_root(session.root) / name
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = write_private(directory / f"{name}-{stamp}-{operation}.json", text, overwrite=False)
    prune(session.root, session.name, keep)
    backup = _parse(path)
    assert backup is not None   # the name was made by the pattern above
    return backup


def find(root: Path, stack: str, wanted: str) -> Path:
    """A backup by its listed name, or a path to an exported state file."""
    for backup in list_backups(root, stack):
        if backup.name == wanted:
            return backup.path
    candidate = Path(wanted).expanduser()
    if candidate.is_file():
        return candidate
    names = ", ".join(b.name for b in list_backups(root, stack)[:3]) or "none yet"
    raise RestoreFailed(f"no backup {wanted!r} for stack {stack} (newest: {names}): "
                        f"run `python -m automation backups {stack}` to list them")


def confirm_restore(stack: str, path: Path, *, yes: bool, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    if yes:
        return
    if not stdin.isatty():
        raise Declined(f"restoring {path.name} replaces the state of stack {stack} and there is no terminal to confirm on: pass --yes")
    print(f"Replace the state of stack {stack} with {path.name} ({_resources(path.read_text())} resources)? [y/N] ",
          end="", file=out, flush=True)
    if stdin.readline().strip().lower() not in {"y", "yes"}:
        raise Declined(f"nothing restored to stack {stack}: declined")


def import_state(session: Any, path: Path) -> None:
    proc = session.cli(["stack", "import", "--file", str(path)])
    if proc.code != 0:
        from automation.engine_cli import engine_error_line

        raise RestoreFailed(f"`pulumi stack import` of {path.name} into stack {session.name} failed: "
                            f"{engine_error_line(proc.stderr)}")


def render(backups: list[Backup]) -> str:
    from secrets_bridge.tables import render_table

    if not backups:
        return "(no backups yet: one is taken before every up, refresh and destroy)"
    rows = [(b.name, b.operation, f"{b.taken_at:%Y-%m-%d %H:%M:%S} UTC", str(b.resources), f"{b.bytes} B") for b in backups]
    return render_table(("Backup", "Before", "Taken", "Resources", "Size"), rows)


@dataclass(frozen=True)
class RestoreResult:
    stack: str
    restored: str               # the backup's file name
    replaced: str | None        # the backup taken of the state it replaced
    refresh: dict[str, int]
    summary: str


def restore(opts: Any, wanted: str) -> RestoreResult:
    """`restore STACK BACKUP`: confirm, back up what is there, import, refresh."""
    from automation import deploy, pipeline
    from automation.workspace import locate, open_stack

    path = find(opts.root, opts.stack, wanted)
    confirm_restore(opts.stack, path, yes=opts.yes, out=opts.out)
    # The stack may be gone with its state file: importing into a fresh one is the recovery.
    with open_stack(locate(opts.root, opts.stack), store_env=opts.env, create=True) as session:
        replaced = take(session, "restore")
        import_state(session, path)
        session.applied = True      # the state changed: a failure from here on must not undo the stack
        print(f"restore: imported {path.name} into stack {opts.stack}", file=opts.out, flush=True)
        changes = deploy.refresh(session, pipeline.view(opts), opts.locks)
    summary = deploy.change_line(changes, past=True)
    print(f"restore: refresh {summary}", file=opts.out, flush=True)
    return RestoreResult(stack=opts.stack, restored=path.name, replaced=replaced.name, refresh=dict(changes), summary=summary)
