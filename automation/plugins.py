"""Provider plugins of the enabled components: found, or installed, before any stack change.

The installed Python SDK of each component names its plugin and the exact version it
was generated against (the package's pulumi-plugin.json). The plugin is looked for
where the engine itself looks, in the engine's order, because the engine takes a
plugin found on PATH whatever its version, before its own plugin directory:

1. ``engine-bin``: the engine's bin dir (first on the PATH the driver gives the engine);
2. ``path``: elsewhere on PATH;
3. ``plugin-dir``: ``$PULUMI_HOME/plugins/resource-NAME-vVERSION`` (``~/.pulumi`` by default).

A binary on PATH is asked for its version over the plugin protocol (GetPluginInfo);
one at another version is an error, since the engine would use it anyway. When
nothing is found the engine's own ``pulumi plugin install resource NAME VERSION --exact``
(with the SDK's ``--server`` where it names one, or ``--file`` from
``$ORCHESTRA_PLUGIN_FILES`` on an air-gapped machine) runs under a bounded timeout
(``$ORCHESTRA_PLUGIN_INSTALL_TIMEOUT``, 60 s; no download with ``ORCHESTRA_ENGINE_NO_DOWNLOAD=1``,
as for the engine). If that fails too, `EngineMissing`
(exit 31) names each plugin, its version and the command that installs it.

Only once every plugin is in place does the engine run with automatic plugin
acquisition off (`prepare`), so it never stops half-way looking for one.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from automation.engine import Engine, engine_env
from automation.errors import EngineMissing

if TYPE_CHECKING:   # the workspace's Target; workspace never imports this module
    from automation.workspace import Target

Origin = Literal["engine-bin", "path", "plugin-dir", "installed", "missing"]
Log = Callable[[str], None]

ACQUISITION_FLAG = "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"
FILES_ENV = "ORCHESTRA_PLUGIN_FILES"
TIMEOUT_ENV = "ORCHESTRA_PLUGIN_INSTALL_TIMEOUT"
NO_DOWNLOAD_ENV = "ORCHESTRA_ENGINE_NO_DOWNLOAD"   # one switch for everything the engine set-up downloads
DEFAULT_INSTALL_TIMEOUT_S = 60.0
PROBE_TIMEOUT_S = 10.0

#: component -> the Python SDK package whose provider plugin it needs
COMPONENT_SDKS: dict[str, str] = {"github": "pulumi_github", "vercel": "pulumiverse_vercel"}


@dataclass(frozen=True)
class PluginSpec:
    component: str
    name: str
    version: str
    server: str | None          # pluginDownloadURL of the SDK; None: Pulumi's own server

    @property
    def binary(self) -> str:
        return f"pulumi-resource-{self.name}"

    @property
    def asset(self) -> str:
        """The release archive's file name for this machine (what --file takes)."""
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
        return f"{self.binary}-v{self.version}-{platform.system().lower()}-{arch}.tar.gz"

    def install_args(self, file: Path | None = None) -> list[str]:
        args = ["plugin", "install", "resource", self.name, self.version, "--exact"]
        if file is not None:
            return [*args, "--file", str(file)]
        return [*args, "--server", self.server] if self.server else args

    def install_command(self, file: Path | str | None = None) -> str:
        shown = self.install_args(Path(file) if file is not None else None)
        return shlex.join(["pulumi", *shown])


@dataclass(frozen=True)
class PluginStatus:
    spec: PluginSpec
    origin: Origin
    path: str | None
    problem: str | None = None  # why it cannot be used, with the fix; None when usable

    @property
    def ok(self) -> bool:
        return self.problem is None


