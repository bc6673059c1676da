"""The CLI as a user runs it: real subprocesses, real files, exit codes, and no value ever
printed except by `get --reveal` (every call below is checked for canaries by project.cli)."""

from __future__ import annotations

import json
import stat
import sys

import pexpect
import pytest
from dotenv import dotenv_values

from secrets_bridge.masking import fingerprint, mask
from tests.support.secrets_project import CANARIES, MASTER_KEY

GH = CANARIES["GITHUB_TOKEN"]
OA = CANARIES["OPENAI_API_KEY"]


def test_set_reads_stdin_strips_one_newline_and_get_reveal_returns_it(project):
    project.empty_store()
    done = project.cli("set", "GH_TOKEN", input=GH + "\n")
    assert done.returncode == 0, done.stderr
    assert "stored GITHUB_TOKEN" in done.stdout and fingerprint(GH) in done.stdout
    assert project.store().get("GITHUB_TOKEN") == GH

    revealed = project.cli("get", "GITHUB_TOKEN", "--reveal", allow_reveal=True)
    assert revealed.stdout == GH + "\n" and revealed.stderr == ""
    masked = project.cli("get", "github_token")
    assert masked.returncode == 0 and "store:.secrets.production.json" in masked.stdout


@pytest.mark.parametrize("raw, message", [
    (GH + "\n\n", "ends with a newline"),
    (GH + "\r\n", "ends with a carriage return"),
    (" " + GH, "starts with a space"),
    (f'"{GH}"\n', "wrapped in double quotes"),
    ("ghp_short", "not followed by exactly 36"),
    ("", "no value on stdin"),
    (GH[:20] + "\u200b" + GH[20:], "invisible or control character (U+200B) at position 21"),
    (GH[:20] + "\x07" + GH[20:], "invisible or control character (U+0007)"),
])
def test_bad_values_exit_10_and_change_nothing(project, raw, message):
    project.seed({"GITHUB_TOKEN": "ghp_" + "k" * 36})
    done = project.cli("set", "GITHUB_TOKEN", input=raw)
    assert done.returncode == 10
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert project.store().get("GITHUB_TOKEN") == "ghp_" + "k" * 36


def test_warn_level_values_are_stored_with_a_warning(project):
    project.empty_store()
    done = project.cli("set", "VERCEL_TOKEN", input="not-the-usual-shape\n")
    assert done.returncode == 0 and "warning: VERCEL_TOKEN" in done.stderr
    assert project.store().get("VERCEL_TOKEN") == "not-the-usual-shape"


@pytest.mark.parametrize("name", ["1BAD", "has-dash", "TRAILING ", GH, CANARIES["VERCEL_TOKEN"], OA])
def test_a_name_that_is_no_env_var_name_or_looks_like_a_value_is_a_usage_error_not_echoed(project, name):
    for command in ("set", "get", "explain", "delete"):
        done = project.cli(command, name, input="x")
        assert done.returncode == 2, (command, done.stderr)
        assert "not shown" in done.stderr and name.strip() not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_value_is_never_accepted_from_argv(project):
    project.empty_store()
    for command in ("set", "get"):
        done = project.cli(command, "GITHUB_TOKEN", GH)  # and the mistaken value is not echoed back
        assert done.returncode == 2 and "never from the command line" in done.stderr
    assert project.store().names() == []


def test_get_of_a_key_set_nowhere_exits_9(project):
    done = project.cli("get", "OPENAI_API_KEY")
    assert done.returncode == 9 and "secrets-bridge set OPENAI_API_KEY" in done.stderr


def test_delete(project):
    project.seed({"GITHUB_TOKEN": GH, "OPENAI_API_KEY": OA})
    assert project.cli("delete", "GH_TOKEN").returncode == 0
    assert project.store().names() == ["OPENAI_API_KEY"]
    again = project.cli("delete", "GITHUB_TOKEN")
    assert again.returncode == 9 and "nothing was deleted" in again.stderr


