"""Driver overhead, measured side by side in one run (printed, not a test).

1. `python -m automation preview local` against plain `pulumi preview --stack local` on the
   same program, state and sandbox: medians of a few runs each and their ratio (target <= 1.2x).
2. `inject` with nothing changed: engine CLI invocations counted through a logging `pulumi`
   wrapper on PATH, against the number of keys (target: 1 call, not one per key).

Runs in a temp copy of the project (the repository's files and state are untouched):
    .venv/bin/python bench/driver_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _project(work: Path, engine) -> tuple[Path, dict[str, str], Path]:
    root = work / "project"
    root.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, root / name)
    for package in ("infra", "secrets_bridge", "automation"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".venv").symlink_to(Path(sys.prefix))
    text = (REPO / "automation" / "sandbox" / "Pulumi.local.template.yaml").read_text()
    (root / "Pulumi.local.yaml").write_text(text.replace("18787", str(_free_port())).replace("18788", str(_free_port())))
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
            drv, raw = [], []
            for _ in range(args.runs):   # interleaved, so drift in machine load hits both alike
                drv.append(_timed([*driver, "preview", "local"], root, env))
                raw.append(_timed(["pulumi", "preview", "--stack", "local", "--non-interactive"], root, raw_env))
            d, r = statistics.median(drv), statistics.median(raw)
            print(f"preview local, {args.runs} runs each (median):")
            print(f"  python -m automation preview local   {d:6.2f} s   (runs: {', '.join(f'{x:.2f}' for x in drv)})")
            print(f"  pulumi preview --stack local         {r:6.2f} s   (runs: {', '.join(f'{x:.2f}' for x in raw)})")
            print(f"  ratio driver/raw                     {d / r:6.2f}x  (target <= 1.20x)")

            log.write_text("")
            _timed([*driver, "inject", "local"], root, env)
            calls = [line for line in log.read_text().splitlines() if line.split()[:2] != ["version"]]
            config_calls = [c for c in calls if " config" in f" {c}"]
            keys = len(SecretStore.open("local", master_key=env["ORCHESTRA_MASTER_KEY"], directory=work).names()) - 1
            print("inject local with nothing changed:")
            print(f"  engine CLI calls touching config     {len(config_calls)}   for {keys} keys "
                  f"(all engine calls: {len(calls)}: {'; '.join(c.split(' --')[0] or c for c in calls)})")
        finally:
            subprocess.run([*driver, "destroy", "local", "--yes"], cwd=root, env=env, capture_output=True)


if __name__ == "__main__":
    main()
