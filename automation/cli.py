"""`python -m automation COMMAND STACK`: the driver's command line, one small function per command.

Outcomes are turned into output in one place (`main`): an AutomationError or
SecretsBridgeError prints `error: <message>` on stderr and exits with its own code;
with --json every outcome, failures included, is one JSON document on stdout
(`{"ok": false, "exit_code", "error": {"kind", "message", "fix"}, ...}`).
Ctrl-C exits 130 with a message naming the stage it interrupted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

from automation import pipeline, status
from automation.deploy import LockPolicy, parse_duration
from automation.errors import INTERRUPTED_EXIT_CODE, AutomationError, Unhealthy
from automation.project import parse_stack_name, project_root
from automation.results import Run, failure_document, success_document, to_jsonable
from automation.sandbox import local_stack
from secrets_bridge.errors import SecretsBridgeError, wants_json

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="From API keys in an encrypted store to deployed, health-checked infrastructure.")
CURRENT = Run()    # the command in progress: its stage names a Ctrl-C, what it learned goes into a failure's JSON

StackArg = typer.Argument(..., help="stack name: STACK, ORG/STACK or ORG/PROJECT/STACK, e.g. local or production")
JsonOpt = typer.Option(False, "--json", help="print the outcome, failures included, as one JSON document on stdout")
EnvOpt = typer.Option(None, "--env", help="store environment (default: `local` for the local stack, else ORCHESTRA_ENV or production)")
CreateOpt = typer.Option(False, "--create", help="create the stack if it does not exist (only after preflight passed)")
YesOpt = typer.Option(False, "--yes", "-y", help="apply without asking")
SkipVerifyOpt = typer.Option(False, "--skip-verify", help="skip live verification of the keys")
RefreshOpt = typer.Option(False, "--refresh", help="refresh the state from the real resources first, as `pulumi up --refresh`")
DiffOpt = typer.Option(False, "--diff", help="show old and new property values, not only their names")
ExpectOpt = typer.Option(False, "--expect-no-changes", help="fail (exit 44) when there are changes")
LockWaitOpt = typer.Option("0", "--lock-wait", help="wait this long for a busy stack lock, e.g. 30s, 5m (default: fail at once)")
ClearLockOpt = typer.Option(False, "--clear-stale-lock", help="remove a lock whose holder (this host, dead pid) is gone")
SecretsProviderOpt = typer.Option(None, "--secrets-provider", metavar="URL",
                                  help="with --create: encrypt the new stack's secrets with awskms://, hashivault://, ... "
                                       "instead of a passphrase (docs/team.md)")
WatchOpt = typer.Option(0, "--watch", help="one round every N seconds until Ctrl-C, a timestamped line each (--json: JSON lines)")
WebhookOpt = typer.Option([], "--alert-webhook", envvar="ORCHESTRA_ALERT_WEBHOOK",
                          help="POST each state change here (Slack-compatible JSON); repeatable; "
                               "ORCHESTRA_ALERT_WEBHOOK keeps the URL (a credential) out of argv")
AlertCommandOpt = typer.Option([], "--alert-command", help="run this with each alert as JSON on stdin; repeatable")
ExitOnFailureOpt = typer.Option(False, "--exit-on-failure", help="exit 38 on the first failed round (cron-style)")


def store_env(stack: str, env: str | None) -> str:
    if env:
        return env
    return stack if stack == local_stack.LOCAL_STACK else os.environ.get("ORCHESTRA_ENV") or "production"


def _use_existing_local_master_key(root: Path) -> None:
    """Read-only commands on `local` use the checkout's master key if there is one, and create none."""
    path = root / ".orchestra" / "local-master-key"
    if path.is_file() and not (os.environ.get("ORCHESTRA_MASTER_KEY") or os.environ.get("ORCHESTRA_MASTER_KEY_FILE")):
        os.environ["ORCHESTRA_MASTER_KEY_FILE"] = str(path)