def test_store_errors_map_to_their_exit_codes(project):
    project.seed({"GITHUB_TOKEN": GH})
    project.env = {k: v for k, v in project.env.items() if k != "ORCHESTRA_MASTER_KEY"}
    assert project.cli("set", "OPENAI_API_KEY", input=OA).returncode == 3
    assert project.cli("set", "OPENAI_API_KEY", input=OA, extra_env={"ORCHESTRA_MASTER_KEY": ""}).returncode == 3
    # A store that exists but cannot be opened is an error for readers too, never "keys missing".
    listed = project.cli("list")
    assert listed.returncode == 3 and ".secrets.production.json exists but cannot be opened" in listed.stderr

    wrong = project.cli("delete", "GITHUB_TOKEN", extra_env={"ORCHESTRA_MASTER_KEY": "wrong-key"})
    assert wrong.returncode == 4

    path = project.root / ".secrets.production.json"
    path.chmod(0o644)
    loose = project.cli("get", "GITHUB_TOKEN", extra_env={"ORCHESTRA_MASTER_KEY": MASTER_KEY})
    assert loose.returncode == 8 and "chmod 600" in loose.stderr
    allowed = project.cli("--allow-insecure-permissions", "get", "GITHUB_TOKEN",
                          extra_env={"ORCHESTRA_MASTER_KEY": MASTER_KEY})
    assert allowed.returncode == 0

    path.chmod(0o600)
    path.write_text(path.read_text()[:-20])
    corrupt = project.cli("get", "GITHUB_TOKEN", extra_env={"ORCHESTRA_MASTER_KEY": MASTER_KEY})
    assert corrupt.returncode == 5
    for done in (wrong, loose, corrupt):
        assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1


def test_list_shows_every_key_with_source_verdict_and_age(project):
    project.seed({"GITHUB_TOKEN": GH, "VERCEL_TOKEN": "short"})
    done = project.cli("list", "--json", extra_env={"OPENAI_KEY": OA})
    assert done.returncode == 0
    data = json.loads(done.stdout)
    rows = {row["name"]: row for row in data["keys"]}
    assert list(rows) == ["LAMBDA_API_KEY", "GITHUB_TOKEN", "VERCEL_TOKEN", "OPENAI_API_KEY", "PORTKEY_API_KEY"]
    assert rows["GITHUB_TOKEN"] | {"masked": None} == {
        "name": "GITHUB_TOKEN", "kind": "catalog", "purpose": "GitHub: repository access, Actions secrets for CI",
        "present": True, "source": "store:.secrets.production.json", "masked": None,
        "fingerprint": fingerprint(GH), "format": {"status": "ok", "message": "GitHub classic personal access token"},
        "age_days": 0, "shadowed": []}
    assert rows["OPENAI_API_KEY"]["source"] == "env:OPENAI_KEY" and rows["OPENAI_API_KEY"]["age_days"] is None
    assert rows["VERCEL_TOKEN"]["format"]["status"] == "warn"
    assert rows["LAMBDA_API_KEY"]["present"] is False

    text = project.cli("list", extra_env={"OPENAI_KEY": OA})
    assert "GITHUB_TOKEN     set      store:.secrets.production.json" in text.stdout
    assert "VERCEL_TOKEN: format warn" in text.stdout


def test_explain_walks_the_chain(project):
    project.seed({"GITHUB_TOKEN": GH})
    (project.root / ".env.local").write_text("GITHUB_PAT=ghp_" + "L" * 36 + "\n")
    done = project.cli("explain", "GITHUB_TOKEN", "--stack", "dev", extra_env={"PATH": "/nonexistent"})
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert "dotenv file" in lines[3] and ".env.local: hit dotenv:.env.local" in lines[3] and "WINS" in lines[3]
    assert any("encrypted store" in line and "shadowed by dotenv:.env.local" in line for line in lines)
    assert "note: stack config: pulumi CLI not found" in done.stdout
    assert lines[-1] == "result: dotenv:.env.local wins; it shadows store:.secrets.production.json"


def test_import_export_round_trip(project):
    project.empty_store()
    source = project.root / "in.env"
    source.write_text(f"# keys\nGH_TOKEN={GH}\nOPENAI_API_KEY='{OA}'\nUNRELATED=1\n")
    done = project.cli("import-env", str(source))
    assert done.returncode == 0
    assert "GITHUB_TOKEN (from GH_TOKEN)" in done.stdout and "OPENAI_API_KEY" in done.stdout
    assert "UNRELATED" in done.stdout  # any valid name is a key

    out = project.root / "out.env"
    assert project.cli("export-env", str(out)).returncode == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert dotenv_values(out) == {"GITHUB_TOKEN": GH, "OPENAI_API_KEY": OA, "UNRELATED": "1"}

    out.write_text("MINE=1\n")
    refused = project.cli("export-env", str(out))
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert out.read_text() == "MINE=1\n"
    assert project.cli("export-env", str(out), "--force").returncode == 0
    assert dotenv_values(out)["GITHUB_TOKEN"] == GH


