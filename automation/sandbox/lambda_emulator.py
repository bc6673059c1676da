"""A local Lambda Cloud API on a loopback port: the HTTP server around lambda_api.Emulator.

Real HTTP on 127.0.0.1 with the API's envelopes, auth schemes (Bearer; Basic with the key as user
name, base64 or raw), error codes and statuses. The test hooks under /_emulator/ live in
emulator_hooks.py. 429 replies carry Retry-After in seconds, fractional when under one second so
tests stay fast. An injected reply fault (Config.reply_faults) is applied after the request was
carried out: answered 500, answered late, or the connection dropped without an answer.

CLI: python -m automation.sandbox.lambda_emulator --port P --state FILE [--boot-seconds S]
     [--api-key K ...]; keys also from ORCHESTRA_SANDBOX_LAMBDA_KEYS (comma-separated) and the
     state file's "api_keys". Prints its base URL on one line when ready.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from automation.sandbox import emulator_hooks as hooks
from automation.sandbox.lambda_api import Config, Emulator
from automation.sandbox.lambda_rules import ApiError, internal_error, invalid

KEYS_ENV = "ORCHESTRA_SANDBOX_LAMBDA_KEYS"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exchange:
    """One API request and its reply, for an in-process observer (the contract tests)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes



class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("%s %s", self.address_string(), format % args)

    def _serve(self) -> None:
        emulator = self.server.emulator
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers: dict[str, str] = {}
        fault: dict[str, Any] | None = None
        if parts.path.startswith(hooks.PREFIX):
            try:
                status, payload = hooks.serve_hook(emulator, self.command, parts.path, json.loads(raw) if raw else {})
            except ValueError:
                status, payload = hooks.bad_json()
        else:
            try:
                key = emulator.authenticate(self.headers.get("Authorization"))
                emulator.admit(key, self.command, parts.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    raise invalid("The request body is not valid JSON.") from None
                status, payload = emulator.handle(self.command, parts.path, body)
                fault = emulator.reply_fault(self.command, parts.path)
            except ApiError as error:
                status, payload, headers = error.status, error.body(), error.headers
            if fault and fault.get("kind") == "error":
                failure = internal_error()  # carried out, yet answered as failed
                status, payload = failure.status, failure.body()
            hooks.note(emulator, self.command, parts.path, status if not fault or fault["kind"] == "error" else 0)
        if fault and fault["kind"] in ("drop", "slow"):
            time.sleep(float(fault.get("seconds") or 0))
            if fault["kind"] == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
        out = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(out)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up waiting (a slow-reply fault): nothing to answer
        if self.server.observer and not parts.path.startswith(hooks.PREFIX):
            self.server.observer(Exchange(self.command, parts.path, parts.query, dict(self.headers.items()),
                                          raw, status, {"Content-Type": "application/json", **headers}, out))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: Emulator
    observer: Callable[[Exchange], None] | None


class LambdaEmulator:
    """The emulator on a loopback port, in this process; `with LambdaEmulator(...) as url:` works too."""

    def __init__(self, state_file: str | os.PathLike[str], api_keys: Iterable[str], *,
                 boot_seconds: float = 2.0, host: str = "127.0.0.1", port: int = 0,
                 config: Config | None = None, observer: Callable[[Exchange], None] | None = None) -> None:
        self.config = config or Config()
        self.config.boot_seconds = boot_seconds
        self.emulator = Emulator(Path(state_file), api_keys, self.config)
        self._address = (host, port)
        self._observer = observer
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def start(self) -> str:
        server = _Server(self._address, _Handler)
        server.emulator, server.observer = self.emulator, self._observer
        self._server = server
        # A short poll makes stop() quick; the tests start and stop one emulator each.
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="lambda-emulator", daemon=True)
        self._thread.start()
        host, port = server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> LambdaEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m automation.sandbox.lambda_emulator",
                                     description="Local Lambda Cloud API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state", required=True, type=Path, help="JSON state file (created if missing)")
    parser.add_argument("--boot-seconds", type=float, default=2.0, help="booting -> active delay")
    parser.add_argument("--api-key", action="append", default=[], help="an accepted key (prefer the env var)")
    parser.add_argument("--ip", default="127.0.0.1", help="the ip launched instances report")
    parser.add_argument("--rate-limit", type=float, help="requests per second per key (default: unlimited)")
    args = parser.parse_args(argv)
    keys = [*args.api_key, *filter(None, (k.strip() for k in os.environ.get(KEYS_ENV, "").split(",")))]
    config = Config(ip=args.ip, rate_limit={"requests": args.rate_limit, "per_seconds": 1.0} if args.rate_limit else None)
    emulator = LambdaEmulator(args.state, keys, boot_seconds=args.boot_seconds, host=args.host,
                              port=args.port, config=config)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(emulator.start(), flush=True)
    stop.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
