"""Helpers for the secret store tests (real files in tmp_path, real processes).

Stores are created with the lowest scrypt cost the format accepts, passed explicitly, so the
suite stays fast; one test asserts that a default-created file carries the OWASP parameters.
"""

from __future__ import annotations

import json
from pathlib import Path

from secrets_bridge.store import SecretStore
from secrets_bridge.store_format import ScryptParams

FAST_KDF = ScryptParams(n=2**14)
MASTER = "master-canary-Qm9vYmFy-4b1d"
OTHER_MASTER = "other-master-canary-7e2f"
# Values nobody would type by accident: if one shows up in bytes or text, it leaked.
CANARY = "sk-proj-CANARY-d41d8cd98f00b204e9800998ecf8427e"
CANARY_2 = "ghp_CANARYxYzzy0123456789abcdefABCDEF0123"

def open_store(directory: Path, env: str = "production", master_key: str | None = MASTER, **kw) -> SecretStore:
    return SecretStore.open(env, master_key=master_key, directory=directory, kdf=FAST_KDF, **kw)


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2))
