"""What the GitHub and Vercel tokens may do, compared with what the enabled components need.

Read-only requests only, through the verification client (secrets_bridge.verify.probe):

- GitHub, classic tokens: the scopes GitHub lists in X-OAuth-Scopes. The components need
  `repo` (Actions secrets, variables and environments of a repository); scopes such as
  `delete_repo` or `admin:org` are more than any component uses (a warning).
- GitHub, fine-grained tokens report no scopes: the repository's Actions secrets public-key
  endpoint (and the variables list) is probed; a 403 means the permission is missing.
  Write access cannot be proven without writing, so a readable endpoint is `ok` with that note.
- GitHub environment: when the stack does not manage it, it must exist already.
- Vercel: the configured team must be one the token can act for, and an existing project
  of that name must be reachable in it.

A transport failure or an unexpected answer is `unknown`, never blocking: the deploy
itself will say more. Findings never carry a token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from secrets_bridge.verify.github_token import parse_scopes
from secrets_bridge.verify.probe import Reply, get

NEEDED_SCOPES = ("repo",)
EXCESSIVE_SCOPES = ("delete_repo", "admin:org", "admin:enterprise", "admin:org_hook", "admin:repo_hook",
                    "delete:packages", "site_admin")
FINE_GRAINED_NEEDED = "Secrets: Read and write, Variables: Read and write, Metadata: Read-only"
TOKENS_PAGE = "https://github.com/settings/tokens"


@dataclass(frozen=True)
class Finding:
    area: str                # plugin | github | vercel | frontend
    subject: str
    status: str              # ok | missing | excessive | unknown | warning
    detail: str
    action: str = ""
    blocking: bool = False

    @property
    def icon(self) -> str:
        return "❌" if self.blocking else ("⚠️" if self.action else "✅")

    @property
    def problem(self) -> str:
        """The one-line action, with what it is about (for the preflight's list of problems)."""
        return f"{self.subject}: {self.action}"

    def line(self) -> str:
        return f"{self.icon} {self.area:<8} {self.subject}: {self.detail}" + (f" -> {self.action}" if self.action else "")


@dataclass(frozen=True)
class GitHubTarget:
    api: str                 # https://api.github.com or a GitHub Enterprise /api/v3 URL
    owner: str
    repository: str
    environment: str | None
    manage_environment: bool

    @property
    def repo_path(self) -> str:
        return f"/repos/{quote(self.owner)}/{quote(self.repository)}"

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.repository}"


@dataclass(frozen=True)
class VercelTarget:
    api: str
    team: str | None         # team id (team_...) or slug; None: the token's personal account
    project: str


def _github_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28"}


def _unknown(area: str, subject: str, reply: Reply) -> Finding:
    return Finding(area, subject, "unknown", f"unexpected HTTP {reply.status} from {reply.url}")


async def github_findings(client: httpx.AsyncClient, token: str, target: GitHubTarget, *, timeout: float) -> list[Finding]:
    headers = _github_headers(token)
    api = target.api.rstrip("/")
    key = await get(client, f"{api}{target.repo_path}/actions/secrets/public-key", headers=headers, timeout=timeout)
    if key.status == 401:
        return [Finding("github", "GITHUB_TOKEN", "unknown", "the token was rejected (HTTP 401); see the key check")]
    scopes = parse_scopes(key.headers.get("x-oauth-scopes"))
    if scopes is not None:
        found = _classic(scopes)
        if key.status == 403 and not any(f.blocking for f in found):
            # Scopes suffice, but Actions secrets need a collaborator with write access.
            found.append(Finding("github", target.slug, "missing", "the token's user may not manage its Actions "
                                 "secrets (HTTP 403)", f"give that user write access to {target.slug}, or use a token "
                                 "of a user who has it", blocking=True))
    elif key.status != 404:
        found = await _fine_grained(client, api, target, headers, key, timeout)
    else:
        found = []
    if key.status == 404 and not any(f.blocking for f in found):
        found.append(Finding("github", target.slug, "missing", "the token cannot see this repository (HTTP 404)",
                             f"give the token access to {target.slug} (fine-grained: add it under Repository access; "
                             f"classic: the repo scope) at {TOKENS_PAGE}", blocking=True))
        return found
    if target.environment and not target.manage_environment:
        found.append(await _environment(client, api, target, headers, timeout))
    return found


def _classic(scopes: tuple[str, ...]) -> list[Finding]:
    found = []
    missing = [s for s in NEEDED_SCOPES if s not in scopes]
    granted = ", ".join(scopes) or "(none)"
    if missing:
        found.append(Finding("github", "GITHUB_TOKEN scopes", "missing", f"granted {granted}; the components need "
                             f"{', '.join(NEEDED_SCOPES)}", f"add {', '.join(missing)} to the token at {TOKENS_PAGE}",
                             blocking=True))
    else:
        found.append(Finding("github", "GITHUB_TOKEN scopes", "ok", f"granted {granted}"))
    excess = [s for s in scopes if s in EXCESSIVE_SCOPES]
    if excess:
        found.append(Finding("github", "GITHUB_TOKEN scopes", "excessive",
                             f"{', '.join(excess)} go beyond what any component uses",
                             f"create a token with only {', '.join(NEEDED_SCOPES)} at {TOKENS_PAGE} and store it"))
    return found


