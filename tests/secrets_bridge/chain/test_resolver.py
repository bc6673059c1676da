"""The priority chain: order, provenance, shadowing and notes for every source.

Stack config comes from a real process: a fake `pulumi` executable first on PATH
that answers `pulumi config --show-secrets --json` like the real CLI does."""

from __future__ import annotations

import json
import os
import sys

import pytest

from secrets_bridge.catalog import KeySpec, get_spec
from secrets_bridge.resolver import DEPLOY, INSPECT, build_chain, resolve, resolve_all, values_to_deploy
from tests.support.secrets_project import CANARIES, MASTER_KEY

FAKE_PULUMI = """#!{python}
import json, os, sys
from pathlib import Path
here = Path(__file__).parent
with open(here / "calls.log", "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
stack = sys.argv[sys.argv.index("--stack") + 1]
config = here / f"config.{{stack}}.json"
if not config.exists():
    print(f"error: no stack named '{{stack}}' found", file=sys.stderr)
    sys.exit(255)
print(config.read_text())
"""

GH = CANARIES["GITHUB_TOKEN"]


def gh(n: int) -> str:
    """Distinct valid GitHub tokens, one per source, to tell the winners apart."""
    return f"ghp_Source{n}".ljust(40, "z")


@pytest.fixture
def fake_pulumi(project):
    bin_dir = project.root / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(FAKE_PULUMI.format(python=sys.executable))
    script.chmod(0o755)
    path = f"{bin_dir}{os.pathsep}{project.env['PATH']}"

    def configure(stack: str, values: dict[str, str]) -> None:
        (bin_dir / f"config.{stack}.json").write_text(json.dumps(
            {f"orchestra:{key}": {"value": value, "secret": True} for key, value in values.items()}))

    configure.path = path
    configure.calls = lambda: [json.loads(line) for line in (bin_dir / "calls.log").read_text().splitlines()] \
        if (bin_dir / "calls.log").exists() else []
    return configure


def resolve_one(name: str, **kwargs):
    return resolve_all("production", names=[name], **kwargs)[name]


def test_every_source_in_order_with_shadowing(project, fake_pulumi):
    project.seed({"GITHUB_TOKEN": gh(7)})
    fake_pulumi("dev", {"github_token": gh(6)})
    (project.root / ".env").write_text(f"GITHUB_TOKEN={gh(4)}\n")
    (project.root / ".env.local").write_text(f"GITHUB_TOKEN={gh(3)}\n")
    (project.root / ".env.production").write_text(f"GH_TOKEN={gh(2)}\n")
    environ = {"PATH": fake_pulumi.path, "GH_TOKEN": gh(1), "GITHUB_TOKEN": gh(0),
               "ORCHESTRA_CI_SECRETS": json.dumps({"GITHUB_TOKEN": gh(5)})}
    expected = ["env:GITHUB_TOKEN", "dotenv:.env.production", "dotenv:.env.local", "dotenv:.env",
                "ci-secrets", "stack-config:dev", "store:.secrets.production.json"]

    result = resolve_one("GITHUB_TOKEN", stack="dev", environ=environ)
    assert (result.value, result.source) == (gh(0), expected[0])
    assert list(result.shadowed) == expected[1:]

    # Peel the sources off one by one: each next one wins in turn.
    del environ["GITHUB_TOKEN"]
    assert (resolve_one("GITHUB_TOKEN", stack="dev", environ=environ).source) == "env:GH_TOKEN"
    del environ["GH_TOKEN"]
    for layer, path in enumerate([".env.production", ".env.local", ".env"], start=2):
        assert resolve_one("GITHUB_TOKEN", stack="dev", environ=environ).value == gh(layer)
        (project.root / path).unlink()
    assert resolve_one("GITHUB_TOKEN", stack="dev", environ=environ).source == "ci-secrets"
    del environ["ORCHESTRA_CI_SECRETS"]
    assert resolve_one("GITHUB_TOKEN", stack="dev", environ=environ).value == gh(6)
    result = resolve_one("GITHUB_TOKEN", environ=environ)  # without a stack: straight to the store
    assert (result.value, result.source, result.shadowed) == (gh(7), expected[-1], ())
    assert result.updated_at is not None


def test_aliases_in_priority_order_and_empty_means_missing(project):
    environ = {"GITHUB_TOKEN": "", "GH_TOKEN": "", "GITHUB_PAT": gh(1), "GH_FINE_GRAINED_TOKEN": gh(2)}
    result = resolve_one("GITHUB_TOKEN", environ=environ)
    assert (result.value, result.source) == (gh(1), "env:GITHUB_PAT")
    for alias, canonical in [("LAMBDALABS_API_KEY", "LAMBDA_API_KEY"), ("OPENAI_KEY", "OPENAI_API_KEY"),
                             ("VERCEL_API_TOKEN", "VERCEL_TOKEN")]:
        assert resolve_one(canonical, environ={alias: "v"}).source == f"env:{alias}"


