"""Many writers at once: nothing lost, no error; a writer that gives up says how long it waited
and for whom."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys

from secrets_bridge import store_format
from tests.support.secrets_project import REPO
from tests.support.store_helpers import MASTER, open_store

WRITERS, SETS = 8, 25
_fork = multiprocessing.get_context("fork")


def _writer(directory, number: int, errors) -> None:
    for i in range(SETS):
        # A fresh process per `set` derives its keys again: clear the per-process cache to match.
        store_format._derived.clear()
        try:
            open_store(directory).set(f"W{number}_{i}", f"value-{number}-{i}")
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            errors.put(f"{type(exc).__name__}: {exc}")


def test_eight_writers_times_25_sets_lose_nothing_and_fail_never(tmp_path):
    open_store(tmp_path).set("SEED", "x")
    errors = _fork.Queue()
    writers = [_fork.Process(target=_writer, args=(tmp_path, n, errors)) for n in range(WRITERS)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(300)
    assert [w.exitcode for w in writers] == [0] * WRITERS
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == []
    store = open_store(tmp_path)
    assert len(store.names()) == WRITERS * SETS + 1
    assert all(store.get(f"W{n}_{i}") == f"value-{n}-{i}" for n in range(WRITERS) for i in range(SETS))


def test_a_new_store_created_by_many_writers_at_once_keeps_every_value(tmp_path):
    """The file appears while the others wait: they derive its keys outside the lock and retry."""
    errors = _fork.Queue()
    writers = [_fork.Process(target=_writer, args=(tmp_path, n, errors)) for n in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(300)
    assert errors.empty() and [w.exitcode for w in writers] == [0] * 4
    assert len(open_store(tmp_path).names()) == 4 * SETS


HOLD = """\
import sys, time
from pathlib import Path
from secrets_bridge.files import file_lock
with file_lock(Path(sys.argv[1]), timeout=5):
    print("held", flush=True)
    time.sleep(30)
"""


def test_a_writer_that_gives_up_says_how_long_and_for_whom(tmp_path):
    open_store(tmp_path).set("A", "1")
    lock = tmp_path / ".secrets.production.json.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "ORCHESTRA_SECRETS_DIR": str(tmp_path),
               "ORCHESTRA_MASTER_KEY": MASTER, "ORCHESTRA_LOCK_TIMEOUT": "0.3"}
        done = subprocess.run([sys.executable, "-m", "secrets_bridge", "set", "B"], input="2", env=env,
                              capture_output=True, text=True, timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 12
    assert "waited 0.3 s" in done.stderr and f"held by pid {holder.pid} (-c)" in done.stderr
    assert "ORCHESTRA_LOCK_TIMEOUT" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert open_store(tmp_path).names() == ["A"]
    assert MASTER not in done.stderr
