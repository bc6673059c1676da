"""Run every check at once (asyncio.gather over one httpx.AsyncClient), each with its
own deadline, and turn transport failures into `unknown` in one place.

Missing and malformed values are decided here, before anything is sent: a value
that fails its format rule never leaves the machine.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial

import httpx

from ..catalog import get_spec
from . import checks
from .results import CheckResult
from .urls import ApiUrls

log = logging.getLogger(__name__)

KeyCheck = Callable[[httpx.AsyncClient, str], Awaitable[CheckResult]]


def _key_checks(urls: ApiUrls, timeout: float, lambda_pace_s: float) -> dict[str, KeyCheck]:
    def bind(fn, base_url: str, **kw) -> KeyCheck:
        return lambda client, value: fn(client, value, base_url, timeout=timeout, **kw)

    return {
        "LAMBDA_API_KEY": bind(checks.check_lambda, urls.lambda_cloud, pace_s=lambda_pace_s),
        "GITHUB_TOKEN": bind(checks.check_github, urls.github),
        "VERCEL_TOKEN": bind(checks.check_vercel, urls.vercel),
        "OPENAI_API_KEY": bind(checks.check_openai, urls.openai),
        "PORTKEY_API_KEY": bind(checks.check_portkey, urls.portkey),
    }


async def verify_all(values: Mapping[str, str | None], *, urls: ApiUrls | None = None, timeout: float = 10.0,
                     lambda_pace_s: float = 1.0) -> list[CheckResult]:
    """Check every key in `values` that has a live check (other names are skipped).
    Results come back in the order asked. The deployment's own endpoints are the
    driver's business (automation.health), not the key store's.

    `timeout` is each check's own deadline in seconds (its one retry included).
    `lambda_pace_s` spaces Lambda's two requests (the API allows about 1 request/s).
    """
    from ..formats import check_format  # the chain engineer's module; imported late so verify loads alone

    urls = urls or ApiUrls.from_env()
    key_checks = _key_checks(urls, timeout, lambda_pace_s)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        jobs: list[Awaitable[CheckResult]] = []
        for name, value in values.items():
            check = key_checks.get(name)
            if check is None:
                continue
            if not value:
                jobs.append(_decided(_missing(name)))
                continue
            fmt = check_format(name, value)
            if fmt.status == "error" or not _header_safe(value):
                detail = fmt.message if fmt.status == "error" else "contains characters an HTTP header cannot carry"
                jobs.append(_decided(CheckResult(name, "malformed", detail=detail,
                                                 recommendation=f"Fix the value or create a new key at {get_spec(name).url}.")))
                continue
            note = fmt.message if fmt.status == "warn" else ""
            jobs.append(_guarded(name, partial(check, client, value), timeout, note))
        results = list(await asyncio.gather(*jobs))
    for r in results:
        log.info("verify %s: %s (HTTP %s, %s ms)", r.name, r.verdict, r.http_status, r.latency_ms)
    return results


def verify_all_sync(values: Mapping[str, str | None], **kwargs) -> list[CheckResult]:
    """`verify_all` for callers without an event loop (the CLIs, the automation preflight)."""
    return asyncio.run(verify_all(values, **kwargs))


def _header_safe(value: str) -> bool:
    # Some format rules are loose (Portkey publishes none); a value httpx cannot put in a
    # header would fail the whole batch, so it is refused here like a format error.
    return value.isascii() and value.isprintable()


def _missing(name: str) -> CheckResult:
    return CheckResult(name, "missing", detail="set nowhere in the chain",
                       recommendation=f"Create a key at {get_spec(name).url}, then "
                                      f"`python -m secrets_bridge set {name}`.")


async def _decided(result: CheckResult) -> CheckResult:
    return result


async def _guarded(name: str, run: Callable[[], Awaitable[CheckResult]], timeout: float,
                   format_note: str = "") -> CheckResult:
    started = time.perf_counter()

    def unknown(detail: str, recommendation: str) -> CheckResult:
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        return CheckResult(name, "unknown", elapsed, detail=detail, recommendation=recommendation)

    try:
        result = await run()
    except (TimeoutError, httpx.TimeoutException):
        return unknown(f"no answer within {timeout:g} s",
                       "Retry later; raise --timeout if the network is slow.")
    except httpx.ConnectError as exc:
        return unknown(f"could not connect, after one retry ({exc})",
                       "Network problem: check connectivity or the API URL, then retry.")
    except httpx.HTTPError as exc:
        return unknown(f"network error ({type(exc).__name__})", "Network problem: retry later.")
    if format_note:
        result = dataclasses.replace(result, detail=f"{result.detail}; format: {format_note}")
    return result
