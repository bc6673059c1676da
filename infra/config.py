"""The stack's settings: read once from `orchestra:*` config, checked, typed.

`load_settings()` reads every key the program uses, collects every problem
(wrong type, unknown region, a key an enabled component needs but the stack
lacks, a secret stored in plaintext) and raises one `StackConfigError` that
names each key and the command that fixes it, before any resource exists.

Values arrive from the engine as strings (`"8000"`, `"true"`, `'["a","b"]'`)
with Pulumi.yaml's defaults already merged in; `DEFAULTS` repeats those
defaults (a test keeps the two equal) so the program also runs under unit-test
mocks, where the engine merges nothing.

Secret keys are declared in Pulumi.yaml with `secret: true` and an empty
default: without a default the engine would demand all five on every stack,
GitHub and Vercel tokens included on a sandbox that deploys neither. The
program requires a secret only when a component that uses it is enabled, and
refuses one stored in plaintext.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.lambda_cloud.catalog import DEFAULT_API_URL, INSTANCE_TYPES, REGION_CODES
from infra.needed_keys import needed_keys
from infra.services_config import GitHubSettings, VercelSettings, read_github, read_vercel
from secrets_bridge.catalog import CATALOG, KeySpec, get_spec

NAMESPACE = "orchestra"
LAMBDA_API_URL_ENV = "ORCHESTRA_LAMBDA_API_URL"

# The catalog lives with the Lambda client; an instance type newer than its list needs
# orchestra:lambda_allow_unknown_instance_type (the provider still checks it with /instance-types).
LAMBDA_REGIONS = REGION_CODES
LAMBDA_INSTANCE_TYPES = INSTANCE_TYPES
VERCEL_TARGETS = ("production", "preview")

# Defaults of the non-secret keys, as Pulumi.yaml declares them.
DEFAULTS: dict[str, Any] = {
    "enable_lambda": True,
    "enable_github": True,
    "enable_vercel": True,
    "lambda_api_url": DEFAULT_API_URL,
    "lambda_region": "us-east-1",
    "lambda_fallback_regions": [],
    "lambda_instance_type": "gpu_1x_a10",
    "lambda_allow_unknown_instance_type": False,
    "lambda_instance_name": "",
    "lambda_ssh_key_name": "",
    "lambda_ssh_public_key": "",
    "lambda_file_system_names": [],
    "lambda_active_timeout_seconds": 900,
    "lambda_poll_interval_seconds": 10,
    "lambda_keep_on_timeout": False,
    "backend_port": 8000,
    "backend_image": "",
    "backend_url_override": "",
    "frontend_url": "",
    "github_owner": "",
    "github_repository": "",
    "github_base_url": "",
    "github_environment": "",
    "github_manage_environment": False,
    "github_environment_wait_timer": 0,
    "github_environment_reviewer_users": [],
    "github_environment_reviewer_teams": [],
    "github_environment_prevent_self_review": False,
    "github_environment_can_admins_bypass": True,
    "github_environment_protected_branches": False,
    "github_ci_secret_names": [spec.name for spec in CATALOG],
    "vercel_project_name": "orchestra",
    "vercel_framework": "nextjs",
    "vercel_root_directory": "",
    "vercel_git_repository": "",
    "vercel_team_id": "",
    "vercel_domain": "",
    "vercel_env_secret_names": ["OPENAI_API_KEY", "PORTKEY_API_KEY"],
    "vercel_production_branch": "main",
    "vercel_build_command": "",
    "vercel_install_command": "",
    "vercel_output_directory": "",
    "vercel_node_version": "22.x",
    "vercel_backend_rewrite": "/api",
}
SECRET_KEYS = tuple(spec.config_key for spec in CATALOG if spec.secret)


class StackConfigError(pulumi.RunError):
    """Raised by `load_settings` when the stack's config is unusable; one line per problem.

    A RunError, so the language host prints the message without a traceback.
    """


@dataclass(frozen=True)
class LambdaSettings:
    api_url: str
    region: str
    fallback_regions: tuple[str, ...]
    instance_type: str
    instance_name: str
    ssh_key_name: str
    ssh_public_key: str | None      # None: Lambda Cloud generates the pair
    file_system_names: tuple[str, ...]
    active_timeout_seconds: int
    poll_interval_seconds: int
    keep_on_timeout: bool
    backend_port: int
    backend_image: str


@dataclass(frozen=True)
class StackSettings:
    stack: str
    lambda_: LambdaSettings | None  # None: the component is disabled
    github: GitHubSettings | None
    vercel: VercelSettings | None
    backend_url_override: str | None
    frontend_url: str | None        # for stacks without Vercel
    secrets: Mapping[str, pulumi.Output[str]]  # catalog name -> secret value, only those needed


def ci_secret_name(name: str) -> str:
    """The Actions secret name for a catalog key: GitHub reserves the GITHUB_ prefix,
    so GITHUB_TOKEN goes out under its first other alias (GH_TOKEN), which the
    resolver reads back in CI."""
    spec = get_spec(name)
    return next(n for n in spec.env_names if not n.startswith("GITHUB_"))


def _set_cmd(key: str, example: str) -> str:
    return f"pulumi config set {NAMESPACE}:{key} {example}"


class _Reader:
    """Parses raw config strings, recording problems instead of raising at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    @staticmethod
    def _raw(key: str) -> Any:
        return pulumi.runtime.get_config(f"{NAMESPACE}:{key}")

    @staticmethod
    def set_cmd(key: str, example: str) -> str:
        return _set_cmd(key, example)

    def fail(self, key: str, problem: str, fix: str) -> None:
        self.problems.append(f"{NAMESPACE}:{key}: {problem}. Fix: {fix}")

    def _value(self, key: str) -> Any:
        value = self._raw(key)
        return DEFAULTS[key] if value is None else value

    def string(self, key: str) -> str:
        return str(self._value(key)).strip()

    def optional(self, key: str) -> str | None:
        return self.string(key) or None

    def boolean(self, key: str) -> bool:
        value = self._value(key)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "false"):
            return text == "true"
        self.fail(key, f"{value!r} is not a boolean", _set_cmd(key, "true  (or false)"))
        return bool(DEFAULTS[key])

    def integer(self, key: str, low: int, high: int) -> int:
        value = self._value(key)
        try:
            number = int(str(value).strip())
        except ValueError:
            self.fail(key, f"{value!r} is not an integer", _set_cmd(key, str(DEFAULTS[key])))
            return int(DEFAULTS[key])
        if not low <= number <= high:
            self.fail(key, f"{number} is outside {low}..{high}", _set_cmd(key, str(DEFAULTS[key])))
        return number

    def _list(self, key: str, fits: Callable[[Any], bool], kind: str, example: str) -> list[Any] | None:
        """A list-valued key (YAML list or a JSON string of one) whose items all fit, else one problem and None."""
        value = self._value(key)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                value = None
        if not isinstance(value, list) or not all(fits(v) for v in value):
            self.fail(key, f"{self._value(key)!r} is not a list of {kind}",
                      f"pulumi config set --path '{NAMESPACE}:{key}[0]' {example}")
            return None
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._list(key, lambda v: isinstance(v, str), "strings", "VALUE")
        return tuple(v.strip() for v in value or ())

    def integers(self, key: str) -> tuple[int, ...]:
        value = self._list(key, lambda v: isinstance(v, int) and not isinstance(v, bool), "integers", "1234567")
        return tuple(value or ())

    def url(self, key: str) -> str | None:
        value = self.optional(key)
        if value and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            self.fail(key, f"{value!r} is not an http(s) URL", _set_cmd(key, "https://HOST"))
        return value

    def secret(self, spec: KeySpec, needed_by: str) -> pulumi.Output[str] | None:
        key = spec.config_key
        value = self._raw(key)
        if not value:
            self.fail(key, f"{spec.name} is required because {needed_by}",
                      f"python -m automation up STACK injects it from the key store, or "
                      f"pulumi config set --secret {NAMESPACE}:{key}  (the CLI prompts; never pass the value as an argument)")
            return None
        if not pulumi.runtime.is_config_secret(f"{NAMESPACE}:{key}"):
            # Say where, never what: the value itself stays out of the message.
            self.fail(key, "stored in plaintext in the stack file",
                      f"pulumi config rm {NAMESPACE}:{key}, then pulumi config set --secret {NAMESPACE}:{key}")
            return None
        return pulumi.Output.secret(str(value))

    def catalog_names(self, key: str) -> tuple[str, ...]:
        names = []
        for name in self.strings(key):
            try:
                names.append(get_spec(name).name)
            except KeyError:
                known = ", ".join(spec.name for spec in CATALOG)
                self.fail(key, f"{name!r} is not a catalog key; known: {known}",
                          f"pulumi config set --path '{NAMESPACE}:{key}[0]' OPENAI_API_KEY")
        return tuple(dict.fromkeys(names))


