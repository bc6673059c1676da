"""With --json, every failure of `list` and `verify` is one JSON document on stdout saying what stderr says:
same exit code, the kind of error, the fix; never a key value."""

from __future__ import annotations

import json

import pytest

from tests.support.secrets_project import CANARIES

GH = CANARIES["GITHUB_TOKEN"]
JSON_COMMANDS = [("list", "--json"), ("verify", "--json", "--timeout", "1")]


def _document(done) -> dict:
    doc = json.loads(done.stdout)
    assert doc["ok"] is False and doc["exit_code"] == done.returncode
    assert set(doc["error"]) == {"kind", "message", "fix"}
    assert doc["error"]["message"] in done.stderr       # the same words as the one stderr line
    assert GH not in done.stdout + done.stderr
    return doc


@pytest.mark.parametrize("command", JSON_COMMANDS, ids=[c[0] for c in JSON_COMMANDS])
def test_a_wrong_master_key_is_a_json_document_with_exit_4(project, command):
    project.seed({"GITHUB_TOKEN": GH})
    done = project.cli(*command, extra_env={"ORCHESTRA_MASTER_KEY": "another-master-key-that-is-long-enough-42",
                                            "ORCHESTRA_LAMBDA_API_URL": "http://127.0.0.1:9"})
    assert done.returncode == 4, done.stderr
    assert _document(done)["error"]["kind"] == "WrongMasterKey"


@pytest.mark.parametrize("command", JSON_COMMANDS, ids=[c[0] for c in JSON_COMMANDS])
def test_a_bad_environment_name_is_a_json_document_that_does_not_echo_it(project, command):
    done = project.cli(*command, "--env", GH)
    assert done.returncode == 10, done.stderr
    doc = _document(done)
    assert doc["error"]["kind"] == "InvalidValue" and "letters, digits" in doc["error"]["fix"]


def test_a_usage_error_with_json_is_a_json_document(project):
    done = project.cli("list", "--json", "--no-such-option")
    assert done.returncode == 2
    assert _document(done)["error"]["kind"] == "UsageError"


def test_json_after_the_child_command_belongs_to_the_child(project):
    done = project.cli("run", "--", "sh", "-c", "exit 3", "--json")
    assert done.returncode == 3 and done.stdout == ""
