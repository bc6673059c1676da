"""Canned API answers for the verification tests, served by tests.support.loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from secrets_bridge.verify import ApiUrls
from tests.support.loopback import FakeApi, Route, Seen, refused_url  # noqa: F401  (re-exported for the tests)

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
