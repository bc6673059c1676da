"""Step 4: `go build` of the CLI and the Python language host from the pinned Go tools module."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from automation.engine.common import (
    _CLI_PACKAGE,
    _DEFAULT_BUILD_TIMEOUT,
    _LANGHOST,
    _LANGHOST_PACKAGE,
    _LAUNCHER_DIRS,
    _PKG_MODULE,
    _SDK_MODULE,
    _VERSION_LDFLAG,
    TOOLS_DIR,
    Engine,
    Log,
    _check_bin_dir,
    _env_seconds,
    _install_atomically,
    _pulumi_version,
    _quiet_env,
    _staging_dir,
    _tail,
    _version_dir,
    _write_metadata,
    tools_fingerprint,
)


def _go_env() -> dict:
    env = _quiet_env()
    env["GOTOOLCHAIN"] = "local"  # never download a Go toolchain
    env["GOFLAGS"] = "-mod=readonly -buildvcs=false"  # go.sum is complete; never rewrite it
    env["GOWORK"] = "off"  # a go.work above the repository must not change the build
    env["CGO_ENABLED"] = "0"  # no C compiler needed; the release binaries are static too
    return env


class _CommandFailed(Exception):
    def __init__(self, cmd: Sequence[str], code: object, output: str) -> None:
        super().__init__(f"{' '.join(cmd)} exited {code}")
        self.cmd = list(cmd)
        self.code = code
        self.output = output


def _run_logged(cmd: Sequence[str], cwd: Path, env: dict, logfile: Path, timeout: float, log: Log) -> str:
    log("engine: $ " + shlex.join(cmd))
    with open(logfile, "a", encoding="utf-8") as fh:
        fh.write("$ " + shlex.join(cmd) + "\n")
        fh.flush()
        start = fh.tell()
        proc = subprocess.Popen(
            list(cmd), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code: int | str = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = f"(killed after {timeout:.0f}s)"
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    with open(logfile, encoding="utf-8", errors="replace") as fh:
        fh.seek(start)
        output = fh.read()
    if code != 0:
        raise _CommandFailed(cmd, code, output)
    return output


def _copy_launchers(sdk_dir: Path, bin_dir: Path) -> list[str]:
    copied = []
    for rel in _LAUNCHER_DIRS:
        d = sdk_dir / rel
        if not d.is_dir():
            continue
        for src in sorted(d.iterdir()):
            # POSIX launchers only: skip Windows wrappers (.cmd/.ps1/.bat) and anything odd
            if not src.is_file() or src.suffix.lower() in (".cmd", ".ps1", ".bat", ".exe"):
                continue
            if not src.name.startswith("pulumi-"):
                continue
            dst = bin_dir / src.name
            if dst.exists():
                continue
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o755)
            copied.append(src.name)
    return copied


def _build(version: str, log: Log, attempts: list[str]) -> Engine:
    go = shutil.which("go")
    if not go:
        attempts.append("build: skipped (no `go` on PATH)")
        raise _CommandFailed(["go"], "not found", "")
    if not (TOOLS_DIR / "go.mod").is_file():
        attempts.append(f"build: skipped (no Go tools module at {TOOLS_DIR})")
        raise _CommandFailed(["go", "build"], "not run", f"{TOOLS_DIR / 'go.mod'} is missing")
    timeout = _env_seconds("ORCHESTRA_ENGINE_BUILD_TIMEOUT", _DEFAULT_BUILD_TIMEOUT)
    staging = _staging_dir(version, "build")
    bin_dir = staging / "bin"
    bin_dir.mkdir()
    logfile = staging / "build.log"
    env = _go_env()
    started = time.monotonic()
    log(f"engine: building Pulumi {version} from Go modules (first time only; several minutes on 2 cores)")
    try:
        _run_logged([go, "mod", "download", _PKG_MODULE, _SDK_MODULE], TOOLS_DIR, env, logfile, timeout, log)
        ldflags = f"-s -w -X {_VERSION_LDFLAG}=v{version} -X main.langhostVersion={version}"
        _run_logged(
            [go, "build", "-trimpath", "-ldflags", ldflags, "-o", str(bin_dir) + os.sep,
             _CLI_PACKAGE, _LANGHOST_PACKAGE],
            TOOLS_DIR, env, logfile, timeout, log,
        )
        os.rename(bin_dir / "langhost", bin_dir / _LANGHOST)
        sdk_dir = Path(
            _run_logged([go, "list", "-m", "-f", "{{.Dir}}", _SDK_MODULE], TOOLS_DIR, env, logfile, 120, log)
            .strip().splitlines()[-1]
        )
        copied = _copy_launchers(sdk_dir, bin_dir)
        problem = _check_bin_dir(bin_dir)
        if problem:
            raise _CommandFailed(["go", "build"], "incomplete", problem)
        built, why = _pulumi_version(bin_dir / "pulumi")
        if built is None or built.lstrip("v") != version:
            raise _CommandFailed([str(bin_dir / "pulumi"), "version"], "unexpected", why or f"printed {built!r}")
        seconds = round(time.monotonic() - started, 1)
        _write_metadata(
            staging, version, "build", fingerprint=tools_fingerprint(), build_seconds=seconds,
            launchers=copied, go=subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True,
                                                env=env).stdout.strip(),
        )
        _install_atomically(staging, _version_dir(version))
        staging = None  # type: ignore[assignment]
        log(f"engine: built Pulumi {version} in {seconds:.0f}s into {_version_dir(version) / 'bin'}")
    except _CommandFailed as exc:
        attempts.append(f"build: `{' '.join(exc.cmd)}` failed ({exc.code}):\n{_tail(exc.output)}")
        raise
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    bin_dir = _version_dir(version) / "bin"
    return Engine(bin_dir=bin_dir, pulumi=bin_dir / "pulumi", version=version, origin="build")


