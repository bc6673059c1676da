"""`python -m secrets_bridge` / `secrets-bridge`: manage the platform's API keys.

Values enter only through stdin or a hidden prompt, never argv (any user can
read /proc/*/cmdline). Every output is masked; `get --reveal` is the one way
to see a value. Errors are mapped to exit codes in one place, `main()`:
usage 2, SecretsBridgeError subclasses 3..12 (see errors.py), Ctrl-C 130.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
import typer.main
from dotenv import dotenv_values

from secrets_bridge.catalog import CATALOG, PULUMI_PASSPHRASE_NAME, get_spec
from secrets_bridge.envfile import render, write_env_file
from secrets_bridge.errors import InvalidValue, KeyNotFound, MasterKeyMissing, SecretsBridgeError
from secrets_bridge.formats import check_format
from secrets_bridge.masking import fingerprint, mask
from secrets_bridge.resolver import Resolution, build_chain, resolve_all, trace
from secrets_bridge.store import ENV_ALLOW_INSECURE, SecretStore, resolve_env
from secrets_bridge.tables import render_table
from secrets_bridge.verify.cli import register as register_verify
from secrets_bridge.wizard import run_setup

PROG = "secrets-bridge"

app = typer.Typer(
    help="Keep the platform's API keys: encrypted store, priority chain, format checks.",
    add_completion=False,
    pretty_exceptions_enable=False,
)

EnvOpt = Annotated[str | None, typer.Option(
    "--env", help="Environment: store .secrets.<env>.json, file .env.<env> (default: $ORCHESTRA_ENV, else production).")]
StackOpt = Annotated[str | None, typer.Option(
    "--stack", help="Pulumi stack whose config (orchestra:<key>) joins the chain, read with the pulumi CLI.")]


def _canonical(name: str) -> str:
    try:
        return get_spec(name).name
    except KeyError as exc:
        raise typer.BadParameter(exc.args[0]) from None


KeyArg = Annotated[str, typer.Argument(
    metavar="KEY", callback=_canonical, help="Canonical name or alias, e.g. GITHUB_TOKEN or GH_TOKEN.")]


@app.callback()
def _options(
    allow_insecure_permissions: Annotated[bool, typer.Option(
        "--allow-insecure-permissions",
        help="Use a store file that group or others can read (instead of refusing).")] = False,
) -> None:
    if allow_insecure_permissions:
        # The store reads this switch, so every command (verify included) honours it.
        os.environ[ENV_ALLOW_INSECURE] = "1"


def _read_value(key: str) -> str:
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


def _checked(key: str, value: str) -> str | None:
    """Raise on a format error; return the warning text, if any."""
    verdict = check_format(key, value)
    if verdict.status == "error":
        raise InvalidValue(f"{key}: {verdict.message}; nothing was stored")
    return verdict.message if verdict.status == "warn" else None


@app.command("set")
def set_(key: KeyArg, env: EnvOpt = None) -> None:
    """Store KEY encrypted. The value comes from stdin when piped, else from a hidden prompt (twice)."""
    environment = resolve_env(env)
    value = _read_value(key)
    warning = _checked(key, value)
    store = SecretStore.open(environment)
    store.set(key, value)
    if warning:
        typer.echo(f"warning: {key}: {warning}", err=True)
    typer.echo(f"stored {key} in {store.path.name}: {mask(value)}")


def _not_set(key: str, resolution: Resolution) -> KeyNotFound:
    notes = f" ({'; '.join(resolution.notes)})" if resolution.notes else ""
    return KeyNotFound(f"{key} is set nowhere in the chain{notes}: run `{PROG} set {key}` or export {key}")


@app.command()
def get(
    key: KeyArg,
    env: EnvOpt = None,
    stack: StackOpt = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print the raw value alone (for piping).")] = False,
) -> None:
    """Show KEY's value, masked, and where it came from."""
    resolution = resolve_all(resolve_env(env), stack=stack, names=[key])[key]
    if resolution.value is None:
        raise _not_set(key, resolution)
    if reveal:
        # Not typer.echo: it may strip what looks like terminal escapes; the value must pass unchanged.
        sys.stdout.write(resolution.value + "\n")
    else:
        typer.echo(f"{key}  {resolution.masked}  from {resolution.source}")


@app.command()
def delete(key: KeyArg, env: EnvOpt = None) -> None:
    """Remove KEY from the encrypted store (other sources are not touched)."""
    store = SecretStore.open(resolve_env(env))
    if not store.delete(key):
        raise KeyNotFound(f"{key} is not in {store.path}; nothing was deleted")
    typer.echo(f"deleted {key} from {store.path.name}")


def _age_days(resolution: Resolution) -> int | None:
    if resolution.updated_at is None:
        return None
    return (datetime.now(UTC) - resolution.updated_at).days


