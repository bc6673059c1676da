"""Reading the engine's lock listing (every DIY backend alike), judging staleness, and what the message says.

The end-to-end proofs (a killed engine's lock on PostgreSQL and S3, cleared with the flag)
are tests/automation/team/test_stale_locks.py; these pin the rules themselves.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from automation.locks import format_age, listed_locks, lock_message, where

HOUR = 3600.0


def _conflict(*locks: tuple[str, str, int, datetime], url: str = "postgres://orchestra:hunter2secret@db:5432/state") -> str:
    lines = [f"error: the stack is currently locked by {len(locks)} lock(s). Either wait for the other process(es) "
             "to end or delete the lock file with `pulumi cancel`."]
    for user, host, pid, at in locks:
        lines.append(f"  {url}/.pulumi/locks/organization/orchestra/prod/{pid:08d}.json?sslmode=disable: created by "
                     f"{user}@{host} (pid {pid}) at {at.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    return "\n".join(lines)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_listing_is_read_without_the_backend_url_and_its_credentials():
    at = datetime.now(UTC) - timedelta(minutes=3, seconds=12)
    (lock,) = listed_locks(_conflict(("ann", "box-7", 77, at)))
    assert (lock.user, lock.host, lock.pid) == ("ann", "box-7", 77)
    assert lock.key == ".pulumi/locks/organization/orchestra/prod/00000077.json"
    assert where(lock, "postgres://orchestra:hunter2secret@db:5432/state") == lock.key
    assert where(lock, "file:///srv/state") == "/srv/state/.pulumi/locks/organization/orchestra/prod/00000077.json"
    assert lock.describe().startswith("ann@box-7 (pid 77) for 3m1") and listed_locks("error: something else") == []


def test_ages_read_as_durations():
    assert [format_age(s) for s in (0, 45, 192, 7500, 273600)] == ["0s", "45s", "3m12s", "2h5m", "3d4h"]


def test_a_dead_pid_on_this_host_is_stale_and_the_message_names_the_flag():
    text = _conflict(("ci", socket.gethostname(), _dead_pid(), datetime.now(UTC)))
    message = lock_message(text, stack="prod", backend="s3://bucket", command="up", stale_after_s=2 * HOUR)
    assert "a process that no longer runs on this host: the lock is stale" in message
    assert message.endswith("clear it with `python -m automation up prod --clear-stale-lock`")
    assert "hunter2secret" not in message


def test_a_live_pid_on_this_host_is_never_stale_however_old():
    text = _conflict(("me", socket.gethostname(), os.getpid(), datetime.now(UTC) - timedelta(days=3)))
    message = lock_message(text, stack="prod", backend="s3://bucket", command="up", stale_after_s=2 * HOUR)
    assert "still running on this host" in message and "stale" not in message and "for 3d0h" in message


def test_another_host_is_stale_only_past_the_threshold():
    recent = _conflict(("bob", "laptop-bob", 4242, datetime.now(UTC) - timedelta(minutes=5)))
    old = _conflict(("bob", "laptop-bob", 4242, datetime.now(UTC) - timedelta(hours=3)))
    live = lock_message(recent, stack="prod", backend="s3://b", command="up", stale_after_s=2 * HOUR)
    assert "on host laptop-bob, which this machine cannot check (judged stale after 2h0m)" in live
    assert live.endswith("wait for it (`--lock-wait 10m` waits here)") and "is stale" not in live
    stale = lock_message(old, stack="prod", backend="s3://b", command="up", stale_after_s=2 * HOUR)
    assert "bob@laptop-bob (pid 4242) for 3h0m, on host laptop-bob, held longer than 2h0m" in stale
    assert "the lock is stale" in stale and "--clear-stale-lock" in stale
    shorter = lock_message(recent, stack="prod", backend="s3://b", command="up", stale_after_s=60)
    assert "the lock is stale" in shorter          # --stale-lock-after 1m


def test_one_live_lock_among_stale_ones_means_waiting():
    text = _conflict(("ci", socket.gethostname(), _dead_pid(), datetime.now(UTC)),
                     ("bob", "laptop-bob", 4242, datetime.now(UTC)))
    message = lock_message(text, stack="prod", backend="s3://b", command="up", stale_after_s=2 * HOUR)
    assert "bob@laptop-bob" in message and "wait for it" in message and "stale;" not in message


def test_a_backend_that_lists_no_lock_objects_gets_the_generic_fix():
    message = lock_message("error: [409] Conflict: Another update is currently in progress.", stack="prod",
                           backend="https://api.pulumi.com", command="up", stale_after_s=2 * HOUR)
    assert message.startswith("stack prod is locked by another update") and "pulumi cancel --stack prod" in message
