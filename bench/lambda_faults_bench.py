"""The fault matrix of issue 10 and the cost of launch reconciliation (printed, not a test).

1. Every scenario of tests/support/lambda_faults.py through the real engine against the emulator:
   instances launched (launch requests the API received), left running, orphans (running, not in
   state), the run's exit codes and wall time.
2. Reconciliation cost: InstanceProvider.create called side by side with and without a launch
   token against the same emulator; API calls by kind (status polls counted apart, they depend on
   boot time), and the extra calls per create.

    .venv/bin/python bench/lambda_faults_bench.py [--only SCENARIO ...]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from automation.sandbox.emulator_hooks import EmulatorHooks  # noqa: E402
from automation.sandbox.lambda_emulator import LambdaEmulator  # noqa: E402
from infra.lambda_cloud import LambdaClient  # noqa: E402
from infra.lambda_cloud.reconcile import resource_key  # noqa: E402
from infra.lambda_dynamic import InstanceProvider  # noqa: E402
from secrets_bridge.tables import render_table  # noqa: E402
from tests.support.lambda_faults import API_KEY, KEY_A, SCENARIOS, run_scenario  # noqa: E402


def fault_matrix(names: list[str]) -> str:
    rows = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"faults-{name}-") as tmp:
            started = time.monotonic()
            outcome = run_scenario(name, Path(tmp))
            wall = time.monotonic() - started
        rows.append((outcome.scenario, str(outcome.launched), str(len(outcome.live)), str(len(outcome.orphans)),
                     "/".join(str(r.returncode) for r in outcome.runs), f"{wall:.1f} s"))
    return render_table(("Scenario", "Launched", "Left", "Orphans", "Exit codes", "Wall time"), rows)


def _calls(requests: list[dict]) -> collections.Counter[str]:
    kinds: collections.Counter[str] = collections.Counter()
    for r in requests:
        path = r["path"]
        kinds["status polls" if path.startswith("/api/v1/instances/") else f"{r['method']} {path}"] += 1
    return kinds


def reconciliation_cost(creates: int = 3) -> str:
    totals: dict[str, collections.Counter[str]] = {}
    with tempfile.TemporaryDirectory(prefix="reconcile-cost-") as tmp, \
            LambdaEmulator(Path(tmp) / "state.json", [API_KEY], boot_seconds=0.2) as emulator:
        hooks = EmulatorHooks(emulator.base_url)
        hooks.config(capacity={"gpu_1x_a10": {"us-east-1": 2 * creates}})
        with LambdaClient(API_KEY, emulator.base_url, pace=False) as client:
            client.add_ssh_key("k", KEY_A)
        provider = InstanceProvider()
        base = {"api_key": API_KEY, "api_url": emulator.base_url, "instance_type_name": "gpu_1x_a10",
                "region_name": "us-east-1", "ssh_key_names": ["k"], "name": "cost", "poll_interval_seconds": 0.05}
        for label, extra in (("without token", {}), ("with token", {"launch_key": resource_key("p", "s", "r")})):
            counts: collections.Counter[str] = collections.Counter()
            for i in range(creates):
                inputs = provider.check({}, {**base, **extra, "name": f"cost-{label[:4]}-{i}"}).inputs
                before = len(hooks.requests())
                provider.create(inputs)
                counts.update(_calls(hooks.requests()[before:]))
            totals[label] = counts
    kinds = sorted(set(totals["without token"]) | set(totals["with token"]))
    rows = [(k, f"{totals['without token'][k] / creates:g}", f"{totals['with token'][k] / creates:g}") for k in kinds]
    plain = sum(v for k, v in totals["without token"].items() if k != "status polls") / creates
    tokened = sum(v for k, v in totals["with token"].items() if k != "status polls") / creates
    rows.append(("calls per create, polls aside", f"{plain:g}", f"{tokened:g}"))
    table = render_table(("API call (per create)", "Without token", "With token"), rows)
    return f"{table}\nreconciliation: +{tokened - plain:g} call per create ({tokened / plain:.2f}x the non-poll calls)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="run only these scenarios")
    args = parser.parse_args()
    print("Fault matrix (real engine, emulator on loopback):")
    print(fault_matrix(args.only or list(SCENARIOS)))
    print()
    print("Reconciliation cost (InstanceProvider.create side by side, same emulator):")
    print(reconciliation_cost())


if __name__ == "__main__":
    main()
