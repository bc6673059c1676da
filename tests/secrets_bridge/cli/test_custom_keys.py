"""Any environment-variable name is a key, everywhere; a project declares its own with a purpose
and a format; the Pulumi passphrase can be backed up; the project root is found from a subdirectory;
the same value in two environments is flagged."""

from __future__ import annotations

import json
import subprocess
import sys

from dotenv import dotenv_values

from secrets_bridge import SecretManager
from secrets_bridge.masking import fingerprint, mask
from tests.support.secrets_project import CANARIES

DB = "postgres://app:CanaryDbPassZq7@db.internal:5432/app"
ANTHROPIC = "sk-ant-CanaryAnthropicZq7" + "a" * 20
EVERY = [*CANARIES.values(), DB, ANTHROPIC]
KEYS_TOML = """\
[keys.ANTHROPIC_API_KEY]
purpose = "Anthropic: the app's Claude calls"
format = "sk-ant-[A-Za-z0-9_-]{20,}"
"""
SHOW = "import os, sys; print(os.environ.get(sys.argv[1], 'unset'))"


def cli(project, *args, **kwargs):
    done = project.cli(*args, **kwargs)
    if not kwargs.get("allow_reveal"):
        for value in EVERY:
            assert value not in done.stdout + done.stderr and value[-10:] not in done.stdout + done.stderr
    return done


def test_a_custom_key_round_trips_through_every_command(project):
    project.empty_store()
    done = cli(project, "set", "DATABASE_URL", input=DB)
    assert done.returncode == 0 and "stored DATABASE_URL" in done.stdout

    assert cli(project, "get", "DATABASE_URL", "--reveal", allow_reveal=True).stdout == DB + "\n"
    masked = cli(project, "get", "DATABASE_URL")
    assert masked.stdout.split() == ["DATABASE_URL", *mask(DB).split(), "from", "store:.secrets.production.json"]

    rows = {row["name"]: row for row in json.loads(cli(project, "list", "--json").stdout)["keys"]}
    assert rows["DATABASE_URL"]["kind"] == "custom" and rows["DATABASE_URL"]["fingerprint"] == fingerprint(DB)
    assert rows["GITHUB_TOKEN"]["kind"] == "catalog"
    assert "DATABASE_URL" in cli(project, "list").stdout.split("\n", 2)[2]

    explained = cli(project, "explain", "DATABASE_URL")
    assert "[custom key]" in explained.stdout and "result: store:.secrets.production.json wins" in explained.stdout

    ran = cli(project, "run", "--no-masking", "--", sys.executable, "-c", SHOW, "DATABASE_URL", allow_reveal=True)
    assert ran.stdout.strip() == DB
    assert cli(project, "run", "--", sys.executable, "-c", SHOW, "DATABASE_URL").stdout.strip() == mask(DB)

    out = project.root / "out.env"
    assert cli(project, "export-env", str(out)).returncode == 0
    assert dotenv_values(out) == {"DATABASE_URL": DB}
    assert cli(project, "delete", "DATABASE_URL").returncode == 0
    assert project.store().names() == []
    imported = cli(project, "import-env", str(out))
    assert imported.returncode == 0 and "DATABASE_URL" in imported.stdout
    assert project.store().get("DATABASE_URL") == DB


def test_the_python_api_takes_any_name_and_refuses_non_names(project):
    keys = SecretManager("production", root=project.root)
    assert keys.set("DATABASE_URL", DB).status == "ok"
    assert keys.get("DATABASE_URL").value == DB and keys.get("DATABASE_URL").source.startswith("store:")
    assert [info.kind for info in keys.list() if info.name == "DATABASE_URL"] == ["custom"]
    for bad in ("TRAILING ", "has-dash", "", CANARIES["GITHUB_TOKEN"]):
        try:
            keys.set(bad, "x")
        except Exception as exc:  # noqa: BLE001 - the type is asserted below
            assert type(exc).__name__ == "InvalidValue" and (not bad.strip() or bad.strip() not in str(exc))
        else:
            raise AssertionError(f"{bad!r} was accepted as a name")
    assert keys.delete("DATABASE_URL") and keys.get("DATABASE_URL").value is None


