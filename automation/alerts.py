"""Alert sinks for monitoring: a Slack-compatible webhook and a local command.

An `Alert` is built from a health report whose details are already scrubbed of the
Lambda key; `Alert.payload` runs every known secret value through `mask()` once more
before anything leaves the process, so a sink only ever sees masked values. A sink's
own failure (server down, 500, command exits 1) comes back as a `Delivery` with
ok=False: monitoring reports it and carries on, it never stops the watch.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from secrets_bridge.masking import mask

WEBHOOK_ATTEMPTS = 4
WEBHOOK_BACKOFF_S = 0.5          # doubles after each failed attempt
WEBHOOK_MAX_WAIT_S = 10.0        # cap on Retry-After and on the backoff
COMMAND_TIMEOUT_S = 30.0
_RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Alert:
    kind: str                       # unhealthy | recovered | key_rejected
    stack: str
    at: datetime
    healthy: bool
    summary: str
    changes: tuple[str, ...]
    targets: tuple[dict[str, Any], ...]   # name, target, ok, status (no credentials)
    runbook: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False, compare=False)   # values to mask, never sent

    def title(self) -> str:
        icon = {"recovered": "✅"}.get(self.kind, "❌")
        what = {"unhealthy": "is UNHEALTHY", "recovered": "is healthy again",
                "key_rejected": "has a rejected API key"}.get(self.kind, self.kind)
        return f"{icon} Orchestra stack {self.stack} {what}"

    def payload(self) -> dict[str, Any]:
        """Slack incoming webhooks read `text`; other fields are for machines and ignored by Slack."""
        lines = [f"*{self.title()}* ({self.at:%Y-%m-%d %H:%M:%S} UTC)", self.summary, *self.changes]
        if self.runbook:
            lines.append(f"Runbook: {self.runbook}")
        body = {"text": "\n".join(lines), "alert": {
            "kind": self.kind, "stack": self.stack, "at": self.at.isoformat(), "healthy": self.healthy,
            "summary": self.summary, "changes": list(self.changes), "targets": list(self.targets),
            "runbook": self.runbook}}
        return scrub_payload(body, self.secrets)


def scrub_payload(body: dict[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
    """Replace any secret value found anywhere in `body` by its mask (belt and braces)."""
    text = json.dumps(body, ensure_ascii=False)
    for secret in sorted((s for s in secrets if s and len(s) >= 8), key=len, reverse=True):
        text = text.replace(json.dumps(secret)[1:-1], mask(secret))
    scrubbed: dict[str, Any] = json.loads(text)
    return scrubbed


@dataclass(frozen=True)
class Delivery:
    sink: str                # "webhook https://hooks.slack.com/…" | "command notify-send"
    ok: bool
    attempts: int
    detail: str


class Sink(Protocol):
    name: str

    def send(self, alert: Alert) -> Delivery: ...


def webhook_label(url: str) -> str:
    """Scheme and host only: a Slack webhook's path is its credential."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…" if parts.path not in ("", "/") else f"{parts.scheme}://{host}{port}"


def check_webhook_url(url: str) -> str:
    """The URL, or ValueError with one actionable line."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--alert-webhook must be an http(s) URL, got {webhook_label(url) if parts.scheme else 'a bare word'}")
    return url


class WebhookSink:
    """POST the alert as JSON; network errors, 429 and 5xx are retried with exponential backoff."""

    def __init__(self, url: str, *, attempts: int = WEBHOOK_ATTEMPTS, backoff_s: float = WEBHOOK_BACKOFF_S,
                 timeout_s: float = 10.0, sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = check_webhook_url(url)
        self.name = f"webhook {webhook_label(url)}"
        self.attempts, self.backoff_s, self.timeout_s, self._sleep = attempts, backoff_s, timeout_s, sleep
        self._transport = transport

    def send(self, alert: Alert) -> Delivery:
        body = alert.payload()
        wait = self.backoff_s
        detail = ""
        with httpx.Client(timeout=self.timeout_s, follow_redirects=False, transport=self._transport) as client:
            for attempt in range(1, self.attempts + 1):
                retry_after: float | None = None
                try:
                    response = client.post(self.url, json=body)
                except httpx.HTTPError as exc:
                    detail = f"{type(exc).__name__}: no answer"   # the exception text may echo the URL
                else:
                    if response.status_code < 300:
                        return Delivery(self.name, True, attempt, f"HTTP {response.status_code}")
                    detail = f"HTTP {response.status_code}"
                    if response.status_code not in _RETRYABLE:
                        return Delivery(self.name, False, attempt, f"{detail}: the webhook refused the alert, not retried")
                    retry_after = _seconds(response.headers.get("Retry-After"))
                if attempt < self.attempts:
                    self._sleep(min(retry_after if retry_after is not None else wait, WEBHOOK_MAX_WAIT_S))
                    wait *= 2
        return Delivery(self.name, False, self.attempts, f"{detail} after {self.attempts} attempts")


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class CommandSink:
    """Run a command (no shell) with the alert JSON on stdin; its argv never holds a value."""

    def __init__(self, command: str, *, timeout_s: float = COMMAND_TIMEOUT_S) -> None:
        self.argv = shlex.split(command)
        if not self.argv:
            raise ValueError("--alert-command is empty: give a program, e.g. --alert-command 'logger -t orchestra'")
        self.name = f"command {self.argv[0]}"
        self.timeout_s = timeout_s

    def send(self, alert: Alert) -> Delivery:
        data = json.dumps(alert.payload(), ensure_ascii=False)
        try:
            proc = subprocess.run(self.argv, input=data, capture_output=True, text=True, timeout=self.timeout_s, check=False)
        except FileNotFoundError:
            return Delivery(self.name, False, 1, f"{self.argv[0]}: command not found")
        except subprocess.TimeoutExpired:
            return Delivery(self.name, False, 1, f"no exit within {self.timeout_s:g} s")
        if proc.returncode:
            last = (proc.stderr.strip().splitlines() or [""])[-1][:200]
            return Delivery(self.name, False, 1, f"exit {proc.returncode}" + (f": {mask_all(last, alert.secrets)}" if last else ""))
        return Delivery(self.name, True, 1, "exit 0")


def mask_all(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, mask(secret))
    return text


def build_sinks(webhooks: Sequence[str], commands: Sequence[str]) -> list[Sink]:
    sinks: list[Sink] = [WebhookSink(url) for url in webhooks]
    sinks += [CommandSink(cmd) for cmd in commands]
    return sinks


def deliver(alert: Alert, sinks: Iterable[Sink]) -> list[Delivery]:
    """Every sink gets the alert; one failing never stops the others."""
    results = []
    for sink in sinks:
        try:
            results.append(sink.send(alert))
        except Exception as exc:   # noqa: BLE001 - a sink's bug must not end the watch
            results.append(Delivery(sink.name, False, 1, f"{type(exc).__name__} in the sink"))
    return results
