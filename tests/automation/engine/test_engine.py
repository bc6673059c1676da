"""Acquisition order of the Pulumi engine (automation/engine/), with real processes.

The fast tests use small shell scripts standing in for `pulumi` on PATH or in a cache
directory; none of them builds the engine. The last tests use the engine that
scripts/setup.sh built into the cache and skip when there is none.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from automation import engine as eng

ROOT = Path(__file__).resolve().parents[3]
SYSTEM_PATH = "/usr/bin:/bin"


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def _fake_engine_dir(bin_dir: Path, version: str, *, langhost: bool = True, launchers: bool = True) -> Path:
    _script(bin_dir / "pulumi", f'[ "$1" = version ] && echo v{version} && exit 0\nexit 3')
    if langhost:
        _script(bin_dir / "pulumi-language-python", "exit 0")
    if launchers:
        for name in ("pulumi-language-python-exec", "pulumi-resource-pulumi-python"):
            _script(bin_dir / name, "exit 0")
    return bin_dir


def _run_cli(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "automation.engine", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An environment with an empty engine cache and a PATH of system directories only."""
    for tool in ("pulumi", "go"):
        if shutil.which(tool, path=SYSTEM_PATH):
            pytest.skip(f"{tool} is installed in {SYSTEM_PATH}; cannot build an environment without it")
    cache = tmp_path / "cache"
    monkeypatch.setenv("ORCHESTRA_ENGINE_CACHE", str(cache))
    monkeypatch.setenv("PATH", SYSTEM_PATH)
    monkeypatch.setenv("ORCHESTRA_ENGINE_NO_DOWNLOAD", "1")
    return cache


def test_pinned_version_comes_from_the_tools_module():
    gomod = (ROOT / "tools" / "engine" / "go.mod").read_text()
    assert f"github.com/pulumi/pulumi/pkg/v3 v{eng.ENGINE_VERSION}" in gomod


def test_version_comparison():
    assert eng.version_ok("3.274.1", "3.1.0")
    assert eng.version_ok("v3.1.0", "3.1.0")
    assert not eng.version_ok("3.0.9", "3.1.0")
    assert not eng.version_ok("3.1.0-alpha.1", "3.1.0")
    assert not eng.version_ok("4.0.0", "3.1.0")  # another major version
    assert not eng.version_ok("not a version", "3.1.0")


def test_too_old_pulumi_on_path_is_rejected(tmp_path, isolated, monkeypatch):
    fake = _fake_engine_dir(tmp_path / "fakebin", "3.0.0")
    monkeypatch.setenv("PATH", f"{fake}:{SYSTEM_PATH}")
    assert eng.find_engine() is None
    proc = _run_cli("where", env=dict(os.environ))
    assert proc.returncode == eng.EXIT_ENGINE_UNAVAILABLE, proc.stderr
    assert "version 3.0.0" in proc.stderr and "required" in proc.stderr


def test_recent_pulumi_on_path_is_used(tmp_path, isolated, monkeypatch):
    fake = _fake_engine_dir(tmp_path / "fakebin", "3.280.0")
    monkeypatch.setenv("PATH", f"{fake}:{SYSTEM_PATH}")
    found = eng.find_engine()
    assert found is not None
    assert (found.origin, found.version, found.bin_dir) == ("path", "3.280.0", fake)
    # ensure_engine takes the same one without trying anything else
    assert eng.ensure_engine(log=lambda _m: None) == found


def test_pulumi_on_path_without_python_language_host_is_rejected(tmp_path, isolated, monkeypatch):
    fake = _fake_engine_dir(tmp_path / "fakebin", "3.280.0", langhost=False)
    monkeypatch.setenv("PATH", f"{fake}:{SYSTEM_PATH}")
    messages: list[str] = []
    assert eng.find_engine(log=messages.append) is None
    assert any("pulumi-language-python" in m for m in messages)


