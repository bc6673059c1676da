"""`import-env` and `export-env`: .env files in and out of the store.

Import takes every assignment of a valid name (catalog aliases map to their
canonical name), says which lines it skipped and why, and refuses, storing
nothing, when two lines give one key different values. Export writes a file that
a shell can source without running anything (see envfile.format_assignment).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated

import typer
from dotenv.parser import parse_stream

from secrets_bridge.catalog import PULUMI_PASSPHRASE_NAME, name_problem
from secrets_bridge.envfile import render, write_env_file
from secrets_bridge.errors import InvalidValue, KeyNotFound
from secrets_bridge.formats import check_format

from .common import EnvOpt, app, manager


def _read_assignments(file: Path) -> tuple[list[tuple[int, str, str]], list[str]]:
    """(line, name, value) of each usable assignment, and one line per skipped one."""
    try:
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValue(f"{file} is not UTF-8 text; nothing was stored") from None
    except OSError as exc:
        raise InvalidValue(f"cannot read {file}: {exc.strerror}; nothing was stored") from exc
    found, skipped = [], []
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            skipped.append(f"line {line}: not a NAME=value assignment")
        elif binding.key is None:
            continue  # a comment or a blank line
        elif name_problem(binding.key):
            skipped.append(f"line {line}: not a valid key name (not shown: it may be a value)")
        elif binding.value is None:
            skipped.append(f"line {line}: {binding.key} has no '=' and no value")
        elif binding.value == "":
            skipped.append(f"line {line}: {binding.key} is empty")
        else:
            found.append((line, binding.key, binding.value))
    return found, skipped


@app.command("import-env")
def import_env(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A .env file.")],
    env: EnvOpt = None,
) -> None:
    """Store every key a .env file assigns (catalog aliases map to canonical names). All or nothing."""
    keys = manager(env)
    found, skipped = _read_assignments(file)
    chosen: dict[str, tuple[int, str, str]] = {}   # canonical -> (line, name as written, value)
    conflicts = []
    for line, name, value in found:
        canonical = keys.spec(name).name
        earlier = chosen.get(canonical)
        if earlier is None:
            chosen[canonical] = (line, name, value)
        elif earlier[2] != value:
            conflicts.append(f"{canonical}: {earlier[1]} (line {earlier[0]}) and {name} (line {line}) differ")
    for message in skipped:
        typer.echo(f"skipped {message}", err=True)
    if conflicts:
        raise InvalidValue(f"{file}: conflicting values for {'; '.join(conflicts)}; keep one; nothing was stored")
    if not chosen:
        raise KeyNotFound(f"{file} assigns no key; nothing was stored")
    problems = [f"{key}: {verdict.message}" for key, (_, _, value) in chosen.items()
                if (verdict := check_format(keys.spec(key), value)).status == "error"]
    if problems:
        raise InvalidValue(f"{file}: {'; '.join(problems)}; nothing was stored")
    verdicts = keys.set_many({key: value for key, (_, _, value) in chosen.items()})
    for key, verdict in verdicts.items():
        if verdict.status == "warn":
            typer.echo(f"warning: {key}: {verdict.message}", err=True)
    names = [key if chosen[key][1] == key else f"{key} (from {chosen[key][1]})" for key in chosen]
    typer.echo(f"imported into {keys.writable_store().path.name}: {', '.join(names)}"
               + (f" ({len(skipped)} lines skipped, see above)" if skipped else ""))


@app.command("export-env")
def export_env(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write the plaintext .env (mode 0600).")],
    env: EnvOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Write the store's keys to FILE in plaintext: mode 0600, atomic, safe to source, no overwrite without --force.

    The Pulumi passphrase is left out (back it up with `get PULUMI_CONFIG_PASSPHRASE --reveal`)."""
    keys = manager(env)
    store = keys.store
    names = [name for name in keys.names() if name != PULUMI_PASSPHRASE_NAME]
    values = {name: value for name in names if store and (value := store.get(name))}
    if not values:
        raise KeyNotFound(f"{keys.writable_store().path} holds no key; nothing was written")
    text = render(values)
    try:
        write_env_file(file, text, overwrite=force)
    except FileExistsError:
        raise typer.BadParameter(f"{file} exists; pass --force to replace it", param_hint="FILE") from None
    typer.echo(f"wrote {', '.join(values)} to {file} (mode 0600, plaintext: keep it out of git)")
