"""Driver overhead, measured side by side in one run (printed, not a test).

1. `python -m automation preview local` against plain `pulumi preview --stack local`, and
   `python -m automation up local --yes` with nothing to change against plain
   `pulumi up --yes --stack local`, on the same program, state and sandbox, interleaved
   (driver, raw, driver, raw, ...): medians and their ratios (target <= 1.15x).
2. Engine CLI calls per driver command, counted through a logging `pulumi` wrapper on PATH,
   and listed, so a call that is not needed shows.

Runs in a temp copy of the project (the repository's files and state are untouched):
    .venv/bin/python bench/driver_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from automation.engine import ensure_engine  # noqa: E402
from secrets_bridge.store import SecretStore  # noqa: E402
from tests.support.loopback import free_port  # noqa: E402


def _project(work: Path, engine) -> tuple[Path, dict[str, str], Path]:
    root = work / "project"
    root.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, root / name)
    for package in ("infra", "secrets_bridge", "automation"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".venv").symlink_to(Path(sys.prefix))
    text = (REPO / "automation" / "sandbox" / "Pulumi.local.template.yaml").read_text()
    (root / "Pulumi.local.yaml").write_text(text.replace("18787", str(free_port())).replace("18788", str(free_port())))
    wrap, log = work / "bin", work / "argv.log"
    wrap.mkdir()
    (wrap / "pulumi").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{engine.pulumi}" "$@"\n')
    (wrap / "pulumi").chmod(0o755)
    env = {**os.environ, "PATH": os.pathsep.join([str(wrap), str(engine.bin_dir), os.environ["PATH"]]),
           "ORCHESTRA_SECRETS_DIR": str(work), "ORCHESTRA_MASTER_KEY": "bench-master-key-0123456789abcdef",
           "PYTHONPATH": str(root)}
    for name in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "ORCHESTRA_ENV"):
        env.pop(name, None)
    return root, env, log


def _timed(cmd: list[str], root: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    engine = ensure_engine(log=lambda msg: print(msg, file=sys.stderr))
    with tempfile.TemporaryDirectory(prefix="driver-bench-") as tmp:
        work = Path(tmp)
        root, env, log = _project(work, engine)
        driver = [sys.executable, "-m", "automation"]
        try:
            _timed([*driver, "inject", "local"], root, env)   # sandbox, keys, stack, first injection
            passphrase = SecretStore.open("local", master_key=env["ORCHESTRA_MASTER_KEY"], directory=work).get(
                "PULUMI_CONFIG_PASSPHRASE")
            raw_env = {**env, "PULUMI_BACKEND_URL": (root / ".pulumi-state").as_uri(),
                       "PULUMI_CONFIG_PASSPHRASE": passphrase, "PULUMI_SKIP_UPDATE_CHECK": "true"}
            raw_env["ORCHESTRA_LAMBDA_API_URL"] = "http://127.0.0.1:" + (root / "Pulumi.local.yaml").read_text().split(
                "lambda_api_url: http://127.0.0.1:")[1].split()[0]
            commands = {
                "preview": ([*driver, "preview", "local"], ["pulumi", "preview", "--stack", "local", "--non-interactive"]),
                "no-change up": ([*driver, "up", "local", "--yes"],
                                 ["pulumi", "up", "--yes", "--stack", "local", "--non-interactive"]),
            }
            _timed(commands["no-change up"][0], root, env)   # deploy once: later ups change nothing
            times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in commands}
            calls: dict[str, list[str]] = {}
            for _ in range(args.runs):   # interleaved, so drift in machine load hits both alike
                for name, (drv_cmd, raw_cmd) in commands.items():
                    log.write_text("")
                    times[name][0].append(_timed(drv_cmd, root, env))
                    calls[name] = log.read_text().splitlines()
                    times[name][1].append(_timed(raw_cmd, root, raw_env))
            for name, (drv, raw) in times.items():
                d, r = statistics.median(drv), statistics.median(raw)
                print(f"{name}, {args.runs} runs each, interleaved (median):")
                print(f"  driver  {d:6.2f} s   (runs: {', '.join(f'{x:.2f}' for x in drv)})")
                print(f"  raw     {r:6.2f} s   (runs: {', '.join(f'{x:.2f}' for x in raw)})")
                print(f"  ratio driver/raw  {d / r:5.2f}x  (target <= 1.15x)")
                print(f"  engine CLI calls by the driver: {len(calls[name])}: "
                      + "; ".join(" ".join(c.split()[:3]) for c in calls[name]))

        finally:
            subprocess.run([*driver, "destroy", "local", "--yes"], cwd=root, env=env, capture_output=True)


if __name__ == "__main__":
    main()
