"""`secrets-bridge setup`: walk a person through every key on a terminal.

For each catalog key: show where it stands (masked), ask with hidden input,
check the format (an error asks again; a warning asks "keep anyway?"). The
answers are stored encrypted in one write at the end, so Ctrl-C midway changes
nothing. Then, on request, a live check of every key, and - only after an
explicit yes - the plaintext keys into `.env` (0600, atomic, other lines kept).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from secrets_bridge.catalog import CATALOG, KeySpec
from secrets_bridge.envfile import merge_assignments, write_env_file
from secrets_bridge.errors import NoTerminal, StoreUnreadable
from secrets_bridge.formats import check_format
from secrets_bridge.masking import mask
from secrets_bridge.project import project_root
from secrets_bridge.resolver import Resolution, resolve_all
from secrets_bridge.store import SecretStore, load_master_key, store_path
from secrets_bridge.verify import ApiUrls, verify_all_sync


def run_setup(env: str) -> None:
    if not sys.stdin.isatty():
        raise NoTerminal("setup asks questions and needs a terminal; without one, store each key with "
                         "`printf '%s' \"$VALUE\" | secrets-bridge set KEY`")
    # One key for the store and the chain; asked twice only when it creates a new store.
    master_key = load_master_key(confirm=not store_path(env).exists())
    store = SecretStore.open(env, master_key=master_key)
    typer.echo(f"Setting up the keys of environment {env} (store: {store.path})\n")

    current = resolve_all(env, master_key=master_key)
    entered: dict[str, str] = {}
    for number, spec in enumerate(CATALOG, 1):
        typer.echo(f"[{number}/{len(CATALOG)}] {spec.name}: {spec.purpose}\n      get one at {spec.url}")
        typer.echo(f"      now: {_status(current[spec.name])}")
        value = _ask(spec)
        if value is not None:
            entered[spec.name] = value

    if entered:
        store.set_many(entered)
        typer.echo(f"\nstored {', '.join(entered)} in {store.path.name}")
    else:
        typer.echo("\nnothing entered; the store is unchanged")

    if typer.confirm("Verify keys now?", default=True):
        _verify(env, master_key)
    if typer.confirm("Also write plaintext keys to .env?", default=False):
        _write_dotenv(project_root() / ".env", store)


def _status(resolution: Resolution) -> str:
    if resolution.value is None:
        return "missing"
    status = f"set, from {resolution.source}, {resolution.masked}"
    if not (resolution.source or "").startswith("store:"):
        # Otherwise a person enters a new key here and wonders why the old one is still used.
        status += f"\n      (a value entered here goes to the store; {resolution.source} still wins while set)"
    return status


def _ask(spec: KeySpec) -> str | None:
    """A checked value, or None when the person just presses Enter."""
    while True:
        value = typer.prompt(f"      {spec.name} (hidden; Enter to keep as is)", hide_input=True,
                             default="", show_default=False)
        if not value:
            return None
        verdict = check_format(spec.name, value)
        if verdict.status == "error":
            typer.echo(f"      rejected: {verdict.message}. Try again.")
            continue
        if verdict.status == "warn":
            typer.echo(f"      warning: {verdict.message}")
            if not typer.confirm("      keep anyway?", default=False):
                continue
        typer.echo(f"      ok: {mask(value)}")
        return value


def _verify(env: str, master_key: str) -> None:
    resolutions = resolve_all(env, master_key=master_key)
    results = verify_all_sync({name: r.value for name, r in resolutions.items()}, urls=ApiUrls.from_env())
    for result in results:
        line = f"  {result.name}: {result.verdict}"
        if result.detail:
            line += f" ({result.detail})"
        typer.echo(line)
        if result.recommendation:
            typer.echo(f"      {result.recommendation}")


def _write_dotenv(path: Path, store: SecretStore) -> None:
    values = {spec.name: value for spec in CATALOG if (value := store.get(spec.name))}
    if not values:
        typer.echo("the store holds no keys; .env left alone")
        return
    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError):
        raise StoreUnreadable(f"cannot read {path} as UTF-8 text; fix or move it, then run setup again") from None
    write_env_file(path, merge_assignments(existing, values), overwrite=True)
    typer.echo(f"wrote {', '.join(values)} to {path} (mode 0600; other lines kept)")
