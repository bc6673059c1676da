"""The one private-file writer: 0600 from the first byte, atomic, durable, optionally locked.

Every file the project writes that may hold a secret or a result a person relies
on (the store, .env exports, verification results, reports, the sandbox's state)
goes through `write_private`: a temp file created with its mode (never chmod'ed
afterwards), fsynced, renamed over the target (or linked, so an existing file is
never replaced without `overwrite`), then the directory fsynced so the rename
itself survives a crash. `file_lock` is the advisory lock writers share; the
holder writes who it is into the lock file, so a writer that gives up can say for
whom it waited. `interrupts_deferred` holds Ctrl-C back over a commit.
"""

from __future__ import annotations

import fcntl
import glob
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["LockTimeout", "file_lock", "interrupts_deferred", "write_private", "remove_stale_temps"]

_LOCK_POLL_S = 0.005


class LockTimeout(Exception):
    """`file_lock` waited `timeout` seconds and another process still held the lock."""

    def __init__(self, path: Path, waited_s: float, holder: str | None = None) -> None:
        by = f" by {holder}" if holder else ""
        super().__init__(f"{path} held{by} for over {waited_s:.1f}s")
        self.path = path
        self.waited_s = waited_s
        self.holder = holder      # e.g. "pid 4242 (secrets-bridge set)", as the holder wrote it


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp.{os.getpid()}.{secrets.token_hex(4)}")


def remove_stale_temps(path: Path) -> None:
    """Remove temp files a crashed writer of `path` left behind (call it holding the lock)."""
    for stale in glob.glob(glob.escape(str(path.with_name("." + path.name))) + ".tmp.*"):
        Path(stale).unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_private(path: Path, data: str | bytes, *, overwrite: bool = True, mode: int = 0o600) -> Path:
    """Write `data` to `path` atomically with `mode` from creation.

    Without `overwrite` an existing file is never replaced (FileExistsError, even
    when it appeared a moment ago). OSError propagates for the caller to translate.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = _temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        with open(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return path


@contextmanager
def file_lock(path: Path, *, timeout: float) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created 0600), waiting up to `timeout` seconds.

    Raises LockTimeout when another process kept it longer; OSError when the
    lock file cannot be created.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= timeout:
                    raise LockTimeout(Path(path), waited, _holder(fd)) from None
                time.sleep(_LOCK_POLL_S)
        _announce(fd)
        yield
    finally:
        os.close(fd)  # releases the flock


def _announce(fd: int) -> None:
    # Only the program and its subcommand: argv may hold anything after that.
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    sub = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1].replace("-", "").isalpha() else ""
    try:
        os.ftruncate(fd, 0)
        who = f"{program} {sub}".strip()
        os.pwrite(fd, f"pid {os.getpid()} ({who})".encode()[:200], 0)
    except OSError:
        pass  # who holds it is a courtesy for the next writer's message


def _holder(fd: int) -> str | None:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return None
    return text if text.startswith("pid ") and text.isprintable() else None


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT back until the block is over (then raise KeyboardInterrupt), so a commit and
    the bookkeeping that says it happened cannot be split by Ctrl-C. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt
