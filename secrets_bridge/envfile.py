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
import re
from collections.abc import Mapping
from pathlib import Path

from dotenv.parser import parse_stream

from secrets_bridge.errors import InvalidValue, StoreUnreadable
from secrets_bridge.files import write_private

_BARE = re.compile(r"[A-Za-z0-9_./:+=@-]*")


def format_assignment(name: str, value: str) -> str:
    """`NAME=value` that python-dotenv and a POSIX shell (`. file`) both read back unchanged,
    and that never runs anything when sourced: bare when plainly safe, else single quotes,
    else (a value holding ' or \\) double quotes with only \\ and " escaped. A value that also
    holds $ or ` there has no such spelling: InvalidValue, naming the key, never the value."""
    if _BARE.fullmatch(value):
        return f"{name}={value}\n"
    if "'" not in value and "\\" not in value:
        return f"{name}='{value}'\n"
    if "$" in value or "`" in value:
        raise InvalidValue(f"the value of {name} holds a quote or backslash together with $ or `: no quoting "
                           "makes both a shell and dotenv read it back unchanged; nothing was written")
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
        if binding.key is not None and binding.key in values:
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


def write_env_file(path: Path, text: str, *, overwrite: bool) -> None:
    """files.write_private (0600 from creation, atomic); without `overwrite` an existing file
    is never replaced: FileExistsError. Other OS errors become one line."""
    try:
        write_private(path, text, overwrite=overwrite)
    except FileExistsError:
        raise
    except OSError as exc:
        raise StoreUnreadable(f"cannot write {path}: {exc.strerror}; check the directory exists and is writable") from exc