def _read_lambda(r: _Reader, stack: str, environ: Mapping[str, str]) -> LambdaSettings:
    region = r.string("lambda_region")
    if region not in LAMBDA_REGIONS:
        r.fail("lambda_region", f"{region!r} is not a Lambda Cloud region; known: {', '.join(LAMBDA_REGIONS)}",
               _set_cmd("lambda_region", "us-east-1"))
    fallback = r.strings("lambda_fallback_regions")
    for unknown in (f for f in fallback if f not in LAMBDA_REGIONS):
        r.fail("lambda_fallback_regions", f"{unknown!r} is not a Lambda Cloud region; known: {', '.join(LAMBDA_REGIONS)}",
               "pulumi config set --path 'orchestra:lambda_fallback_regions[0]' us-west-1")
    instance_type = r.string("lambda_instance_type")
    if instance_type not in LAMBDA_INSTANCE_TYPES and not r.boolean("lambda_allow_unknown_instance_type"):
        r.fail("lambda_instance_type",
               f"{instance_type!r} is not a known Lambda Cloud instance type; known: {', '.join(LAMBDA_INSTANCE_TYPES)}",
               f"{_set_cmd('lambda_instance_type', 'gpu_1x_a10')}, or for a type newer than this list "
               f"{_set_cmd('lambda_allow_unknown_instance_type', 'true')}")
    image = r.string("backend_image")
    if not image or re.search(r"\s", image):
        r.fail("backend_image", f"{image!r} is not a container image reference (the backend the instance runs)",
               _set_cmd("backend_image", "ghcr.io/OWNER/orchestra-backend:TAG"))
    port = r.integer("backend_port", 1, 65535)
    if port == 22:
        r.fail("backend_port", "22 is the instance's SSH port", _set_cmd("backend_port", "8000"))
    override = environ.get(LAMBDA_API_URL_ENV, "").strip()
    api_url = override or r.url("lambda_api_url") or str(DEFAULTS["lambda_api_url"])
    return LambdaSettings(
        api_url=api_url.rstrip("/"),
        region=region,
        fallback_regions=tuple(f for f in fallback if f != region),
        instance_type=instance_type,
        instance_name=r.string("lambda_instance_name") or f"orchestra-{stack}",
        ssh_key_name=r.string("lambda_ssh_key_name") or f"orchestra-{stack}",
        ssh_public_key=r.optional("lambda_ssh_public_key"),
        file_system_names=r.strings("lambda_file_system_names"),
        active_timeout_seconds=r.integer("lambda_active_timeout_seconds", 30, 7200),
        poll_interval_seconds=r.integer("lambda_poll_interval_seconds", 1, 300),
        keep_on_timeout=r.boolean("lambda_keep_on_timeout"),
        backend_port=port,
        backend_image=image,
    )


def load_settings(environ: Mapping[str, str] | None = None) -> StackSettings:
    """The current stack's settings; StackConfigError lists every problem at once."""
    environ = os.environ if environ is None else environ
    r = _Reader()
    stack = pulumi.get_stack()

    lambda_ = _read_lambda(r, stack, environ) if r.boolean("enable_lambda") else None
    github = read_github(r) if r.boolean("enable_github") else None
    vercel = read_vercel(r) if r.boolean("enable_vercel") else None
    secrets = {}
    for name, why in needed_keys(lambda_=lambda_ is not None, github_names=github.secret_names if github else None,
                                 vercel_names=vercel.secret_names if vercel else None).items():
        value = r.secret(get_spec(name), why)
        if value is not None:
            secrets[name] = value
    settings = StackSettings(
        stack=stack,
        lambda_=lambda_,
        github=github,
        vercel=vercel,
        backend_url_override=r.url("backend_url_override"),
        frontend_url=r.url("frontend_url"),
        secrets=secrets,
    )
    if r.problems:
        raise StackConfigError(f"stack {stack!r} has {len(r.problems)} config problem(s):\n  " + "\n  ".join(r.problems))
    return settings
