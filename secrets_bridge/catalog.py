"""The catalog of keys the platform needs: one `KeySpec` per key.

Everything that knows about a key (aliases, where a person gets it, its format
rule, its Pulumi config name, how it is verified live) reads it from here, so a
new key is one entry in `CATALOG`.

Any other valid environment-variable name is a key too (`spec_for`): a project
declares its own in secrets-bridge.toml (secrets_bridge.project), with a purpose
and an optional format regex; undeclared names are plain custom keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from infra.lambda_cloud.catalog import API_KEYS_CONSOLE_URL as LAMBDA_API_KEYS_URL
from secrets_bridge.masking import looks_like_key

Kind = Literal["catalog", "declared", "custom", "pulumi"]
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class KeySpec:
    name: str                     # canonical environment-variable name
    purpose: str
    url: str                      # where a person creates the key
    config_key: str               # the Pulumi stack config name (project namespace)
    aliases: tuple[str, ...] = ()  # other env names accepted, in priority order
    secret: bool = True           # False: a non-secret setting, defaults allowed
    default: str | None = None    # only for non-secret settings
    verify: str = ""              # the live check, as a person would describe it
    components: tuple[str, ...] = field(default=())  # infra components that need it
    kind: Kind = "catalog"
    pattern: str | None = None    # declared keys: the regex a value must fully match

    @property
    def env_names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


CATALOG: tuple[KeySpec, ...] = (
    KeySpec(
        name="LAMBDA_API_KEY",
        purpose="Lambda Cloud: the GPU instance that runs the backend",
        url=LAMBDA_API_KEYS_URL,
        config_key="lambda_api_key",
        aliases=("LAMBDA_LABS_API_KEY", "LAMBDALABS_API_KEY"),
        verify="GET /api/v1/instance-types with Bearer auth",
        components=("lambda",),
    ),
    KeySpec(
        name="GITHUB_TOKEN",
        purpose="GitHub: repository access, Actions secrets for CI",
        url="https://github.com/settings/tokens",
        config_key="github_token",
        aliases=("GH_TOKEN", "GITHUB_PAT", "GH_FINE_GRAINED_TOKEN"),
        verify="GET /user; scopes from X-OAuth-Scopes",
        components=("github",),
    ),
    KeySpec(
        name="VERCEL_TOKEN",
        purpose="Vercel: the frontend project and its env vars",
        url="https://vercel.com/account/tokens",
        config_key="vercel_token",
        aliases=("VERCEL_API_TOKEN",),
        verify="GET /v2/user with Bearer auth",
        components=("vercel",),
    ),
    KeySpec(
        name="OPENAI_API_KEY",
        purpose="OpenAI: the application's AI calls",
        url="https://platform.openai.com/api-keys",
        config_key="openai_api_key",
        aliases=("OPENAI_KEY",),
        verify="GET /v1/models with Bearer auth",
        components=("app",),
    ),
    KeySpec(
        name="PORTKEY_API_KEY",
        purpose="Portkey: AI routing and monitoring",
        url="https://app.portkey.ai/api-keys",
        config_key="portkey_api_key",
        verify="an authenticated read with the x-portkey-api-key header",
        components=("app",),
    ),
)

_BY_NAME = {spec.name: spec for spec in CATALOG}

# Not an API key: the passphrase of Pulumi's default secrets provider, which the
# driver generates once and keeps in the store under this name (see automation/workspace.py).
PULUMI_PASSPHRASE_NAME = "PULUMI_CONFIG_PASSPHRASE"
PASSPHRASE_SPEC = KeySpec(name=PULUMI_PASSPHRASE_NAME, purpose="the Pulumi stack passphrase the driver keeps",
                          url="", config_key="", kind="pulumi")


def get_spec(name: str) -> KeySpec:
    """The catalog spec for a canonical name or any alias; KeyError names the known keys
    (never the name given: a value pasted where a name goes must not be echoed)."""
    upper = name.upper()
    for spec in CATALOG:
        if upper in spec.env_names:
            return spec
    raise KeyError(f"not a catalog key; known keys: {', '.join(_BY_NAME)}")


def is_env_name(name: object) -> bool:
    return isinstance(name, str) and ENV_NAME.fullmatch(name) is not None


def name_problem(name: object) -> str | None:
    """Why `name` cannot be a key name, said without the name (it may be a pasted value)."""
    if not is_env_name(name):
        return ("a key name is a valid environment-variable name: letters, digits and '_', "
                "not starting with a digit (the name given is not shown: it may be a value)")
    if looks_like_key(str(name)):
        return "the name given looks like a key value, not a name (not shown); give the name, e.g. GITHUB_TOKEN"
    return None


def spec_for(name: str, declared: Iterable[KeySpec] = ()) -> KeySpec:
    """The spec of any key: a catalog key (case-insensitive, aliases too), a declared one, the
    Pulumi passphrase, or a custom key. ValueError (without the name) if it is no env-var name."""
    try:
        return get_spec(name)
    except KeyError:
        pass
    problem = name_problem(name)
    if problem:
        raise ValueError(problem)
    for spec in declared:
        if spec.name == name:
            return spec
    if name == PULUMI_PASSPHRASE_NAME:
        return PASSPHRASE_SPEC
    return custom_spec(name)


def custom_spec(name: str, purpose: str = "", pattern: str | None = None, url: str = "",
                kind: Kind = "custom") -> KeySpec:
    """A key outside the catalog: `declared` by the project (purpose, optional format) or plain `custom`."""
    return KeySpec(name=name, purpose=purpose, url=url, config_key=name.lower(), kind=kind, pattern=pattern)
