"""One live check per API. Each takes an injected httpx client and a base URL, sends
one cheap authenticated read, and turns the answer into a `CheckResult`.

Transport failures (timeouts, refused connections) are left to the runner, which
turns them into `unknown` in one place.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from infra.lambda_cloud.catalog import CONSOLE_URL as LAMBDA_CONSOLE_URL
from infra.lambda_cloud.catalog import INSTANCE_TYPES_PATH, INSTANCES_PATH, LIVE_STATUSES, auth_headers
from infra.lambda_cloud.catalog import api_url as lambda_api_url
from infra.lambda_cloud.errors import error_code as lambda_error_code

from ..catalog import get_spec
from . import github_token
from .probe import Reply, get, not_ok, rate_limited, unexpected_body
from .results import CheckResult
from .urls import env_var

LAMBDA_RUNNING = LIVE_STATUSES  # statuses that are billed


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Accept": "application/json"}


async def check_lambda(client: httpx.AsyncClient, key: str, base_url: str, *,
                       timeout: float, pace_s: float) -> CheckResult:
    """GET /api/v1/instance-types decides; /api/v1/instances then counts what is running.

    `pace_s` keeps the two requests apart: the API allows about one request per second.
    """
    name, url_env = "LAMBDA_API_KEY", env_var("lambda_cloud")
    started = time.monotonic()
    reply = await get(client, lambda_api_url(base_url, INSTANCE_TYPES_PATH), headers=auth_headers(key),
                      timeout=timeout)
    code = lambda_error_code(reply.body)
    if reply.status == 403 and code == "global/account-inactive":
        return CheckResult(name, "invalid", reply.latency_ms, reply.status, code,
                           detail="the key is known but the Lambda Cloud account is inactive",
                           recommendation="Verify the account's email address and add a valid payment method "
                                          f"at {LAMBDA_CONSOLE_URL}, or contact Lambda support.")
    if code is not None and code.startswith("provider/"):
        # Lambda's upstream providers failed: says nothing about the key.
        return CheckResult(name, "unknown", reply.latency_ms, reply.status, code,
                           detail="Lambda Cloud reported an upstream provider error",
                           recommendation="Provider error at Lambda Cloud: retry later.")
    if reply.status != 200:
        return not_ok(name, reply, create_url=get_spec(name).url, url_env=url_env)
    types = reply.body.get("data") if isinstance(reply.body, dict) else None
    if not isinstance(types, dict):
        return unexpected_body(name, reply, url_env=url_env)

    await asyncio.sleep(max(0.0, pace_s - (time.monotonic() - started)))
    running, note = await _running_instances(client, key, base_url, timeout)
    detail = f"{len(types)} instance types offered; " + (
        note if running is None else f"{len(running)} instance(s) running or booting")
    return CheckResult(name, "valid", reply.latency_ms, reply.status, detail=detail,
                       extra={"instance_types": len(types), "running_instances": running})


async def _running_instances(client: httpx.AsyncClient, key: str, base_url: str,
                             timeout: float) -> tuple[list[dict[str, Any]] | None, str]:
    """The billed instances, or None and why they could not be listed (the key is valid either way)."""
    try:
        reply = await get(client, lambda_api_url(base_url, INSTANCES_PATH), headers=auth_headers(key), timeout=timeout)
    except (TimeoutError, httpx.HTTPError) as exc:
        return None, f"running instances not counted ({type(exc).__name__})"
    data = reply.body.get("data") if isinstance(reply.body, dict) else None
    if reply.status != 200 or not isinstance(data, list):
        return None, f"running instances not counted (HTTP {reply.status})"
    # The public address is `ip`; the API has no `ip_address` field.
    return [{"id": i.get("id"), "name": i.get("name"), "status": i.get("status"), "ip": i.get("ip")}
            for i in data if isinstance(i, dict) and i.get("status") in LAMBDA_RUNNING], ""


async def check_github(client: httpx.AsyncClient, token: str, base_url: str, *, timeout: float) -> CheckResult:
    """GET /user: the login, the token kind, its scopes (classic/OAuth) and its expiry."""
    name, url_env = "GITHUB_TOKEN", env_var("github")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28"}
    reply = await get(client, f"{base_url}/user", headers=headers, timeout=timeout)
    if reply.status == 403 and reply.headers.get("x-ratelimit-remaining") == "0":
        # GitHub signals an exhausted rate limit with 403, not only 429: not a verdict on the token.
        return rate_limited(name, reply, _github_reset_in(reply))
    if reply.status != 200:
        return not_ok(name, reply, create_url=get_spec(name).url, url_env=url_env)
    login = reply.body.get("login") if isinstance(reply.body, dict) else None
    if not isinstance(login, str):
        return unexpected_body(name, reply, url_env=url_env)

    kind = github_token.token_kind(token)
    scopes = github_token.parse_scopes(reply.headers.get("x-oauth-scopes"))
    expires = reply.headers.get("github-authentication-token-expiration")
    extra: dict[str, Any] = {"login": login, "token_kind": kind, "scopes": scopes, "expires_at": expires}
    if scopes is None:
        scope_text = "scopes cannot be listed (this kind of token does not report them)"
        recommendation = ("GitHub does not report a fine-grained token's permissions: make sure it has, "
                          "on the repositories it manages, " + ", ".join(github_token.FINE_GRAINED_PERMISSIONS) + ".")
    else:
        missing = github_token.missing_scopes(scopes)
        extra["missing_scopes"] = missing
        scope_text = "scopes: " + (", ".join(scopes) or "(none)")
        recommendation = github_token.scope_advice(scopes, missing)
    detail = f"login {login}, {kind} token, {scope_text}" + (f", expires {expires}" if expires else "")
    return CheckResult(name, "valid", reply.latency_ms, reply.status, detail=detail,
                       recommendation=recommendation, extra=extra)


def _github_reset_in(reply: Reply) -> int | None:
    reset = reply.headers.get("x-ratelimit-reset", "")
    if not reset.isdigit():
        return None
    return max(0, int(reset) - int(datetime.now(UTC).timestamp()))


async def check_vercel(client: httpx.AsyncClient, token: str, base_url: str, *, timeout: float) -> CheckResult:
    """GET /v2/user: the account the token acts as."""
    name, url_env = "VERCEL_TOKEN", env_var("vercel")
    reply = await get(client, f"{base_url}/v2/user", headers=_bearer(token), timeout=timeout)
    if reply.status != 200:
        return not_ok(name, reply, create_url=get_spec(name).url, url_env=url_env)
    user = reply.body.get("user") if isinstance(reply.body, dict) else None
    if not isinstance(user, dict) or not isinstance(user.get("username"), str):
        return unexpected_body(name, reply, url_env=url_env)
    shown = user["username"] + (f" ({user['name']})" if isinstance(user.get("name"), str) else "")
    return CheckResult(name, "valid", reply.latency_ms, reply.status, detail=f"user {shown}",
                       extra={"username": user["username"], "display_name": user.get("name")})


async def _list_models(name: str, url_field: str, client: httpx.AsyncClient, url: str,
                       headers: dict[str, str], timeout: float, what: str) -> CheckResult:
    url_env = env_var(url_field)
    reply = await get(client, url, headers=headers, timeout=timeout)
    if reply.status != 200:
        return not_ok(name, reply, create_url=get_spec(name).url, url_env=url_env)
    models = reply.body.get("data") if isinstance(reply.body, dict) else None
    if not isinstance(models, list):
        return unexpected_body(name, reply, url_env=url_env)
    return CheckResult(name, "valid", reply.latency_ms, reply.status, detail=f"{len(models)} {what}",
                       extra={"models": len(models)})


async def check_openai(client: httpx.AsyncClient, key: str, base_url: str, *, timeout: float) -> CheckResult:
    """GET /v1/models: free, and needs a working key."""
    return await _list_models("OPENAI_API_KEY", "openai", client, f"{base_url}/v1/models",
                              _bearer(key), timeout, "models visible")


async def check_portkey(client: httpx.AsyncClient, key: str, base_url: str, *, timeout: float) -> CheckResult:
    """GET /v1/models with only x-portkey-api-key: without a provider header Portkey answers from
    the workspace's Model Catalog itself, so no upstream provider is called and nothing is billed."""
    return await _list_models("PORTKEY_API_KEY", "portkey", client, f"{base_url}/v1/models",
                              {"x-portkey-api-key": key, "Accept": "application/json"}, timeout,
                              "models in the workspace's Model Catalog")

