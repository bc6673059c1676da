"""A backend or secrets provider that cannot be used: exit 32 and one line naming what to fix, before any write.

Stacks are made with plain `pulumi` in the checkout (values on stdin), then the driver's
`check` and `up` meet a wrong Vault token, a KMS key that does not exist or lives
in another region, a missing variable, a wrong database password, a database that is not there.
"""

from __future__ import annotations

import pytest

from tests.support.checkout import Checkout, sandbox_stack_yaml
from tests.support.loopback import free_port, refused_url

pytestmark = pytest.mark.e2e
SECRET = "CANARYcredentialsNEVERshown0123456789"


def one_line_error(proc, *names: str) -> str:
    assert proc.returncode == 32, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for name in names:
        assert name in errors[0], errors[0]
    assert SECRET not in proc.stdout + proc.stderr
    return errors[0]


def make_stack(co: Checkout, stack: str, provider: str) -> None:
    for argv, stdin in ((["stack", "init", stack, "--secrets-provider", provider], None),
                        (["config", "set", "--secret", "orchestra:portkey_api_key", "--stack", stack], SECRET)):
        proc = co.command("pulumi", "--non-interactive", *argv) if stdin is None else _stdin(co, argv, stdin)
        assert proc.returncode == 0, proc.stderr


def _stdin(co: Checkout, argv: list[str], value: str):
    import subprocess

    return subprocess.run(["pulumi", "--non-interactive", *argv], cwd=co.root, env=co.env, input=value,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def checkout(tmp_path, engine, postgres):
    database = postgres.create_database(f"creds{tmp_path.name[-6:].replace('-', '')}")
    return Checkout(tmp_path / "co", engine.bin_dir, {"PULUMI_BACKEND_URL": postgres.url(database)})


def test_wrong_vault_token_is_named_by_check_and_by_up(checkout, openbao):
    provider = openbao.create_key("creds-token")
    checkout.env.update(openbao.env())
    make_stack(checkout, "team", provider)
    before = checkout.stack_file("team").read_bytes()
    wrong = {"VAULT_SERVER_TOKEN": "not-the-token"}
    line = one_line_error(checkout.run("check", "team", "--skip-verify", extra_env=wrong), "VAULT_SERVER_TOKEN", "hashivault://creds-token")
    assert "Vault refused the token" in line
    one_line_error(checkout.run("up", "team", "--yes", "--skip-verify", extra_env=wrong), "VAULT_SERVER_TOKEN")
    assert checkout.stack_file("team").read_bytes() == before
    assert checkout.run("check", "team", "--skip-verify").returncode != 32, "the right token must work"


def test_missing_vault_address_is_named_before_the_engine_runs(checkout, openbao):
    provider = openbao.create_key("creds-addr")
    checkout.env.update(openbao.env())
    make_stack(checkout, "team", provider)
    calls = checkout.argv_log.read_text()
    one_line_error(checkout.run("check", "team", "--skip-verify", drop=("VAULT_SERVER_URL",)), "VAULT_SERVER_URL")
    one_line_error(checkout.run("up", "team", "--yes", "--skip-verify", drop=("VAULT_SERVER_TOKEN",)), "VAULT_SERVER_TOKEN")
    engine_calls = [c for c in checkout.argv_log.read_text().removeprefix(calls).splitlines() if c != "version"]
    assert engine_calls == [], "the engine ran although a variable was missing"


def test_kms_key_that_does_not_exist_or_lives_in_another_region(checkout, moto, canaries):
    checkout.env.update(moto.env())
    before = sandbox_stack_yaml(free_port(), free_port())
    checkout.stack_file("fresh").write_text(before)
    checkout.store("production").set_many(canaries)   # preflight passes: the KMS key is what fails
    line = one_line_error(checkout.run("up", "fresh", "--create", "--yes", "--skip-verify", "--secrets-provider",
                                       "awskms://alias/no-such-key?region=us-east-1"), "alias/no-such-key")
    assert "does not exist" in line
    assert checkout.stack_file("fresh").read_text() == before, "the failed create left its mark on the stack file"
    listed = checkout.command("pulumi", "--non-interactive", "stack", "ls", "--json")
    assert listed.returncode == 0 and '"fresh"' not in listed.stdout, "the failed create left a stack behind"
    # The same alias in another region is another key (KMS keys are regional): it cannot open this stack.
    make_stack(checkout, "team", moto.create_key("creds-region"))
    stack_file = checkout.stack_file("team")
    stack_file.write_text(stack_file.read_text().replace("region=us-east-1", "region=eu-west-1"))
    one_line_error(checkout.run("check", "team", "--skip-verify"), "KMS", "alias/creds-region")


def test_missing_aws_credentials_and_an_unreachable_endpoint_are_named(checkout, moto):
    checkout.env.update(moto.env())
    make_stack(checkout, "team", moto.create_key("creds-aws"))
    one_line_error(checkout.run("check", "team", "--skip-verify", drop=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")),
                   "AWS_ACCESS_KEY_ID", "awskms://alias/creds-aws")
    one_line_error(checkout.run("check", "team", "--skip-verify", extra_env={"AWS_ENDPOINT_URL": refused_url()}),
                   "AWS_ENDPOINT_URL", "unreachable")


def test_postgres_wrong_password_missing_database_and_no_server(checkout, postgres):
    url = checkout.env["PULUMI_BACKEND_URL"]
    wrong = url.replace(f":{postgres.password}@", ":wrong-password@")
    line = one_line_error(checkout.run("check", "team", "--skip-verify", extra_env={"PULUMI_BACKEND_URL": wrong}), "PGPASSWORD")
    assert "wrong-password" not in line and postgres.password not in line
    missing = url.replace(url.split("/")[3].split("?")[0], "nosuchdb")
    one_line_error(checkout.run("check", "team", "--skip-verify", extra_env={"PULUMI_BACKEND_URL": missing}), "does not exist")
    closed = url.replace(f":{postgres.port}/", ":1/")
    one_line_error(checkout.run("check", "team", "--skip-verify", extra_env={"PULUMI_BACKEND_URL": closed}), "PGHOST/PGPORT")


def test_s3_bucket_that_does_not_exist(tmp_path, engine, moto):
    co = Checkout(tmp_path / "s3", engine.bin_dir, {**moto.env(), "PULUMI_BACKEND_URL": moto.bucket_url("no-such-bucket")})
    one_line_error(co.run("check", "team", "--skip-verify"), "bucket", "does not exist")
