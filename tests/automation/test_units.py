"""Unit tests of the driver's stage logic: no engine, no network."""

from __future__ import annotations

import io
import os
import stat

import pytest
from pulumi.automation import EngineEvent

from automation import cli, deploy, inject, local_stack, pipeline, workspace
from automation.errors import (AutomationError, Declined, PreflightFailed, StackLocked, StackNotFound, UpFailed,
                               INTERRUPTED_EXIT_CODE)
from secrets_bridge.catalog import get_spec
from secrets_bridge.errors import MasterKeyMissing
from secrets_bridge.formats import check_format

CANARY = "secret_canary0001.CANARYvalueNEVERshownANYWHERE"


# --- inject: only changed keys are set --------------------------------------------------

def test_plan_sets_only_changed_keys():
    lam, oai, pk = get_spec("LAMBDA_API_KEY"), get_spec("OPENAI_API_KEY"), get_spec("PORTKEY_API_KEY")
    current = {"orchestra:lambda_api_key": CANARY, "orchestra:openai_api_key": "sk-old"}
    to_set, same = inject.plan(current, {lam: CANARY, oai: "sk-new", pk: "pk"})
    assert [s.name for s in to_set] == ["OPENAI_API_KEY", "PORTKEY_API_KEY"]
    assert [s.name for s in same] == ["LAMBDA_API_KEY"]


def test_plan_with_nothing_changed_sets_nothing():
    lam = get_spec("LAMBDA_API_KEY")
    assert inject.plan({"orchestra:lambda_api_key": CANARY}, {lam: CANARY}) == ([], [lam])


# --- exit codes: one place, one line -----------------------------------------------------

@pytest.mark.parametrize("exc", [PreflightFailed("keys missing: set X"), StackNotFound("no stack"),
                                 StackLocked("locked"), Declined("declined"), MasterKeyMissing("no master key")])
def test_errors_map_to_their_exit_code_and_one_line(monkeypatch, capsys, exc):
    def boom(opts):
        raise exc
    monkeypatch.setattr(pipeline, "check", boom)
    monkeypatch.setattr(cli, "project_root", lambda: os.getcwd())
    assert cli.main(["check", "production"]) == exc.exit_code
    err = capsys.readouterr().err
    # One line; a message with a runbook section ends with its link (tests/automation/ops/test_runbooks.py).
    assert err.startswith(f"error: {exc}") and err.endswith("\n") and err.count("\n") == 1


def test_ctrl_c_exits_130(monkeypatch, capsys):
    def interrupted(opts):
        raise KeyboardInterrupt
    monkeypatch.setattr(pipeline, "check", interrupted)
    monkeypatch.setattr(cli, "project_root", lambda: os.getcwd())
    assert cli.main(["check", "production"]) == INTERRUPTED_EXIT_CODE
    assert "interrupted" in capsys.readouterr().err