def _options(stack: str, env: str | None, as_json: bool, *, changes: bool, lock_wait: str = "0",
             clear_stale_lock: bool = False, quiet: bool = False, **flags: Any) -> pipeline.Options:
    """Check the name, find the project; for `local`, start the sandbox only for commands that change it."""
    parse_stack_name(stack)   # a bad name or duration is a usage error before anything else happens
    locks = LockPolicy(wait_s=parse_duration(lock_wait), clear_stale=clear_stale_lock, command=CURRENT.command)
    root = project_root()
    out = sys.stderr if as_json else sys.stdout
    live_names = None
    resolved_env = store_env(stack, env)
    if stack == local_stack.LOCAL_STACK:
        live_names = local_stack.LIVE_NAMES
        if changes:
            CURRENT.enter("sandbox start")
            setup = local_stack.prepare(root, resolved_env)
            generated = f"; generated sandbox keys: {', '.join(setup.generated)}" if setup.generated else ""
            print(f"sandbox: Lambda API {setup.lambda_url}, backend {setup.backend_url}{generated}", file=out)
            if setup.master_key_file:
                print(f"sandbox: local store key in {setup.master_key_file}", file=out)
            if "create" in flags:
                flags["create"] = True   # the sandbox stack is the one a fresh checkout may simply create
        else:
            _use_existing_local_master_key(root)
        if not quiet:
            print(local_stack.VERIFICATION_NOTE, file=out)
    return pipeline.Options(root=root, stack=stack, env=resolved_env, live_names=live_names, out=out, locks=locks,
                            live_view=out.isatty() and not as_json, run=CURRENT, **flags)


def _emit(as_json: bool, document: dict[str, Any], human: str | None = None) -> None:
    if as_json:
        print(json.dumps(document, indent=2, sort_keys=True))
    elif human is not None:
        print(human)


def _begin(command: str, stack: str = "") -> None:
    CURRENT.command, CURRENT.stack = command, stack


@app.command()
def check(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt, skip_verify: bool = SkipVerifyOpt) -> None:
    """Preflight only (writes nothing): keys present, well-formed and valid; engine found; backend logged in to."""
    _begin("check", stack)
    _emit(as_json, success_document(status.check(_options(stack, env, as_json, changes=False, skip_verify=skip_verify))))


@app.command()
def inject(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt, create: bool = CreateOpt,
           skip_verify: bool = SkipVerifyOpt) -> None:
    """Write the changed keys into the stack config as secrets (values on stdin, never argv)."""
    _begin("inject", stack)
    opts = _options(stack, env, as_json, changes=True, create=create, skip_verify=skip_verify)
    _emit(as_json, success_document(pipeline.inject_only(opts)))


@app.command()
def preview(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt, create: bool = CreateOpt,
            skip_verify: bool = SkipVerifyOpt, refresh: bool = RefreshOpt, diff: bool = DiffOpt,
            expect_no_changes: bool = ExpectOpt, lock_wait: str = LockWaitOpt, clear_stale_lock: bool = ClearLockOpt) -> None:
    """Preflight, inject, then show what `up` would change, per resource and property."""
    _begin("preview", stack)
    opts = _options(stack, env, as_json, changes=True, create=create, skip_verify=skip_verify, refresh=refresh, diff=diff,
                    expect_no_changes=expect_no_changes, lock_wait=lock_wait, clear_stale_lock=clear_stale_lock)
    _emit(as_json, success_document(pipeline.preview(opts)))


@app.command()
def up(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt, create: bool = CreateOpt,
       yes: bool = YesOpt, skip_verify: bool = SkipVerifyOpt, refresh: bool = RefreshOpt, diff: bool = DiffOpt,
       lock_wait: str = LockWaitOpt, clear_stale_lock: bool = ClearLockOpt,
       secrets_provider: str | None = SecretsProviderOpt) -> None:
    """Preflight, inject, preview, confirm, deploy, health-check and write the report."""
    _begin("up", stack)
    opts = _options(stack, env, as_json, changes=True, create=create, yes=yes, skip_verify=skip_verify, refresh=refresh,
                    diff=diff, lock_wait=lock_wait, clear_stale_lock=clear_stale_lock, secrets_provider=secrets_provider)
    _emit(as_json, success_document(pipeline.up(opts)))


@app.command()
def refresh(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt, yes: bool = YesOpt,
            diff: bool = DiffOpt, expect_no_changes: bool = ExpectOpt, lock_wait: str = LockWaitOpt,
            clear_stale_lock: bool = ClearLockOpt) -> None:
    """Compare the state with the real resources, show the drift, and record it after asking (or --yes)."""
    _begin("refresh", stack)
    opts = _options(stack, env, as_json, changes=True, yes=yes, diff=diff, expect_no_changes=expect_no_changes,
                    lock_wait=lock_wait, clear_stale_lock=clear_stale_lock)
    _emit(as_json, success_document(pipeline.refresh(opts)))