async def _fine_grained(client: httpx.AsyncClient, api: str, target: GitHubTarget, headers: dict[str, str],
                        key: Reply, timeout: float) -> list[Finding]:
    variables = await get(client, f"{api}{target.repo_path}/actions/variables?per_page=1", headers=headers,
                          timeout=timeout)
    found = []
    for what, reply in (("Secrets", key), ("Variables", variables)):
        subject = f"GITHUB_TOKEN {what} permission"
        if reply.status == 200:
            found.append(Finding("github", subject, "ok", f"{what.lower()} of {target.slug} readable "
                                 "(write access cannot be checked without writing)"))
        elif reply.status == 403:
            accepted = reply.headers.get("x-accepted-github-permissions")
            hint = f" (GitHub accepts: {accepted})" if accepted else ""
            found.append(Finding("github", subject, "missing", f"HTTP 403 on {target.slug}{hint}",
                                 f"grant the token {what}: Read and write on {target.slug} ({FINE_GRAINED_NEEDED}) "
                                 f"at {TOKENS_PAGE}", blocking=True))
        else:
            found.append(_unknown("github", subject, reply))
    if target.manage_environment:
        # Creating an environment needs repository administration, which no read can prove.
        found.append(Finding("github", "GITHUB_TOKEN Administration permission", "unknown",
                             f"the stack manages environment {target.environment}, which needs Administration: "
                             "Read and write; a fine-grained token's write access cannot be checked read-only",
                             f"make sure the token has it on {target.slug} at {TOKENS_PAGE}"))
    return found


async def _environment(client: httpx.AsyncClient, api: str, target: GitHubTarget, headers: dict[str, str],
                       timeout: float) -> Finding:
    env = target.environment or ""
    reply = await get(client, f"{api}{target.repo_path}/environments/{quote(env, safe='')}", headers=headers,
                      timeout=timeout)
    subject = f"environment {env}"
    if reply.status == 200:
        return Finding("github", subject, "ok", f"exists in {target.slug}")
    if reply.status == 404:
        return Finding("github", subject, "missing", f"{target.slug} has no environment {env!r}",
                       f"create it at https://github.com/{target.slug}/settings/environments/new (name {env}), "
                       "or let the stack manage it: pulumi config set orchestra:github_manage_environment true",
                       blocking=True)
    return _unknown("github", subject, reply)


async def vercel_findings(client: httpx.AsyncClient, token: str, target: VercelTarget, *, timeout: float) -> list[Finding]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    api = target.api.rstrip("/")
    found = []
    query = ""
    if target.team:
        teams = await get(client, f"{api}/v2/teams?limit=100", headers=headers, timeout=timeout)
        listed = teams.body.get("teams") if isinstance(teams.body, dict) else None
        if teams.status != 200 or not isinstance(listed, list):
            return [_unknown("vercel", f"team {target.team}", teams)]
        match = next((t for t in listed if isinstance(t, dict) and target.team in (t.get("id"), t.get("slug"))), None)
        if match is None:
            reachable = ", ".join(str(t.get("slug")) for t in listed if isinstance(t, dict)) or "none"
            return [Finding("vercel", f"team {target.team}", "missing", f"the token cannot act for this team "
                            f"(it reaches: {reachable})", f"create a token scoped to team {target.team} at "
                            "https://vercel.com/account/tokens and store it as VERCEL_TOKEN", blocking=True)]
        found.append(Finding("vercel", f"team {target.team}", "ok", f"the token acts for {match.get('slug')}"))
        query = f"?teamId={quote(str(match.get('id')))}"
    project = await get(client, f"{api}/v9/projects/{quote(target.project)}{query}", headers=headers, timeout=timeout)
    where = f"team {target.team}" if target.team else "the token's personal account"
    if project.status == 200:
        found.append(Finding("vercel", f"project {target.project}", "ok", f"exists in {where}"))
    elif project.status == 404:
        found.append(Finding("vercel", f"project {target.project}", "ok", f"not in {where} yet: `up` creates it"))
    elif project.status == 403:
        found.append(Finding("vercel", f"project {target.project}", "missing", f"the token may not read it in {where}",
                             "use a token of a member of the project's team", blocking=True))
    else:
        found.append(_unknown("vercel", f"project {target.project}", project))
    return found


async def _guard(area: str, subject: str, job) -> list[Finding]:
    try:
        return list(await job)
    except (TimeoutError, httpx.HTTPError) as exc:
        return [Finding(area, subject, "unknown", f"could not be checked ({type(exc).__name__})")]


async def check_access(tokens: Mapping[str, str], github: GitHubTarget | None, vercel: VercelTarget | None,
                       *, timeout: float = 10.0) -> list[Finding]:
    """Findings for the targets whose token is known; both APIs asked at once."""
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        jobs = []
        if github is not None and tokens.get("GITHUB_TOKEN"):
            jobs.append(_guard("github", github.slug, github_findings(client, tokens["GITHUB_TOKEN"], github,
                                                                      timeout=timeout)))
        if vercel is not None and tokens.get("VERCEL_TOKEN"):
            jobs.append(_guard("vercel", vercel.project, vercel_findings(client, tokens["VERCEL_TOKEN"], vercel,
                                                                         timeout=timeout)))
        results = await asyncio.gather(*jobs)
    return [f for group in results for f in group]


def check_access_sync(tokens: Mapping[str, str], github: GitHubTarget | None, vercel: VercelTarget | None,
                      *, timeout: float = 10.0) -> list[Finding]:
    return asyncio.run(check_access(tokens, github, vercel, timeout=timeout))
