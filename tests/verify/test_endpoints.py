"""The deployment's own endpoints: backend /health and the frontend URL."""

from __future__ import annotations

from secrets_bridge.verify import verify_all_sync

from .servers import FakeApi, Route, refused_url


def test_healthy_backend_and_redirecting_frontend_are_up():
    with FakeApi({"/health": Route(200, {"status": "ok"})}) as backend, \
            FakeApi({"/": Route(308, "", headers={"Location": "https://example.test/"})}) as frontend:
        results = verify_all_sync({}, backend_url=backend.url + "/", frontend_url=frontend.url + "/", timeout=5)
    assert [(r.name, r.verdict, r.http_status) for r in results] == [("backend", "valid", 200), ("frontend", "valid", 308)]
    assert backend.seen[0].path == "/health"
    assert "authorization" not in backend.seen[0].headers


def test_unhealthy_backend_and_missing_frontend_are_unknown():
    with FakeApi({"/health": Route(503, {"status": "starting"})}) as backend, FakeApi({}) as frontend:
        results = verify_all_sync({}, backend_url=backend.url, frontend_url=frontend.url, timeout=5)
    assert [(r.verdict, r.http_status) for r in results] == [("unknown", 503), ("unknown", 404)]
    assert all(r.recommendation for r in results)


def test_unreachable_backend_is_unknown():
    [result] = verify_all_sync({}, backend_url=refused_url(), timeout=5)
    assert result.verdict == "unknown" and "could not connect" in result.detail
