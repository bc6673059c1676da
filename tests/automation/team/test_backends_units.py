"""automation.backends without services: kinds, what is shown, what is missing, engine errors to one line."""

from __future__ import annotations

import pytest

from automation import backends
from automation.backends import effective_provider
from automation.errors import BackendUnreachable, ConfigInvalid

PG = "postgres://orchestra:hunter2-password@db.internal:5433/state?sslmode=require&table=pulumi_state"


def test_backend_and_provider_are_shown_by_kind_without_credentials_or_query():
    shown = backends.describe(PG, "awskms://alias/orchestra?region=eu-west-1")
    assert shown == backends.Backends("postgres://db.internal:5433/state", "postgres", "awskms://alias/orchestra", "aws-kms")
    assert backends.describe("s3://bucket/prefix?region=x&endpoint=http://h", "hashivault://orchestra").provider_kind == "vault"
    assert backends.describe("file:///tmp/state", "passphrase") == backends.Backends("file:///tmp/state", "file", "passphrase", "passphrase")
    assert backends.describe("https://api.pulumi.com", "gcpkms://projects/p/keyRings/r/cryptoKeys/k").provider_kind == "gcp-kms"
    # Unknown kinds pass through unchanged, named by their scheme.
    assert backends.describe("azblob://container", "somekms://key").provider_kind == "somekms"


@pytest.mark.parametrize(("provider", "environ", "named"), [
    ("hashivault://k", {}, "VAULT_SERVER_URL"),
    ("hashivault://k", {"VAULT_ADDR": "http://v"}, "VAULT_SERVER_TOKEN"),
    ("awskms://alias/k", {"HOME": "/nonexistent"}, "AWS_ACCESS_KEY_ID"),
])
def test_missing_provider_variables_are_named(provider, environ, named):
    with pytest.raises(BackendUnreachable, match=named):
        backends.require("file:///tmp/x", provider, environ)


@pytest.mark.parametrize("environ", [
    {"VAULT_SERVER_URL": "http://v", "VAULT_SERVER_TOKEN": "t"},
    {"VAULT_ADDR": "http://v", "VAULT_TOKEN": "t"},
])
def test_vault_variables_in_either_spelling_suffice(environ):
    backends.require("file:///tmp/x", "hashivault://k", environ)


def test_aws_credentials_from_env_profile_role_or_files(tmp_path):
    for environ in ({"AWS_ACCESS_KEY_ID": "a"}, {"AWS_PROFILE": "p"}, {"AWS_WEB_IDENTITY_TOKEN_FILE": "/t"},
                    {"AWS_EC2_METADATA_DISABLED": "false"}):
        backends.require("s3://b", "awskms://alias/k", {"HOME": str(tmp_path), **environ})
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text("[default]\n")
    backends.require("s3://b", "awskms://alias/k", {"HOME": str(tmp_path)})
    with pytest.raises(BackendUnreachable, match="state backend s3://b needs AWS credentials"):
        backends.require("s3://b", "passphrase", {"HOME": str(tmp_path / "none")})


def test_pulumi_cloud_needs_a_token_or_a_login(tmp_path):
    with pytest.raises(BackendUnreachable, match="PULUMI_ACCESS_TOKEN"):
        backends.require("https://api.pulumi.com", "default", {"HOME": str(tmp_path)})
    backends.require("https://api.pulumi.com", "default", {"PULUMI_ACCESS_TOKEN": "pul-x"})


@pytest.mark.parametrize(("text", "expected"), [
    ("pq: password authentication failed for user \"orchestra\"", "rejected the login"),
    ("failed to ping PostgreSQL: dial tcp 10.0.0.1:5433: connect: connection refused", "PGHOST/PGPORT"),
    ("pq: database \"state\" does not exist", "database in the URL does not exist"),
])
def test_postgres_errors_name_the_fix_and_never_the_password(text, expected):
    line = backends.explain(text, PG, "passphrase")
    assert line and expected in line and "hunter2" not in line and "db.internal:5433" in line


def test_provider_errors_win_over_backend_errors_and_unknown_errors_stay_none():
    vault = "URL: PUT http://127.0.0.1:8200/v1/transit/decrypt/orchestra\nCode: 403. Errors:\n* permission denied"
    assert "VAULT_SERVER_TOKEN" in backends.explain(vault, PG, "hashivault://orchestra")
    kms = "api error NotFoundException: Alias arn:aws:kms:us-east-1:123:alias/nope is not found."
    assert "alias/nope" in backends.explain(kms, "s3://b", "awskms://alias/nope?region=us-east-1")
    assert backends.explain("error: something else entirely", PG, "awskms://alias/k") is None
    # A pattern belongs to its kind: a Vault message on a KMS stack is not explained as Vault's.
    assert backends.explain(vault, "file:///x", "awskms://alias/k") is None


def test_secrets_provider_flag_only_for_a_stack_without_one(tmp_path):
    (tmp_path / "Pulumi.fresh.yaml").write_text("config:\n  orchestra:backend_port: \"1\"\n")
    assert effective_provider(tmp_path, "fresh", "awskms://alias/k") == "awskms://alias/k"
    assert effective_provider(tmp_path, "fresh", None) == "passphrase"
    (tmp_path / "Pulumi.old.yaml").write_text("encryptionsalt: v1:abc\n")
    with pytest.raises(ConfigInvalid, match="change-secrets-provider"):
        effective_provider(tmp_path, "old", "hashivault://k")
    (tmp_path / "Pulumi.kms.yaml").write_text("secretsprovider: awskms://alias/k\nencryptedkey: abc\n")
    assert effective_provider(tmp_path, "kms", "awskms://alias/k") == "awskms://alias/k"