@app.command()
def destroy(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt, yes: bool = YesOpt,
            lock_wait: str = LockWaitOpt, clear_stale_lock: bool = ClearLockOpt) -> None:
    """List every resource of the stack, ask (or --yes), delete them (and, for `local`, stop the sandbox)."""
    _begin("destroy", stack)
    opts = _options(stack, env, as_json, changes=True, yes=yes, lock_wait=lock_wait, clear_stale_lock=clear_stale_lock)
    result = pipeline.destroy(opts)
    if opts.stack == local_stack.LOCAL_STACK:
        local_stack.teardown(opts.root)
        print("sandbox: stopped", file=opts.out)
    _emit(as_json, success_document(result))


@app.command()
def health(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt, watch: float = WatchOpt,
           alert_webhook: list[str] = WebhookOpt, alert_command: list[str] = AlertCommandOpt,
           exit_on_failure: bool = ExitOnFailureOpt) -> None:
    """Check the deployed instance, the backend's /health and the frontend, and what it costs (starts nothing)."""
    from automation import cost, monitor

    _begin("health", stack)
    opts = _options(stack, env, as_json, changes=False)
    if watch or alert_webhook or alert_command or exit_on_failure:
        last = monitor.run(opts, every_s=watch, webhooks=alert_webhook, commands=alert_command,
                           exit_on_failure=exit_on_failure, as_json=as_json)
        if last is None:
            raise KeyboardInterrupt      # stopped before a round finished: nothing to judge
        raise typer.Exit(0 if last.healthy else Unhealthy.exit_code)
    costs, problem = cost.for_stack(opts)
    try:
        result = status.health(opts)
    finally:
        print(cost.render(costs, problem), file=opts.out)
    _emit(as_json, success_document({**to_jsonable(result), "cost": cost.to_json(costs)}))


@app.command()
def backups(stack: str = StackArg, as_json: bool = JsonOpt) -> None:
    """The state backups taken before every up, refresh and destroy, newest first."""
    from automation import backups as saved

    _begin("backups", stack)
    listed = saved.list_backups(project_root(), parse_stack_name(stack).full)
    _emit(as_json, success_document(listed, key="backups"), saved.render(listed))


@app.command()
def restore(stack: str = StackArg, backup: str = typer.Argument(..., help="a name from `backups STACK`, or a file"),
            as_json: bool = JsonOpt, env: str | None = EnvOpt, yes: bool = YesOpt) -> None:
    """Import a state backup (after confirmation), then refresh it against the real resources."""
    from automation import backups as saved

    _begin("restore", stack)
    _emit(as_json, success_document(saved.restore(_options(stack, env, as_json, changes=True, yes=yes), backup)))


@app.command()
def rotate(key: str = typer.Argument(..., help="the key to replace, e.g. LAMBDA_API_KEY"), stack: str = StackArg,
           as_json: bool = JsonOpt, env: str | None = EnvOpt, skip_verify: bool = SkipVerifyOpt) -> None:
    """Replace a key (new value on stdin or a hidden prompt): verify, store, deploy, check; else put the old one back."""
    from automation import rotation

    _begin("rotate", stack)
    opts = _options(stack, env, as_json, changes=True, skip_verify=skip_verify)
    _emit(as_json, success_document(rotation.rotate(opts, key)))


@app.command()
def orphans(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt, yes: bool = YesOpt,
            terminate: bool = typer.Option(False, "--terminate", help="terminate them (asks first unless --yes)")) -> None:
    """Lambda instances this stack launched but does not track (billed); clears interrupted creates."""
    from automation.orphans import orphans as find_orphans

    _begin("orphans", stack)
    result = find_orphans(_options(stack, env, as_json, changes=False, yes=yes), terminate=terminate)
    _emit(as_json, success_document(result))


@app.command()
def outputs(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt) -> None:
    """The stack outputs (secret ones masked)."""
    from automation import cost

    _begin("outputs", stack)
    opts = _options(stack, env, as_json, changes=False)
    result = status.outputs(opts)
    costs, problem = cost.for_stack(opts)
    _emit(as_json, {**success_document(result, key="outputs"), "cost": cost.to_json(costs)},
          "\n".join([*(f"{k}: {v}" for k, v in sorted(result.items())), cost.render(costs, problem)]))


