"""Provider plugins: found where the engine looks, installed by the engine itself, or one line saying how.

A stand-in plugin (tests/support/standin_plugin.py) answers GetPluginInfo like a real one;
installs go through the real engine's `pulumi plugin install`, offline: `--file` with a
stand-in archive, or a download pointed at a refused loopback port (no network here).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from automation import plugins
from automation.engine import Engine, find_engine
from automation.errors import EngineMissing
from tests.support.loopback import refused_url
from tests.support.standin_plugin import write_archive, write_plugin

VERCEL = plugins.sdk_plugin("vercel", "pulumiverse_vercel")
GITHUB = plugins.sdk_plugin("github", "pulumi_github")


@pytest.fixture(scope="module")
def engine() -> Engine:
    found = find_engine()
    assert found is not None, "no Pulumi engine: run scripts/setup.sh"
    return found


@pytest.fixture
def environ(tmp_path, engine) -> dict[str, str]:
    """No plugin anywhere: an empty PULUMI_HOME, a PATH of only the engine and this Python."""
    return {"PATH": os.pathsep.join([str(engine.bin_dir), str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
            "HOME": str(tmp_path), "PULUMI_HOME": str(tmp_path / "pulumi-home"),
            # Downloads go to a refused loopback port: what a machine without network sees, fast.
            "PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES": f"^.*$={refused_url()}/"}


def _installed(environ: dict[str, str]) -> list[str]:
    folder = Path(environ["PULUMI_HOME"]) / "plugins"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_the_installed_sdks_name_their_plugins_and_exact_versions():
    assert (GITHUB.name, GITHUB.version, GITHUB.server) == ("github", "6.15.0", None)
    assert (VERCEL.name, VERCEL.version, VERCEL.server) == ("vercel", "5.21.1", "github://api.github.com/pulumiverse")
    assert [p.name for p in plugins.required_plugins({"app", "lambda", "github", "vercel"})] == ["github", "vercel"]
    assert plugins.required_plugins({"app", "lambda"}) == []   # the dynamic provider ships with the engine
    assert VERCEL.install_command() == ("pulumi plugin install resource vercel 5.21.1 --exact "
                                        "--server github://api.github.com/pulumiverse")


def test_a_plugin_on_path_at_the_sdks_version_is_used_as_is(tmp_path, engine, environ):
    folder = tmp_path / "tools"
    write_plugin(folder, "vercel", "5.21.1")
    environ["PATH"] = f"{folder}{os.pathsep}{environ['PATH']}"
    (status,) = plugins.ensure_plugins(engine, {"vercel"}, environ)
    assert (status.origin, status.path) == ("path", str(folder / "pulumi-resource-vercel"))
    assert _installed(environ) == []


def test_a_plugin_in_the_engine_bin_dir_comes_first(tmp_path, engine, environ):
    bin_dir = tmp_path / "engine-bin"
    write_plugin(bin_dir, "github", "6.15.0")
    own = Engine(bin_dir=bin_dir, pulumi=engine.pulumi, version=engine.version, origin="cache")
    (status,) = plugins.ensure_plugins(own, {"github"}, environ)
    assert status.origin == "engine-bin" and status.ok


def test_a_plugin_in_pulumis_plugin_dir_at_the_exact_version(environ, engine):
    home = Path(environ["PULUMI_HOME"]) / "plugins"
    write_plugin(home / "resource-github-v6.14.0", "github", "6.14.0")
    assert plugins.find_plugin(GITHUB, engine, environ).origin == "missing"   # another version does not count
    write_plugin(home / "resource-github-v6.15.0", "github", "6.15.0")
    (home / "resource-github-v6.15.0.partial").touch()                       # an install still running
    assert plugins.find_plugin(GITHUB, engine, environ).origin == "missing"
    (home / "resource-github-v6.15.0.partial").unlink()
    (status,) = plugins.ensure_plugins(engine, {"github"}, environ)
    assert status.origin == "plugin-dir" and status.path.endswith("resource-github-v6.15.0/pulumi-resource-github")


def test_a_plugin_on_path_at_another_version_is_refused_since_the_engine_would_take_it(tmp_path, engine, environ):
    folder = tmp_path / "tools"
    write_plugin(folder, "vercel", "5.20.0")
    environ["PATH"] = f"{folder}{os.pathsep}{environ['PATH']}"
    with pytest.raises(EngineMissing) as caught:
        plugins.ensure_plugins(engine, {"vercel"}, environ)
    assert "it is version 5.20.0, the SDK needs 5.21.1" in str(caught.value)
    assert caught.value.exit_code == 31 and _installed(environ) == []


def test_a_missing_plugin_is_installed_by_the_engine_from_a_local_archive(tmp_path, engine, environ):
    write_archive(tmp_path / "mirror", "vercel", "5.21.1", VERCEL.asset)
    environ[plugins.FILES_ENV] = str(tmp_path / "mirror")
    logged: list[str] = []
    (status,) = plugins.ensure_plugins(engine, {"vercel"}, environ, log=logged.append)
    assert status.origin == "installed"
    assert logged == [f"plugins: {VERCEL.install_command(tmp_path / 'mirror' / VERCEL.asset)} (timeout 60s)"]
    assert "resource-vercel-v5.21.1" in _installed(environ)
    again = plugins.find_plugin(VERCEL, engine, environ)
    assert again.origin == "plugin-dir" and plugins.probe_version(Path(again.path)) == "5.21.1"


def test_without_network_the_failure_names_plugin_version_and_both_commands(engine, environ):
    with pytest.raises(EngineMissing) as caught:
        plugins.ensure_plugins(engine, {"github", "vercel"}, environ)
    message = str(caught.value)
    assert caught.value.exit_code == 31 and "\n" not in message
    assert message.startswith("provider plugin missing, nothing was changed: ")
    assert "pulumi-resource-github 6.15.0 (the github component): `pulumi plugin install resource github 6.15.0 --exact` failed" in message
    assert ("pulumi-resource-vercel 5.21.1 (the vercel component): `pulumi plugin install resource vercel 5.21.1 --exact "
            "--server github://api.github.com/pulumiverse` failed") in message
    assert f"--file {VERCEL.asset}" in message and f"{plugins.FILES_ENV}=DIR" in message
    assert _installed(environ) == []   # nothing half-installed left behind


def test_an_install_that_hangs_is_stopped_at_its_timeout(tmp_path, environ):
    pid_file = tmp_path / "pid"
    fake = tmp_path / "fake-engine" / "pulumi"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 300\n")
    fake.chmod(0o755)
    environ[plugins.TIMEOUT_ENV] = "1"
    with pytest.raises(EngineMissing) as caught:
        plugins.ensure_plugins(Engine(fake.parent, fake, "3.274.1", "cache"), {"github"}, environ)
    assert "failed (timed out after 1s)" in str(caught.value)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_plugin_downloads_stay_off_only_once_every_plugin_is_in_place(tmp_path, engine, environ):
    env = dict(environ, **{plugins.ACQUISITION_FLAG: "true"})
    with pytest.raises(EngineMissing):
        plugins.prepare(engine, {"github"}, env)
    assert plugins.ACQUISITION_FLAG not in env
    write_plugin(Path(environ["PULUMI_HOME"]) / "plugins" / "resource-github-v6.15.0", "github", "6.15.0")
    plugins.prepare(engine, {"github", "lambda"}, env)
    assert env[plugins.ACQUISITION_FLAG] == "true"


def test_check_lists_each_plugin_with_its_origin(tmp_path, engine, environ):
    from automation.platform_checks import plugin_findings

    home = Path(environ["PULUMI_HOME"]) / "plugins" / "resource-github-v6.15.0"
    write_plugin(home, "github", "6.15.0")
    github, vercel = plugin_findings({"github", "vercel"}, environ)
    assert github.line() == f"✅ plugin   pulumi-resource-github 6.15.0: plugin-dir {home / 'pulumi-resource-github'}"
    assert not github.blocking and not vercel.blocking   # a missing plugin is installed before the stack changes
    assert vercel.line().startswith("⚠️ plugin   pulumi-resource-vercel 5.21.1: not found; `up` installs it before the "
                                    "stack changes -> not found: install it with `pulumi plugin install resource vercel "
                                    "5.21.1 --exact --server")


def test_check_blocks_on_a_plugin_at_the_wrong_version_in_the_engines_way(tmp_path, environ):
    from automation.platform_checks import plugin_findings

    write_plugin(tmp_path / "tools", "github", "6.0.0")
    environ["PATH"] = f"{tmp_path / 'tools'}{os.pathsep}{environ['PATH']}"
    (github,) = plugin_findings({"github"}, environ)
    assert github.blocking and github.status == "wrong" and "it is version 6.0.0, the SDK needs 6.15.0" in github.action


def test_with_downloads_off_nothing_is_fetched_and_the_commands_are_given(tmp_path, environ, engine):
    environ[plugins.NO_DOWNLOAD_ENV] = "1"
    with pytest.raises(EngineMissing) as caught:
        plugins.ensure_plugins(engine, {"github"}, environ, log=pytest.fail)   # no install is even started
    assert "downloads are off (ORCHESTRA_ENGINE_NO_DOWNLOAD=1)" in str(caught.value)
    assert "`pulumi plugin install resource github 6.15.0 --exact`" in str(caught.value)
    write_archive(tmp_path / "mirror", "github", "6.15.0", GITHUB.asset)
    environ[plugins.FILES_ENV] = str(tmp_path / "mirror")
    assert plugins.ensure_plugins(engine, {"github"}, environ)[0].origin == "installed"   # a local file is no download


def test_the_command_line_reports_and_installs(tmp_path, environ, monkeypatch, capsys):
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(plugins.NO_DOWNLOAD_ENV, "1")
    assert plugins.main(["status"]) == 31
    assert "pulumi-resource-github 6.15.0: missing (not found" in capsys.readouterr().out
    for spec in (GITHUB, VERCEL):
        write_archive(tmp_path / "mirror", spec.name, spec.version, spec.asset)
    monkeypatch.setenv(plugins.FILES_ENV, str(tmp_path / "mirror"))
    assert plugins.main(["ensure"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["pulumi-resource-github 6.15.0", "pulumi-resource-vercel 5.21.1"]
    assert all(": installed " in line for line in out)
