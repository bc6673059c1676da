"""Step 3: the official release through `PulumiCommand.install`, bounded by a timeout."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys

from automation.engine.common import (
    _DEFAULT_DOWNLOAD_TIMEOUT,
    Engine,
    Log,
    _check_bin_dir,
    _env_seconds,
    _install_atomically,
    _quiet_env,
    _staging_dir,
    _tail,
    _version_dir,
    _write_metadata,
)
from automation.engine.locate import _from_cache

_INSTALL_SNIPPET = """
import sys
from pulumi.automation import PulumiCommand
from pulumi.automation._cmd import VersionInfo
PulumiCommand.install(root=sys.argv[1], version=VersionInfo.parse(sys.argv[2]))
"""


def _from_release(version: str, log: Log, attempts: list[str]) -> Engine | None:
    if os.environ.get("ORCHESTRA_ENGINE_NO_DOWNLOAD", "").strip() in ("1", "true", "yes"):
        attempts.append("release: skipped (ORCHESTRA_ENGINE_NO_DOWNLOAD=1)")
        return None
    try:
        import importlib.util

        has_sdk = importlib.util.find_spec("pulumi.automation") is not None
    except (ImportError, ValueError):
        has_sdk = False
    if not has_sdk:
        attempts.append(f"release: skipped (the pulumi Python SDK is not installed in {sys.executable})")
        return None
    timeout = _env_seconds("ORCHESTRA_ENGINE_DOWNLOAD_TIMEOUT", _DEFAULT_DOWNLOAD_TIMEOUT)
    staging = _staging_dir(version, "release")
    cmd = [sys.executable, "-c", _INSTALL_SNIPPET, str(staging), version]
    shown = f"PulumiCommand.install(root={str(staging)!r}, version={version!r})"
    log(f"engine: trying the official Pulumi {version} release (timeout {timeout:.0f}s)")
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_quiet_env(),
            start_new_session=True,  # so a timeout can end the installer and its curl/tar too
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            attempts.append(f"release: {shown} timed out after {timeout:.0f}s")
            log(f"engine: release download timed out after {timeout:.0f}s")
            return None
        if proc.returncode != 0:
            attempts.append(f"release: {shown} failed (exit {proc.returncode}):\n{_tail(out, 8)}")
            log("engine: release download failed: " + (_tail(out, 1) or f"exit {proc.returncode}"))
            return None
        bin_dir = staging / "bin"
        problem = _check_bin_dir(bin_dir)
        if problem:
            attempts.append(f"release: installed, but {problem}")
            return None
        _write_metadata(staging, version, "release")
        _install_atomically(staging, _version_dir(version))  # the caller holds the lock
        staging = None  # type: ignore[assignment]
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    engine = _from_cache(version, log, attempts)
    if engine is None:
        return None
    return dataclasses.replace(engine, origin="release")


