"""check_health and watch against real loopback HTTP servers (a scripted Lambda API, backend, frontend)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from automation.health import changes, check_health, render, watch

KEY = "secret_canaryhealth01.Zq8Wm2Xr7Tp4Lk9Hs3Vb6Nc1Df5Gj0Ya"
FAST = {"interval_s": 0.01, "max_interval_s": 0.02, "request_timeout_s": 2.0}


class Scripted:
    """A loopback server: each path answers from its script, one entry per request, the last repeating.

    An entry is (status, json-or-text body, headers). `seen` records (path, Authorization header).
    """

    def __init__(self, scripts: dict[str, list[tuple[int, object, dict[str, str]]]]):
        self.scripts = {path: list(entries) for path, entries in scripts.items()}
        self.seen: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.seen.append((self.path, self.headers.get("Authorization")))
                script = server.scripts.get(self.path) or [(404, {"error": {"code": "global/not-found", "message": "no"}}, {})]
                status, body, headers = script.pop(0) if len(script) > 1 else script[0]
                payload = json.dumps(body).encode() if isinstance(body, dict) else str(body).encode()
                self.send_response(status)
                for name, value in {"Content-Length": str(len(payload)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> Scripted:
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def instance(status: str) -> tuple[int, object, dict]:
    return 200, {"data": {"id": "i-1", "name": "backend", "ip": "127.0.0.1", "status": status}}, {}


OK = (200, {"status": "ok"}, {})
DOWN = (503, {"status": "unavailable"}, {})


@contextmanager
def stack(instance_script, backend_script, frontend_script=((200, "<html>hi</html>", {}),)) -> Iterator[tuple[Scripted, dict]]:
    with Scripted({"/api/v1/instances/i-1": list(instance_script)}) as api, \
            Scripted({"/health": list(backend_script)}) as backend, Scripted({"/": list(frontend_script)}) as frontend:
        outputs = {"instance_id": "i-1", "backend_url": backend.url, "frontend_url": frontend.url + "/"}
        yield api, outputs


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_all_targets_healthy_and_key_sent_only_as_bearer():
    with stack([instance("active")], [OK]) as (api, outputs):
        report = check_health(outputs, lambda_api_key=KEY, lambda_api_url=api.url, deadline_s=5, **FAST)
    assert report.healthy and report.ok
    assert [(t.name, t.ok, t.status, t.attempts) for t in report.targets] == [
        ("instance", True, "active", 1), ("backend", True, "200", 1), ("frontend", True, "200", 1)]
    assert api.seen == [("/api/v1/instances/i-1", f"Bearer {KEY}")]
    assert KEY not in render(report) and KEY not in repr(report)
    assert "✅" in render(report) and "❌" not in render(report)


def test_backend_503_until_it_recovers_within_the_deadline():
    with stack([instance("booting"), instance("booting"), instance("active")], [DOWN, DOWN, DOWN, OK]) as (api, outputs):
        report = check_health(outputs, lambda_api_key=KEY, lambda_api_url=api.url, deadline_s=30, **FAST)
    by_name = {t.name: t for t in report.targets}
    assert report.healthy
    assert by_name["instance"].attempts == 3
    assert by_name["backend"].attempts == 4 and by_name["backend"].http_status == 200
    assert by_name["frontend"].attempts == 1       # a passing target is not asked again


def test_backend_that_never_recovers_is_unhealthy_with_detail():
    with stack([instance("active")], [DOWN]) as (api, outputs):
        report = check_health(outputs, lambda_api_key=KEY, lambda_api_url=api.url, deadline_s=0.2, **FAST)
    backend = next(t for t in report.targets if t.name == "backend")
    assert not report.healthy and not backend.ok
    assert backend.status == "503" and "expected 200" in backend.detail and backend.attempts >= 2
    assert "backend 503" in report.summary
    assert "❌" in render(report)


def test_terminated_instance_fails_without_waiting_for_the_deadline():
    with stack([instance("terminated")], [DOWN]) as (api, outputs):
        report = check_health({"instance_id": "i-1"}, lambda_api_key=KEY, lambda_api_url=api.url, deadline_s=60, **FAST)
    (target,) = report.targets
    assert not target.ok and target.status == "terminated" and target.attempts == 1
    assert "will not become active" in target.detail


def test_a_terminated_instance_stops_the_whole_check_with_the_refresh_advice():
    # The backend lives on the instance: polling it for the deadline (minutes) could never help.
    with stack([instance("terminated")], [DOWN]) as (api, outputs):
        report = check_health(outputs, lambda_api_key=KEY, lambda_api_url=api.url, deadline_s=300, **FAST)
    by_name = {t.name: t for t in report.targets}
    assert by_name["instance"].attempts == 1 and by_name["backend"].attempts == 1
    assert "`up --refresh` recreates it" in by_name["instance"].detail and not report.healthy


def test_a_vanished_instance_is_gone_not_retried():
    missing = (404, {"error": {"code": "global/object-does-not-exist", "message": "no such instance"}}, {})
    with stack([missing], [DOWN]) as (api, outputs):
        report = check_health(outputs, lambda_api_key=KEY, lambda_api_url=api.url, deadline_s=300, **FAST)
    target = report.targets[0]
    assert target.status == "gone" and target.attempts == 1 and "`up --refresh`" in target.detail


def test_watch_hands_every_round_to_on_round():
    with stack([instance("active")], [OK]) as (api, outputs):
        rounds = []
        watch(outputs, lambda_api_key=KEY, lambda_api_url=api.url, every_s=0.01, on_change=lambda *_: None,
              iterations=3, on_round=rounds.append)
    assert len(rounds) == 3 and all(r.healthy for r in rounds)


def test_instance_still_booting_at_the_deadline():
    with stack([instance("booting")], [OK]) as (api, outputs):
        report = check_health(outputs, lambda_api_key=KEY, lambda_api_url=api.url, deadline_s=0.2, **FAST)
    target = report.targets[0]
    assert not report.healthy and target.status == "booting" and "waiting for active" in target.detail


def test_rejected_key_reports_the_api_error_code_and_stops_polling():
    error = (401, {"error": {"code": "global/invalid-api-key", "message": f"bad key {KEY}", "suggestion": "s"}}, {})
    with stack([error], [OK]) as (api, outputs):
        report = check_health(outputs, lambda_api_key=KEY, lambda_api_url=api.url, deadline_s=60, **FAST)
    target = report.targets[0]
    assert not target.ok and target.http_status == 401 and target.attempts == 1
    assert "global/invalid-api-key" in target.detail
    assert KEY not in target.detail and KEY not in render(report)   # even when the API echoes it


def test_no_key_means_the_instance_cannot_be_checked():
    with stack([instance("active")], [OK]) as (api, outputs):
        report = check_health(outputs, lambda_api_key=None, lambda_api_url=api.url, deadline_s=5, **FAST)
    assert api.seen == []
    assert not report.targets[0].ok and "no Lambda API key" in report.targets[0].detail


def test_frontend_redirect_counts_as_up_and_is_not_followed():
    redirect = (308, "", {"Location": "https://elsewhere.invalid/"})
    with stack([instance("active")], [OK], [redirect]) as (api, outputs):
        report = check_health(outputs, lambda_api_key=KEY, lambda_api_url=api.url, deadline_s=5, **FAST)
    frontend = report.targets[2]
    assert report.healthy and frontend.status == "308"


def test_frontend_404_is_down():
    with stack([instance("active")], [OK], [(404, "nope", {})]) as (api, outputs):
        report = check_health(outputs, lambda_api_key=KEY, lambda_api_url=api.url, deadline_s=0.1, **FAST)
    assert not report.targets[2].ok and report.targets[2].detail == "expected 2xx or 3xx"


def test_connection_refused_is_unreachable():
    url = refused_url()
    report = check_health({"backend_url": url}, lambda_api_key=None, lambda_api_url=url, deadline_s=0.1, **FAST)
    (target,) = report.targets
    assert not target.ok and target.status == "unreachable" and target.http_status is None
    assert "connection failed" in target.detail


def test_missing_outputs_are_not_checked():
    report = check_health({"backend_url": None, "frontend_url": ""}, lambda_api_key=None, lambda_api_url=None,
                          deadline_s=0)
    assert report.targets == ()
    # Nothing to check means nothing is deployed (never deployed, or destroyed): not healthy.
    assert not report.healthy and "nothing deployed" in report.summary
    assert "no targets" in render(report)


def test_watch_reports_only_changes():
    with stack([instance("active")], [DOWN, OK, OK, DOWN]) as (api, outputs):
        heard: list[list[str]] = []
        last = watch(outputs, lambda_api_key=KEY, lambda_api_url=api.url, every_s=0.01,
                     on_change=lambda report, moved: heard.append(moved), iterations=4)
    assert heard[0] == ["instance: new → ✅ active", "backend: new → ❌ 503", "frontend: new → ✅ 200"]
    assert heard[1:] == [["backend: ❌ 503 → ✅ 200"], ["backend: ✅ 200 → ❌ 503"]]
    assert not last.healthy
    assert changes(last, last) == []
    assert all(KEY not in line for moved in heard for line in moved)
