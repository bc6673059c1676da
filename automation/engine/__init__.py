"""Acquire the Pulumi engine (CLI + Python language host) on any machine.

Order of preference (first that works wins):

1. ``path``: a ``pulumi`` on PATH whose version satisfies the Python SDK's minimum
   and that has a Python language host (``pulumi-language-python``) beside it or on PATH;
2. ``cache``: an engine placed earlier in ``<cache>/<version>/bin``, where ``<cache>`` is
   ``$ORCHESTRA_ENGINE_CACHE`` or ``~/.cache/orchestra/engine``;
3. ``release``: the official release via ``pulumi.automation.PulumiCommand.install``, in a
   child process bounded by a short timeout (``ORCHESTRA_ENGINE_DOWNLOAD_TIMEOUT``, default
   20 s); skipped when ``ORCHESTRA_ENGINE_NO_DOWNLOAD=1``;
4. ``build``: ``go build`` of the CLI from the Go tools module in ``tools/engine`` (pinned
   ``github.com/pulumi/pulumi/pkg/v3``) plus its Python language host, and the launcher
   scripts that Python programs and dynamic providers need, copied from the
   ``github.com/pulumi/pulumi/sdk/v3`` module in the Go module cache.

Steps 3 and 4 write into a temporary directory and rename it into place, so an interrupted
build never leaves a half-filled cache; a file lock keeps concurrent callers from building
twice. ``find_engine`` runs steps 1-2 only (fast, no network, no build).

Command line: ``python -m automation.engine [ensure|where|version] [--json]``;
exit status 0 when an engine is available, 31 when it is not.

Modules: common (pinned version, Engine, cache layout, lock), locate (steps 1-2),
release (step 3), build (step 4), command (the command line).
"""

from __future__ import annotations

import os
from pathlib import Path

from automation.engine.build import _build, _CommandFailed
from automation.engine.common import (
    ENGINE_VERSION,
    EXIT_ENGINE_UNAVAILABLE,
    TOOLS_DIR,
    Engine,
    EngineUnavailable,
    Log,
    _clean_stale_staging,
    _lock,
    _sdk_minimum_version,
    _version_ok,
    cache_root,
)
from automation.engine.locate import _from_cache, _from_path
from automation.engine.release import _from_release

__all__ = [
    "ENGINE_VERSION",
    "EXIT_ENGINE_UNAVAILABLE",
    "TOOLS_DIR",
    "Engine",
    "EngineUnavailable",
    "cache_root",
    "engine_env",
    "ensure_engine",
    "find_engine",
    "pulumi_command",
    "version_ok",
]

version_ok = _version_ok

def find_engine(version: str | None = None, log: Log = lambda _msg: None) -> Engine | None:
    """A usable engine from PATH or the cache, or None. Never downloads or builds."""
    version = version or ENGINE_VERSION
    attempts: list[str] = []
    return _from_path(log, attempts) or _from_cache(version, log, attempts)


def ensure_engine(log: Log = print, version: str | None = None) -> Engine:
    """Return a usable engine, downloading or building it if needed.

    Raises EngineUnavailable (with what was tried and how to fix it) when nothing works.
    """
    version = version or ENGINE_VERSION
    attempts: list[str] = []
    engine = _from_path(log, attempts) or _from_cache(version, log, attempts)
    if engine:
        return engine
    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EngineUnavailable(
            f"Cannot create the engine cache directory {root}: {exc}. "
            "Set ORCHESTRA_ENGINE_CACHE to a writable directory.", attempts) from exc
    with _lock(root / f".{version}.lock", log):
        # Another process may have finished while we waited for the lock.
        engine = _from_cache(version, log, [])
        if engine:
            return engine
        _clean_stale_staging(root, version)
        engine = _from_release(version, log, attempts)
        if engine:
            return engine
        try:
            return _build(version, log, attempts)
        except _CommandFailed as exc:
            stale = _from_cache(version, log, [], accept_stale=True)
            if stale:
                log(f"engine: WARNING: could not rebuild ({exc}); using the engine built earlier from "
                    f"other tools/engine sources in {stale.bin_dir}")
                return stale
            raise EngineUnavailable(_unavailable_message(version, attempts, exc), attempts) from None


def _unavailable_message(version: str, attempts: list[str], exc: _CommandFailed) -> str:
    lines = [f"No Pulumi engine is available (wanted the CLI {version} and its Python language host)."]
    lines.append("Tried, in order:")
    for a in attempts:
        first, *rest = a.splitlines()
        lines.append(f"  - {first}")
        lines.extend(f"      {r}" for r in rest)
    lines.append("To fix, do one of:")
    if exc.code == "not found":
        lines.append("  - install Go >= 1.26 (https://go.dev/doc/install, or `apt-get install golang`) "
                     "so the engine can be built from the Go module proxy, then run "
                     "`python -m automation.engine ensure`;")
    else:
        lines.append("  - fix the failing command above (network to the Go module proxy? disk space? "
                     "GOPROXY/GOFLAGS?) and run `python -m automation.engine ensure` again;")
    lines.append(f"  - or install the Pulumi CLI >= {_sdk_minimum_version()} with its Python language host "
                 "(https://www.pulumi.com/docs/install/) and put it on PATH;")
    lines.append(f"  - or point ORCHESTRA_ENGINE_CACHE at a directory holding {version}/bin/pulumi.")
    return "\n".join(lines)


def engine_env(engine: Engine, base: dict | None = None) -> dict:
    """Environment for running the engine: its bin dir first on PATH (so the language host and
    the dynamic-provider launchers are found), no update check, no plugin downloads."""
    env = dict(os.environ if base is None else base)
    path = env.get("PATH", "")
    parts = [p for p in path.split(os.pathsep) if p and Path(p) != engine.bin_dir]
    env["PATH"] = os.pathsep.join([str(engine.bin_dir), *parts])
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    return env


def pulumi_command(engine: Engine):  # -> pulumi.automation.PulumiCommand
    """A ``pulumi.automation.PulumiCommand`` for this engine (for LocalWorkspace(pulumi_command=...))."""
    from pulumi.automation import PulumiCommand

    if engine.bin_dir.name == "bin":
        return PulumiCommand(root=str(engine.bin_dir.parent))
    return PulumiCommand()  # a PATH install in a directory not named bin: use PATH


