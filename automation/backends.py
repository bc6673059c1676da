"""State backends and secrets providers as configuration: what a stack uses, what each needs, proof it works.

The backend URL comes from project.backend_url (env › Pulumi.yaml › the project's
file backend); the secrets provider is the stack file's `secretsprovider`, or the
one `--secrets-provider` names when a stack is created, or `passphrase`. URLs of
every kind the engine supports pass through unchanged; the kinds below get checks
before the engine runs (the variable or credential that is missing, by name) and
their engine errors become one line naming what to fix. Both failures are
BackendUnreachable (exit 32): nothing can be read or written until it is fixed.

Only the engine talks to the services: the proof is workspace.locate's `pulumi stack ls`
(login and a listing) and the stack's config read with its secrets (the provider decrypting).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from automation.errors import BackendUnreachable, ConfigInvalid
from automation.project import stack_file, stack_secrets_provider

PASSPHRASE = "passphrase"
_BACKEND_KINDS = {"file": "file", "s3": "s3", "postgres": "postgres", "postgresql": "postgres", "gs": "gcs",
                  "azblob": "azure-blob", "https": "pulumi-cloud", "http": "pulumi-cloud"}
_PROVIDER_KINDS = {"awskms": "aws-kms", "hashivault": "vault", "gcpkms": "gcp-kms", "azurekeyvault": "azure-keyvault",
                   "default": "pulumi-cloud", "passphrase": "passphrase"}
_AWS_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
_AWS_HINT = ("set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a web-identity role "
             "(AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE; GitHub OIDC sets these); on an EC2/ECS role set "
             "AWS_EC2_METADATA_DISABLED=false")
# The engine's AWS SDK warns on every S3 answer that lacks a checksum (moto, MinIO, older gateways).
QUIET_AWS = {"AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required"}


def display_url(url: str) -> str:
    """Scheme, host and path: credentials and the query string never reach output or reports."""
    from automation.report import redact_url

    return redact_url(url)


def backend_kind(url: str) -> str:
    return _BACKEND_KINDS.get(urlsplit(url).scheme, urlsplit(url).scheme or "unknown")


def provider_kind(provider: str) -> str:
    scheme = urlsplit(provider).scheme or provider.split(":", 1)[0]
    return _PROVIDER_KINDS.get(scheme, scheme or PASSPHRASE)


@dataclass(frozen=True)
class Backends:
    """What `check` and the report show: where the state lives and what encrypts the stack's secrets."""

    backend: str            # display form (display_url)
    backend_kind: str       # file | postgres | s3 | gcs | azure-blob | pulumi-cloud | <scheme>
    secrets_provider: str   # passphrase, or the provider URL's display form
    provider_kind: str      # passphrase | aws-kms | vault | gcp-kms | azure-keyvault | pulumi-cloud


def describe(backend_url: str, provider: str) -> Backends:
    shown = provider if provider == PASSPHRASE else display_url(provider)
    return Backends(display_url(backend_url), backend_kind(backend_url), shown, provider_kind(provider))


def _has_aws_credentials(environ: Mapping[str, str]) -> bool:
    if any(environ.get(name) for name in _AWS_CREDENTIALS) or environ.get("AWS_EC2_METADATA_DISABLED") == "false":
        return True
    home = Path(environ.get("HOME") or Path.home())
    files = [environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials",
             environ.get("AWS_CONFIG_FILE") or home / ".aws" / "config"]
    return any(Path(f).is_file() for f in files)


def missing_for_backend(url: str, environ: Mapping[str, str]) -> str | None:
    """What the backend needs from the environment and does not have, as the fix to make."""
    kind = backend_kind(url)
    if kind == "s3" and not _has_aws_credentials(environ):
        return f"state backend {display_url(url)} needs AWS credentials: {_AWS_HINT}"
    if kind == "pulumi-cloud" and not environ.get("PULUMI_ACCESS_TOKEN") and not _logged_in(url, environ):
        return f"state backend {display_url(url)} needs PULUMI_ACCESS_TOKEN (or `pulumi login {display_url(url)}`)"
    return None


def _logged_in(url: str, environ: Mapping[str, str]) -> bool:
    """A Pulumi Cloud login saved by `pulumi login` (~/.pulumi/credentials.json) counts as a credential."""
    home = Path(environ.get("PULUMI_HOME") or Path(environ.get("HOME") or Path.home()) / ".pulumi")
    try:
        return display_url(url).rstrip("/") in (home / "credentials.json").read_text()
    except OSError:
        return False


def missing_for_provider(provider: str, environ: Mapping[str, str]) -> str | None:
    """What the secrets provider needs from the environment and does not have."""
    kind = provider_kind(provider)
    if kind == "vault":
        if not (environ.get("VAULT_SERVER_URL") or environ.get("VAULT_ADDR")):
            return f"secrets provider {display_url(provider)} needs VAULT_SERVER_URL (or VAULT_ADDR): the Vault/OpenBao address"
        if not (environ.get("VAULT_SERVER_TOKEN") or environ.get("VAULT_TOKEN")):
            return f"secrets provider {display_url(provider)} needs VAULT_SERVER_TOKEN (or VAULT_TOKEN): a token allowed to use transit/{_key(provider)}"
    if kind == "aws-kms" and not _has_aws_credentials(environ):
        return f"secrets provider {display_url(provider)} needs AWS credentials: {_AWS_HINT}"
    return None


