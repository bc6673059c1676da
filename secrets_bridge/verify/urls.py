"""Base URLs of the APIs the checks call; each can be pointed elsewhere by an env var
(a proxy, an emulator, a loopback test server)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from infra.lambda_cloud.catalog import DEFAULT_API_URL as LAMBDA_DEFAULT_API_URL

# field name -> (env var, default)
_SETTINGS: dict[str, tuple[str, str]] = {
    "lambda_cloud": ("ORCHESTRA_LAMBDA_API_URL", LAMBDA_DEFAULT_API_URL),
    "github": ("ORCHESTRA_GITHUB_API_URL", "https://api.github.com"),
    "vercel": ("ORCHESTRA_VERCEL_API_URL", "https://api.vercel.com"),
    "openai": ("ORCHESTRA_OPENAI_API_URL", "https://api.openai.com"),
    "portkey": ("ORCHESTRA_PORTKEY_API_URL", "https://api.portkey.ai"),
}


def env_var(field_name: str) -> str:
    """The env var that overrides one base URL (named in recommendations)."""
    return _SETTINGS[field_name][0]


@dataclass(frozen=True)
class ApiUrls:
    lambda_cloud: str = _SETTINGS["lambda_cloud"][1]
    github: str = _SETTINGS["github"][1]
    vercel: str = _SETTINGS["vercel"][1]
    openai: str = _SETTINGS["openai"][1]
    portkey: str = _SETTINGS["portkey"][1]

    def __post_init__(self) -> None:
        # Paths are appended as "/api/v1/..." so a trailing slash would double up.
        for f in fields(self):
            object.__setattr__(self, f.name, getattr(self, f.name).rstrip("/"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiUrls:
        env = os.environ if environ is None else environ
        return cls(**{name: env.get(var) or default for name, (var, default) in _SETTINGS.items()})
