"""`rotate-master-key` and `setup`."""

from __future__ import annotations

import typer

from secrets_bridge.masterkey import load_new_master_key
from secrets_bridge.wizard import run_setup

from .common import EnvOpt, app, manager


@app.command("rotate-master-key")
def rotate_master_key(env: EnvOpt = None) -> None:
    """Re-encrypt the whole store under a new master key (ORCHESTRA_NEW_MASTER_KEY(_FILE) or asked twice)."""
    keys = manager(env)
    if keys.store is None:
        typer.echo(f"no store at {keys.writable_store().path}: nothing to re-encrypt")
        return
    store = keys.writable_store()
    store.rotate_master_key(load_new_master_key())
    typer.echo(f"re-encrypted {len(store.names())} keys in {store.path.name}; "
               "use the new master key from now on (update ORCHESTRA_MASTER_KEY wherever it is kept)")


@app.command()
def setup(env: EnvOpt = None) -> None:
    """Interactive wizard: enter, check and store every key; optionally verify and write .env."""
    run_setup(manager(env).env)
