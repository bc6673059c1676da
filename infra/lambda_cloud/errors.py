"""Errors of the Lambda Cloud client and dynamic providers, and the parsing of the API's error replies.

The API's error `code` picks the class (never its message, which Lambda may reword):

    LambdaError                      base: .code .message .suggestion .status
    ├── InvalidApiKey                global/invalid-api-key (401): key wrong, expired or deleted
    ├── AccountInactive              global/account-inactive (403): email unverified or no payment method
    ├── InvalidBillingAddress        global/invalid-address (403)
    ├── NotFound                     global/object-does-not-exist: instance, SSH key, type or file system
    ├── InvalidParameters            global/invalid-parameters (400): the request body was refused
    ├── FileSystemInWrongRegion      instance-operations/launch/file-system-in-wrong-region
    ├── InsufficientCapacity         instance-operations/launch/insufficient-capacity; .regions_with_capacity
    ├── QuotaExceeded                global/quota-exceeded
    ├── Duplicate                    global/duplicate
    ├── ResourceInUse                filesystems/filesystem-in-use, firewall-rulesets/firewall-ruleset-in-use
    ├── RateLimited                  HTTP 429 still returned after the last retry; .retry_after
    ├── ServerError                  global/internal-error or another 5xx after the last retry
    ├── ProviderError                provider/* (an upstream of Lambda failed) after the last retry
    ├── UnexpectedResponse           a reply that is not the API's JSON envelope (proxy page, bad JSON)
    │   └── LaunchReplyWithoutId     a launch answered 200 without an instance id
    ├── ApiUnavailable               network error or timeout after the last retry
    ├── InvalidInput                 a resource input refused before any request (names the input)
    └── InstanceNotActive            the instance did not reach `active` before the deadline
        └── InstanceUnhealthy        it stayed `unhealthy` past its grace period

No message ever carries the API key: the client never formats headers into text.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "AccountInactive", "ApiUnavailable", "Duplicate", "FileSystemInWrongRegion", "InstanceNotActive",
    "InstanceUnhealthy", "InsufficientCapacity", "InvalidApiKey", "InvalidBillingAddress", "InvalidInput", "InvalidParameters",
    "LambdaError", "LaunchReplyWithoutId", "NotFound", "ProviderError", "QuotaExceeded", "RateLimited",
    "ResourceInUse", "ServerError", "UnexpectedResponse", "error_class", "error_code", "error_fields",
    "error_from_reply", "retry_after",
]


class LambdaError(Exception):
    """Base of every error this package raises about Lambda Cloud."""

    def __init__(self, message: str, *, code: str | None = None, suggestion: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.suggestion = suggestion
        self.status = status

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"[{self.code}]")
        if self.suggestion:
            parts.append(f"({self.suggestion})")
        return " ".join(parts)


class InvalidApiKey(LambdaError):
    """The API refused the key (global/invalid-api-key)."""


class AccountInactive(LambdaError):
    """The account cannot use the API yet (global/account-inactive)."""


class InvalidBillingAddress(LambdaError):
    """Launch refused until the billing address is fixed (global/invalid-address)."""


class NotFound(LambdaError):
    """The named object does not exist (global/object-does-not-exist)."""


class InvalidParameters(LambdaError):
    """The API refused the request body (global/invalid-parameters)."""


class FileSystemInWrongRegion(LambdaError):
    """A file system to mount lives in another region than the instance."""


class InsufficientCapacity(LambdaError):
    """No capacity for the instance type in the region; `regions_with_capacity` says where there is."""

    def __init__(self, message: str, *, regions_with_capacity: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.regions_with_capacity = tuple(regions_with_capacity)


class QuotaExceeded(LambdaError):
    """The account's quota forbids the launch (global/quota-exceeded)."""


class Duplicate(LambdaError):
    """An object with that name already exists (global/duplicate)."""


class ResourceInUse(LambdaError):
    """The object is still attached to something (…/…-in-use)."""


class RateLimited(LambdaError):
    """HTTP 429 on every attempt; `retry_after` is the server's last hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(LambdaError):
    """Lambda's own failure (global/internal-error or a 5xx) on every attempt."""


class ProviderError(LambdaError):
    """An upstream of Lambda failed (code provider/*) on every attempt."""


class UnexpectedResponse(LambdaError):
    """The reply is not the API's JSON envelope."""


class LaunchReplyWithoutId(UnexpectedResponse):
    """A launch answered 200 but named no instance: whether one was launched is unknown."""


class ApiUnavailable(LambdaError):
    """The API could not be reached (connection refused, DNS, timeout) on every attempt."""


class InvalidInput(LambdaError):
    """A resource input is invalid; raised before any request is sent."""


class InstanceNotActive(LambdaError):
    """The launched instance did not become `active` in time; the message says what was done with it."""

    def __init__(self, message: str, *, instance_id: str, last_status: str | None, terminated: bool) -> None:
        super().__init__(message)
        self.instance_id = instance_id
        self.last_status = last_status
        self.terminated = terminated


class InstanceUnhealthy(InstanceNotActive):
    """The instance reported `unhealthy` for longer than its grace period."""


_BY_CODE: dict[str, type[LambdaError]] = {
    "global/invalid-api-key": InvalidApiKey,
    "global/account-inactive": AccountInactive,
    "global/invalid-address": InvalidBillingAddress,
    "global/object-does-not-exist": NotFound,
    "global/invalid-parameters": InvalidParameters,
    "global/quota-exceeded": QuotaExceeded,
    "global/duplicate": Duplicate,
    "global/internal-error": ServerError,
    "instance-operations/launch/insufficient-capacity": InsufficientCapacity,
    "instance-operations/launch/file-system-in-wrong-region": FileSystemInWrongRegion,
    "filesystems/filesystem-in-use": ResourceInUse,
    "firewall-rulesets/firewall-ruleset-in-use": ResourceInUse,
}


def error_class(code: str | None, status: int) -> type[LambdaError]:
    """The class for an error envelope's code; the HTTP status decides only for 429 and unknown codes."""
    if status == 429:  # the spec has no code for it, so the status is the signal
        return RateLimited
    if code in _BY_CODE:
        return _BY_CODE[code]
    if code and code.startswith("provider/"):
        return ProviderError
    if status == 401:
        return InvalidApiKey
    if status >= 500:
        return ServerError
    return LambdaError


def error_fields(body: Any) -> tuple[str | None, str | None, str | None]:
    """(code, message, suggestion) of an `{"error": {...}}` body; Nones when it is not one."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None, None

    def text(name: str) -> str | None:
        value = error.get(name)
        return value if isinstance(value, str) else None

    return text("code"), text("message"), text("suggestion")


def error_code(body: Any) -> str | None:
    """The `error.code` of a decoded reply body, the field callers branch on."""
    return error_fields(body)[0]


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds, from either of its forms (seconds or an HTTP date); None if absent or bad."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def error_from_reply(what: str, status: int, body: Any, headers: Mapping[str, str]) -> LambdaError:
    """The exception for an error reply (`body` decoded JSON, or None when it was not JSON)."""
    code, message, suggestion = error_fields(body)
    if code is None:
        message = f"HTTP {status} without an error envelope"
    cls = error_class(code, status)
    if cls is LambdaError and code is None:
        cls = UnexpectedResponse
    kwargs: dict[str, Any] = {"code": code, "suggestion": suggestion, "status": status}
    if cls is RateLimited:
        kwargs["retry_after"] = retry_after(headers)
    return cls(f"{what}: {message or 'no message'}", **kwargs)
