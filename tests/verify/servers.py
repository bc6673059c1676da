"""Loopback fake API servers: a threaded http.server answering scripted routes.

Each scenario builds a `FakeApi` with the routes it needs; the server records
every request it saw, so a test can assert that nothing was sent.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from secrets_bridge.verify import ApiUrls


@dataclass
class Route:
    status: int = 200
    body: Any = None                       # dict/list -> JSON; str/bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0                    # before answering (the slow-server case)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class FakeApi:
    """`with FakeApi({"/user": Route(...)}) as api:` then point a client at `api.url`."""

    def __init__(self, routes: dict[str, Route]):
        self.routes = routes
        self.seen: list[Seen] = []
        self._release = threading.Event()   # set on stop: delayed handlers answer at once
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeApi":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                api.seen.append(Seen("GET", path, {k.lower(): v for k, v in self.headers.items()}))
                route = api.routes.get(path, Route(404, {"error": {"code": "not-found"}}))
                if route.delay_s:
                    api._release.wait(route.delay_s)
                body = route.body
                if isinstance(body, (dict, list)):
                    payload, ctype = json.dumps(body).encode(), "application/json"
                else:
                    payload = body.encode() if isinstance(body, str) else (body or b"")
                    ctype = "text/html"
                try:
                    self.send_response(route.status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in route.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): nothing to answer

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def refused_url() -> str:
    """A loopback URL on which nothing listens (the port was just free)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- canned answers, shaped as each API documents them --------------------------------

LAMBDA_TYPES = {"data": {"gpu_1x_a10": {
    "instance_type": {"name": "gpu_1x_a10", "description": "1x A10 (24 GB PCIe)", "gpu_description": "A10 (24 GB PCIe)",
                      "price_cents_per_hour": 75, "specs": {"vcpus": 30, "memory_gib": 200, "storage_gib": 1400, "gpus": 1}},
    "regions_with_capacity_available": [{"name": "us-east-1", "description": "Virginia, USA"}]}}}
LAMBDA_INSTANCES = {"data": [
    {"id": "i-active", "name": "backend", "ip": "198.51.100.2", "status": "active"},
    {"id": "i-boot", "name": "spare", "ip": "198.51.100.3", "status": "booting"},
    {"id": "i-gone", "name": "old", "ip": "198.51.100.4", "status": "terminated"},
]}


def lambda_error(code: str) -> dict:
    return {"error": {"code": code, "message": "m", "suggestion": "s"}}


# name -> (path of the request that decides the verdict, routes of a healthy API)
VALID_ROUTES: dict[str, tuple[str, dict[str, Route]]] = {
    "LAMBDA_API_KEY": ("/api/v1/instance-types", {
        "/api/v1/instance-types": Route(body=LAMBDA_TYPES), "/api/v1/instances": Route(body=LAMBDA_INSTANCES)}),
    "GITHUB_TOKEN": ("/user", {"/user": Route(body={"login": "octocat", "id": 1},
                                              headers={"X-OAuth-Scopes": "repo, workflow"})}),
    "VERCEL_TOKEN": ("/v2/user", {"/v2/user": Route(body={"user": {"id": "u1", "username": "orchestra", "name": "Orchestra Ops"}})}),
    "OPENAI_API_KEY": ("/v1/models", {"/v1/models": Route(body={"object": "list", "data": [{"id": "gpt-4o", "object": "model"}]})}),
    "PORTKEY_API_KEY": ("/v1/models", {"/v1/models": Route(body={"object": "list", "data": [{"id": "@openai-prod/gpt-4o"}]})}),
}

URL_FIELD = {"LAMBDA_API_KEY": "lambda_cloud", "GITHUB_TOKEN": "github", "VERCEL_TOKEN": "vercel",
             "OPENAI_API_KEY": "openai", "PORTKEY_API_KEY": "portkey"}

# Canary values: well-formed, distinctive, asserted never to appear in any output.
CANARY: dict[str, str] = {
    "LAMBDA_API_KEY": "secret_canary-lambda_5f2b9c0d1e8a4b7c9d3e6f1a2b4c8d0e.7a1c3e5f9b2d4f6a8c0e1b3d5f7a9c2e",
    "GITHUB_TOKEN": "ghp_CanaryGithub0123456789abcdefghijKLMN",
    "VERCEL_TOKEN": "CanaryVercel0123456789ab",
    "OPENAI_API_KEY": "sk-proj-CanaryOpenai0123456789abcdefT3BlbkFJghijklmnopqrstuvwxyzABCDEFGH",
    "PORTKEY_API_KEY": "CanaryPortkey0123456789abcdefgh",
}


@contextmanager
def fake_apis(routes: dict[str, dict[str, Route]] | None = None) -> Iterator[tuple[dict[str, FakeApi], ApiUrls]]:
    """One running fake API per key (healthy unless `routes` overrides it), and ApiUrls at them."""
    chosen = {name: (routes or {}).get(name, default) for name, (_, default) in VALID_ROUTES.items()}
    with ExitStack() as stack:
        servers = {name: stack.enter_context(FakeApi(r)) for name, r in chosen.items()}
        yield servers, ApiUrls(**{URL_FIELD[name]: api.url for name, api in servers.items()})
