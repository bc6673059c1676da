"""`python -m automation.engine [ensure|where|version] [--json]` (scripts/setup.sh runs `ensure`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from automation.engine import EXIT_ENGINE_UNAVAILABLE, EngineUnavailable, cache_root, ensure_engine, find_engine


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m automation.engine",
        description="Find, download or build the Pulumi engine (CLI + Python language host).",
    )
    parser.add_argument(
        "action", nargs="?", default="ensure", choices=("ensure", "where", "version"),
        help="ensure: find or make the engine (may build); where: print its bin dir without "
             "building; version: print its version (may build). Default: ensure.",
    )
    parser.add_argument("--json", action="store_true", help="print the engine as JSON")
    args = parser.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        if args.action == "where":
            engine = find_engine(log=log)
            if engine is None:
                raise EngineUnavailable(
                    f"No Pulumi engine on PATH or in {cache_root()}. "
                    "Run `python -m automation.engine ensure` to download or build one.")
        else:
            engine = ensure_engine(log=log)
    except EngineUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_ENGINE_UNAVAILABLE
    if args.json:
        print(json.dumps(engine.as_dict()))
    elif args.action == "version":
        print(engine.version)
    elif args.action == "where":
        print(engine.bin_dir)
    else:
        print(f"{engine.pulumi} {engine.version} ({engine.origin})")
    return 0
