"""The store tests see no real master key or store directory of the developer's."""

from __future__ import annotations

import pytest

_ORCHESTRA_VARS = (
    "ORCHESTRA_MASTER_KEY", "ORCHESTRA_MASTER_KEY_FILE", "ORCHESTRA_ENV",
    "ORCHESTRA_SECRETS_DIR", "ORCHESTRA_ALLOW_INSECURE_STORE",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No test sees the developer's real master key or store directory."""
    for var in _ORCHESTRA_VARS:
        monkeypatch.delenv(var, raising=False)
