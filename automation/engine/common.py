"""What every acquisition step shares: the pinned version, the Engine value, the cache layout,
version checks, the build lock and atomic installs into the cache."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

Origin = Literal["path", "cache", "release", "build"]
Log = Callable[[str], None]

#: Exit status of ``python -m automation.engine`` when no engine can be had.
EXIT_ENGINE_UNAVAILABLE = 31

#: The Go tools module that pins the engine sources.
TOOLS_DIR = Path(__file__).resolve().parents[2] / "tools" / "engine"

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


def _parse_version(text: str) -> tuple[int, int, int, bool] | None:
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
        from pulumi.automation._minimum_version import _MINIMUM_VERSION
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


def _pulumi_version(pulumi: Path) -> tuple[str | None, str]:
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


def _read_metadata(vdir: Path) -> dict:
    try:
        return json.loads((vdir / _METADATA).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _check_bin_dir(bin_dir: Path) -> str | None:
    """Return None when bin_dir holds a complete engine, else what is missing."""
    for name in _REQUIRED_BINARIES + _REQUIRED_LAUNCHERS:
        if not _is_executable(bin_dir / name):
            return f"{bin_dir / name} is missing or not executable"
    return None


def _write_metadata(vdir: Path, version: str, origin: str, **extra: object) -> None:
    meta: dict[str, object] = {"version": version, "origin": origin, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    meta.update(extra)
    (vdir / _METADATA).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