def test_empty_strings_in_every_source_count_as_missing(project, fake_pulumi):
    fake_pulumi("dev", {"github_token": ""})
    (project.root / ".env").write_text("GITHUB_TOKEN=\n")
    environ = {"PATH": fake_pulumi.path, "GITHUB_TOKEN": "", "ORCHESTRA_CI_SECRETS": '{"GITHUB_TOKEN": ""}'}
    result = resolve_one("GITHUB_TOKEN", stack="dev", environ=environ)
    assert (result.value, result.source, result.shadowed) == (None, None, ())
    assert result.masked == "(missing)"


def test_dotenv_never_overrides_the_process_environment(project):
    (project.root / ".env").write_text(f"OPENAI_API_KEY={CANARIES['OPENAI_API_KEY']}\nOPENAI_KEY=other\n")
    result = resolve_one("OPENAI_API_KEY", environ={"OPENAI_KEY": "from-process"})
    assert (result.value, result.source) == ("from-process", "env:OPENAI_KEY")
    assert result.shadowed == ("dotenv:.env",)


def test_dotenv_values_are_literal_not_interpolated(project):
    (project.root / ".env").write_text("PORTKEY_API_KEY=abc${HOME}def\n")
    assert resolve_one("PORTKEY_API_KEY", environ={"HOME": "/x"}).value == "abc${HOME}def"


def test_ci_secrets_json_with_aliases(project):
    ci = json.dumps({"GH_TOKEN": gh(1), "OPENAI_API_KEY": "sk-x", "UNRELATED": "y", "NUMBER": 3})
    results = resolve_all("production", environ={"ORCHESTRA_CI_SECRETS": ci})
    assert (results["GITHUB_TOKEN"].value, results["GITHUB_TOKEN"].source) == (gh(1), "ci-secrets:GH_TOKEN")
    assert results["OPENAI_API_KEY"].source == "ci-secrets"


@pytest.mark.parametrize("raw", ['{"GITHUB_TOKEN": "' + GH + '"', f'["{GH}"]'])
def test_malformed_ci_json_is_a_note_that_never_echoes_it(project, raw):
    result = resolve_one("GITHUB_TOKEN", environ={"ORCHESTRA_CI_SECRETS": raw})
    assert result.value is None
    assert any("ORCHESTRA_CI_SECRETS" in note for note in result.notes)
    assert GH not in " ".join(result.notes) and "Canary" not in " ".join(result.notes)


def test_stack_config_is_read_once_per_resolution_in_the_project_root(project, fake_pulumi):
    fake_pulumi("dev", {"github_token": gh(1), "openai_api_key": "sk-proj-abc"})
    results = resolve_all("production", stack="dev", environ={"PATH": fake_pulumi.path})
    assert results["GITHUB_TOKEN"].source == "stack-config:dev"
    assert results["OPENAI_API_KEY"].value == "sk-proj-abc"
    calls = fake_pulumi.calls()
    assert len(calls) == 1
    assert calls[0]["cwd"] == str(project.root)
    assert calls[0]["argv"][:5] == ["config", "--show-secrets", "--json", "--stack", "dev"]


def test_stack_config_is_not_consulted_without_a_stack(project, fake_pulumi):
    resolve_all("production", environ={"PATH": fake_pulumi.path})
    assert fake_pulumi.calls() == []


def test_missing_stack_and_missing_cli_are_notes_and_the_chain_goes_on(project, fake_pulumi):
    project.seed({"GITHUB_TOKEN": gh(7)})
    result = resolve_one("GITHUB_TOKEN", stack="nope", environ={"PATH": fake_pulumi.path})
    assert result.source == "store:.secrets.production.json"
    assert "stack config: stack nope not found" in result.notes

    empty_bin = project.root / "empty-bin"
    empty_bin.mkdir()
    result = resolve_one("GITHUB_TOKEN", stack="dev", environ={"PATH": str(empty_bin)})
    assert result.source == "store:.secrets.production.json"
    assert "stack config: pulumi CLI not found" in result.notes


def test_locked_or_absent_store_is_a_note(project, monkeypatch):
    result = resolve_one("GITHUB_TOKEN", environ={})
    assert result.value is None and any("no file .secrets.production.json" in n for n in result.notes)

    project.seed({"GITHUB_TOKEN": gh(7)})
    monkeypatch.delenv("ORCHESTRA_MASTER_KEY")
    result = resolve_one("GITHUB_TOKEN", environ={"GH_TOKEN": gh(1)})
    assert result.source == "env:GH_TOKEN"
    assert "store locked: set ORCHESTRA_MASTER_KEY" in result.notes
    # An explicit master key opens it again.
    assert resolve_one("GITHUB_TOKEN", environ={}, master_key=MASTER_KEY).value == gh(7)


