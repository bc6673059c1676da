"""Concurrent vs one-by-one live verification, measured side by side in one run.

Five key checks against loopback servers that each answer after 300 ms. Prints wall times and ratios; it is not a test.

    python bench/verify_bench.py

Lambda's pacing between its two requests (1 s against the real API) is set to 0
here so each check costs its server delays only; the Lambda check still makes two
requests (instance-types, then instances), so it is the slowest single check.
"""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from secrets_bridge.verify import verify_all_sync  # noqa: E402
from tests.support.verify_apis import CANARY, VALID_ROUTES, Route, fake_apis  # noqa: E402

DELAY_S = 0.3


def main() -> None:
    slow = {name: {path: Route(r.status, r.body, r.headers, DELAY_S) for path, r in routes.items()}
            for name, (_, routes) in VALID_ROUTES.items()}
    with ExitStack() as stack:
        _, urls = stack.enter_context(fake_apis(slow))
        common = {"urls": urls, "timeout": 10.0, "lambda_pace_s": 0.0}

        started = time.perf_counter()
        results = verify_all_sync(dict(CANARY), **common)
        concurrent = time.perf_counter() - started
        assert {r.verdict for r in results} == {"valid"}, results

        singles: dict[str, float] = {}
        for name, value in CANARY.items():
            started = time.perf_counter()
            verify_all_sync({name: value}, **common)
            singles[name] = time.perf_counter() - started

    one_by_one = sum(singles.values())
    slowest_name, slowest = max(singles.items(), key=lambda kv: kv[1])
    print(f"{len(singles)} checks, each server answering after {DELAY_S * 1000:.0f} ms")
    for name, seconds in singles.items():
        print(f"  single {name:<16} {seconds * 1000:7.0f} ms")
    print(f"concurrent wall time          {concurrent * 1000:7.0f} ms")
    print(f"one-by-one wall time          {one_by_one * 1000:7.0f} ms")
    print(f"slowest single check          {slowest * 1000:7.0f} ms ({slowest_name})")
    print(f"concurrent / slowest single   {concurrent / slowest:7.2f}x  (target <= 1.3x)")
    print(f"one-by-one / concurrent       {one_by_one / concurrent:7.2f}x")


if __name__ == "__main__":
    main()