def effective_provider(root: Path, stack: str, requested: str | None) -> str:
    """The stack file's secretsprovider; `requested` (--secrets-provider) only for a stack that has none yet."""
    current = stack_secrets_provider(root, stack)
    if not requested or requested == current:
        return current
    if {"secretsprovider", "encryptionsalt"} & stack_file(root, stack).keys():
        raise ConfigInvalid(f"stack {stack} already encrypts its secrets with {display_url(current)}: to move it to "
                            f"{display_url(requested)} run `pulumi stack change-secrets-provider` (docs/team.md)")
    return requested


def require(url: str, provider: str, environ: Mapping[str, str]) -> None:
    """Fail before the engine runs when a credential or variable is plainly absent."""
    problem = missing_for_backend(url, environ) or missing_for_provider(provider, environ)
    if problem:
        raise BackendUnreachable(problem)


def _key(provider: str) -> str:
    parts = urlsplit(provider)
    return (parts.netloc + parts.path).strip("/") or provider


_BACKEND_ERRORS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("postgres", re.compile(r"password authentication failed|role \"[^\"]+\" does not exist", re.I),
     "PostgreSQL at {where} rejected the login: check the user and password in the URL (or PGUSER/PGPASSWORD)"),
    ("postgres", re.compile(r"database \"[^\"]+\" does not exist", re.I),
     "PostgreSQL at {where}: the database in the URL does not exist: create it or fix the URL (or PGDATABASE)"),
    ("postgres", re.compile(r"connection refused|no such host|i/o timeout|ping", re.I),
     "no PostgreSQL answers at {where}: check the host and port in the URL (or PGHOST/PGPORT) and that the server runs"),
    ("s3", re.compile(r"NoSuchBucket|bucket does not exist", re.I),
     "the bucket of {url} does not exist: create it, or fix PULUMI_BACKEND_URL"),
    ("s3", re.compile(r"InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|ExpiredToken|no valid credential|NoCredentialProviders", re.I),
     "S3 refused the credentials for {url}: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the role) and the bucket policy"),
    ("s3", re.compile(r"connection refused|no such host|i/o timeout|dial tcp", re.I),
     "S3 for {url} is unreachable: check AWS_ENDPOINT_URL (or the URL's endpoint=) and the network"),
)
_PROVIDER_ERRORS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("vault", re.compile(r"permission denied|missing client token|invalid token|Code: 40[13]", re.I),
     "Vault refused the token for {provider}: set VAULT_SERVER_TOKEN (or VAULT_TOKEN) to a token allowed to use transit/{key}"),
    ("vault", re.compile(r"encryption key not found|no existing key named|unsupported path|Code: 404|Code: 400", re.I),
     "Vault has no transit key {key} for {provider}: create it (`bao write -f transit/keys/{key}`) or fix the stack's secretsprovider"),
    ("vault", re.compile(r"connection refused|no such host|i/o timeout|dial tcp", re.I),
     "no Vault answers for {provider}: check VAULT_SERVER_URL (or VAULT_ADDR)"),
    ("aws-kms", re.compile(r"NotFoundException|is not found|does not exist", re.I),
     "KMS key {key} of {provider} does not exist in this account/region: fix the stack's secretsprovider or create the key"),
    ("aws-kms", re.compile(r"ciphertext refers to a customer master key", re.I),
     "KMS cannot open this stack's data key with {key} ({provider}): that key is not in this account/region, or the "
     "credentials (AWS_ACCESS_KEY_ID or the role) may not use it for kms:Decrypt"),
    ("aws-kms", re.compile(r"DisabledException|KMSInvalidStateException|pending deletion", re.I),
     "KMS key {key} of {provider} is disabled or pending deletion: enable it (or cancel its deletion) in KMS"),
    ("aws-kms", re.compile(r"InvalidCiphertextException|IncorrectKeyException", re.I),
     "KMS key {key} of {provider} cannot decrypt this stack's data key: it was encrypted with another key"),
    ("aws-kms", re.compile(r"AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken|no valid credential|security token", re.I),
     "KMS refused the credentials for {provider}: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the role's kms:Decrypt grant on {key})"),
    ("aws-kms", re.compile(r"connection refused|no such host|i/o timeout|dial tcp", re.I),
     "KMS for {provider} is unreachable: check AWS_ENDPOINT_URL (or the URL's endpoint=) and the network"),
    ("passphrase", re.compile(r"incorrect passphrase|passphrase must be set", re.I),
     "the passphrase does not open this stack's secrets: use the one it was created with (PULUMI_CONFIG_PASSPHRASE(_FILE) or the local store)"),
)


def explain_backend(text: str, url: str) -> str | None:
    """One line for an engine failure that is the backend's, or None when it is something else."""
    kind = backend_kind(url)
    parts = urlsplit(url)
    where = f"{parts.hostname or os.environ.get('PGHOST', 'localhost')}:{parts.port or os.environ.get('PGPORT', '5432')}"
    for owner, pattern, message in _BACKEND_ERRORS:
        if owner == kind and pattern.search(text):
            return message.format(url=display_url(url), where=where)
    return None


def explain_provider(text: str, provider: str) -> str | None:
    """One line for an engine failure that is the secrets provider's, or None."""
    kind = provider_kind(provider)
    for owner, pattern, message in _PROVIDER_ERRORS:
        if owner == kind and pattern.search(text):
            return message.format(provider=display_url(provider), key=_key(provider))
    return None


def explain(text: str, url: str, provider: str) -> str | None:
    return explain_provider(text, provider) or explain_backend(text, url)