def test_declared_keys_carry_purpose_and_format(project):
    (project.root / "secrets-bridge.toml").write_text(KEYS_TOML)
    project.empty_store()
    bad = cli(project, "set", "ANTHROPIC_API_KEY", input="sk-wrong")
    assert bad.returncode == 10 and "does not match the format declared" in bad.stderr
    assert cli(project, "set", "ANTHROPIC_API_KEY", input=ANTHROPIC).returncode == 0
    rows = {row["name"]: row for row in json.loads(cli(project, "list", "--json").stdout)["keys"]}
    assert rows["ANTHROPIC_API_KEY"]["kind"] == "declared" and rows["ANTHROPIC_API_KEY"]["present"]
    assert rows["ANTHROPIC_API_KEY"]["purpose"] == "Anthropic: the app's Claude calls"
    assert "[declared key: Anthropic: the app's Claude calls]" in cli(project, "explain", "ANTHROPIC_API_KEY").stdout
    assert list(rows)[:5] == [s for s in ("LAMBDA_API_KEY", "GITHUB_TOKEN", "VERCEL_TOKEN", "OPENAI_API_KEY",
                                          "PORTKEY_API_KEY")]

    (project.root / "secrets-bridge.toml").write_text("[keys.X]\nformat = 3\n")
    broken = cli(project, "list")
    assert broken.returncode == 10 and "needs purpose" in broken.stderr


def test_the_pulumi_passphrase_is_readable_for_a_backup(project):
    passphrase = "driver-passphrase-CanaryPassZq7x"
    project.seed({"PULUMI_CONFIG_PASSPHRASE": passphrase})
    done = project.cli("get", "PULUMI_CONFIG_PASSPHRASE", "--reveal", allow_reveal=True)
    assert done.returncode == 0 and done.stdout == passphrase + "\n"
    rows = {row["name"]: row for row in json.loads(project.cli("list", "--json").stdout)["keys"]}
    assert rows["PULUMI_CONFIG_PASSPHRASE"]["kind"] == "pulumi"
    out = project.root / "out.env"
    project.seed({"PULUMI_CONFIG_PASSPHRASE": passphrase, "GITHUB_TOKEN": CANARIES["GITHUB_TOKEN"]})
    assert project.cli("export-env", str(out)).returncode == 0
    assert "PULUMI_CONFIG_PASSPHRASE" not in dotenv_values(out)


def test_store_and_dotenv_are_found_at_the_project_root_from_a_subdirectory(project):
    (project.root / "Pulumi.yaml").write_text("name: orchestra\nruntime: python\n")
    (project.root / ".env").write_text("OPENAI_API_KEY=sk-proj-fromdotenv\n")
    sub = project.root / "infra" / "deep"
    sub.mkdir(parents=True)
    project.env.pop("ORCHESTRA_SECRETS_DIR")
    project.empty_store()
    def run(*args: str, input: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "secrets_bridge", *args], cwd=sub, env=project.env,
                              input=input, capture_output=True, text=True, timeout=120)

    assert run("set", "DATABASE_URL", input=DB).returncode == 0
    assert not list(sub.glob(".secrets.*")) and project.store().get("DATABASE_URL") == DB
    assert "dotenv:.env" in run("get", "OPENAI_API_KEY").stdout

    elsewhere = project.root / "other-dir"
    elsewhere.mkdir()
    project.env["ORCHESTRA_SECRETS_DIR"] = str(elsewhere)   # still wins for the store
    assert run("set", "DATABASE_URL", input=DB).returncode == 0
    assert (elsewhere / ".secrets.production.json").exists()