def test_import_is_all_or_nothing(project):
    project.empty_store()
    source = project.root / "in.env"
    source.write_text(f'GITHUB_TOKEN={GH}\nOPENAI_API_KEY=" {OA}"\n')
    done = project.cli("import-env", str(source))
    assert done.returncode == 10 and "OPENAI_API_KEY: value starts with a space" in done.stderr
    assert project.store().names() == []
    nothing = project.root / "none.env"
    nothing.write_text("# only a comment\n\n")
    assert project.cli("import-env", str(nothing)).returncode == 9
    assert project.cli("import-env", str(project.root / "missing.env")).returncode == 2
    latin1 = project.root / "latin1.env"
    latin1.write_bytes("GITHUB_TOKEN=caf\u00e9\n".encode("latin-1"))
    assert project.cli("import-env", str(latin1)).returncode == 10


CHILD = ("import hashlib, os, sys; print(os.environ.get('ORCHESTRA_MASTER_KEY', 'no-master-key')); "
         "print('sha256:' + hashlib.sha256(os.environ['GITHUB_TOKEN'].encode()).hexdigest()[:12]); "
         "print(os.environ.get('OPENAI_API_KEY', 'no-openai')); sys.exit(int(sys.argv[1]))")


def test_run_passes_keys_in_the_environment_and_the_exit_code_out(project):
    project.seed({"GITHUB_TOKEN": GH})
    done = project.cli("run", "--", sys.executable, "-c", CHILD, "7")
    assert done.returncode == 7
    assert done.stdout.splitlines() == ["no-master-key", fingerprint(GH), "no-openai"]


PASSPHRASE_CHILD = "import os; print(os.environ.get('PULUMI_CONFIG_PASSPHRASE', 'none'))"


def test_run_hands_the_stored_pulumi_passphrase_to_plain_pulumi_unless_ci_set_one(project):
    passphrase = "stored-passphrase-CanaryPass"
    project.seed({"PULUMI_CONFIG_PASSPHRASE": passphrase})
    done = project.cli("run", "--no-masking", "--", sys.executable, "-c", PASSPHRASE_CHILD, allow_reveal=True)
    assert done.returncode == 0 and done.stdout.strip() == passphrase
    masked = project.cli("run", "--", sys.executable, "-c", PASSPHRASE_CHILD)
    assert masked.stdout.strip() == mask(passphrase)
    done = project.cli("run", "--", sys.executable, "-c", PASSPHRASE_CHILD, allow_reveal=True,
                       extra_env={"PULUMI_CONFIG_PASSPHRASE_FILE": "/ci/passphrase"})
    assert done.stdout.strip() == "none"


def test_run_of_a_missing_command_exits_127(project):
    done = project.cli("run", "--", "definitely-not-a-command-xyz")
    assert done.returncode == 127 and "command not found" in done.stderr


def test_rotate_master_key(project):
    project.seed({"GITHUB_TOKEN": GH})
    assert project.cli("rotate-master-key").returncode == 3  # no new key and no terminal
    new_key = "brand-new-key-Xq7wV2pL9s"
    done = project.cli("rotate-master-key", extra_env={"ORCHESTRA_NEW_MASTER_KEY": new_key})
    assert done.returncode == 0 and "re-encrypted 1 keys" in done.stdout
    assert project.cli("get", "GITHUB_TOKEN").returncode == 4
    assert project.store(master_key=new_key).get("GITHUB_TOKEN") == GH


def test_setup_without_a_terminal_refuses_with_exit_11(project):
    done = project.cli("setup")
    assert done.returncode == 11 and "secrets-bridge set KEY" in done.stderr


def test_every_command_has_help_and_an_env_option(project):
    for command in ("set", "get", "delete", "list", "explain", "import-env", "export-env", "run",
                    "rotate-master-key", "setup"):
        done = project.cli(command, "--help")
        assert done.returncode == 0 and "--env" in done.stdout, command


def test_ctrl_c_at_the_prompt_changes_nothing_and_exits_130(project):
    project.seed({"GITHUB_TOKEN": GH})
    child = pexpect.spawn(sys.executable, ["-m", "secrets_bridge", "set", "GITHUB_TOKEN"], cwd=str(project.root),
                          env=project.env, encoding="utf-8", timeout=30)
    child.expect("input hidden")
    child.sendintr()
    child.expect("interrupted, nothing was changed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert project.store().get("GITHUB_TOKEN") == GH
