"""A value typed where a name, an environment or an option goes is never echoed back; a results
file that cannot be written is one line before any check runs; Ctrl-C says exactly what happened."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.secrets_project import CANARIES

VALUES = list(CANARIES.values())


@pytest.mark.parametrize("value", VALUES)
def test_a_value_in_the_wrong_place_is_not_echoed(project, value):
    project.empty_store()
    attempts = [("set", value), ("get", value), ("delete", value), ("explain", value),
                ("get", "GITHUB_TOKEN", "--env", value), ("list", "--env", value),
                ("list", f"--{value}"), ("set", "GITHUB_TOKEN", value), ("run", "--env", value, "--", "true"),
                ("import-env", value)]
    for args in attempts:
        done = project.cli(*args, input="x")   # project.cli asserts no canary in stdout or stderr
        assert done.returncode in (2, 10), (args, done.returncode, done.stderr)
        assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1


def test_verify_into_a_missing_directory_is_one_line_before_any_check(project):
    project.empty_store()
    done = project.cli("verify", "--output", str(project.root / "missing" / "r.json"),
                       extra_env={"GITHUB_TOKEN": CANARIES["GITHUB_TOKEN"], "ORCHESTRA_GITHUB_API_URL": "http://127.0.0.1:9"})
    assert done.returncode == 7 and "is not a directory" in done.stderr
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1


# Sends itself SIGINT inside the store's commit: just after the file was replaced, or just before.
INTERRUPTED_SET = """\
import os, signal, sys
import secrets_bridge.store as store
real, moment = store.write_private, sys.argv[1]
def write(*args, **kwargs):
    if moment == "before":
        os.kill(os.getpid(), signal.SIGINT)
    result = real(*args, **kwargs)
    if moment == "after":
        os.kill(os.getpid(), signal.SIGINT)
    return result
store.write_private = write
sys.argv = ["secrets-bridge", "set", "GITHUB_TOKEN"]
from secrets_bridge.cli import main
main()
"""


@pytest.mark.parametrize("moment", ["before", "after"])
def test_ctrl_c_during_the_write_says_it_was_written(project, moment):
    """Ctrl-C is held back over the commit, so the value is written and the message says so."""
    project.empty_store()
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_SET, moment], cwd=project.root, env=project.env,
                          input=CANARIES["GITHUB_TOKEN"].encode(), capture_output=True, timeout=60)
    assert done.returncode == 130
    assert done.stderr.decode().strip() == "interrupted after the change was written (the store holds the new value)"
    assert project.store().get("GITHUB_TOKEN") == CANARIES["GITHUB_TOKEN"]
    assert CANARIES["GITHUB_TOKEN"] not in done.stdout.decode() + done.stderr.decode()