def sdk_plugin(component: str, package: str) -> PluginSpec:
    """The plugin the installed SDK `package` declares; EngineMissing when the SDK is absent."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    meta_file = next((Path(p) / "pulumi-plugin.json" for p in locations if (Path(p) / "pulumi-plugin.json").is_file()), None)
    if meta_file is None:
        raise EngineMissing(f"the {component} component needs the Python package {package} with its "
                            f"pulumi-plugin.json: run scripts/setup.sh")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    return PluginSpec(component, str(meta["name"]), str(meta["version"]).lstrip("v"), meta.get("server") or None)


def required_plugins(components: Iterable[str]) -> list[PluginSpec]:
    """Plugins the enabled components need (the Lambda backend's dynamic provider ships with the engine)."""
    return [sdk_plugin(c, COMPONENT_SDKS[c]) for c in sorted(set(components)) if c in COMPONENT_SDKS]


def plugin_dir(environ: Mapping[str, str]) -> Path:
    home = environ.get("PULUMI_HOME") or os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".pulumi")
    return Path(home) / "plugins"


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def probe_version(binary: Path, timeout: float = PROBE_TIMEOUT_S) -> str:
    """The version a plugin reports over the plugin protocol; RuntimeError says why it could not tell."""
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import provider_pb2_grpc

    proc = subprocess.Popen([str(binary)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        port = _read_port(proc, timeout)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = provider_pb2_grpc.ResourceProviderStub(channel).GetPluginInfo(empty_pb2.Empty(), timeout=timeout)
        return str(info.version).lstrip("v")
    except grpc.RpcError as exc:
        raise RuntimeError(f"GetPluginInfo failed ({exc.code().name})") from None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _read_port(proc: subprocess.Popen, timeout: float) -> int:
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise RuntimeError(f"it printed no port within {timeout:g} s")
    first = proc.stdout.readline().strip()
    if not first.isdigit():
        raise RuntimeError(f"it printed {first[:40]!r} instead of its port")
    return int(first)


def _ambient(spec: PluginSpec, where: Origin, binary: Path) -> PluginStatus:
    try:
        found = probe_version(binary)
    except (OSError, RuntimeError) as exc:
        return PluginStatus(spec, where, str(binary), f"its version cannot be read ({exc}); the engine would use it "
                            f"anyway: remove it from PATH, or replace it with {spec.version}")
    if found != spec.version:
        return PluginStatus(spec, where, str(binary), f"it is version {found}, the SDK needs {spec.version}, and the "
                            f"engine takes a plugin on PATH whatever its version: remove it from PATH, "
                            f"or replace it with {spec.version}")
    return PluginStatus(spec, where, str(binary))


def find_plugin(spec: PluginSpec, engine: Engine, environ: Mapping[str, str]) -> PluginStatus:
    """Where the engine would load `spec` from (never installs)."""
    in_bin = engine.bin_dir / spec.binary
    if _executable(in_bin):
        return _ambient(spec, "engine-bin", in_bin)
    on_path = shutil.which(spec.binary, path=environ.get("PATH", ""))
    if on_path:
        return _ambient(spec, "path", Path(on_path))
    home = plugin_dir(environ) / f"resource-{spec.name}-v{spec.version}"
    partial = home.with_name(home.name + ".partial")   # the engine's marker of an unfinished install
    if _executable(home / spec.binary) and not partial.exists():
        return PluginStatus(spec, "plugin-dir", str(home / spec.binary))
    return PluginStatus(spec, "missing", None, f"not found: install it with `{spec.install_command()}`, "
                        f"or without network `{spec.install_command(spec.asset)}`")


def _local_file(spec: PluginSpec, environ: Mapping[str, str]) -> Path | None:
    folder = environ.get(FILES_ENV)
    candidate = Path(folder) / spec.asset if folder else None
    return candidate if candidate is not None and candidate.is_file() else None


def _timeout(environ: Mapping[str, str]) -> float:
    try:
        return float(environ.get(TIMEOUT_ENV, DEFAULT_INSTALL_TIMEOUT_S))
    except ValueError:
        return DEFAULT_INSTALL_TIMEOUT_S


def install_plugin(spec: PluginSpec, engine: Engine, environ: Mapping[str, str], log: Log) -> PluginStatus:
    """Run the engine's `pulumi plugin install`; the status says what failed and how to do it by hand."""
    file = _local_file(spec, environ)
    offline = f"{FILES_ENV}=DIR holding {spec.asset}, or `{spec.install_command(spec.asset)}`"
    if file is None and environ.get(NO_DOWNLOAD_ENV, "").strip() in ("1", "true", "yes"):
        return PluginStatus(spec, "missing", None, f"not found, and downloads are off ({NO_DOWNLOAD_ENV}=1): "
                            f"`{spec.install_command()}` where the network allows, or {offline}")
    timeout = _timeout(environ)
    cmd = [str(engine.pulumi), "--non-interactive", *spec.install_args(file)]
    log(f"plugins: {spec.install_command(file)} (timeout {timeout:g}s)")
    proc = subprocess.Popen(cmd, env=engine_env(engine, dict(environ)), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        why = None if proc.returncode == 0 else f"exit {proc.returncode}: {_last_error(out)}"
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)   # the engine and any download it started
        proc.communicate()
        why = f"timed out after {timeout:g}s"
    found = find_plugin(spec, engine, environ)
    if why is None and found.ok:
        return PluginStatus(spec, "installed", found.path)
    why = why or (found.problem or "installed, but not where the engine looks")
    return PluginStatus(spec, "missing", None, f"`{spec.install_command(file)}` failed ({why}): run it where the "
                        f"network allows, or without network {offline}")


def _last_error(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln.removeprefix("error:").strip() for ln in lines if ln.startswith("error:")]
    return (errors or lines or ["no output"])[-1][:300]


def plugin_statuses(engine: Engine | None, components: Iterable[str],
                    environ: Mapping[str, str] | None = None) -> list[PluginStatus]:
    """Find only (for `check`): one status per plugin the enabled components need."""
    environ = os.environ if environ is None else environ
    specs = required_plugins(components)
    if engine is None:
        return [PluginStatus(s, "missing", None, "no engine yet: run scripts/setup.sh") for s in specs]
    return [find_plugin(s, engine, engine_env(engine, dict(environ))) for s in specs]


def ensure_plugins(engine: Engine, components: Iterable[str], environ: Mapping[str, str] | None = None,
                   log: Log = lambda _msg: None) -> list[PluginStatus]:
    """Every needed plugin found or installed; otherwise EngineMissing (exit 31), one clause per plugin."""
    from concurrent.futures import ThreadPoolExecutor

    environ = os.environ if environ is None else environ

    def one(spec: PluginSpec) -> PluginStatus:
        status = find_plugin(spec, engine, engine_env(engine, dict(environ)))
        return install_plugin(spec, engine, environ, log) if status.origin == "missing" else status

    specs = required_plugins(components)
    # Side by side: probes and installs wait on other processes (and, offline, on retries).
    with ThreadPoolExecutor(max_workers=max(1, len(specs))) as pool:
        statuses = list(pool.map(one, specs))
    failed = [s for s in statuses if not s.ok]
    if failed:
        raise EngineMissing("provider plugin missing, nothing was changed: " + "; ".join(
            f"{s.spec.binary} {s.spec.version} (the {s.spec.component} component): {s.problem}" for s in failed))
    return statuses


def prepare(engine: Engine, components: Iterable[str], env: MutableMapping[str, str],
            log: Log = lambda _msg: None) -> list[PluginStatus]:
    """Ensure the plugins, then turn the engine's own plugin downloads off: the project has what it needs."""
    env.pop(ACQUISITION_FLAG, None)
    statuses = ensure_plugins(engine, components, env, log)
    env[ACQUISITION_FLAG] = "true"
    return statuses


def prepare_plugins(target: Target) -> list[PluginStatus]:
    """`prepare` for a located stack (inject, preview, up, refresh, destroy), before its first write."""
    import sys

    from automation.project import enabled_components

    return prepare(target.engine, enabled_components(target.root, target.name.short), target.base_env,
                   log=lambda msg: print(msg, file=sys.stderr))


def main(argv: list[str] | None = None) -> int:
    """`python -m automation.plugins [ensure|status]`: every component's plugin (scripts/setup.sh runs ensure)."""
    import argparse
    import sys

    from automation.engine import find_engine

    parser = argparse.ArgumentParser(prog="python -m automation.plugins",
                                     description="Find or install the provider plugins of the GitHub and Vercel components.")
    parser.add_argument("action", nargs="?", default="ensure", choices=("ensure", "status"),
                        help="ensure: find or install (default); status: find only")
    args = parser.parse_args(argv)
    engine = find_engine()
    if engine is None:
        print("error: no Pulumi engine: run `python -m automation.engine ensure` first", file=sys.stderr)
        return EngineMissing.exit_code
    try:
        if args.action == "ensure":
            statuses = ensure_plugins(engine, COMPONENT_SDKS, log=lambda msg: print(msg, file=sys.stderr))
        else:
            statuses = plugin_statuses(engine, COMPONENT_SDKS)
    except EngineMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    for s in statuses:
        print(f"{s.spec.binary} {s.spec.version}: {s.origin}" + (f" {s.path}" if s.path else f" ({s.problem})"))
    return 0 if all(s.ok for s in statuses) else EngineMissing.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
