"""`secrets_bridge`'s public front: every name in __all__ imports, and light modules stay light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import secrets_bridge


def test_every_public_name_resolves_to_its_home():
    for name in secrets_bridge.__all__:
        assert getattr(secrets_bridge, name) is not None
    from secrets_bridge.store import SecretStore
    assert secrets_bridge.SecretStore is SecretStore
    assert issubclass(secrets_bridge.WrongMasterKey, secrets_bridge.SecretsBridgeError)


def test_importing_masking_does_not_load_the_store_or_http():
    code = "import sys, secrets_bridge.masking; print(sorted(m for m in ('secrets_bridge.store', 'httpx') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "[]"
