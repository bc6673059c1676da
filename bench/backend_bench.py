"""State backends side by side: `up` (create) and no-change `up` of the sandbox stack on file, PostgreSQL and S3.

Three checkouts, identical but for PULUMI_BACKEND_URL (the secrets provider is the
passphrase in each, so only the backend differs); PostgreSQL and moto's S3 run on
loopback (tests/support/services.py). Each round visits the backends in a rotated
order: destroy (untimed), `up` (timed, creates 6 resources), `up` again (timed, no
changes). Medians per backend and their ratio to the file backend are printed.

    .venv/bin/python bench/backend_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from automation.engine import ensure_engine  # noqa: E402
from tests.support import services  # noqa: E402
from tests.support.checkout import Checkout, sandbox_stack_yaml  # noqa: E402
from tests.support.loopback import free_port  # noqa: E402

KEYS = {"LAMBDA_API_KEY": "secret_benchbench.0123456789abcdefghijABCDEFGHIJ0123",
        "OPENAI_API_KEY": "sk-proj-benchbenchbench0123T3BlbkFJabcdefghij0123456789",
        "PORTKEY_API_KEY": "benchportkey0123456789abcdefghij"}


def _timed(co: Checkout, *args: str) -> float:
    started = time.perf_counter()
    proc = co.run(*args)
    elapsed = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"{co.root.name}: {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-800:]}")
    co.outputs.clear()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine = ensure_engine(log=lambda msg: print(msg, file=sys.stderr))
    postgres, moto = services.start_postgres(), services.start_moto()
    checkouts: dict[str, Checkout] = {}
    times: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="orchestra-backend-bench-") as work:
        try:
            urls = {"file": None, "postgres": postgres.url(postgres.create_database("bench")),
                    "s3": moto.bucket_url(moto.create_bucket("orchestra-bench"))}
            for kind, url in urls.items():
                extra = {**moto.env(), "PULUMI_BACKEND_URL": url} if url else {}
                co = Checkout(Path(work) / kind, engine.bin_dir, extra)
                co.stack_file("local").write_text(sandbox_stack_yaml(free_port(), free_port()))
                co.store().set_many(KEYS)
                checkouts[kind] = co
                times[kind] = {"up": [], "no-change up": []}
            order = list(checkouts)
            for round_no in range(args.rounds):
                for kind in order[round_no % len(order):] + order[:round_no % len(order)]:
                    co = checkouts[kind]
                    if round_no:
                        _timed(co, "destroy", "local", "--yes")
                    times[kind]["up"].append(_timed(co, "up", "local", "--yes"))
                    times[kind]["no-change up"].append(_timed(co, "up", "local", "--yes"))
                print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
            for co in checkouts.values():
                _timed(co, "destroy", "local", "--yes")
        finally:
            for co in checkouts.values():
                co.stop_sandbox()
            postgres.stop()
            moto.stop()
    print(f"backend   {'up (create 6)':>22}   {'no-change up':>22}    (median of {args.rounds}, seconds; ratio to file)")
    base = {op: statistics.median(times["file"][op]) for op in ("up", "no-change up")}
    for kind, ops in times.items():
        cells = [f"{statistics.median(v):8.2f} s ({statistics.median(v) / base[op]:4.2f}x)" for op, v in ops.items()]
        print(f"{kind:<9} {cells[0]:>22}   {cells[1]:>22}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