def test_list_all_envs_flags_the_same_value_in_two_environments(project):
    project.seed({"GITHUB_TOKEN": CANARIES["GITHUB_TOKEN"], "OPENAI_API_KEY": "sk-proj-prod"})
    project.seed({"GITHUB_TOKEN": CANARIES["GITHUB_TOKEN"], "OPENAI_API_KEY": "sk-proj-stage"}, env="staging")
    text = cli(project, "list", "--all-envs")
    assert text.returncode == 0
    assert "environment: production" in text.stdout and "environment: staging" in text.stdout
    assert "warning: GITHUB_TOKEN holds the same value in production, staging" in text.stdout
    assert "OPENAI_API_KEY holds" not in text.stdout
    data = json.loads(cli(project, "list", "--all-envs", "--json").stdout)
    assert data["shared_across_envs"] == {"GITHUB_TOKEN": ["production", "staging"]}
    assert [listing["env"] for listing in data["envs"]] == ["production", "staging"]

    nowhere = {var: "http://127.0.0.1:9" for var in ("ORCHESTRA_LAMBDA_API_URL", "ORCHESTRA_GITHUB_API_URL",
                                                     "ORCHESTRA_VERCEL_API_URL", "ORCHESTRA_OPENAI_API_URL",
                                                     "ORCHESTRA_PORTKEY_API_URL")}
    report = cli(project, "verify", "--timeout", "2", extra_env=nowhere)
    assert report.returncode in (20, 21)
    assert "warning: GITHUB_TOKEN holds the same value in production, staging" in report.stdout
    results = json.loads((project.root / "api_connectivity_test_results.json").read_text())
    assert results["shared_across_envs"] == {"GITHUB_TOKEN": ["production", "staging"]}


def test_import_env_reports_skipped_lines_and_refuses_conflicts(project):
    project.empty_store()
    source = project.root / "in.env"
    gh = CANARIES["GITHUB_TOKEN"]
    source.write_text(f"GH_TOKEN={gh}\nEMPTY=\nNOVALUE\n1BAD=x\nnot an assignment at all\nDATABASE_URL={DB}\n")
    done = cli(project, "import-env", str(source))
    assert done.returncode == 0, done.stderr
    assert "skipped line 2: EMPTY is empty" in done.stderr
    assert "skipped line 3: NOVALUE has no '=' and no value" in done.stderr
    assert "skipped line 4: not a valid key name" in done.stderr
    assert "skipped line 5: not a NAME=value assignment" in done.stderr
    assert sorted(project.store().names()) == ["DATABASE_URL", "GITHUB_TOKEN"]

    source.write_text(f"GITHUB_TOKEN={gh}\nGH_TOKEN=ghp_{'k' * 36}\n")
    conflict = cli(project, "import-env", str(source))
    assert conflict.returncode == 10
    assert "conflicting values for GITHUB_TOKEN: GITHUB_TOKEN (line 1) and GH_TOKEN (line 2) differ" in conflict.stderr
    assert "k" * 36 not in conflict.stderr


def test_an_exported_file_can_be_sourced_without_running_anything(project):
    hostile = {"WEIRD_ONE": "$(touch ran-dollar)", "WEIRD_TWO": "`touch ran-backtick`; echo $HOME",
               "WEIRD_THREE": "it's a \\ test", "WEIRD_FOUR": "line one\nline two"}
    project.seed(hostile)
    out = project.root / "out.env"
    assert cli(project, "export-env", str(out)).returncode == 0
    shown = "; ".join(f'printf "%s|" "${name}"' for name in hostile)
    done = subprocess.run(["sh", "-c", f'. "{out}"; {shown}'], cwd=project.root, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0 and done.stdout == "".join(f"{value}|" for value in hostile.values())
    assert not list(project.root.glob("ran-*"))
    assert dotenv_values(out) == hostile

    project.seed({"NO_SPELLING": "it's $HOME"})
    refused = cli(project, "export-env", str(out), "--force")
    assert refused.returncode == 10 and "NO_SPELLING" in refused.stderr and "$HOME" not in refused.stderr
