"""Preflight of the GitHub and Vercel parts: plugins, token permissions, the environment, mixed content.

`findings(root, stack, tokens)` returns one `Finding` per thing checked; blocking ones
stop `check`/`up` before anything is written, the others are warnings shown by `check`
and carried into the report. The stack's settings are read from its file and
Pulumi.yaml's defaults, as the program will see them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from automation.access import Finding, GitHubTarget, VercelTarget, check_access_sync
from automation.project import enabled_components, project_file, stack_file
from secrets_bridge.verify.urls import ApiUrls

__all__ = ["Finding", "findings", "stack_setting"]


def stack_setting(root: Path, stack: str, key: str) -> Any:
    """orchestra:KEY from the stack file, else Pulumi.yaml's default (None when neither has it)."""
    stack_cfg = stack_file(root, stack).get("config") or {}
    if f"orchestra:{key}" in stack_cfg:
        return stack_cfg[f"orchestra:{key}"]
    declared = (project_file(root).get("config") or {}).get(key)
    return declared.get("default") if isinstance(declared, dict) else declared


def _text(root: Path, stack: str, key: str) -> str:
    value = stack_setting(root, stack, key)
    return "" if value is None else str(value).strip()


def _flag(root: Path, stack: str, key: str) -> bool:
    return _text(root, stack, key).lower() in {"true", "1", "yes"}


def plugin_findings(components: set[str], environ: Mapping[str, str]) -> list[Finding]:
    from automation.engine import find_engine
    from automation.plugins import plugin_statuses

    found = []
    for status in plugin_statuses(find_engine(), components, environ):
        subject = f"{status.spec.binary} {status.spec.version}"
        if status.ok:
            found.append(Finding("plugin", subject, "ok", f"{status.origin} {status.path}"))
        else:
            # A missing one is no blocker: the commands that change a stack install it first, and stop
            # (31) if they cannot. One found at the wrong version stays in the engine's way.
            missing = status.origin == "missing"
            detail = "not found; `up` installs it before the stack changes" if missing else f"unusable ({status.origin})"
            found.append(Finding("plugin", subject, "missing" if missing else "wrong", detail, blocking=not missing,
                                 action=status.problem or status.spec.install_command()))
    return found


def mixed_content(root: Path, stack: str, components: set[str]) -> list[Finding]:
    """An https page calling an http backend is blocked by browsers unless Vercel rewrites for it."""
    if "vercel" not in components:
        return []
    override = _text(root, stack, "backend_url_override")
    backend = override or ("http://<instance ip>:<backend_port>" if "lambda" in components else "")
    if not backend.startswith("http://"):
        return []
    rewrite = _text(root, stack, "vercel_backend_rewrite")
    if rewrite:
        return [Finding("frontend", "BACKEND_URL", "ok", f"plain http, reached through the {rewrite}/* rewrite on the "
                        "frontend's own https origin")]
    return [Finding("frontend", "BACKEND_URL", "warning", f"{backend} is plain http: a browser on the https frontend "
                    "blocks calls to it (mixed content)", "pulumi config set orchestra:vercel_backend_rewrite /api, "
                    "or put the backend behind TLS and set orchestra:backend_url_override")]


def _targets(root: Path, stack: str, components: set[str],
             environ: Mapping[str, str]) -> tuple[GitHubTarget | None, VercelTarget | None]:
    urls = ApiUrls.from_env(environ)
    github = vercel = None
    if "github" in components and _text(root, stack, "github_owner") and _text(root, stack, "github_repository"):
        github = GitHubTarget(api=_text(root, stack, "github_base_url") or urls.github,
                              owner=_text(root, stack, "github_owner"),
                              repository=_text(root, stack, "github_repository"),
                              environment=_text(root, stack, "github_environment") or None,
                              manage_environment=_flag(root, stack, "github_manage_environment"))
    if "vercel" in components:
        vercel = VercelTarget(api=urls.vercel, team=_text(root, stack, "vercel_team_id") or None,
                              project=_text(root, stack, "vercel_project_name") or "orchestra")
    return github, vercel


def findings(root: Path, stack: str, tokens: Mapping[str, str], *, skip_verify: bool,
             environ: Mapping[str, str] | None = None) -> tuple[Finding, ...]:
    """Everything the GitHub and Vercel components need beyond their keys; `tokens` maps catalog names to values."""
    environ = os.environ if environ is None else environ
    components = enabled_components(root, stack)
    found = plugin_findings(components, environ) + mixed_content(root, stack, components)
    if not skip_verify:
        github, vercel = _targets(root, stack, components, environ)
        found += check_access_sync(tokens, github, vercel)
    return tuple(found)
