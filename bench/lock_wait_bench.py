"""Lock-wait overhead on a shared (PostgreSQL) backend: a waiting `up --lock-wait` against the same `up` uncontended.

One checkout of the sandbox stack, state on PostgreSQL on loopback. Each round, in a
rotated order:

- contended: a holder `up` recreates the instance (destroyed first, untimed; the instance
  boots in BOOT_S seconds, so the holder keeps the lock that long); once its lock is in the
  table a second `up --lock-wait 5m` starts and waits. The bench polls the table for the
  holder's lock to go (release), then for the waiter's own lock (it started), then times
  the waiter's exit (it finished).
- uncontended: the same no-change `up` alone, timed from start to exit.

Printed: medians of release → waiter starts, release → waiter finishes, the uncontended
run, and their ratios to it.

    .venv/bin/python bench/lock_wait_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend_bench import KEYS, _timed  # noqa: E402  (bench/ is the script's directory)

from automation.engine import ensure_engine  # noqa: E402
from tests.support import services  # noqa: E402
from tests.support.checkout import Checkout, sandbox_stack_yaml  # noqa: E402
from tests.support.lockstate import SharedBackend, shared_backend  # noqa: E402
from tests.support.loopback import free_port  # noqa: E402

BOOT_S = "10"
def _driver(co: Checkout, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "automation", *args], cwd=co.root, env=co.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def _until(probe, what: str, timeout_s: float = 300.0) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if probe():
            return time.perf_counter()
        time.sleep(0.02)
    raise SystemExit(f"{what} did not happen within {timeout_s:.0f}s")


def _contended(co: Checkout, backend: SharedBackend) -> tuple[float, float]:
    """(release → waiter's lock taken, release → waiter exited), seconds."""
    _timed(co, "destroy", "local", "--yes")
    holder = _driver(co, "up", "local", "--yes")
    _until(backend.lock_keys, "the holder's lock")
    (held,) = backend.lock_keys()
    waiter = _driver(co, "up", "local", "--yes", "--lock-wait", "5m")
    released = _until(lambda: held not in backend.lock_keys(), "the holder's release")
    started = _until(lambda: bool(backend.lock_keys()) or waiter.poll() is not None, "the waiter's lock")
    out, err = waiter.communicate(timeout=300)
    finished = time.perf_counter()
    _, holder_err = holder.communicate(timeout=300)
    if holder.returncode or waiter.returncode:
        raise SystemExit(f"holder {holder.returncode} / waiter {waiter.returncode}: {holder_err[-400:]} {err[-800:]}")
    if "waiting up to" not in out:
        raise SystemExit("the waiter never waited: the holder released before it reached the lock")
    return started - released, finished - released


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine = ensure_engine(log=lambda msg: print(msg, file=sys.stderr))
    postgres, moto = services.start_postgres(), services.start_moto()
    times: dict[str, list[float]] = {"start": [], "finish": [], "alone": []}
    with tempfile.TemporaryDirectory(prefix="orchestra-lock-wait-bench-") as work:
        backend = shared_backend("postgres", "lockbench", postgres, moto)
        co = Checkout(Path(work) / "co", engine.bin_dir, {"PULUMI_BACKEND_URL": backend.url,
                                                          "ORCHESTRA_SANDBOX_BOOT_SECONDS": BOOT_S})
        co.stack_file("local").write_text(sandbox_stack_yaml(free_port(), free_port()))
        co.store().set_many(KEYS)
        try:
            _timed(co, "up", "local", "--yes")
            for round_no in range(args.rounds):
                first_alone = round_no % 2 == 0
                if first_alone:
                    times["alone"].append(_timed(co, "up", "local", "--yes"))
                start, finish = _contended(co, backend)
                times["start"].append(start)
                times["finish"].append(finish)
                if not first_alone:
                    times["alone"].append(_timed(co, "up", "local", "--yes"))
                print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
            _timed(co, "destroy", "local", "--yes")
        finally:
            co.stop_sandbox()
            postgres.stop()
            moto.stop()
    alone = statistics.median(times["alone"])
    print(f"lock wait on PostgreSQL (median of {args.rounds}, seconds; ratio to the uncontended no-change up)")
    print(f"uncontended no-change up, start to exit     {alone:7.2f} s  (1.00x)")
    for key, label in (("start", "holder's release -> waiter takes the lock"), ("finish", "holder's release -> waiter exits")):
        value = statistics.median(times[key])
        print(f"{label:<44} {value:7.2f} s  ({value / alone:4.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
