"""GitHub: token kind from the prefix, scope analysis for Actions secrets, expiry."""

from __future__ import annotations

import time

from secrets_bridge.verify import ApiUrls, verify_all_sync
from tests.support.verify_apis import FakeApi, Route

CLASSIC = "ghp_CanaryGithub0123456789abcdefghijKLMN"
FINE_GRAINED = "github_pat_11CANARY0abcdefghijklm_0123456789ababcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"


def verify(token: str, headers: dict[str, str], status: int = 200, body: object = None):
    body = {"login": "octocat"} if body is None else body
    with FakeApi({"/user": Route(status, body, headers=headers)}) as api:
        [result] = verify_all_sync({"GITHUB_TOKEN": token}, urls=ApiUrls(github=api.url), timeout=5)
    assert api.seen[0].headers["accept"] == "application/vnd.github+json"
    return result


def test_classic_token_without_workflow_scope():
    result = verify(CLASSIC, {"X-OAuth-Scopes": "repo, read:org"})
    assert result.verdict == "valid"
    assert result.extra["token_kind"] == "classic"
    assert result.extra["missing_scopes"] == ("workflow",)
    assert "workflow" in result.recommendation and "github.com/settings/tokens" in result.recommendation
    assert "login octocat" in result.detail


def test_classic_token_with_every_scope_needs_nothing():
    result = verify(CLASSIC, {"X-OAuth-Scopes": "repo, workflow, admin:org"})
    assert result.extra["missing_scopes"] == ()
    assert result.recommendation == ""


def test_public_repo_is_not_enough():
    result = verify(CLASSIC, {"X-OAuth-Scopes": "public_repo, workflow"})
    assert result.extra["missing_scopes"] == ("repo",)
    assert "public_repo only reaches public repositories" in result.recommendation


def test_fine_grained_token_cannot_list_scopes_and_says_what_it_needs():
    result = verify(FINE_GRAINED, {"github-authentication-token-expiration": "2031-01-01 00:00:00 UTC"})
    assert result.verdict == "valid"
    assert result.extra["token_kind"] == "fine-grained"
    assert result.extra["scopes"] is None
    assert "cannot be listed" in result.detail
    assert "Secrets: Read and write" in result.recommendation
    assert result.extra["expires_at"] == "2031-01-01 00:00:00 UTC"
    assert "expires 2031-01-01" in result.detail


def test_exhausted_rate_limit_on_403_is_unknown_not_invalid():
    reset = str(int(time.time()) + 120)
    result = verify(CLASSIC, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
                    status=403, body={"message": "API rate limit exceeded"})
    assert result.verdict == "unknown"
    assert "retry after" in result.recommendation


def test_plain_403_is_invalid():
    result = verify(CLASSIC, {"X-RateLimit-Remaining": "4999"}, status=403, body={"message": "Forbidden"})
    assert result.verdict == "invalid"