def test_cached_engine_is_found(isolated):
    version = eng.ENGINE_VERSION
    bin_dir = _fake_engine_dir(isolated / version / "bin", version)
    (isolated / version / "engine.json").write_text(json.dumps({"version": version, "origin": "release"}))
    found = eng.find_engine()
    assert found == eng.Engine(bin_dir=bin_dir, pulumi=bin_dir / "pulumi", version=version, origin="cache")
    proc = _run_cli("where", env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(bin_dir)
    proc = _run_cli("ensure", "--json", env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == found.as_dict()


def test_cached_build_from_other_sources_is_rebuilt_or_kept_with_a_warning(isolated):
    version = eng.ENGINE_VERSION
    bin_dir = _fake_engine_dir(isolated / version / "bin", version)
    (isolated / version / "engine.json").write_text(
        json.dumps({"version": version, "origin": "build", "fingerprint": "0" * 16}))
    assert eng.find_engine() is None
    # without Go it cannot be rebuilt: the old build is better than none
    messages: list[str] = []
    found = eng.ensure_engine(log=messages.append)
    assert (found.origin, found.bin_dir) == ("cache", bin_dir)
    assert any("WARNING" in m and "other tools/engine sources" in m for m in messages)


@pytest.mark.parametrize("missing", ["pulumi-language-python", "pulumi-resource-pulumi-python"])
def test_incomplete_cache_is_ignored(isolated, missing):
    bin_dir = _fake_engine_dir(isolated / eng.ENGINE_VERSION / "bin", eng.ENGINE_VERSION)
    (bin_dir / missing).unlink()
    assert eng.find_engine() is None


def test_unavailable_without_go_says_what_was_tried(tmp_path, isolated, monkeypatch):
    fake = _fake_engine_dir(tmp_path / "fakebin", "3.0.0")
    monkeypatch.setenv("PATH", f"{fake}:{SYSTEM_PATH}")
    proc = _run_cli("ensure", env=dict(os.environ))
    assert proc.returncode == eng.EXIT_ENGINE_UNAVAILABLE
    err = proc.stderr
    assert "version 3.0.0" in err  # the PATH engine, rejected
    assert "cache: nothing at" in err
    assert "ORCHESTRA_ENGINE_NO_DOWNLOAD=1" in err  # the release step, skipped
    assert "no `go` on PATH" in err and "install Go" in err  # the build step and the fix
    assert not any(isolated.glob(".staging-*")), "no half-made cache entry may be left"

    with pytest.raises(eng.EngineUnavailable) as info:
        eng.ensure_engine(log=lambda _m: None)
    assert len(info.value.attempts) == 4


def test_interrupted_build_leaves_nothing_usable(isolated):
    """A staging directory left by a killed build is never taken for an engine, and is cleaned."""
    version = eng.ENGINE_VERSION
    leftover = isolated / f".staging-{version}-build-killed"
    _fake_engine_dir(leftover / "bin", version)
    assert eng.find_engine() is None
    with pytest.raises(eng.EngineUnavailable):
        eng.ensure_engine(log=lambda _m: None)
    assert not leftover.exists()


HOLD_LOCK = textwrap.dedent(
    """
    import fcntl, os, sys, time
    from pathlib import Path
    lock, ready, bin_dir, version = sys.argv[1:]
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    Path(ready).touch()
    time.sleep(1.5)  # "building"
    Path(bin_dir).mkdir(parents=True)
    for name in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec",
                 "pulumi-resource-pulumi-python"):
        p = Path(bin_dir) / name
        p.write_text("#!/bin/sh\\necho v" + version + "\\n")
        p.chmod(0o755)
    fcntl.flock(fd, fcntl.LOCK_UN)
    """
)


def test_concurrent_caller_waits_for_the_build_in_progress(tmp_path, isolated):
    """While another process holds the build lock, ensure_engine waits and then uses its result."""
    version = eng.ENGINE_VERSION
    isolated.mkdir(parents=True)
    ready = tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(isolated / f".{version}.lock"), str(ready),
                               str(isolated / version / "bin"), version])
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        messages: list[str] = []
        found = eng.ensure_engine(log=messages.append)  # no go on PATH: it must not try to build
        assert found.origin == "cache" and found.bin_dir == isolated / version / "bin"
        assert any("waiting for another process" in m for m in messages)
    finally:
        holder.wait(timeout=30)


