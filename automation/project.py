"""The project as files describe it: Pulumi.yaml, the stack files, enabled components, the
state backend URL and the stack-name rules. Nothing here runs the engine or writes a file.

The YAML files are only read, never rewritten: they are hand-written and reviewed
(the Automation API's project/stack settings would rewrite them).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from automation.errors import BackendUnreachable, ConfigInvalid, UsageError
from infra.needed_keys import needed_keys
from secrets_bridge.catalog import CATALOG, KeySpec, get_spec

STATE_DIR = ".pulumi-state"
NAMESPACE = "orchestra"
# Components a stack enables unless its config says otherwise (infra/config.py defaults).
_COMPONENT_FLAGS = {"lambda": "enable_lambda", "github": "enable_github", "vercel": "enable_vercel"}
_NAME_PART = re.compile(r"^(?!\.+$)[A-Za-z0-9_.-]+$")   # a part of only dots would be a path
# DIY backends (file, s3, gs, azblob, postgres) keep every stack under this one organization.
DIY_ORGANIZATION = "organization"
STACK_NAME_RULE = ("a stack name is STACK, ORG/STACK or ORG/PROJECT/STACK, each part made of letters, digits, "
                   "'-', '_' and '.' (not only dots)")


def project_root(start: Path | None = None) -> Path:
    """The nearest directory holding Pulumi.yaml, from `start` (cwd) upwards."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    raise ConfigInvalid(f"no Pulumi.yaml in {here} or above: run from the project directory")


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigInvalid(f"{path.name} is not valid YAML ({exc.__class__.__name__}): fix the file") from None


def project_file(root: Path) -> dict[str, Any]:
    return _read_yaml(root / "Pulumi.yaml")


def stack_file_path(root: Path, stack: str) -> Path:
    """Pulumi.<short name>.yaml: the engine names the file after the last part of the stack name."""
    return root / f"Pulumi.{stack.rsplit('/', 1)[-1]}.yaml"


def stack_file(root: Path, stack: str) -> dict[str, Any]:
    return _read_yaml(stack_file_path(root, stack))


def _flag(value: object) -> bool:
    return str(value).strip().lower() in {"true", "1", "yes"}


def _setting(root: Path, stack: str, name: str, fallback: Any) -> Any:
    """orchestra:<name> as the program sees it: the stack file's value, else Pulumi.yaml's default."""
    stack_cfg = stack_file(root, stack).get("config") or {}
    key = f"{NAMESPACE}:{name}"
    if key in stack_cfg:
        return stack_cfg[key]
    project_cfg = project_file(root).get("config") or {}
    default = project_cfg.get(key, project_cfg.get(name, fallback))
    return default.get("default", fallback) if isinstance(default, dict) else default


def _catalog_names(root: Path, stack: str, name: str) -> list[str]:
    """A list of catalog keys (a YAML list or a JSON string of one), aliases made canonical; the
    program reports what is not a catalog key, so it is left out here."""
    value = _setting(root, stack, name, [])
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return []
    names = []
    for item in value if isinstance(value, list) else []:
        try:
            names.append(get_spec(str(item)).name)
        except KeyError:
            continue
    return names


def enabled_components(root: Path, stack: str) -> set[str]:
    """Components the stack deploys: stack file value, else Pulumi.yaml's default, else on."""
    return {"app"} | {component for component, flag in _COMPONENT_FLAGS.items() if _flag(_setting(root, stack, flag, True))}


def required_specs(root: Path, stack: str) -> list[KeySpec]:
    """The catalog keys the program will ask this stack for (infra.needed_keys), in catalog order."""
    enabled = enabled_components(root, stack)
    needed = needed_keys(
        lambda_="lambda" in enabled,
        github_names=_catalog_names(root, stack, "github_ci_secret_names") if "github" in enabled else None,
        vercel_names=_catalog_names(root, stack, "vercel_env_secret_names") if "vercel" in enabled else None)
    return [spec for spec in CATALOG if spec.secret and spec.name in needed]


def refresh_by_default(root: Path, stack: str) -> bool:
    """`orchestra:refresh_before_up: "true"` in the stack file makes every `up`/`preview` refresh first."""
    return _flag((stack_file(root, stack).get("config") or {}).get(f"{NAMESPACE}:refresh_before_up", False))


def config_key(spec: KeySpec) -> str:
    """Where a catalog key lives in the stack config, e.g. orchestra:lambda_api_key."""
    return f"{NAMESPACE}:{spec.config_key}"


def backend_url(root: Path, environ: Mapping[str, str] = os.environ) -> tuple[str, bool]:
    """(url, is_default): PULUMI_BACKEND_URL › Pulumi.yaml backend.url › file backend in the project."""
    if environ.get("PULUMI_BACKEND_URL"):
        return environ["PULUMI_BACKEND_URL"], False
    configured = (project_file(root).get("backend") or {}).get("url")
    if configured:
        return str(configured), False
    return (root / STATE_DIR).as_uri(), True


def is_diy_backend(url: str) -> bool:
    """Self-managed state (file, object store, database) rather than Pulumi Cloud (https)."""
    return not url.startswith(("https://", "http://"))


def file_backend_problem(url: str) -> str | None:
    """Why a file backend cannot be used, without creating anything (preflight writes nothing)."""
    if not url.startswith("file://"):
        return None
    path = Path(url.removeprefix("file://")).expanduser()
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        return f"state directory {path} cannot be created ({existing} is not a directory): fix the path or set PULUMI_BACKEND_URL"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"state directory {path} is not writable: fix the permissions of {existing} or set PULUMI_BACKEND_URL"
    return None


def ensure_file_backend(url: str) -> None:
    """Create the file backend's directory (only after preflight passed)."""
    problem = file_backend_problem(url)
    if problem:
        raise BackendUnreachable(problem)
    if url.startswith("file://"):
        Path(url.removeprefix("file://")).expanduser().mkdir(parents=True, exist_ok=True)


def stack_secrets_provider(root: Path, stack: str) -> str:
    """The stack's own secretsprovider (awskms://, ...) or `passphrase`."""
    return str(stack_file(root, stack).get("secretsprovider") or "passphrase")


@dataclass(frozen=True)
class StackName:
    """A stack name as the person typed it (`full`) and the part files are named after (`short`)."""

    full: str
    short: str
    org: str | None


def parse_stack_name(name: str, *, project: str | None = None, backend: str | None = None) -> StackName:
    """STACK, ORG/STACK or ORG/PROJECT/STACK; a bad name is a usage error (exit 2) stating the rule."""
    parts = name.split("/")
    if not 1 <= len(parts) <= 3 or not all(_NAME_PART.match(part) for part in parts):
        raise UsageError(f"stack name {name!r} is not valid: {STACK_NAME_RULE}")
    org = parts[0] if len(parts) > 1 else None
    if len(parts) == 3 and project and parts[1] != project:
        raise UsageError(f"stack name {name!r} names project {parts[1]!r}, but Pulumi.yaml is project {project!r}")
    if org and backend and is_diy_backend(backend) and org != DIY_ORGANIZATION:
        raise UsageError(f"stack name {name!r}: a self-managed backend ({backend.split(':', 1)[0]}://) keeps stacks "
                         f"under the organization {DIY_ORGANIZATION!r}: use {DIY_ORGANIZATION}/{parts[-1]} or just {parts[-1]}")
    return StackName(full=name, short=parts[-1], org=org)