@app.command()
def report(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt) -> None:
    """Write the Markdown and JSON status reports under reports/ (also before the first deploy)."""
    _begin("report", stack)
    md_path, json_path = status.report(_options(stack, env, as_json, changes=False))
    _emit(as_json, success_document({"markdown": md_path, "json": json_path}), f"{md_path}\n{json_path}")


@app.command(name="exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(ctx: typer.Context, stack: str = StackArg, env: str | None = EnvOpt) -> None:
    """Run a command with the stack's engine environment, e.g. for code review:
    `python -m automation exec local -- pulumi preview --stack local` (passphrase in a 0600 file, never argv)."""
    from automation.workspace import locate, passphrase_file, require_stack, stored_passphrase

    _begin("exec", stack)
    if not ctx.args:
        raise typer.BadParameter("name the command to run after `--`, e.g. -- pulumi preview --stack local")
    opts = _options(stack, env, False, changes=False, quiet=True)   # the command's output is its own
    target = locate(opts.root, opts.stack)
    require_stack(target, create=False)
    passphrase = stored_passphrase(opts.env) if target.needs_passphrase() else None
    with passphrase_file(passphrase) as secret_env:
        code = subprocess.run(ctx.args, cwd=opts.root, env={**target.base_env, **secret_env}, check=False).returncode
    raise typer.Exit(code)


@app.command()
def engine(action: str = typer.Argument("ensure", help="ensure (find, download or build) or where (find only)"),
           as_json: bool = JsonOpt) -> None:
    """Find, download or build the Pulumi engine."""
    from automation.engine.command import main as engine_main

    code = engine_main([action, *(["--json"] if as_json else [])])
    if code:
        raise typer.Exit(code)


_AFTER_INTERRUPT = {
    "start": "nothing was started", "sandbox start": "nothing was deployed; re-run to start the sandbox",
    "preflight": "nothing was changed", "reading the stack": "nothing was changed", "confirmation": "nothing was applied",
    "inject": "nothing was applied and the stack file is as it was",
    "health check": "the deployment itself completed; `python -m automation health STACK` checks again",
    "report": "the deployment completed; `python -m automation report STACK` writes the report",
}


def interrupted_message(stage: str, stack: str = "STACK") -> str:
    if stage in _AFTER_INTERRUPT:
        after = _AFTER_INTERRUPT[stage]
    elif "preview" in stage:
        after = "the engine stopped cleanly; nothing was changed"
    else:
        after = "the engine stopped cleanly and recorded what it finished; re-run to converge"
    return f"interrupted during {stage}: {after.replace('STACK', stack)}"


def _fail(as_json: bool, code: int, kind: str, message: str, runbook: str | None = None) -> int:
    """`error: <message>` (ending with its runbook link when docs/runbooks.md has a section for it)."""
    print(f"error: {message}" + (f" (runbook: {runbook})" if runbook else ""), file=sys.stderr)
    if as_json:
        document = failure_document(code, kind, message, CURRENT.learned)
        _emit(True, {**document, "runbook": runbook} if runbook else document)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the one place that turns outcomes into `error: ...`, JSON documents and exit codes."""
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = wants_json(argv)
    CURRENT.__init__()    # type: ignore[misc]  # a fresh Run per invocation (tests call main repeatedly)
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="orchestra", standalone_mode=False)
    except (AutomationError, SecretsBridgeError) as exc:
        from automation.runbooks import for_error

        return _fail(as_json, exc.exit_code, type(exc).__name__, str(exc), runbook=for_error(exc))
    except (KeyboardInterrupt, typer.Abort):
        code = INTERRUPTED_EXIT_CODE
    except typer.TyperException as exc:   # usage errors: exit 2
        return _fail(as_json, exc.exit_code, "UsageError", exc.format_message())
    if code == INTERRUPTED_EXIT_CODE:
        message = interrupted_message(CURRENT.stage, CURRENT.stack or "STACK")
        print(message, file=sys.stderr)
        if as_json:
            _emit(True, failure_document(code, "Interrupted", message, CURRENT.learned, fix="re-run the command"))
    return code if isinstance(code, int) else 0