def _row(resolution: Resolution) -> dict:
    verdict = check_format(resolution.name, resolution.value) if resolution.value is not None else None
    return {
        "name": resolution.name,
        "present": resolution.value is not None,
        "source": resolution.source,
        "masked": resolution.masked,
        "fingerprint": fingerprint(resolution.value) if resolution.value is not None else None,
        "format": {"status": verdict.status, "message": verdict.message} if verdict else None,
        "age_days": _age_days(resolution),
        "shadowed": list(resolution.shadowed),
    }


@app.command("list")
def list_(
    env: EnvOpt = None,
    stack: StackOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Every catalog key: present or not, source, masked value, format verdict, age."""
    environment = resolve_env(env)
    resolutions = resolve_all(environment, stack=stack)
    rows = [_row(r) for r in resolutions.values()]
    notes = list(dict.fromkeys(note for r in resolutions.values() for note in r.notes))
    if as_json:
        typer.echo(json.dumps({"env": environment, "stack": stack, "keys": rows, "notes": notes}, indent=2))
        return
    table = [
        (row["name"], "set" if row["present"] else "missing", row["source"] or "-",
         row["masked"] if row["present"] else "-", row["format"]["status"] if row["format"] else "-",
         "-" if row["age_days"] is None else f"{row['age_days']}d")
        for row in rows
    ]
    typer.echo(f"environment: {environment}" + (f", stack: {stack}" if stack else ""))
    typer.echo(render_table(("NAME", "STATUS", "SOURCE", "VALUE", "FORMAT", "AGE"), table))
    for row in rows:
        if row["format"] and row["format"]["status"] != "ok":
            typer.echo(f"{row['name']}: format {row['format']['status']}: {row['format']['message']}")
    for note in notes:
        typer.echo(f"note: {note}", err=True)


@app.command()
def explain(key: KeyArg, env: EnvOpt = None, stack: StackOpt = None) -> None:
    """Walk KEY through the whole chain: each source, hit or miss, which one wins, what it shadows."""
    spec = get_spec(key)
    environment = resolve_env(env)
    steps = trace(spec, build_chain(environment, stack=stack))
    aliases = f" (aliases: {', '.join(spec.aliases)})" if spec.aliases else ""
    typer.echo(f"{key}{aliases}, environment {environment}" + (f", stack {stack}" if stack else ""))
    winner = next((step.hit for step in steps if step.hit), None)
    for number, step in enumerate(steps, 1):
        if step.hit is None:
            outcome = "miss"
        else:
            role = "WINS" if step.hit is winner or winner is None else f"shadowed by {winner.label}"
            outcome = f"hit {step.hit.label} {mask(step.hit.value)}  <- {role}"
        typer.echo(f"  {number}. {step.source}: {outcome}")
        for note in step.notes:
            typer.echo(f"       note: {note}")
    if winner is None:
        typer.echo(f"result: {key} is set nowhere; `{PROG} set {key}` stores it")
    else:
        shadowed = [step.hit.label for step in steps if step.hit and step.hit is not winner]
        typer.echo(f"result: {winner.label} wins" + (f"; it shadows {', '.join(shadowed)}" if shadowed else ""))


@app.command("import-env")
def import_env(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A .env file.")],
    env: EnvOpt = None,
) -> None:
    """Store the catalog keys found in a .env file (aliases map to canonical names). All or nothing."""
    try:
        parsed = dotenv_values(file, interpolate=False, encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidValue(f"{file} is not UTF-8 text; nothing was stored") from None
    found = {name: value for name, value in parsed.items() if value}
    chosen: dict[str, str] = {}
    origin: dict[str, str] = {}
    for spec in CATALOG:
        name = next((n for n in spec.env_names if n in found), None)
        if name:
            chosen[spec.name], origin[spec.name] = found[name], name
    if not chosen:
        raise KeyNotFound(f"{file} assigns none of the catalog keys ({', '.join(s.name for s in CATALOG)}); nothing was stored")
    problems = [f"{key}: {verdict.message}" for key, value in chosen.items()
                if (verdict := check_format(key, value)).status == "error"]
    if problems:
        raise InvalidValue(f"{file}: {'; '.join(problems)}; nothing was stored")
    store = SecretStore.open(resolve_env(env))
    store.set_many(chosen)
    for key, value in chosen.items():
        verdict = check_format(key, value)
        if verdict.status == "warn":
            typer.echo(f"warning: {key}: {verdict.message}", err=True)
    names = [key if origin[key] == key else f"{key} (from {origin[key]})" for key in chosen]
    typer.echo(f"imported into {store.path.name}: {', '.join(names)}")


@app.command("export-env")
def export_env(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write the plaintext .env (mode 0600).")],
    env: EnvOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Write the store's catalog keys to FILE in plaintext: mode 0600, atomic, no overwrite without --force."""
    store = SecretStore.open(resolve_env(env))
    values = {spec.name: value for spec in CATALOG if (value := store.get(spec.name))}
    if not values:
        raise KeyNotFound(f"{store.path} holds none of the catalog keys; nothing was written")
    try:
        write_env_file(file, render(values), overwrite=force)
    except FileExistsError:
        raise typer.BadParameter(f"{file} exists; pass --force to replace it", param_hint="FILE") from None
    typer.echo(f"wrote {', '.join(values)} to {file} (mode 0600, plaintext: keep it out of git)")


@app.command(context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
def run(
    command: Annotated[list[str], typer.Argument(help="The command and its arguments, after --.")],
    env: EnvOpt = None,
    stack: StackOpt = None,
) -> None:
    """Run a command with the resolved keys in its environment; its exit code is passed through."""
    env_name = resolve_env(env)
    resolutions = resolve_all(env_name, stack=stack)
    child_env = {**os.environ, **{name: r.value for name, r in resolutions.items() if r.value is not None}}
    # So plain `pulumi` runs against stacks whose passphrase the driver keeps in the store;
    # a passphrase already in the environment (CI) wins.
    if not {PULUMI_PASSPHRASE_NAME, "PULUMI_CONFIG_PASSPHRASE_FILE"} & child_env.keys():
        passphrase = _stored_passphrase(env_name)
        if passphrase:
            child_env[PULUMI_PASSPHRASE_NAME] = passphrase
    # The child gets the keys it needs, not the key to all of them.
    child_env.pop("ORCHESTRA_MASTER_KEY", None)
    # Ctrl-C reaches the child through the terminal; we wait for its verdict instead of dying first.
    # A Python handler (unlike SIG_IGN) is reset to the default in the child at exec.
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        returncode = subprocess.call(command, env=child_env)
    except FileNotFoundError:
        typer.echo(f"error: command not found: {command[0]}", err=True)
        raise typer.Exit(127) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    raise typer.Exit(returncode if returncode >= 0 else 128 - returncode)


def _stored_passphrase(env: str) -> str | None:
    store = SecretStore.open(env)
    return store.get(PULUMI_PASSPHRASE_NAME) if store.exists() else None


def _new_master_key() -> str:
    if os.environ.get("ORCHESTRA_NEW_MASTER_KEY"):
        return os.environ["ORCHESTRA_NEW_MASTER_KEY"]
    if os.environ.get("ORCHESTRA_NEW_MASTER_KEY_FILE"):
        path = Path(os.environ["ORCHESTRA_NEW_MASTER_KEY_FILE"])
        try:
            key = path.read_text(encoding="utf-8").removesuffix("\n")
        except (OSError, UnicodeDecodeError):
            raise MasterKeyMissing(f"cannot read ORCHESTRA_NEW_MASTER_KEY_FILE={path} as UTF-8 text") from None
        if key:
            return key
        raise MasterKeyMissing(f"ORCHESTRA_NEW_MASTER_KEY_FILE={path} is empty")
    if sys.stdin.isatty():
        return typer.prompt("New master key (input hidden)", hide_input=True, confirmation_prompt=True)
    raise MasterKeyMissing("no new master key: set ORCHESTRA_NEW_MASTER_KEY or ORCHESTRA_NEW_MASTER_KEY_FILE, "
                           "or run on a terminal to be asked")


@app.command("rotate-master-key")
def rotate_master_key(env: EnvOpt = None) -> None:
    """Re-encrypt the whole store under a new master key, in one atomic replace."""
    store = SecretStore.open(resolve_env(env))
    if not store.exists():
        typer.echo(f"no store at {store.path}: nothing to re-encrypt")
        return
    store.rotate_master_key(_new_master_key())
    typer.echo(f"re-encrypted {len(store.names())} keys in {store.path.name}; "
               "use the new master key from now on (update ORCHESTRA_MASTER_KEY wherever it is kept)")


@app.command()
def setup(env: EnvOpt = None) -> None:
    """Interactive wizard: enter, check and store every key; optionally verify and write .env."""
    run_setup(resolve_env(env))


register_verify(app)


def main() -> None:
    """Entry point: runs the app and turns every expected failure into one stderr line and an exit code."""
    command = typer.main.get_command(app)
    try:
        with command.make_context(PROG, sys.argv[1:]) as ctx:
            command.invoke(ctx)
        code = 0
    except typer.Exit as exc:
        code = exc.exit_code
    except SecretsBridgeError as exc:
        typer.echo(f"error: {exc}", err=True)
        code = exc.exit_code
    except typer.TyperException as exc:  # click's usage errors: bad option, unknown key, missing file
        usage_ctx = getattr(exc, "ctx", None)
        hint = f" (see: {usage_ctx.command_path} --help)" if usage_ctx else ""
        message = exc.format_message()
        if message.startswith("Got unexpected extra argument"):
            # Click would echo them, and the likeliest extra argument is a pasted key.
            message = ("unexpected extra arguments (not shown: they may be secret values); "
                       "values are read from stdin or a hidden prompt, never from the command line")
        typer.echo(f"error: {message}{hint}", err=True)
        code = exc.exit_code
    except (KeyboardInterrupt, typer.Abort, EOFError):
        typer.echo("\ninterrupted, nothing was changed", err=True)
        code = 130
    except BrokenPipeError:
        # The reader went away (`| head`); silence the flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)
