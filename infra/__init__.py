"""The Pulumi program of Orchestra: its settings, components and Lambda Cloud resources.

    infra.lambda_cloud      Lambda Cloud API client, errors, catalog (no pulumi)
    infra.lambda_dynamic    LambdaInstance, LambdaSshKey, LambdaFirewallRules and their providers
    infra.config            the stack's settings, read once and checked
    infra.components        LambdaBackend, GitHubCi, VercelFrontend, Platform
    infra.program           the program the engine runs (__main__.py calls run())

Names load on first use, so `import infra.lambda_cloud` (the key check, the driver) does not
import pulumi.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "load_settings": "infra.config", "StackSettings": "infra.config", "StackConfigError": "infra.config",
    "LambdaInstance": "infra.lambda_dynamic", "LambdaSshKey": "infra.lambda_dynamic",
    "LambdaFirewallRules": "infra.lambda_dynamic",
    "LambdaClient": "infra.lambda_cloud", "LambdaError": "infra.lambda_cloud",
    "Platform": "infra.components.platform", "LambdaBackend": "infra.components.lambda_backend",
    "run": "infra.program",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'infra' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
