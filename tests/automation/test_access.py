"""Token permissions against what the components need, asked of loopback GitHub and Vercel stand-ins."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from automation.access import GitHubTarget, VercelTarget, check_access_sync
from automation.platform_checks import findings
from tests.support.loopback import FakeApi, Route, refused_url

TOKEN = "ghp_CANARYgithubTOKENneverPRINTED0123456789"
VERCEL_TOKEN = "CANARYvercelTOKENneverPRINTED01"
REPO = "/repos/acme/orchestra"
KEY = f"{REPO}/actions/secrets/public-key"
VARIABLES = f"{REPO}/actions/variables"
PUBLIC_KEY = {"key_id": "568250167242549743", "key": "Q6NvJ6z6sU3d9b/7bTlqG3b5x2Zo9hXoVg4sCZ8a1yQ="}
TEAMS = {"teams": [{"id": "team_abc123", "slug": "acme", "name": "Acme"}], "pagination": {"count": 1}}


def _github(api: FakeApi, environment: str | None = None, manage: bool = False) -> GitHubTarget:
    return GitHubTarget(api=api.url, owner="acme", repository="orchestra", environment=environment,
                        manage_environment=manage)


def _check(routes: dict[str, Route], **target) -> tuple[list, FakeApi]:
    with FakeApi(routes) as api:
        found = check_access_sync({"GITHUB_TOKEN": TOKEN}, _github(api, **target), None)
    assert all(s.method == "GET" for s in api.seen)            # read-only, always
    assert all(TOKEN not in f"{f}" for f in found)
    return found, api


def _classic(scopes: str) -> dict[str, Route]:
    return {KEY: Route(200, PUBLIC_KEY, headers={"X-OAuth-Scopes": scopes})}


def test_a_classic_token_with_repo_is_enough():
    found, api = _check(_classic("repo, workflow"))
    assert [(f.status, f.blocking) for f in found] == [("ok", False)]
    assert api.seen[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_a_classic_token_without_repo_is_blocked():
    (finding,) = _check(_classic("public_repo, read:org"))[0]
    assert finding.blocking and finding.status == "missing"
    assert finding.detail == "granted public_repo, read:org; the components need repo"
    assert finding.action == "add repo to the token at https://github.com/settings/tokens"


def test_a_classic_token_of_a_user_without_write_access_is_blocked():
    found = _check({KEY: Route(403, {"message": "Must have admin rights to Repository."},
                               headers={"X-OAuth-Scopes": "repo"})})[0]
    assert [(f.subject, f.status, f.blocking) for f in found] == [("GITHUB_TOKEN scopes", "ok", False),
                                                                  ("acme/orchestra", "missing", True)]


def test_delete_repo_and_admin_org_are_flagged_as_more_than_needed_but_do_not_block():
    found = _check(_classic("repo, delete_repo, admin:org, gist"))[0]
    excessive = [f for f in found if f.status == "excessive"]
    assert len(excessive) == 1 and not excessive[0].blocking
    assert excessive[0].detail == "delete_repo, admin:org go beyond what any component uses"
    assert excessive[0].line().startswith("⚠️ github")
    assert not any(f.blocking for f in found)


def test_a_fine_grained_token_is_probed_on_the_secrets_public_key_endpoint():
    found, api = _check({KEY: Route(200, PUBLIC_KEY), VARIABLES: Route(200, {"total_count": 0, "variables": []})})
    assert [(f.subject, f.status) for f in found] == [("GITHUB_TOKEN Secrets permission", "ok"),
                                                       ("GITHUB_TOKEN Variables permission", "ok")]
    assert "write access cannot be checked without writing" in found[0].detail
    assert [s.path for s in api.seen] == [KEY, VARIABLES]


def test_a_fine_grained_token_without_the_secrets_permission_is_blocked():
    denied = Route(403, {"message": "Resource not accessible by personal access token"},
                   headers={"X-Accepted-GitHub-Permissions": "secrets=read"})
    found = _check({KEY: denied, VARIABLES: Route(200, {"total_count": 0, "variables": []})})[0]
    secrets = next(f for f in found if f.subject == "GITHUB_TOKEN Secrets permission")
    assert secrets.blocking and "GitHub accepts: secrets=read" in secrets.detail
    assert secrets.action.startswith("grant the token Secrets: Read and write on acme/orchestra")


def test_a_repository_the_token_cannot_see_is_blocked():
    (finding,) = _check({})[0]     # the stand-in answers 404 to everything
    assert finding.blocking and finding.subject == "acme/orchestra" and "HTTP 404" in finding.detail


def test_an_unmanaged_environment_must_exist():
    env_path = f"{REPO}/environments/production"
    found = _check({**_classic("repo"), env_path: Route(200, {"name": "production"})}, environment="production")[0]
    assert [(f.subject, f.status) for f in found][-1] == ("environment production", "ok")
    found = _check(_classic("repo"), environment="production")[0]
    missing = found[-1]
    assert missing.blocking and missing.detail == "acme/orchestra has no environment 'production'"
    assert missing.action == ("create it at https://github.com/acme/orchestra/settings/environments/new (name production), "
                              "or let the stack manage it: pulumi config set orchestra:github_manage_environment true")


def test_a_fine_grained_token_managing_an_environment_is_reminded_of_administration():
    routes = {KEY: Route(200, PUBLIC_KEY), VARIABLES: Route(200, {"total_count": 0, "variables": []})}
    found = _check(routes, environment="production", manage=True)[0]
    admin = found[-1]
    assert admin.subject == "GITHUB_TOKEN Administration permission" and not admin.blocking and admin.action


def test_a_managed_environment_is_not_looked_up():
    found, api = _check(_classic("repo"), environment="production", manage=True)
    assert not any("environments" in s.path for s in api.seen) and not any(f.blocking for f in found)


def test_an_unreachable_api_is_unknown_and_never_blocks():
    (finding,) = check_access_sync({"GITHUB_TOKEN": TOKEN}, GitHubTarget(refused_url(), "acme", "orchestra", None, False),
                                   None, timeout=2)
    assert finding.status == "unknown" and not finding.blocking


def _vercel(routes: dict[str, Route], team: str | None) -> list:
    with FakeApi(routes) as api:
        found = check_access_sync({"VERCEL_TOKEN": VERCEL_TOKEN}, None, VercelTarget(api.url, team, "orchestra"))
        seen = list(api.seen)
    assert all(s.method == "GET" for s in seen) and all(VERCEL_TOKEN not in f"{f}" for f in found)
    return found


def test_the_vercel_token_must_reach_the_projects_team():
    found = _vercel({"/v2/teams": Route(200, TEAMS), "/v9/projects/orchestra": Route(200, {"id": "prj_1"})}, "acme")
    assert [(f.subject, f.status) for f in found] == [("team acme", "ok"), ("project orchestra", "ok")]
    (blocked,) = _vercel({"/v2/teams": Route(200, TEAMS)}, "team_other")
    assert blocked.blocking and blocked.detail == "the token cannot act for this team (it reaches: acme)"


def test_a_vercel_project_the_token_may_not_read_is_blocked():
    found = _vercel({"/v2/teams": Route(200, TEAMS), "/v9/projects/orchestra": Route(403, {"error": {"code": "forbidden"}})},
                    "team_abc123")
    assert found[-1].blocking and found[-1].subject == "project orchestra"
    assert not _vercel({}, None)[0].blocking   # personal account, project not there yet: `up` creates it


@pytest.fixture
def project(tmp_path) -> Path:
    repo = Path(__file__).resolve().parents[2]
    shutil.copy(repo / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    return tmp_path


def _stack(root: Path, **config: str) -> None:
    lines = ["config:"] + [f"  orchestra:{k}: {v!r}" for k, v in config.items()]
    (root / "Pulumi.prod.yaml").write_text("\n".join(lines) + "\n")


def test_preflight_findings_use_the_stack_settings_and_the_api_url_overrides(project, monkeypatch):
    _stack(project, enable_lambda="false", github_owner="acme", github_repository="orchestra",
           github_environment="production", vercel_team_id="acme")
    routes = {**_classic("repo, delete_repo"), "/v2/teams": Route(200, TEAMS)}
    with FakeApi(routes) as api:
        monkeypatch.setenv("ORCHESTRA_GITHUB_API_URL", api.url)
        monkeypatch.setenv("ORCHESTRA_VERCEL_API_URL", api.url)
        found = findings(project, "prod", {"GITHUB_TOKEN": TOKEN, "VERCEL_TOKEN": VERCEL_TOKEN}, skip_verify=False)
    by_area = {(f.area, f.subject): f for f in found}
    assert by_area[("github", "environment production")].blocking
    assert by_area[("github", "GITHUB_TOKEN scopes")].status in {"ok", "excessive"}
    assert by_area[("vercel", "team acme")].status == "ok"
    assert {f.subject for f in found if f.area == "plugin"} == {"pulumi-resource-github 6.15.0",
                                                                "pulumi-resource-vercel 5.21.1"}


def test_check_flags_a_plain_http_backend_without_the_rewrite(project):
    _stack(project, enable_github="false", vercel_backend_rewrite="")
    (flag,) = [f for f in findings(project, "prod", {}, skip_verify=True) if f.area == "frontend"]
    assert flag.status == "warning" and not flag.blocking and "mixed content" in flag.detail
    _stack(project, enable_github="false")
    (ok,) = [f for f in findings(project, "prod", {}, skip_verify=True) if f.area == "frontend"]
    assert ok.status == "ok" and "/api/* rewrite" in ok.detail
    _stack(project, enable_github="false", vercel_backend_rewrite="", backend_url_override="https://api.example.com")
    assert not [f for f in findings(project, "prod", {}, skip_verify=True) if f.area == "frontend"]


def test_blocking_findings_stop_preflight_and_warnings_reach_check_and_the_report():
    from automation.access import Finding
    from automation.preflight import PreflightResult, render
    from automation.report import IacStatus, ReportData, recommendations

    blocked = Finding("github", "environment production", "missing", "acme/orchestra has no environment 'production'",
                      "create it at https://github.com/acme/orchestra/settings/environments/new", blocking=True)
    excess = Finding("github", "GITHUB_TOKEN scopes", "excessive", "delete_repo go beyond what any component uses",
                     "create a token with only repo")
    plugin = Finding("plugin", "pulumi-resource-github 6.15.0", "ok", "plugin-dir /x/pulumi-resource-github")
    result = PreflightResult(stack="prod", env="production", verification="live", keys=(), engine="3.274.1 (cache)",
                             engine_problem=None, backend="file:///x", backend_problem=None,
                             findings=(blocked, excess, plugin))
    assert result.problems == (f"environment production: {blocked.action}",) and not result.ok
    shown = render(result)
    assert "❌ github   environment production" in shown and "⚠️ github   GITHUB_TOKEN scopes" in shown
    assert "✅ plugin   pulumi-resource-github 6.15.0: plugin-dir /x/pulumi-resource-github" in shown
    data = ReportData(stack="prod", keys=(), infrastructure=(), findings=result.findings,
                      iac=IacStatus(engine_version="3.274.1", backend="file:///x", stack="prod", last_update="not run"))
    recs = recommendations(data)
    assert ("P1", f"environment production: {blocked.detail}: {blocked.action}") in recs
    assert ("P2", f"GITHUB_TOKEN scopes: {excess.detail}: {excess.action}") in recs
