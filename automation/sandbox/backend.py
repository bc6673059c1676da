"""The backend the sandbox's Lambda instance "serves", and the local stack's frontend page.

GET /health answers 200 {"status": "ok"} only while the Lambda emulator has an
active instance, 503 otherwise, so the health check sees a deployment come up and
go away as it would on Lambda Cloud. The emulator's state file is read on every
request: the two processes share nothing else.

    python -m automation.sandbox.backend --port P --lambda-state FILE
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from automation.sandbox.lambda_api import instance_status

PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>Orchestra (sandbox)</title></head>
<body><h1>Orchestra</h1><p>Local sandbox frontend. Backend health: <a href="/health">/health</a>.</p></body></html>
"""


def active_instances(state_file: Path) -> list[str]:
    """Ids of the emulator's active instances; a missing or half-written file means none."""
    try:
        records = json.loads(state_file.read_text()).get("instances", {}).values()
    except (FileNotFoundError, ValueError, AttributeError):
        return []
    now = time.time()
    return [str(r.get("id")) for r in records if isinstance(r, dict) and instance_status(r, now) == "active"]


class SandboxBackend:
    """`SandboxBackend(state_file).start()` → base URL; `.stop()`."""

    def __init__(self, lambda_state: Path, *, host: str = "127.0.0.1", port: int = 0):
        self.lambda_state = lambda_state
        self._httpd = ThreadingHTTPServer((host, port), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.05)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                if path == "/health":
                    active = active_instances(backend.lambda_state)
                    body = {"status": "ok", "instances": active} if active else \
                        {"status": "unavailable", "detail": "no active Lambda instance in the sandbox"}
                    self._send(200 if active else 503, json.dumps(body).encode(), "application/json")
                elif path == "/":
                    self._send(200, PAGE, "text/html; charset=utf-8")
                else:
                    self._send(404, b'{"status": "not found"}', "application/json")

            def _send(self, status: int, payload: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, fmt: str, *args: object) -> None:
                pass   # health polling would flood the log

        return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m automation.sandbox.backend", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lambda-state", type=Path, required=True, help="the Lambda emulator's state file")
    args = parser.parse_args(argv)
    backend = SandboxBackend(args.lambda_state, port=args.port)
    print(backend.url, flush=True)
    try:
        backend.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
