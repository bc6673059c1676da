"""The project a command runs in: its root, and the extra keys it declares.

The root is the nearest directory, from the cwd upwards, holding Pulumi.yaml (the
cwd itself when there is none), so `set` in a subdirectory uses the same store and
.env files as the root instead of silently starting a second store there.
ORCHESTRA_SECRETS_DIR still decides where the store lives.

A project declares its own keys in `secrets-bridge.toml` at the root:

    [keys.ANTHROPIC_API_KEY]
    purpose = "Anthropic: the app's Claude calls"
    format = "sk-ant-[A-Za-z0-9_-]{20,}"      # optional; a value must fully match it
    url = "https://console.anthropic.com/settings/keys"   # optional
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

from secrets_bridge.catalog import CATALOG, KeySpec, custom_spec, is_env_name
from secrets_bridge.errors import InvalidValue

PROJECT_FILE = "Pulumi.yaml"
KEYS_FILE = "secrets-bridge.toml"


def project_root(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / PROJECT_FILE).is_file():
            return directory
    return here


def declared_keys(root: Path | None = None) -> tuple[KeySpec, ...]:
    """The keys `secrets-bridge.toml` declares (none without the file); InvalidValue, one line, if it is wrong."""
    path = (root or project_root()) / KEYS_FILE
    try:
        stat = path.stat()
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise InvalidValue(f"cannot read {path}: {exc.strerror}") from exc
    return _parse(path, stat.st_mtime_ns, stat.st_size)


@cache
def _parse(path: Path, _mtime_ns: int, _size: int) -> tuple[KeySpec, ...]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc).splitlines()[0]
        raise InvalidValue(f"{path}: {reason}") from None
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise InvalidValue(f"{path}: [keys] must be a table of [keys.NAME] tables")
    catalog_names = {name for spec in CATALOG for name in spec.env_names}
    specs = []
    for name, entry in keys.items():
        where = f"{path}: [keys.{name}]"
        if not is_env_name(name):
            raise InvalidValue(f"{path}: a [keys.NAME] table whose NAME is not an environment-variable name")
        if name in catalog_names:
            raise InvalidValue(f"{where} is a catalog key already; remove it from {KEYS_FILE}")
        if not isinstance(entry, dict) or not isinstance(entry.get("purpose"), str) or not entry["purpose"]:
            raise InvalidValue(f"{where} needs purpose = \"what the key is for\"")
        pattern = entry.get("format")
        if pattern is not None:
            try:
                re.compile(pattern)
            except (re.error, TypeError) as exc:
                raise InvalidValue(f"{where}: format is not a valid regular expression ({exc})") from None
        url = entry.get("url", "")
        specs.append(custom_spec(name, purpose=entry["purpose"], pattern=pattern,
                                 url=url if isinstance(url, str) else "", kind="declared"))
    return tuple(specs)
