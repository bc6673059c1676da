"""The Automation API driver: from keys to a deployed, health-checked stack.

    from automation import Options, preview, up, project_root
    result = up(Options(root=project_root(), stack="production", env="production", yes=True))

The command line (`python -m automation COMMAND STACK`) is automation/cli.py; every
command there is one of the functions below (`health` and `report` are also module
names, so they stay automation.pipeline.health/report). Errors: automation.errors (one tree,
each its own exit code). The names are loaded on first use, so `python -m
automation.engine` (scripts/setup.sh) needs neither the Pulumi SDK nor httpx.
"""

from __future__ import annotations

import importlib
from typing import Any

from automation.errors import (
    AutomationError,
    BackendUnreachable,
    ConfigInvalid,
    Declined,
    DestroyFailed,
    EngineMissing,
    InjectFailed,
    PreflightFailed,
    PreviewFailed,
    RefreshFailed,
    SandboxFailed,
    StackLocked,
    StackNotFound,
    Unhealthy,
    UpFailed,
    UsageError,
)

_LAZY = {
    "Options": "automation.pipeline", "check": "automation.pipeline", "inject_only": "automation.pipeline",
    "preview": "automation.pipeline", "up": "automation.pipeline", "refresh": "automation.pipeline",
    "destroy": "automation.pipeline", "outputs": "automation.pipeline",
    "check_health": "automation.health", "HealthReport": "automation.health",
    "Engine": "automation.engine", "ensure_engine": "automation.engine", "find_engine": "automation.engine",
    "project_root": "automation.project", "parse_stack_name": "automation.project",
}

__all__ = [
    "AutomationError", "BackendUnreachable", "ConfigInvalid", "Declined", "DestroyFailed", "EngineMissing",
    "InjectFailed", "PreflightFailed", "PreviewFailed", "RefreshFailed", "SandboxFailed", "StackLocked",
    "StackNotFound", "Unhealthy", "UpFailed", "UsageError", *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'automation' has no attribute {name!r}")
