"""Writing dotenv files that hold secrets: private from the first byte, atomic, and
touching only the assignments of the keys being written.

The system this replaces dropped every line that merely contained a key's name
(comments, `MY_GITHUB_TOKEN_BACKUP=`...). Here the file is split with
python-dotenv's own parser, so a line is replaced only when it assigns exactly
that key (`KEY=` or `export KEY=`, multi-line values included; `export` is
kept); every other byte is kept as it was.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from pathlib import Path
from typing import Mapping

from dotenv.parser import parse_stream

from secrets_bridge.errors import StoreUnreadable

_BARE = re.compile(r"[A-Za-z0-9_./:+=@-]*")


def format_assignment(name: str, value: str) -> str:
    """`NAME=value`, double-quoted (with escapes python-dotenv undoes) unless plainly safe."""
    if _BARE.fullmatch(value):
        return f"{name}={value}\n"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{escaped}"\n'


def render(values: Mapping[str, str]) -> str:
    return "".join(format_assignment(name, value) for name, value in values.items())


def merge_assignments(text: str, values: Mapping[str, str]) -> str:
    """`text` with each assignment of a key in `values` set to the new value (every occurrence,
    so no stale duplicate wins on reading), keys not yet assigned appended at the end."""
    out: list[str] = []
    seen: set[str] = set()
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string
        if binding.key in values:
            seen.add(binding.key)
            export = "export " if original.split(None, 1)[0] == "export" else ""
            out.append(export + format_assignment(binding.key, values[binding.key]))
        else:
            out.append(original)
    missing = {name: value for name, value in values.items() if name not in seen}
    if missing and out and not out[-1].endswith("\n"):
        out.append("\n")
    out.append(render(missing))
    return "".join(out)


def write_private(path: Path, text: str, *, overwrite: bool) -> None:
    """Write `text` to `path` with mode 0600 from creation, atomically (temp file, fsync, rename).
    Without `overwrite`, an existing file is never replaced: FileExistsError."""
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with open(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            if overwrite:
                os.replace(tmp, path)
            else:
                os.link(tmp, path)  # fails if the path exists, even if it appeared a moment ago
        finally:
            tmp.unlink(missing_ok=True)
    except FileExistsError:
        raise
    except OSError as exc:
        raise StoreUnreadable(f"cannot write {path}: {exc.strerror}; check the directory exists and is writable") from None
