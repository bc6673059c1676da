"""`set`, `get`, `delete`, `list`, `explain`: one key at a time, or all of them, through the manager.

Values enter only through stdin or a hidden prompt, never argv (any user can
read /proc/*/cmdline). Every output is masked; `get --reveal` is the one way to
see a value (the Pulumi passphrase the driver keeps included, for a backup).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from secrets_bridge.errors import InvalidValue, KeyNotFound
from secrets_bridge.manager import KeyInfo, SecretManager
from secrets_bridge.masking import mask
from secrets_bridge.resolver import Resolution
from secrets_bridge.tables import render_table

from .common import PROG, EnvOpt, KeyArg, StackOpt, app, manager


def read_value(key: str) -> str:
    """The value from a hidden prompt on a terminal, else all of stdin minus one final newline."""
    if sys.stdin.isatty():
        return typer.prompt(f"{key} (input hidden)", hide_input=True, confirmation_prompt=True)
    # Bytes, not text: text mode would silently turn \r\n into \n.
    try:
        data = sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValue(f"stdin is not UTF-8 text; nothing was stored for {key}") from None
    value = data.removesuffix("\n")
    if not value:
        raise InvalidValue(f"no value on stdin for {key}: pipe it in, e.g. printf '%s' \"$VALUE\" | {PROG} set {key}")
    return value


@app.command("set")
def set_(key: KeyArg, env: EnvOpt = None) -> None:
    """Store KEY encrypted. The value comes from stdin when piped, else from a hidden prompt (twice)."""
    keys = manager(env)
    name = keys.spec(key).name
    value = read_value(name)
    verdict = keys.check(name, value)
    keys.set(name, value)
    if verdict.status == "warn":
        typer.echo(f"warning: {name}: {verdict.message}", err=True)
    typer.echo(f"stored {name} in {keys.writable_store().path.name}: {mask(value)}")


def not_set(key: str, resolution: Resolution) -> KeyNotFound:
    notes = f" ({'; '.join(resolution.notes)})" if resolution.notes else ""
    return KeyNotFound(f"{key} is set nowhere in the chain{notes}: run `{PROG} set {key}` or export {key}")


@app.command()
def get(
    key: KeyArg,
    env: EnvOpt = None,
    stack: StackOpt = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print the raw value alone (for piping or a backup).")] = False,
) -> None:
    """Show KEY's value, masked, and where it came from (`--reveal`: the value itself)."""
    keys = manager(env, stack)
    resolution = keys.get(key)
    if resolution.value is None:
        raise not_set(resolution.name, resolution)
    if reveal:
        # Not typer.echo: it may strip what looks like terminal escapes; the value must pass unchanged.
        sys.stdout.write(resolution.value + "\n")
    else:
        typer.echo(f"{resolution.name}  {resolution.masked}  from {resolution.source}")


@app.command()
def delete(key: KeyArg, env: EnvOpt = None) -> None:
    """Remove KEY from the encrypted store (other sources are not touched)."""
    keys = manager(env)
    name = keys.spec(key).name
    if not keys.delete(name):
        raise KeyNotFound(f"{name} is not in {keys.writable_store().path}; nothing was deleted")
    typer.echo(f"deleted {name} from {keys.writable_store().path.name}")


def _row(info: KeyInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "kind": info.kind,
        "purpose": info.purpose,
        "present": info.present,
        "source": info.source,
        "masked": info.masked,
        "fingerprint": info.fingerprint,
        "format": {"status": info.format.status, "message": info.format.message} if info.format else None,
        "age_days": info.age_days,
        "shadowed": list(info.shadowed),
    }


def _table(rows: list[dict[str, Any]]) -> str:
    return render_table(("NAME", "STATUS", "SOURCE", "VALUE", "FORMAT", "AGE", "KIND"), [
        (row["name"], "set" if row["present"] else "missing", row["source"] or "-",
         row["masked"] if row["present"] else "-", row["format"]["status"] if row["format"] else "-",
         "-" if row["age_days"] is None else f"{row['age_days']}d", row["kind"])
        for row in rows])


def _listing(keys: SecretManager) -> dict[str, Any]:
    infos = keys.list()
    notes = list(dict.fromkeys(note for info in infos for note in info.notes))
    return {"env": keys.env, "stack": keys.stack, "keys": [_row(info) for info in infos], "notes": notes}


@app.command("list")
def list_(
    env: EnvOpt = None,
    stack: StackOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    all_envs: Annotated[bool, typer.Option(
        "--all-envs", help="Every environment with a store file; flags a value stored in two of them.")] = False,
) -> None:
    """Every key (catalog, declared, custom): present or not, source, masked value, format verdict, age."""
    keys = manager(env, stack)
    from secrets_bridge.store import store_envs

    envs = store_envs() if all_envs else [keys.env]
    listings = [_listing(keys if name == keys.env else manager(name, stack)) for name in envs or [keys.env]]
    shared = keys.shared_across_envs() if all_envs else {}
    if as_json:
        document: dict[str, Any] = listings[0] if not all_envs else {"envs": listings, "shared_across_envs": shared}
        typer.echo(json.dumps(document, indent=2))
        return
    for listing in listings:
        typer.echo(f"environment: {listing['env']}" + (f", stack: {stack}" if stack else ""))
        typer.echo(_table(listing["keys"]))
        for row in listing["keys"]:
            if row["format"] and row["format"]["status"] != "ok":
                typer.echo(f"{row['name']}: format {row['format']['status']}: {row['format']['message']}")
        for note in listing["notes"]:
            typer.echo(f"note: {note}", err=True)
    for name, in_envs in shared.items():
        typer.echo(f"warning: {name} holds the same value in {', '.join(in_envs)}; "
                   "use a separate key per environment, so revoking one does not break the other")


@app.command()
def explain(key: KeyArg, env: EnvOpt = None, stack: StackOpt = None) -> None:
    """Walk KEY through the whole chain: each source, hit or miss, which one wins, what it shadows."""
    keys = manager(env, stack)
    explanation = keys.explain(key)
    spec = explanation.spec
    aliases = f" (aliases: {', '.join(spec.aliases)})" if spec.aliases else ""
    kind = "" if spec.kind == "catalog" else f" [{spec.kind} key" + (f": {spec.purpose}]" if spec.purpose else "]")
    typer.echo(f"{spec.name}{aliases}{kind}, environment {keys.env}" + (f", stack {stack}" if stack else ""))
    winner = explanation.winner.hit if explanation.winner else None
    for number, step in enumerate(explanation.steps, 1):
        if step.hit is None:
            outcome = "miss"
        else:
            role = "WINS" if step.hit is winner or winner is None else f"shadowed by {winner.label}"
            outcome = f"hit {step.hit.label} {mask(step.hit.value)}  <- {role}"
        typer.echo(f"  {number}. {step.source}: {outcome}")
        for note in step.notes:
            typer.echo(f"       note: {note}")
    if winner is None:
        typer.echo(f"result: {spec.name} is set nowhere; `{PROG} set {spec.name}` stores it")
    else:
        shadowed = [step.hit.label for step in explanation.steps if step.hit and step.hit is not winner]
        typer.echo(f"result: {winner.label} wins" + (f"; it shadows {', '.join(shadowed)}" if shadowed else ""))
