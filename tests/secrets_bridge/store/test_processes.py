"""Concurrent writers in separate processes, and writers killed with SIGKILL mid-write."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import random
import re
import signal
import stat
import time

from tests.support.store_helpers import open_store

# fork: children start in milliseconds, with every module already imported.
_fork = multiprocessing.get_context("fork")


def _concurrent_writer(directory, worker: int, start) -> None:
    start.wait()
    store = open_store(directory)
    for j in range(50):
        store.set(f"W{worker}_K{j}", f"value-{worker}-{j}")


def test_8_processes_x_50_sets_lose_nothing(tmp_path):
    start = _fork.Event()
    workers = [_fork.Process(target=_concurrent_writer, args=(tmp_path, w, start)) for w in range(8)]
    for p in workers:
        p.start()
    start.set()
    for p in workers:
        p.join()
    assert [p.exitcode for p in workers] == [0] * 8

    store = open_store(tmp_path)
    expected = {f"W{w}_K{j}": f"value-{w}-{j}" for w in range(8) for j in range(50)}
    assert len(store.names()) == 400
    assert {name: store.get(name) for name in store.names()} == expected


def _looping_writer(directory, progress_fd: int, first: int) -> None:
    store = open_store(directory)
    i = first
    while True:
        store.set(f"K{i % 10}", f"value-{i}")
        os.write(progress_fd, f"{i}\n".encode())  # reported only once the set has returned
        i += 1


def _read_reports(fd: int, at_least: int) -> list[int]:
    data = b""
    while data.count(b"\n") < at_least:
        chunk = os.read(fd, 4096)
        assert chunk, "the writer died before being killed"
        data += chunk
    return [int(line) for line in data.split()]


def test_sigkill_mid_write_leaves_a_readable_store(tmp_path):
    rng = random.Random()
    open_store(tmp_path).set("K0", "value-0")
    kills_mid_write = 0
    for round_ in itertools.count():
        # 30 rounds, and more until a kill is seen to land between temp-file creation and replace
        # (on a fast filesystem that window is narrow); the cap stops a writer that never writes.
        if round_ >= 30 and (kills_mid_write or round_ >= 300):
            break
        read_fd, write_fd = os.pipe()
        # Numbers grow across rounds, so a lost write cannot hide behind an older, larger one.
        writer = _fork.Process(target=_looping_writer, args=(tmp_path, write_fd, 1 + round_ * 1_000_000))
        writer.start()
        os.close(write_fd)
        reported = _read_reports(read_fd, rng.randint(1, 4))
        time.sleep(rng.uniform(0, 0.004))  # a random moment, usually inside a later set
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        assert writer.exitcode == -signal.SIGKILL
        with os.fdopen(read_fd, "rb") as rest:  # reports written before the kill are still in the pipe
            reported += [int(line) for line in rest.read().split()]

        temps = list(tmp_path.glob("..secrets.production.json.tmp.*"))  # files.write_private's temp files
        assert all(stat.S_IMODE(t.stat().st_mode) == 0o600 for t in temps)
        kills_mid_write += bool(temps)

        store = open_store(tmp_path)
        values = {name: store.get(name) for name in store.names()}
        assert all(re.fullmatch(r"value-\d+", v) for v in values.values())
        last = max(reported)
        # Every set reported as done survived: the newest reported value, or a later one, is there.
        assert int(values[f"K{last % 10}"].removeprefix("value-")) >= last
    assert kills_mid_write > 0
