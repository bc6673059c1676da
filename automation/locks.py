"""Stack locks on every self-managed backend (file, PostgreSQL, S3, ...): who holds one, for how long, whether it is stale.

Pulumi's DIY lock is one object per update under .pulumi/locks/<org>/<project>/<stack>/.
When an update finds another lock there, the engine's error lists every one of them:

    <backend URL>/.pulumi/locks/organization/orchestra/prod/<uuid>.json: created by USER@HOST (pid N) at RFC3339

That listing is read here the same way for every backend (the URL, which may carry a
database password, is never shown: only the key under .pulumi/locks/). A lock is stale when
nothing will ever release it: its holder ran on this host and its pid no longer runs, or it
ran on another host (whose processes this machine cannot see) and is older than the
threshold (`STALE_AFTER_DEFAULT`, `--stale-lock-after` or ORCHESTRA_STALE_LOCK_AFTER).

A stale lock is cleared only on request (--clear-stale-lock) and only when every lock of
the stack is stale, so a live one is never touched: on a file backend its file is deleted;
elsewhere `pulumi cancel`, which (engine 3.274.1, CancelCurrentUpdate) deletes the stack's
lock objects and nothing else. It deletes all of them, which is why it runs only when the
listing just taken holds stale locks alone.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pulumi.automation import CommandError

from automation.errors import StackLocked

STALE_AFTER_DEFAULT = "2h"
STALE_AFTER_ENV = "ORCHESTRA_STALE_LOCK_AFTER"
_LOCKS_DIR = ".pulumi/locks/"
_LISTED = re.compile(r"^\s*(?P<url>\S+): created by (?P<user>.*)@(?P<host>[^@\s]*) \(pid (?P<pid>-?\d+)\) "
                     r"at (?P<at>\S+)\s*$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # another user's live process
        return True
    return True


def _created(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def format_age(seconds: float) -> str:
    """`45s`, `3m12s`, `2h5m`, `3d4h`: how long a lock has been held."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


@dataclass(frozen=True)
class Lock:
    key: str                     # .pulumi/locks/<org>/<project>/<stack>/<uuid>.json, the same on every backend
    user: str
    host: str
    pid: int
    created: datetime | None

    @property
    def here(self) -> bool:
        return self.host == socket.gethostname()

    def age_s(self, now: datetime | None = None) -> float | None:
        if self.created is None:
            return None
        return max(0.0, ((now or datetime.now(UTC)) - self.created).total_seconds())

    def stale(self, stale_after_s: float, now: datetime | None = None) -> bool:
        """Nothing will release it: a dead pid of this host, or (another host) held longer than the threshold."""
        if self.here:
            return not _alive(self.pid)
        age = self.age_s(now)
        return age is not None and age > stale_after_s

    def describe(self, now: datetime | None = None) -> str:
        age = self.age_s(now)
        held = f"for {format_age(age)}" if age is not None else "since an unknown time"
        return f"{self.user}@{self.host} (pid {self.pid}) {held}"


def listed_locks(err: CommandError | str) -> list[Lock]:
    """Every lock the engine's lock-conflict message lists, on any DIY backend."""
    found = []
    for line in (err if isinstance(err, str) else str(err)).splitlines():
        match = _LISTED.match(line)
        if match is None or _LOCKS_DIR not in match["url"]:
            continue
        key = _LOCKS_DIR + match["url"].split(_LOCKS_DIR, 1)[1].split("?", 1)[0]
        found.append(Lock(key=key, user=match["user"], host=match["host"], pid=int(match["pid"]),
                          created=_created(match["at"])))
    return found


def file_backend_dir(backend: str) -> Path | None:
    """The state directory of a file backend (None for every other backend)."""
    return Path(backend.removeprefix("file://")) if backend.startswith("file://") else None


def where(lock: Lock, backend: str) -> str:
    """The lock's file on a file backend, else its key in the backend (never the URL, which may hold credentials)."""
    base = file_backend_dir(backend)
    return str(base / lock.key) if base is not None else lock.key


def all_stale(locks: Sequence[Lock], stale_after_s: float) -> bool:
    return bool(locks) and all(lock.stale(stale_after_s) for lock in locks)


def clear(locks: Sequence[Lock], backend: str, cancel: Callable[[], str | None]) -> None:
    """Remove these locks, every one of which the caller judged stale; `cancel` runs `pulumi cancel`, returns its error."""
    base = file_backend_dir(backend)
    if base is not None:
        for lock in locks:
            (base / lock.key).unlink(missing_ok=True)
        return
    problem = cancel()
    if problem:
        raise StackLocked(f"clearing the stale lock of {locks[0].describe()} failed: {problem}")


def _why_stale(lock: Lock, stale_after_s: float) -> str:
    if lock.here:
        return "a process that no longer runs on this host"
    return (f"on host {lock.host}, held longer than {format_age(stale_after_s)}, after which a lock is judged stale "
            f"(--stale-lock-after)")


def lock_message(err: CommandError | str, *, stack: str, backend: str, command: str, stale_after_s: float) -> str:
    """What holds the stack, for how long, and the one thing to do about it."""
    locks = listed_locks(err)
    live = [lock for lock in locks if not lock.stale(stale_after_s)]
    if locks and not live:
        lock = locks[0]
        return (f"stack {stack} is locked by {lock.describe()}, {_why_stale(lock, stale_after_s)}: the lock is stale; "
                f"clear it with `python -m automation {command} {stack} --clear-stale-lock`")
    if live:
        lock = live[0]
        at = ("still running on this host" if lock.here else
              f"on host {lock.host}, which this machine cannot check (judged stale after {format_age(stale_after_s)})")
        return f"stack {stack} is locked by {lock.describe()}, {at}: wait for it (`--lock-wait 10m` waits here)"
    holder = "another update"   # e.g. Pulumi Cloud, which locks server-side and lists no lock objects
    return (f"stack {stack} is locked by {holder}: wait for it (`--lock-wait 10m` waits here), "
            f"or if that update is gone run `pulumi cancel --stack {stack}`")
