"""Secret store figures, measured side by side in one run: `python bench/store_bench.py`.

- the KDF alone (OWASP scrypt, the cost every process pays once);
- open a store and read 1 key vs 1,000 keys, each in a fresh process (the ratio stays near 1
  because the KDF runs once per process, not once per value);
- sequential `set` throughput (each set is a locked read-modify-write with two fsyncs);
- concurrent `set` throughput with 1, 2, 4, 8 writers, each set paying its own KDF as a fresh
  `secrets-bridge set` process does: "serialised" holds one lock around the KDF and the write
  (the KDF inside the lock, every writer waits for every other's KDF), "KDF outside" is the
  store as it is (derive first, then re-read, verify and write under the lock).

Printed figures, not a test (the tests assert only that 8 x 25 concurrent sets lose nothing).
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from secrets_bridge import store_format  # noqa: E402
from secrets_bridge.store import SecretStore  # noqa: E402
from secrets_bridge.store_format import DEFAULT_KDF, new_salt  # noqa: E402

RUNS = 3
KEYS = 1000

_READER = """
import sys, time
t0 = time.perf_counter()
from secrets_bridge.store import SecretStore
store = SecretStore.open("bench")
names = store.names()[: int(sys.argv[1])]
assert all(store.get(name) for name in names)
print(time.perf_counter() - t0)
"""


def kdf_ms() -> float:
    def once() -> float:
        t0 = time.perf_counter()
        DEFAULT_KDF.derive(b"bench master key", new_salt())
        return (time.perf_counter() - t0) * 1000
    return statistics.median(once() for _ in range(RUNS))


def fresh_process_read_ms(directory: Path, master_key: str, count: int) -> float:
    # The master key travels in the environment, as in production: never on a command line.
    env = {**os.environ, "ORCHESTRA_MASTER_KEY": master_key, "ORCHESTRA_SECRETS_DIR": str(directory)}

    def once() -> float:
        out = subprocess.run([sys.executable, "-c", _READER, str(count)], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True)
        return float(out.stdout) * 1000
    return statistics.median(once() for _ in range(RUNS))


def sets_per_second(store: SecretStore, count: int, prefix: str) -> float:
    t0 = time.perf_counter()
    for i in range(count):
        store.set(f"{prefix}_{i}", secrets.token_urlsafe(40))
    return count / (time.perf_counter() - t0)


SETS_PER_WRITER = 3
ROUNDS = 3
_fork = multiprocessing.get_context("fork")


def _writer(directory: Path, master_key: str, number: int, serialised: bool) -> None:
    mutex = os.open(directory / "bench.mutex", os.O_RDWR | os.O_CREAT, 0o600)
    for i in range(SETS_PER_WRITER):
        store_format._derived.clear()  # a fresh process derives its keys again
        if serialised:
            fcntl.flock(mutex, fcntl.LOCK_EX)
        try:
            SecretStore.open("concurrent", master_key=master_key, directory=directory,
                             lock_timeout=600).set(f"W{number}_{i}", secrets.token_urlsafe(40))
        finally:
            if serialised:
                fcntl.flock(mutex, fcntl.LOCK_UN)


def concurrent_sets_per_second(directory: Path, master_key: str, writers: int, serialised: bool) -> float:
    SecretStore.open("concurrent", master_key=master_key, directory=directory).set("SEED", "x")
    procs = [_fork.Process(target=_writer, args=(directory, master_key, n, serialised)) for n in range(writers)]
    t0 = time.perf_counter()
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    elapsed = time.perf_counter() - t0
    assert all(proc.exitcode == 0 for proc in procs)
    store = SecretStore.open("concurrent", master_key=master_key, directory=directory)
    assert len(store.names()) == writers * SETS_PER_WRITER + 1, "a set was lost"
    store.path.unlink()
    return writers * SETS_PER_WRITER / elapsed


def concurrency_rows(directory: Path, master_key: str) -> list[tuple[str, str, str]]:
    """Serialised and KDF-outside runs alternate, ROUNDS times each, medians compared: the machine
    is shared, so side by side is the only fair comparison."""
    rows = []
    for writers in (1, 2, 4, 8):
        before, after = [], []
        for _ in range(ROUNDS):
            before.append(concurrent_sets_per_second(directory, master_key, writers, serialised=True))
            after.append(concurrent_sets_per_second(directory, master_key, writers, serialised=False))
        b, a = statistics.median(before), statistics.median(after)
        rows.append((f"{writers} writer(s) x {SETS_PER_WRITER} sets, KDF inside one lock", f"{b:8.2f} sets/s",
                     "1.00 (base)"))
        rows.append((f"{writers} writer(s) x {SETS_PER_WRITER} sets, KDF outside the lock", f"{a:8.2f} sets/s",
                     f"{a / b:.2f} x serialised"))
    return rows


def main() -> None:
    master_key = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        kdf = kdf_ms()
        big = SecretStore.open("bench", master_key=master_key, directory=directory)
        big.set_many({f"KEY_{i:04d}": secrets.token_urlsafe(40) for i in range(KEYS)})
        read_1 = fresh_process_read_ms(directory, master_key, 1)
        read_all = fresh_process_read_ms(directory, master_key, KEYS)
        small = SecretStore.open("small", master_key=master_key, directory=directory)
        small_rate = sets_per_second(small, 200, "SMALL")
        big_rate = sets_per_second(big, 50, "MORE")
        concurrent = concurrency_rows(directory, master_key)

    rows = [
        ("KDF alone (scrypt n=2^17 r=8 p=1)", f"{kdf:8.1f} ms", "1.00 (base)"),
        ("fresh process: open + read 1 key", f"{read_1:8.1f} ms", f"{read_1 / kdf:.2f} x KDF"),
        (f"fresh process: open + read {KEYS:,} keys", f"{read_all:8.1f} ms",
         f"{read_all / kdf:.2f} x KDF, {read_all / read_1:.2f} x 1 key"),
        ("sequential set, store of 0..200 keys", f"{small_rate:8.1f} sets/s", "1.00 (base)"),
        (f"sequential set, store of {KEYS:,}+ keys", f"{big_rate:8.1f} sets/s", f"{big_rate / small_rate:.2f} x small"),
        *concurrent,
    ]
    width = max(len(r[0]) for r in rows)
    print(f"secret store benchmark (median of {RUNS} for timings, of {ROUNDS} alternating rounds for writers; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
          f"Python {sys.version.split()[0]})")
    print(f"{'measurement':<{width}}  {'value':>15}  ratio")
    for name, value, ratio in rows:
        print(f"{name:<{width}}  {value:>15}  {ratio}")


if __name__ == "__main__":
    main()
