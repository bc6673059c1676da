"""What the Lambda dynamic providers share: the client from the provider's environment, the
check and diff helpers, and the handling of values still unknown during a preview.

Pulumi pickles the provider objects into state (dill, recurse=True), so they hold nothing: no
key, no httpx client, no lock. Every method gets `api_key` and `api_url` from the resource's
properties and opens a short-lived LambdaClient. Client pacing and retries come from the provider
process's environment (it inherits the Pulumi CLI's):

    ORCHESTRA_LAMBDA_REQUEST_INTERVAL   seconds between requests (default 1; the API allows ~1/s)
    ORCHESTRA_LAMBDA_LAUNCH_INTERVAL    seconds between launches (default 12, the API's limit)
    ORCHESTRA_LAMBDA_MAX_ATTEMPTS       attempts per request on 429/5xx/provider errors (default 5)
    ORCHESTRA_LAMBDA_BACKOFF_SECONDS    first backoff when no Retry-After is given (default 1)
    ORCHESTRA_LAMBDA_TIMEOUT_SECONDS    per-request timeout (default 30)

A read that finds the object gone returns `ReadResult("", {})`: the Python dynamic provider host
sends that empty id to the engine, which then drops the resource from state on refresh.

A dynamic provider has no channel to the engine's log, but the engine shows each line a provider
writes on stderr as a diagnostic of the run (`pulumi preview` lists it; the driver shows lines
starting with `warning: ` as warnings): `warn` is how a provider tells the person something.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult, DiffResult
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from infra.lambda_cloud import InvalidInput, LambdaClient, Pacing, RetryPolicy

PROVIDER_KEY = "__provider"
PROVIDER_WARNING = "warning: "   # how `warn` marks a line; automation/events.py shows such lines as warnings
Problems = Callable[[Mapping[str, Any]], Iterator[tuple[str, str]]]
Same = Callable[[str, Any, Any], bool]


def client_from_env(props: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> LambdaClient:
    def number(name: str, default: float) -> float:
        raw = environ.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise InvalidInput(f"{name} must be a number of seconds, got {raw!r}") from None
        if value < 0:
            raise InvalidInput(f"{name} must not be negative, got {raw!r}")
        return value

    pacing = Pacing(number("ORCHESTRA_LAMBDA_REQUEST_INTERVAL", 1.0), number("ORCHESTRA_LAMBDA_LAUNCH_INTERVAL", 12.0))
    retry = RetryPolicy(max_attempts=max(1, int(number("ORCHESTRA_LAMBDA_MAX_ATTEMPTS", 5))),
                        base_delay=number("ORCHESTRA_LAMBDA_BACKOFF_SECONDS", 1.0))
    return LambdaClient(props["api_key"], props["api_url"], pace=pacing, retry=retry,
                        timeout=number("ORCHESTRA_LAMBDA_TIMEOUT_SECONDS", 30.0) or 30.0)


def warn(text: str) -> None:
    """One line for the person running the preview or update, through the engine (see above)."""
    print(f"{PROVIDER_WARNING}{text}", file=sys.stderr, flush=True)


def known(value: Any) -> bool:
    """False while any part of the value is still unknown (a preview of a computed input): the host
    passes a top-level unknown as the UNKNOWN string and one inside a list or map as an Unknown."""
    if isinstance(value, Unknown):
        return False
    if isinstance(value, str):
        return value != UNKNOWN
    if isinstance(value, Mapping):
        return all(known(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(known(v) for v in value)
    return True


def inputs_of(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


def _connection_problems(props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    key, url = props.get("api_key"), props.get("api_url")
    if known(key) and (not isinstance(key, str) or not key.strip()):
        yield "api_key", "api_key is required (the Lambda Cloud API key, as a secret)"
    if known(url) and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        yield "api_url", f"api_url must be an http(s) URL, got {url!r}"


def check_inputs(news: Mapping[str, Any], defaults: Mapping[str, Any], problems: Problems) -> CheckResult:
    inputs = {**defaults, **{k: v for k, v in news.items() if v is not None}}
    failures = [CheckFailure(prop, reason) for prop, reason in
                [*_connection_problems(inputs), *problems(inputs)]]
    return CheckResult(inputs, failures)


def _equal(_prop: str, old: Any, new: Any) -> bool:
    return bool(old == new)


def diff_inputs(olds: Mapping[str, Any], news: Mapping[str, Any], replace_on: tuple[str, ...],
                update_on: tuple[str, ...], *, same: Same = _equal, delete_before_replace: bool = False) -> DiffResult:
    changed = [p for p in (*replace_on, *update_on)
               if not known(news.get(p)) or not same(p, olds.get(p), news.get(p))]
    replaces = [p for p in changed if p in replace_on]
    return DiffResult(changes=bool(changed), replaces=replaces,
                      delete_before_replace=delete_before_replace and bool(replaces))
