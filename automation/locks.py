"""Stack locks: who holds one, whether that holder still runs, waiting for it, clearing a stale one.

A self-managed file backend keeps one JSON file per lock under
<state>/.pulumi/locks/organization/<project>/<stack>/, naming the holder's pid,
user and host. A lock whose host is this one and whose pid no longer runs is
stale (an engine killed with SIGKILL, a machine that lost power): nothing will
ever release it, so the message says so and names the exact command that clears it.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from pulumi.automation import CommandError

from automation.engine_cli import lock_holder
from automation.project import DIY_ORGANIZATION


@dataclass(frozen=True)
class LockFile:
    path: Path
    pid: int | None
    user: str
    host: str
    since: str

    @property
    def here(self) -> bool:
        return self.host == socket.gethostname()

    @property
    def stale(self) -> bool:
        """Held by a process of this host that is gone."""
        return self.here and self.pid is not None and not _alive(self.pid)

    def describe(self) -> str:
        return f"{self.user}@{self.host} (pid {self.pid}) since {self.since}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # another user's live process
        return True
    return True


def lock_dir(backend: str) -> Path | None:
    """Where a file backend keeps its lock files (None for other backends)."""
    if not backend.startswith("file://"):
        return None
    return Path(backend.removeprefix("file://")) / ".pulumi" / "locks"


def lock_files(backend: str, project: str, stack: str) -> list[LockFile]:
    base = lock_dir(backend)
    if base is None:
        return []
    found = []
    for path in sorted((base / DIY_ORGANIZATION / project / stack).glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        pid = data.get("pid")
        found.append(LockFile(path=path, pid=pid if isinstance(pid, int) else None, user=str(data.get("username", "?")),
                              host=str(data.get("hostname", "?")), since=str(data.get("timestamp", "?"))))
    return found


def clear_stale(backend: str, project: str, stack: str) -> list[LockFile]:
    """Remove the stale locks of the stack (never a live one); returns what was removed."""
    removed = []
    for lock in lock_files(backend, project, stack):
        if lock.stale:
            lock.path.unlink(missing_ok=True)
            removed.append(lock)
    return removed


def lock_message(err: CommandError | str, *, stack: str, short: str, project: str, backend: str, command: str) -> str:
    """What holds the stack and the one thing to do about it."""
    locks = lock_files(backend, project, short)
    stale = [lock for lock in locks if lock.stale]
    if stale:
        return (f"stack {stack} is locked by {stale[0].describe()}, a process that no longer runs on this host: "
                f"the lock is stale; clear it with `python -m automation {command} {stack} --clear-stale-lock`")
    if locks:
        lock = locks[0]
        where = "still running on this host" if lock.here else f"on host {lock.host}, which this machine cannot check"
        return (f"stack {stack} is locked by {lock.describe()}, {where}: wait for it (`--lock-wait 10m` waits here), "
                f"or if that process is gone delete {lock.path}")
    fix = (f"if that process is gone run `pulumi cancel --stack {stack}`" if lock_dir(backend) is None
           else f"if that process is gone delete its lock file under {lock_dir(backend)}")
    return f"stack {stack} is locked by {lock_holder(err)}: wait for it (`--lock-wait 10m` waits here), or {fix}"
