"""A bad master-key source is named as such on every reader, never passed off as "missing keys";
readers ask on a terminal; new master keys must be strong; rotating to the same key is refused."""

from __future__ import annotations

import sys

import pexpect
import pytest

from tests.support.secrets_project import CANARIES, MASTER_KEY

GH = CANARIES["GITHUB_TOKEN"]
READERS = [("list",), ("get", "GITHUB_TOKEN"), ("explain", "GITHUB_TOKEN"), ("verify", "--timeout", "1")]


def _bad_source(project, kind: str) -> tuple[dict[str, str], str, str]:
    """(environment, variable named, reason) for one kind of unusable master-key source."""
    if kind == "missing file":
        return {"ORCHESTRA_MASTER_KEY_FILE": str(project.root / "nope.key")}, "ORCHESTRA_MASTER_KEY_FILE", "does not exist"
    if kind == "empty file":
        (project.root / "empty.key").write_text("\n")
        return {"ORCHESTRA_MASTER_KEY_FILE": str(project.root / "empty.key")}, "ORCHESTRA_MASTER_KEY_FILE", "is empty"
    if kind == "directory":
        (project.root / "keydir").mkdir()
        return {"ORCHESTRA_MASTER_KEY_FILE": str(project.root / "keydir")}, "ORCHESTRA_MASTER_KEY_FILE", "is a directory"
    return {"ORCHESTRA_MASTER_KEY": ""}, "ORCHESTRA_MASTER_KEY", "set but empty"


@pytest.mark.parametrize("kind", ["missing file", "empty file", "directory", "empty variable"])
@pytest.mark.parametrize("command", READERS, ids=[c[0] for c in READERS])
def test_bad_master_key_source_exits_3_naming_variable_and_reason(project, kind, command):
    project.seed({"GITHUB_TOKEN": GH})
    extra, variable, reason = _bad_source(project, kind)
    project.env.pop("ORCHESTRA_MASTER_KEY")
    done = project.cli(*command, extra_env={**extra, "ORCHESTRA_LAMBDA_API_URL": "http://127.0.0.1:9"})
    assert done.returncode == 3, done.stdout + done.stderr
    assert variable in done.stderr and reason in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "missing" not in done.stdout and "secrets-bridge set" not in done.stderr
    assert not (project.root / "api_connectivity_test_results.json").exists()


def test_an_empty_variable_does_not_shadow_a_valid_key_file(project):
    project.seed({"GITHUB_TOKEN": GH})
    key_file = project.root / "master.key"
    key_file.write_text(MASTER_KEY + "\n")
    key_file.chmod(0o600)
    project.env.pop("ORCHESTRA_MASTER_KEY")
    done = project.cli("get", "GITHUB_TOKEN", extra_env={"ORCHESTRA_MASTER_KEY": "",
                                                       "ORCHESTRA_MASTER_KEY_FILE": str(key_file)})
    assert done.returncode == 0 and "store:.secrets.production.json" in done.stdout


def _spawn(project, *args: str) -> pexpect.spawn:
    env = {k: v for k, v in project.env.items() if k != "ORCHESTRA_MASTER_KEY"}
    return pexpect.spawn(sys.executable, ["-m", "secrets_bridge", *args], cwd=str(project.root), env=env,
                         encoding="utf-8", timeout=60)


@pytest.mark.parametrize("command", [("get", "GITHUB_TOKEN"), ("list",)])
def test_readers_ask_for_the_master_key_on_a_terminal(project, command):
    project.seed({"GITHUB_TOKEN": GH})
    child = _spawn(project, *command)
    child.expect("Master key for the secret store: ")
    child.sendline(MASTER_KEY)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "store:.secrets.production.json" in child.before
    assert GH not in child.before and MASTER_KEY not in child.before


def test_a_wrong_key_typed_at_the_prompt_is_exit_4(project):
    project.seed({"GITHUB_TOKEN": GH})
    child = _spawn(project, "get", "GITHUB_TOKEN")
    child.expect("Master key for the secret store: ")
    child.sendline("not-the-master-key-at-all")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4 and "missing" not in child.before


@pytest.mark.parametrize("weak", ["x", "short-key", "aaaaaaaaaaaaaaaaaaaaaaaa", "password1234567890", "qwertyuiop12345678"])
def test_a_new_store_refuses_a_weak_master_key(project, weak):
    done = project.cli("set", "GITHUB_TOKEN", input=GH, extra_env={"ORCHESTRA_MASTER_KEY": weak})
    assert done.returncode == 10 and "master key" in done.stderr and weak not in done.stderr
    assert not (project.root / ".secrets.production.json").exists()


def test_an_existing_store_still_opens_with_its_key_and_rotation_checks_the_new_one(project):
    project.seed({"GITHUB_TOKEN": GH})
    before = (project.root / ".secrets.production.json").read_bytes()
    same = project.cli("rotate-master-key", extra_env={"ORCHESTRA_NEW_MASTER_KEY": MASTER_KEY})
    assert same.returncode == 10 and "is the current one" in same.stderr
    weak = project.cli("rotate-master-key", extra_env={"ORCHESTRA_NEW_MASTER_KEY": "abc"})
    assert weak.returncode == 10 and "shorter than 16" in weak.stderr
    assert (project.root / ".secrets.production.json").read_bytes() == before
