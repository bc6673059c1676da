"""Steps 1 and 2: a usable `pulumi` on PATH, or an engine placed earlier in the cache."""

from __future__ import annotations

import shutil
from pathlib import Path

from automation.engine.common import (
    _LANGHOST,
    TOOLS_DIR,
    Engine,
    Log,
    _check_bin_dir,
    _is_executable,
    _pulumi_version,
    _read_metadata,
    _sdk_minimum_version,
    _version_dir,
    _version_ok,
    tools_fingerprint,
)


def _from_path(log: Log, attempts: list[str]) -> Engine | None:
    found = shutil.which("pulumi")
    if not found:
        attempts.append("PATH: no `pulumi` on PATH")
        return None
    pulumi = Path(found).absolute()
    version, why = _pulumi_version(pulumi)
    if version is None:
        attempts.append(f"PATH: {pulumi} rejected: {why}")
        log(f"engine: ignoring {pulumi}: {why}")
        return None
    minimum = _sdk_minimum_version()
    if not _version_ok(version, minimum):
        msg = f"PATH: {pulumi} is version {version}, the Python SDK needs >= {minimum} (same major)"
        attempts.append(msg)
        log(f"engine: ignoring {pulumi}: version {version} < required {minimum}")
        return None
    langhost = pulumi.parent / _LANGHOST
    if not _is_executable(langhost) and not shutil.which(_LANGHOST):
        msg = f"PATH: {pulumi} ({version}) has no Python language host ({_LANGHOST}) beside it or on PATH"
        attempts.append(msg)
        log(f"engine: ignoring {pulumi}: no {_LANGHOST}")
        return None
    return Engine(bin_dir=pulumi.parent, pulumi=pulumi, version=version, origin="path")



def _from_cache(version: str, log: Log, attempts: list[str], accept_stale: bool = False) -> Engine | None:
    vdir = _version_dir(version)
    bin_dir = vdir / "bin"
    if not vdir.is_dir():
        attempts.append(f"cache: nothing at {vdir}")
        return None
    problem = _check_bin_dir(bin_dir)
    if problem:
        attempts.append(f"cache: {vdir} is incomplete: {problem}")
        return None
    meta = _read_metadata(vdir)
    if meta.get("origin") == "build" and TOOLS_DIR.is_dir() and not accept_stale:
        if meta.get("fingerprint") and meta.get("fingerprint") != tools_fingerprint():
            attempts.append(f"cache: {vdir} was built from other tools/engine sources")
            log(f"engine: cached build in {vdir} is from other tools/engine sources; rebuilding")
            return None
    found, why = _pulumi_version(bin_dir / "pulumi")
    if found is None:
        attempts.append(f"cache: {bin_dir / 'pulumi'} does not run: {why}")
        return None
    return Engine(bin_dir=bin_dir, pulumi=bin_dir / "pulumi", version=found, origin="cache")


