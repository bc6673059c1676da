"""The GitHub and Vercel parts of the stack's settings (read by infra.config.load_settings).

Environment protection and the Vercel project settings a real deploy needs (production
branch, build and install commands, output directory, Node.js version, the backend
rewrite) have their defaults in Pulumi.yaml; infra.config.DEFAULTS repeats them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # infra.config imports this module; its reader is only a type here
    from infra.config import _Reader as Reader


@dataclass(frozen=True)
class EnvironmentProtection:
    """Deployment protection of a GitHub environment the stack manages."""

    wait_timer: int                 # minutes a job waits before it may start
    reviewer_users: tuple[int, ...]  # GitHub user ids, up to 6 with the teams
    reviewer_teams: tuple[int, ...]
    prevent_self_review: bool
    can_admins_bypass: bool
    protected_branches_only: bool   # only branches with protection rules may deploy


@dataclass(frozen=True)
class GitHubSettings:
    owner: str
    repository: str                 # the name only; the owner is the provider's
    base_url: str | None            # GitHub Enterprise Server API URL; None: github.com
    environment: str | None         # publish to this environment instead of the repository
    secret_names: tuple[str, ...]   # catalog names whose values become Actions secrets
    manage_environment: bool = False  # create `environment` with `protection`, else it must exist
    protection: EnvironmentProtection | None = None


@dataclass(frozen=True)
class VercelSettings:
    project_name: str
    framework: str
    root_directory: str | None
    git_repository: str | None      # owner/repo on GitHub
    team_id: str | None
    domain: str | None
    secret_names: tuple[str, ...]   # catalog names whose values become sensitive env vars
    production_branch: str = "main"
    build_command: str | None = None     # None: Vercel's framework default
    install_command: str | None = None
    output_directory: str | None = None
    node_version: str = "22.x"
    backend_rewrite: str | None = "/api"  # frontend path forwarded to the backend; None: no rewrite


def read_github(r: Reader) -> GitHubSettings:
    owner = r.string("github_owner")
    if not owner:
        r.fail("github_owner", "required because enable_github is true", r.set_cmd("github_owner", "YOUR_ORG"))
    repository = r.string("github_repository")
    if not repository or "/" in repository:
        r.fail("github_repository", f"{repository!r} must be the repository's name without the owner",
               r.set_cmd("github_repository", "orchestra"))
    environment = r.optional("github_environment")
    manage = r.boolean("github_manage_environment")
    if manage and not environment:
        r.fail("github_manage_environment", "true, but github_environment names no environment",
               r.set_cmd("github_environment", "production"))
    protection = None
    if manage:
        users, teams = r.integers("github_environment_reviewer_users"), r.integers("github_environment_reviewer_teams")
        if len(users) + len(teams) > 6:
            r.fail("github_environment_reviewer_users", "GitHub allows at most 6 reviewers (users and teams together)",
                   "pulumi config set --path 'orchestra:github_environment_reviewer_users[0]' USER_ID")
        protection = EnvironmentProtection(
            wait_timer=r.integer("github_environment_wait_timer", 0, 43200),
            reviewer_users=users, reviewer_teams=teams,
            prevent_self_review=r.boolean("github_environment_prevent_self_review"),
            can_admins_bypass=r.boolean("github_environment_can_admins_bypass"),
            protected_branches_only=r.boolean("github_environment_protected_branches"))
    return GitHubSettings(
        owner=owner,
        repository=repository,
        base_url=r.url("github_base_url"),
        environment=environment,
        secret_names=r.catalog_names("github_ci_secret_names"),
        manage_environment=manage,
        protection=protection,
    )


def read_vercel(r: Reader) -> VercelSettings:
    name = r.string("vercel_project_name")
    if not re.fullmatch(r"[a-z0-9._-]{1,100}", name) or "---" in name:
        r.fail("vercel_project_name", f"{name!r} is not a Vercel project name (lowercase letters, digits, . _ -)",
               r.set_cmd("vercel_project_name", "orchestra"))
    git_repository = r.optional("vercel_git_repository")
    if git_repository and not re.fullmatch(r"[\w.-]+/[\w.-]+", git_repository):
        r.fail("vercel_git_repository", f"{git_repository!r} is not OWNER/REPO",
               r.set_cmd("vercel_git_repository", "YOUR_ORG/orchestra"))
    domain = r.optional("vercel_domain")
    if domain and not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
        r.fail("vercel_domain", f"{domain!r} is not a domain name", r.set_cmd("vercel_domain", "app.example.com"))
    node = r.string("vercel_node_version")
    if not re.fullmatch(r"\d{2}\.x", node):
        r.fail("vercel_node_version", f"{node!r} is not a Vercel Node.js version (MAJOR.x)",
               r.set_cmd("vercel_node_version", "22.x"))
    rewrite = r.optional("vercel_backend_rewrite")
    if rewrite and not re.fullmatch(r"(/[A-Za-z0-9._-]+)+", rewrite):
        r.fail("vercel_backend_rewrite", f"{rewrite!r} is not a path prefix such as /api (empty: no rewrite)",
               r.set_cmd("vercel_backend_rewrite", "/api"))
    return VercelSettings(
        production_branch=r.string("vercel_production_branch") or "main",
        build_command=r.optional("vercel_build_command"),
        install_command=r.optional("vercel_install_command"),
        output_directory=r.optional("vercel_output_directory"),
        node_version=node,
        backend_rewrite=rewrite,
        project_name=name,
        framework=r.string("vercel_framework"),
        root_directory=r.optional("vercel_root_directory"),
        git_repository=git_repository,
        team_id=r.optional("vercel_team_id"),
        domain=domain,
        secret_names=r.catalog_names("vercel_env_secret_names"),
    )