def test_store_per_environment(project):
    project.seed({"VERCEL_TOKEN": "A" * 24}, env="staging")
    assert resolve_all("staging", environ={})["VERCEL_TOKEN"].source == "store:.secrets.staging.json"
    assert resolve_all("production", environ={})["VERCEL_TOKEN"].value is None


def test_defaults_only_for_non_secret_settings(project):
    chain = build_chain("production", environ={})
    setting = KeySpec(name="ORCHESTRA_REGION", purpose="p", url="u", config_key="region",
                      secret=False, default="us-east-1")
    assert (resolve(setting, chain).value, resolve(setting, chain).source) == ("us-east-1", "default")
    overridden = resolve(setting, build_chain("production", environ={"ORCHESTRA_REGION": "eu"}))
    assert (overridden.value, overridden.shadowed) == ("eu", ("default",))
    secret = KeySpec(name="SOME_TOKEN", purpose="p", url="u", config_key="t", default="not-used")
    assert resolve(secret, chain).value is None


def test_reprs_show_where_never_what(project):
    project.seed({"GITHUB_TOKEN": GH})
    result = resolve_one("GITHUB_TOKEN", environ={"GH_TOKEN": GH})
    chain = build_chain("production", environ={"GH_TOKEN": GH})
    hits = [source.lookup(get_spec("GITHUB_TOKEN")) for source in chain]
    text = repr(result) + str(result) + repr(chain) + repr(hits) + repr([s.describe() for s in chain])
    assert GH not in text and "CanaryGithub" not in text
    assert "env:GH_TOKEN" in repr(result)
    assert "CanaryGithub" not in result.masked


def test_deploy_policy_env_dotenv_ci_store_then_stack_config_fills_gaps(project, fake_pulumi):
    project.seed({"GITHUB_TOKEN": gh(7)})
    (project.root / ".env").write_text(f"GITHUB_TOKEN={gh(4)}\n")
    environ = {"PATH": fake_pulumi.path, "GH_TOKEN": gh(1),
               "ORCHESTRA_CI_SECRETS": json.dumps({"GITHUB_TOKEN": gh(5)})}
    stack_config = {"GITHUB_TOKEN": gh(6), "VERCEL_TOKEN": "S" * 24}

    def deploy(name: str = "GITHUB_TOKEN"):
        return values_to_deploy("production", [name], stack_config=stack_config, environ=environ)[name]

    result = deploy()
    assert (result.value, result.source) == (gh(1), "env:GH_TOKEN")
    assert list(result.shadowed) == ["dotenv:.env", "ci-secrets", "store:.secrets.production.json",
                                     "stack-config"]
    del environ["GH_TOKEN"]
    assert deploy().value == gh(4)
    (project.root / ".env").unlink()
    assert deploy().source == "ci-secrets"
    del environ["ORCHESTRA_CI_SECRETS"]
    # The store wins over the stack's copy: a rotated key is never shadowed by the old one.
    assert (deploy().value, deploy().shadowed) == (gh(7), ("stack-config",))
    project.store().delete("GITHUB_TOKEN")
    assert (deploy().value, deploy().source) == (gh(6), "stack-config")
    # A key found nowhere else comes from the stack config; the pulumi CLI is never run.
    assert (deploy("VERCEL_TOKEN").value, deploy("VERCEL_TOKEN").source) == ("S" * 24, "stack-config")
    assert deploy("OPENAI_API_KEY").value is None
    assert fake_pulumi.calls() == []


def test_inspection_and_deploy_policies_disagree_only_on_stack_config(project, fake_pulumi):
    """The same sources, two documented orders: inspection puts the stack before the store."""
    project.seed({"OPENAI_API_KEY": "sk-proj-store"})
    fake_pulumi("dev", {"openai_api_key": "sk-proj-stack"})
    environ = {"PATH": fake_pulumi.path}
    inspected = resolve_one("OPENAI_API_KEY", stack="dev", environ=environ)
    assert (inspected.value, inspected.shadowed) == ("sk-proj-stack", ("store:.secrets.production.json",))
    deployed = values_to_deploy("production", ["OPENAI_KEY"], environ=environ,
                                stack_config={"OPENAI_API_KEY": "sk-proj-stack"})["OPENAI_API_KEY"]
    assert (deployed.value, deployed.shadowed) == ("sk-proj-store", ("stack-config",))
    assert [kind for kind in INSPECT.order if kind != "stack-config"] == \
           [kind for kind in DEPLOY.order if kind != "stack-config"]
    assert DEPLOY.order[-1] == "stack-config"
