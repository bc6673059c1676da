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
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator, Literal, Optional, Sequence

__all__ = [
    "ENGINE_VERSION",
    "Engine",
    "EngineUnavailable",
    "EXIT_ENGINE_UNAVAILABLE",
    "cache_root",
    "engine_env",
    "ensure_engine",
    "find_engine",
    "main",
    "pulumi_command",
]

Origin = Literal["path", "cache", "release", "build"]
Log = Callable[[str], None]

#: Exit status of ``python -m automation.engine`` when no engine can be had.
EXIT_ENGINE_UNAVAILABLE = 31

#: The Go tools module that pins the engine sources.
TOOLS_DIR = Path(__file__).resolve().parent.parent / "tools" / "engine"

_PKG_MODULE = "github.com/pulumi/pulumi/pkg/v3"
_SDK_MODULE = "github.com/pulumi/pulumi/sdk/v3"
_CLI_PACKAGE = _PKG_MODULE + "/cmd/pulumi"
_LANGHOST_PACKAGE = "./langhost"
_VERSION_LDFLAG = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"

_FALLBACK_VERSION = "3.274.1"
_FALLBACK_MINIMUM = "3.1.0"

#: Binaries every usable engine has in its bin directory.
_LANGHOST = "pulumi-language-python"
_REQUIRED_BINARIES = ("pulumi", _LANGHOST)
#: Launcher scripts from the sdk/v3 module (python/cmd, python/dist). The first two are
#: required: they run Python programs and Python dynamic providers; any other script found
#: there (e.g. a policy analyzer launcher) is copied as well.
_REQUIRED_LAUNCHERS = ("pulumi-language-python-exec", "pulumi-resource-pulumi-python")
_LAUNCHER_DIRS = ("python/cmd", "python/dist")

_METADATA = "engine.json"
_DEFAULT_DOWNLOAD_TIMEOUT = 20.0
_DEFAULT_BUILD_TIMEOUT = 3600.0
_VERSION_TIMEOUT = 30.0
_TAIL_LINES = 25


def _read_pinned_version() -> str:
    try:
        text = (TOOLS_DIR / "go.mod").read_text(encoding="utf-8")
    except OSError:
        return _FALLBACK_VERSION
    m = re.search(r"^\s*(?:require\s+)?" + re.escape(_PKG_MODULE) + r"\s+v(\S+)", text, re.M)
    return m.group(1) if m else _FALLBACK_VERSION


#: The engine version this project pins (from tools/engine/go.mod), without a leading "v".
ENGINE_VERSION = _read_pinned_version()


