"""`run`: the child gets the resolved keys and nothing that opens the store; its output is masked
by default; a command that cannot start is one line with 126/127."""

from __future__ import annotations

import sys

import pytest

from secrets_bridge.masking import mask
from tests.support.secrets_project import CANARIES, MASTER_KEY

GH = CANARIES["GITHUB_TOKEN"]
OA = CANARIES["OPENAI_API_KEY"]

# Prints every ORCHESTRA_* name it got, then tries to open the store itself.
SNOOP = """\
import os, subprocess, sys
print(sorted(name for name in os.environ if name.startswith("ORCHESTRA_")))
done = subprocess.run([sys.executable, "-m", "secrets_bridge", "get", "OPENAI_API_KEY"], capture_output=True, text=True)
print("store exit", done.returncode)
"""
# Writes the values split over several writes, to stdout and stderr.
SPLIT = """\
import os, sys, time
gh, oa = os.environ["GITHUB_TOKEN"], os.environ["OPENAI_API_KEY"]
sys.stdout.write("token=" + gh[:9]); sys.stdout.flush(); time.sleep(0.2)
sys.stdout.write(gh[9:] + " tail\\n"); sys.stdout.flush()
sys.stderr.write("err " + oa + "\\n"); sys.stderr.flush()
"""


def test_the_child_cannot_open_the_store(project):
    project.seed({"OPENAI_API_KEY": OA})
    key_file = project.root / "master.key"
    key_file.write_text(MASTER_KEY)
    key_file.chmod(0o600)
    extra = {"ORCHESTRA_MASTER_KEY_FILE": str(key_file), "ORCHESTRA_NEW_MASTER_KEY": MASTER_KEY + "-new-Zq7",
             "ORCHESTRA_NEW_MASTER_KEY_FILE": str(key_file)}
    done = project.cli("run", "--", sys.executable, "-c", SNOOP, extra_env=extra)
    assert done.returncode == 0, done.stderr
    names = done.stdout.splitlines()[0]
    assert "MASTER_KEY" not in names and "ORCHESTRA_SECRETS_DIR" in names
    assert done.stdout.splitlines()[1] == "store exit 3"


def test_output_is_masked_by_default_even_when_a_value_is_split_across_writes(project):
    project.seed({"GITHUB_TOKEN": GH, "OPENAI_API_KEY": OA})
    done = project.cli("run", "--", sys.executable, "-c", SPLIT)
    assert done.returncode == 0
    assert done.stdout == f"token={mask(GH)} tail\n"
    assert done.stderr == f"err {mask(OA)}\n"

    raw = project.cli("run", "--no-masking", "--", sys.executable, "-c", SPLIT, allow_reveal=True)
    assert raw.stdout == f"token={GH} tail\n" and raw.stderr == f"err {OA}\n"


@pytest.mark.parametrize("kind", ["not executable", "directory", "missing"])
def test_a_command_that_cannot_start_is_one_line_and_126_or_127(project, kind):
    project.empty_store()
    if kind == "not executable":
        target = project.root / "script.sh"
        target.write_text("#!/bin/sh\necho hi\n")
        target.chmod(0o644)
        command, code = str(target), 126
    elif kind == "directory":
        (project.root / "adir").mkdir()
        command, code = str(project.root / "adir"), 126
    else:
        command, code = "definitely-not-a-command-xyz", 127
    done = project.cli("run", "--", command)
    assert done.returncode == code
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


def test_the_exit_code_and_a_signal_death_pass_through(project):
    project.empty_store()
    assert project.cli("run", "--", sys.executable, "-c", "raise SystemExit(5)").returncode == 5
    killed = project.cli("run", "--", sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)")
    assert killed.returncode == 128 + 15
