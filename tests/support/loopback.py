"""The one loopback test-server helper: a threaded http.server answering scripted routes.

Each scenario builds a `FakeApi` with the routes it needs; the server records
every request it saw (method, path, headers, body), so a test can assert what
was sent, and that nothing was.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeApi", "Route", "Seen", "free_port", "refused_url"]


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
    body: bytes = b""


class FakeApi:
    """`with FakeApi({"/user": Route(...)}) as api:` then point a client at `api.url`.

    Routes are keyed by path (any method) or by "METHOD /path" (that method only).
    """

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

    def __enter__(self) -> FakeApi:
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

            def _answer(self) -> None:
                path = self.path.split("?", 1)[0]
                length = int(self.headers.get("Content-Length") or 0)
                sent = self.rfile.read(length) if length else b""
                api.seen.append(Seen(self.command, path, {k.lower(): v for k, v in self.headers.items()}, sent))
                route = api.routes.get(f"{self.command} {path}") or api.routes.get(path) \
                    or Route(404, {"error": {"code": "not-found"}})
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

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refused_url() -> str:
    """A loopback URL on which nothing listens (the port was just free)."""
    return f"http://127.0.0.1:{free_port()}"