def test_usage_error_exits_2(capsys):
    assert cli.main(["up"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_bad_stack_name_is_config_invalid(capsys):
    assert cli.main(["check", "../etc"]) == 41


def test_every_automation_error_has_a_distinct_code():
    codes = [cls.exit_code for cls in AutomationError.__subclasses__()]
    assert len(codes) == len(set(codes)) and all(30 <= c <= 43 for c in codes)


def test_store_env_defaults(monkeypatch):
    monkeypatch.delenv("ORCHESTRA_ENV", raising=False)
    assert cli.store_env("local", None) == "local"
    assert cli.store_env("staging", None) == "production"
    monkeypatch.setenv("ORCHESTRA_ENV", "ci")
    assert cli.store_env("staging", None) == "ci"
    assert cli.store_env("staging", "mine") == "mine"


# --- engine events → one line per resource ------------------------------------------------

URN = "urn:pulumi:local::orchestra::orchestra:lambda:Backend$pulumi-python:dynamic:Resource::backend-instance"


def _step(op: str) -> dict:
    return {"op": op, "urn": URN, "type": "pulumi-python:dynamic:Resource", "provider": ""}


def _events(view, *payloads):
    for seq, payload in enumerate(payloads):
        view(EngineEvent.from_json({"sequence": seq, "timestamp": 0, **payload}))


def test_view_renders_one_line_per_resource():
    out = io.StringIO()
    view = deploy.EventView(out=out)
    _events(view, {"resourcePreEvent": {"metadata": _step("create")}},
            {"resOutputsEvent": {"metadata": _step("create")}},
            {"summaryEvent": {"maybeCorrupt": False, "durationSeconds": 1, "resourceChanges": {"create": 1, "same": 2}}})
    assert out.getvalue().splitlines() == [
        "  create   backend-instance               pulumi-python:dynamic:Resource                     done"]
    assert view.changes == {"create": 1, "same": 2}


def test_view_hides_unchanged_and_stack_resources():
    out = io.StringIO()
    view = deploy.EventView(out=out)
    stack = {"op": "create", "urn": "urn:pulumi:local::orchestra::pulumi:pulumi:Stack::orchestra-local",
             "type": "pulumi:pulumi:Stack", "provider": ""}
    _events(view, {"resOutputsEvent": {"metadata": _step("same")}}, {"resOutputsEvent": {"metadata": stack}})
    assert out.getvalue() == ""


def test_failure_is_one_readable_line_without_stack_trace():
    view = deploy.EventView(out=io.StringIO())
    message = ("<{%fg 1%}>error: <{%reset%}>Exception: instance-operations/launch/insufficient-capacity: "
               "no capacity in us-east-1; capacity in: us-west-1\n"
               "goroutine 1 [running]:\n\tmain.go:12 +0x1\nTraceback (most recent call last):\n  File \"x.py\", line 1\n")
    _events(view, {"diagnosticEvent": {"message": message, "color": "raw", "severity": "error", "urn": URN}},
            {"diagnosticEvent": {"message": "error: update failed", "color": "raw", "severity": "error",
                                 "urn": "urn:pulumi:local::orchestra::pulumi:pulumi:Stack::orchestra-local"}})
    assert view.failures["backend-instance"] == ("instance-operations/launch/insufficient-capacity: "
                                                 "no capacity in us-east-1; capacity in: us-west-1")
    assert view.failure_summary().startswith("backend-instance: instance-operations") and "\n" not in view.failure_summary()
    assert "update failed" not in view.failure_summary()


def test_change_line():
    assert deploy.change_line({"same": 3}) == "no changes"
    assert deploy.change_line({"create": 2, "same": 1}) == "2 to create, 1 unchanged"


def test_confirm_refuses_without_terminal_and_yes():
    with pytest.raises(Declined, match="pass --yes"):
        deploy.confirm({"create": 1}, "production", yes=False, stdin=io.StringIO(""))
    deploy.confirm({"create": 1}, "production", yes=True, stdin=io.StringIO(""))
    deploy.confirm({"same": 4}, "production", yes=False, stdin=io.StringIO(""))


# --- workspace: backend, components, passphrase ---------------------------------------------

def _project(tmp_path, project_yaml="name: orchestra\nruntime: python\n", stack_yaml=None):
    (tmp_path / "Pulumi.yaml").write_text(project_yaml)
    if stack_yaml is not None:
        (tmp_path / "Pulumi.dev.yaml").write_text(stack_yaml)
    return tmp_path


def test_backend_defaults_to_file_state_in_project(tmp_path):
    root = _project(tmp_path)
    assert workspace.backend_url(root, {}) == ((root / ".pulumi-state").as_uri(), True)


def test_backend_env_and_project_setting_win(tmp_path):
    root = _project(tmp_path, "name: orchestra\nruntime: python\nbackend:\n  url: s3://bucket\n")
    assert workspace.backend_url(root, {}) == ("s3://bucket", False)
    assert workspace.backend_url(root, {"PULUMI_BACKEND_URL": "gs://other"}) == ("gs://other", False)


def test_enabled_components_follow_stack_then_project_defaults(tmp_path):
    root = _project(tmp_path, "name: orchestra\nruntime: python\nconfig:\n  orchestra:enable_vercel:\n    default: false\n",
                    "config:\n  orchestra:enable_github: 'false'\n")
    assert workspace.enabled_components(root, "dev") == {"app", "lambda"}
    assert [s.name for s in workspace.required_specs(root, "dev")] == ["LAMBDA_API_KEY", "OPENAI_API_KEY", "PORTKEY_API_KEY"]


def test_stack_secrets_provider_is_respected(tmp_path):
    root = _project(tmp_path, stack_yaml="secretsprovider: awskms://alias/x\n")
    assert workspace.stack_secrets_provider(root, "dev") == "awskms://alias/x"
    with workspace.passphrase_env("awskms://alias/x", "dev", {}) as env:
        assert env == {}


def test_passphrase_from_ci_environment_wins():
    with workspace.passphrase_env("passphrase", "dev", {"PULUMI_CONFIG_PASSPHRASE": "ci"}) as env:
        assert env == {}


def test_passphrase_generated_once_into_store_and_handed_over_as_0600_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("ORCHESTRA_MASTER_KEY", "unit-test-master-key-0123456789abcdef")
    with workspace.passphrase_env("passphrase", "dev", {}) as env:
        path = env["PULUMI_CONFIG_PASSPHRASE_FILE"]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        first = open(path).read()
    assert not os.path.exists(path)
    with workspace.passphrase_env("passphrase", "dev", {}) as env:
        assert open(env["PULUMI_CONFIG_PASSPHRASE_FILE"]).read() == first


def test_engine_error_line_keeps_the_error_not_the_dump():
    text = "code: 255\n stdout: Updating\n stderr: warning: x\nerror: no stack named 'dev' found\n"
    assert workspace.engine_error_line(text) == "no stack named 'dev' found"


# --- local stack ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["LAMBDA_API_KEY", "OPENAI_API_KEY", "PORTKEY_API_KEY", "GITHUB_TOKEN", "VERCEL_TOKEN"])
def test_sandbox_keys_pass_their_format_rule_and_are_random(name):
    a, b = local_stack.sandbox_key(name), local_stack.sandbox_key(name)
    assert a != b and check_format(name, a).status == "ok"


def test_local_master_key_is_random_0600_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("ORCHESTRA_MASTER_KEY", raising=False)
    monkeypatch.delenv("ORCHESTRA_MASTER_KEY_FILE", raising=False)
    path = local_stack.ensure_master_key(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    monkeypatch.delenv("ORCHESTRA_MASTER_KEY_FILE")
    assert local_stack.ensure_master_key(tmp_path) == path and path.read_text() == first
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.delenv("ORCHESTRA_MASTER_KEY_FILE")
    assert local_stack.ensure_master_key(other).read_text() != first


def test_callers_master_key_is_used_as_is(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_MASTER_KEY", "given")
    assert local_stack.ensure_master_key(tmp_path) is None
    assert not (tmp_path / ".orchestra").exists()


def test_local_stack_file_is_made_from_the_template_once_and_then_left_alone(tmp_path):
    from automation.local_stack import STACK_TEMPLATE, ensure_stack_file

    path = ensure_stack_file(tmp_path)
    assert path == tmp_path / "Pulumi.local.yaml"
    assert path.read_bytes() == STACK_TEMPLATE.read_bytes()
    # This checkout's salt and ciphertext, or ports changed by hand, survive every later run.
    path.write_text("config:\n  orchestra:backend_port: \"28788\"\nencryptionsalt: v1:abc\n")
    before = path.read_bytes()
    ensure_stack_file(tmp_path)
    assert path.read_bytes() == before


def test_a_missing_provider_plugin_says_how_to_get_it_or_turn_the_component_off():
    from types import SimpleNamespace

    from pulumi.automation.errors import CommandError
    from pulumi.automation._cmd import CommandResult

    view = deploy.EventView(out=io.StringIO())
    message = ("error: no resource plugin 'pulumi-resource-vercel' found in the workspace at version v5.21.1 "
               "or on your $PATH")
    _events(view, {"diagnosticEvent": {"message": message, "color": "raw", "severity": "error", "urn": URN}})
    err = deploy._translate(CommandError(CommandResult(stdout="", stderr="", code=255)),
                            SimpleNamespace(name="production", backend="file:///x"), view, UpFailed, "up")
    assert isinstance(err, UpFailed) and err.exit_code == 37
    assert "pulumi-resource-vercel" in str(err) and "orchestra:enable_<component> false" in str(err)