def test_release_download_is_bounded(isolated, monkeypatch):
    """Where the release cannot be downloaded the attempt ends quickly and leaves nothing."""
    monkeypatch.delenv("ORCHESTRA_ENGINE_NO_DOWNLOAD")
    monkeypatch.setenv("ORCHESTRA_ENGINE_DOWNLOAD_TIMEOUT", "8")
    start = time.monotonic()
    proc = _run_cli("ensure", env=dict(os.environ), timeout=60)
    elapsed = time.monotonic() - start
    if proc.returncode == 0:
        pytest.skip("this machine can download the official release")
    assert proc.returncode == eng.EXIT_ENGINE_UNAVAILABLE
    assert "release: " in proc.stderr
    assert elapsed < 40
    assert not any(isolated.glob(".staging-*"))


def test_engine_env(tmp_path):
    e = eng.Engine(bin_dir=tmp_path, pulumi=tmp_path / "pulumi", version="3.274.1", origin="cache")
    env = eng.engine_env(e, base={"PATH": f"/usr/bin:{tmp_path}:/bin", "HOME": "/h"})
    assert env["PATH"] == f"{tmp_path}:/usr/bin:/bin"
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert env["HOME"] == "/h"


# --------------------------------------------------------------------------------------
# the real engine, as built by scripts/setup.sh (skipped when it is not there)


def _real_engine() -> eng.Engine:
    found = eng.find_engine()
    if found is None:
        pytest.skip("no Pulumi engine yet: run `python -m automation.engine ensure`")
    return found


def test_real_engine_runs_and_has_python_support():
    e = _real_engine()
    proc = subprocess.run([str(e.pulumi), "version"], capture_output=True, text=True, timeout=60,
                          env=eng.engine_env(e))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().lstrip("v") == e.version
    if e.origin == "path":
        return
    for name in ("pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-pulumi-python"):
        assert os.access(e.bin_dir / name, os.X_OK), name


PROGRAM = textwrap.dedent(
    """
    import pulumi
    from pulumi.dynamic import CreateResult, Resource, ResourceProvider


    class Echo(ResourceProvider):
        def create(self, props):
            return CreateResult(id_="echo-1", outs={"said": props["say"].upper()})


    class Thing(Resource):
        said: pulumi.Output[str]

        def __init__(self, name, say, opts=None):
            super().__init__(Echo(), name, {"say": say, "said": None}, opts)


    t = Thing("thing", "hello")
    pulumi.export("said", t.said)
    """
)


@pytest.mark.timeout(300)
def test_real_engine_runs_a_python_dynamic_provider(tmp_path):
    """pulumi up / preview / destroy of a dynamic resource, with a file backend."""
    e = _real_engine()
    pytest.importorskip("pulumi")
    pytest.importorskip("dill")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(textwrap.dedent(f"""\
        name: enginetest
        runtime:
          name: python
          options:
            virtualenv: {sys.prefix}
        """))
    (project / "__main__.py").write_text(PROGRAM)
    (tmp_path / "state").mkdir()
    env = eng.engine_env(e)
    env.update(
        PULUMI_HOME=str(tmp_path / "home"),
        PULUMI_BACKEND_URL=f"file://{tmp_path / 'state'}",
        PULUMI_CONFIG_PASSPHRASE="x",
    )

    def pulumi(*args: str) -> str:
        proc = subprocess.run([str(e.pulumi), *args, "--non-interactive"], cwd=project, env=env,
                              capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, f"pulumi {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    pulumi("stack", "init", "dev")
    out = pulumi("up", "--yes", "--skip-preview")
    assert "+ 2 created" in out or "2 created" in out, out
    assert pulumi("stack", "output", "said").strip() == "HELLO"
    assert "2 unchanged" in pulumi("preview")
    assert "2 deleted" in pulumi("destroy", "--yes", "--skip-preview")
