"""One GET with a deadline and one retry on a failed connection, and the reading of
answers every API shares (error codes, Retry-After, the generic status rules).

Retry policy: only `httpx.ConnectError` is retried, once. Nothing reached the
server, so a second try is safe and cheap (a restarting proxy, a DNS blip).
A timeout is not retried: it has already spent the check's whole budget, and a
retry would double the worst-case wall time of the command.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .results import CheckResult

RETRY_DELAY_S = 0.2


@dataclass(frozen=True)
class Reply:
    status: int
    headers: httpx.Headers
    body: Any | None          # parsed JSON; None when the body is not JSON
    latency_ms: float
    url: str


async def get(client: httpx.AsyncClient, url: str, *, headers: dict[str, str], timeout: float) -> Reply:
    """GET `url`; the deadline covers both attempts. Raises TimeoutError or httpx errors."""
    started = time.perf_counter()
    async with asyncio.timeout(timeout):
        try:
            response = await client.get(url, headers=headers)
        except httpx.ConnectError:
            await asyncio.sleep(RETRY_DELAY_S)
            response = await client.get(url, headers=headers)
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    try:
        body = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        body = None
    return Reply(response.status_code, response.headers, body, latency_ms, str(response.url))


def error_code(body: Any) -> str | None:
    """`error.code` of the common envelope {"error": {"code": ...}} (Lambda, OpenAI, Vercel)."""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def retry_after_s(headers: httpx.Headers) -> int | None:
    """Retry-After as whole seconds, from either of its two forms (seconds or HTTP date)."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    if raw.strip().isdigit():
        return int(raw.strip())
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0, round((when - datetime.now(UTC)).total_seconds()))


def rate_limited(name: str, reply: Reply, wait_s: int | None) -> CheckResult:
    wait = f"retry after {wait_s} s" if wait_s is not None else "retry later"
    return CheckResult(name, "unknown", reply.latency_ms, reply.status, error_code(reply.body),
                       detail=f"rate limited (HTTP {reply.status})", recommendation=f"Rate limited: {wait}.",
                       extra={"retry_after_s": wait_s} if wait_s is not None else {})


def not_ok(name: str, reply: Reply, *, create_url: str, url_env: str) -> CheckResult:
    """The verdict for any answer other than the documented success."""
    code = error_code(reply.body)
    if reply.status in (401, 403):
        return CheckResult(name, "invalid", reply.latency_ms, reply.status, code,
                           detail=f"the API rejected the key (HTTP {reply.status}{', ' + code if code else ''})",
                           recommendation=f"Create a new key at {create_url} and store it.")
    if reply.status == 429:
        return rate_limited(name, reply, retry_after_s(reply.headers))
    if reply.status >= 500:
        return CheckResult(name, "unknown", reply.latency_ms, reply.status, code,
                           detail=f"the API is failing (HTTP {reply.status})",
                           recommendation="Server error at the API: retry later.")
    return CheckResult(name, "unknown", reply.latency_ms, reply.status, code,
                       detail=f"unexpected HTTP {reply.status} from {reply.url}",
                       recommendation=f"Retry later; if it persists, check that {url_env} points at the API.")


def unexpected_body(name: str, reply: Reply, *, url_env: str) -> CheckResult:
    """A 200 whose body is not what the API documents: the key's fate is open."""
    return CheckResult(name, "unknown", reply.latency_ms, reply.status,
                       detail="the API answered 200 with a body it does not document (not the expected JSON)",
                       recommendation=f"Retry later; if it persists, check that {url_env} points at the API.")
