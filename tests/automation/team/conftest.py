"""Session services for the team tests: PostgreSQL, moto (S3 + KMS), OpenBao; each started once, stopped at the end.

A service that cannot start fails the tests that need it with the exact reason
(tests/support/services.py says what is missing and how to install it); none skips.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from automation.engine import Engine, ensure_engine
from tests.support import services

T = TypeVar("T")


def _serve(start: Callable[[], T]) -> Iterator[T]:
    try:
        server = start()
    except services.ServiceUnavailable as exc:
        pytest.fail(f"test service unavailable: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def engine() -> Engine:
    return ensure_engine(log=lambda msg: print(msg, file=sys.stderr))


@pytest.fixture(scope="session")
def postgres() -> Iterator[services.Postgres]:
    yield from _serve(services.start_postgres)


@pytest.fixture(scope="session")
def moto() -> Iterator[services.MotoServer]:
    yield from _serve(services.start_moto)


@pytest.fixture(scope="session")
def openbao() -> Iterator[services.OpenBao]:
    yield from _serve(services.start_openbao)


@pytest.fixture
def canaries() -> dict[str, str]:
    """Keys planted in each operator's store; none may ever appear in plaintext in state, files or argv."""
    return {
        "LAMBDA_API_KEY": "secret_canary0team.CANARYteamlambdaNEVERshown012345678",
        "OPENAI_API_KEY": "sk-proj-CANARYteamopenaiNEVERshownT3BlbkFJabcdefghij012345",
        "PORTKEY_API_KEY": "CANARYteamportkeyNEVERshown0123456789",
    }
