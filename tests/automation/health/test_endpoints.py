"""The deployment's own endpoints, backend /health and the frontend URL, as the driver checks them
(moved here from secrets_bridge's key verification, which checks keys only)."""

from __future__ import annotations

from automation.health import check_health
from tests.support.loopback import FakeApi, Route, refused_url

ONE_ROUND = {"lambda_api_key": None, "lambda_api_url": None, "deadline_s": 0, "request_timeout_s": 5}


def test_healthy_backend_and_redirecting_frontend_are_up():
    with FakeApi({"/health": Route(200, {"status": "ok"})}) as backend, \
            FakeApi({"/": Route(308, "", headers={"Location": "https://example.test/"})}) as frontend:
        report = check_health({"backend_url": backend.url + "/", "frontend_url": frontend.url + "/"}, **ONE_ROUND)
    assert [(t.name, t.ok, t.http_status) for t in report.targets] == [("backend", True, 200), ("frontend", True, 308)]
    assert report.healthy
    assert backend.seen[0].path == "/health"
    assert "authorization" not in {name.lower() for name in backend.seen[0].headers}


def test_unhealthy_backend_and_missing_frontend_are_not_ok():
    with FakeApi({"/health": Route(503, {"status": "starting"})}) as backend, FakeApi({}) as frontend:
        report = check_health({"backend_url": backend.url, "frontend_url": frontend.url}, **ONE_ROUND)
    assert [(t.ok, t.http_status) for t in report.targets] == [(False, 503), (False, 404)]
    assert all(t.detail for t in report.targets)
    assert not report.healthy


def test_unreachable_backend_is_not_ok():
    [target] = check_health({"backend_url": refused_url()}, **ONE_ROUND).targets
    assert (target.ok, target.status) == (False, "unreachable")
    assert "connection failed" in target.detail
