"""Nothing the engine started outlives it: its orphans are found and stopped when it exits.

The engine starts the language host and each provider in a process group of its own
(so a terminal's Ctrl-C does not reach them), so signalling the engine's group does
not reach them either, and an engine that dies (kill -9, OOM) leaves them running.
The driver therefore makes itself a child subreaper (Linux): the orphans of an engine
that died become the driver's children, which it then stops, tree and all, and reaps.
Elsewhere the subreaper call is unavailable and this does nothing. Engines may run side by
side (threads): each is registered while it runs, so one engine's exit never stops another.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

_PR_SET_CHILD_SUBREAPER = 36
_subreaper: bool | None = None
_lock = threading.Lock()
_engines: set[int] = set()   # engine processes running now, started through `start`


def become_subreaper() -> bool:
    """Adopt orphaned descendants (once per process); False where the kernel does not offer it."""
    global _subreaper
    if _subreaper is None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _subreaper = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except (OSError, AttributeError):
            _subreaper = False
    return _subreaper


def _parents() -> dict[int, int]:
    """pid -> ppid of every live process (from /proc; empty where there is none)."""
    found: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            found[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    return found


def children(pid: int | None = None) -> set[int]:
    pid = os.getpid() if pid is None else pid
    return {child for child, parent in _parents().items() if parent == pid}


def _tree(roots: set[int], parents: dict[int, int]) -> set[int]:
    tree, frontier = set(roots), set(roots)
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - tree
        tree |= frontier
    return tree


def stop_orphans(known: set[int]) -> set[int]:
    """SIGKILL every child of this process not in `known` (the engine's adopted orphans) with its whole tree; reap them."""
    if not _subreaper:
        return set()
    orphans = children() - known
    if not orphans:
        return set()
    doomed = _tree(orphans, _parents())
    for pid in doomed:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for pid in orphans:   # only direct children can be reaped here; grandchildren come back as orphans and init or we reap them
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return doomed


def start(popen: Callable[[], subprocess.Popen]) -> tuple[subprocess.Popen, set[int]]:
    """Start an engine process and register it; returns it with the children that existed before it."""
    become_subreaper()
    with _lock:
        known = children()
        proc = popen()
        _engines.add(proc.pid)
    return proc, known


def finish(proc: subprocess.Popen, known: set[int]) -> set[int]:
    """After the engine exited: stop what it left behind, never another running engine or an earlier child."""
    with _lock:
        _engines.discard(proc.pid)
        return stop_orphans(known | _engines | {proc.pid})