class EngineUnavailable(Exception):
    """No Pulumi engine could be found or made. The message says what was tried and how to fix it."""

    def __init__(self, message: str, attempts: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.attempts = list(attempts)


@dataclasses.dataclass(frozen=True)
class Engine:
    """A usable Pulumi engine: ``pulumi`` and the Python language host live in ``bin_dir``
    (or, for ``origin == "path"``, the language host is on PATH)."""

    bin_dir: Path
    pulumi: Path
    version: str
    origin: Origin

    def as_dict(self) -> dict:
        return {
            "bin_dir": str(self.bin_dir),
            "pulumi": str(self.pulumi),
            "version": self.version,
            "origin": self.origin,
        }


# --------------------------------------------------------------------------------------
# small helpers


def cache_root() -> Path:
    """Directory holding one sub-directory per engine version."""
    override = os.environ.get("ORCHESTRA_ENGINE_CACHE")
    if override:
        return Path(override).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "orchestra" / "engine"



def _env_seconds(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def _staging_dir(version: str, kind: str) -> Path:
    """A fresh directory inside the cache, renamed into place only once complete."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{version}-{kind}-", dir=root))
    os.chmod(staging, 0o755)  # mkdtemp makes it private; the cache is shared
    return staging

def _version_dir(version: str) -> Path:
    return cache_root() / version


def _parse_version(text: str) -> Optional[tuple[int, int, int, bool]]:
    """``v3.274.1`` -> (3, 274, 1, is_release). Returns None when unparsable."""
    m = re.search(r"v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?", text.strip())
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4) is None


def _version_ok(found: str, minimum: str) -> bool:
    f, m = _parse_version(found), _parse_version(minimum)
    if f is None or m is None:
        return False
    if f[0] != m[0]:  # another major version is not compatible with this SDK
        return False
    # a pre-release of the minimum itself is older than the minimum
    return f[:3] > m[:3] or (f[:3] == m[:3] and (f[3] or not m[3]))


def _sdk_minimum_version() -> str:
    """The minimum CLI version the installed Python SDK's Automation API accepts."""
    try:
        from pulumi.automation._minimum_version import _MINIMUM_VERSION  # type: ignore
    except Exception:  # noqa: BLE001 - SDK missing or reorganised: use the known floor
        return _FALLBACK_MINIMUM
    return str(_MINIMUM_VERSION)


def _tail(text: str, lines: int = _TAIL_LINES) -> str:
    rows = [r for r in text.strip().splitlines() if r.strip()]
    return "\n".join(rows[-lines:])


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _quiet_env() -> dict:
    env = dict(os.environ)
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    return env


def _pulumi_version(pulumi: Path) -> tuple[Optional[str], str]:
    """Run ``pulumi version``; return (version or None, diagnostic)."""
    try:
        proc = subprocess.run(
            [str(pulumi), "version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_VERSION_TIMEOUT,
            env=_quiet_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"`{pulumi} version` failed: {exc}"
    out = proc.stdout.strip()
    if proc.returncode != 0 or not out:
        return None, f"`{pulumi} version` exited {proc.returncode}: {_tail(proc.stderr or out, 5)}"
    version = out.splitlines()[-1].strip()
    return version.lstrip("v"), ""


def tools_fingerprint() -> str:
    """Hash of the Go tools module sources; a cached build from other sources is rebuilt."""
    h = hashlib.sha256()
    files = [TOOLS_DIR / "go.mod", TOOLS_DIR / "go.sum"]
    files += sorted((TOOLS_DIR / "langhost").glob("*.go"))
    for f in files:
        try:
            data = f.read_bytes()
        except OSError:
            continue
        h.update(f.relative_to(TOOLS_DIR).as_posix().encode() + b"\0" + data + b"\0")
    return h.hexdigest()[:16]


@contextlib.contextmanager
def _lock(path: Path, log: Log) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            log(f"engine: waiting for another process that is preparing the engine ({path})")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _install_atomically(staging: Path, target: Path) -> None:
    """Replace ``target`` by the fully prepared directory ``staging`` (same filesystem)."""
    old = None
    if target.exists():
        old = target.with_name(f".old-{target.name}-{os.getpid()}-{int(time.time())}")
        os.rename(target, old)
    os.rename(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _clean_stale_staging(root: Path, version: str) -> None:
    """Remove staging dirs left by interrupted runs (we hold the lock, so none is live)."""
    for p in root.glob(f".staging-{version}-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in root.glob(f".old-{version}-*"):
        shutil.rmtree(p, ignore_errors=True)


# --------------------------------------------------------------------------------------
# step 1: PATH


def _from_path(log: Log, attempts: list[str]) -> Optional[Engine]:
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


# --------------------------------------------------------------------------------------
# step 2: cache


def _read_metadata(vdir: Path) -> dict:
    try:
        return json.loads((vdir / _METADATA).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _check_bin_dir(bin_dir: Path) -> Optional[str]:
    """Return None when bin_dir holds a complete engine, else what is missing."""
    for name in _REQUIRED_BINARIES + _REQUIRED_LAUNCHERS:
        if not _is_executable(bin_dir / name):
            return f"{bin_dir / name} is missing or not executable"
    return None


def _from_cache(version: str, log: Log, attempts: list[str], accept_stale: bool = False) -> Optional[Engine]:
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


# --------------------------------------------------------------------------------------
# step 3: official release


_INSTALL_SNIPPET = """
import sys
from pulumi.automation import PulumiCommand
from pulumi.automation._cmd import VersionInfo
PulumiCommand.install(root=sys.argv[1], version=VersionInfo.parse(sys.argv[2]))
"""


def _from_release(version: str, log: Log, attempts: list[str]) -> Optional[Engine]:
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


def _write_metadata(vdir: Path, version: str, origin: str, **extra: object) -> None:
    meta = {"version": version, "origin": origin, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    meta.update(extra)
    (vdir / _METADATA).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------
# step 4: build from Go modules


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
            code = proc.wait(timeout=timeout)
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


# --------------------------------------------------------------------------------------
# public API


def find_engine(version: Optional[str] = None, log: Log = lambda _msg: None) -> Optional[Engine]:
    """A usable engine from PATH or the cache, or None. Never downloads or builds."""
    version = version or ENGINE_VERSION
    attempts: list[str] = []
    return _from_path(log, attempts) or _from_cache(version, log, attempts)


def ensure_engine(log: Log = print, version: Optional[str] = None) -> Engine:
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


def _unavailable_message(version: str, attempts: list[str], exc: "_CommandFailed") -> str:
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


def engine_env(engine: Engine, base: Optional[dict] = None) -> dict:
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


# --------------------------------------------------------------------------------------
# command line


def main(argv: Optional[Sequence[str]] = None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
