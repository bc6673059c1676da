"""`python -m automation COMMAND STACK`: the driver's command line.

Errors are mapped to exit codes in one place (`main`): every AutomationError and
SecretsBridgeError prints `error: <message>` on stderr and exits with its own
code; Ctrl-C exits 130 after the engine has stopped cleanly.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import typer

from automation import local_stack, pipeline
from automation.errors import INTERRUPTED_EXIT_CODE, AutomationError
from automation.project import parse_stack_name, project_root
from secrets_bridge.errors import SecretsBridgeError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="From API keys in an encrypted store to deployed, health-checked infrastructure.")

StackArg = typer.Argument(..., help="stack name, e.g. local or production")
JsonOpt = typer.Option(False, "--json", help="print the result as JSON on stdout (progress goes to stderr)")
EnvOpt = typer.Option(None, "--env", help="store environment (default: `local` for the local stack, else ORCHESTRA_ENV or production)")
CreateOpt = typer.Option(False, "--create", help="create the stack if it does not exist")
YesOpt = typer.Option(False, "--yes", "-y", help="apply without asking")
SkipVerifyOpt = typer.Option(False, "--skip-verify", help="skip live verification of the keys")
WatchOpt = typer.Option(0, "--watch", help="one round every N seconds until Ctrl-C, a timestamped line each")
WebhookOpt = typer.Option([], "--alert-webhook", envvar="ORCHESTRA_ALERT_WEBHOOK",
                          help="POST each state change here (Slack-compatible JSON); repeatable; "
                               "ORCHESTRA_ALERT_WEBHOOK keeps the URL (a credential) out of argv")
AlertCommandOpt = typer.Option([], "--alert-command", help="run this with each alert as JSON on stdin; repeatable")
ExitOnFailureOpt = typer.Option(False, "--exit-on-failure", help="exit 38 on the first failed round (cron-style)")


def store_env(stack: str, env: str | None) -> str:
    if env:
        return env
    return stack if stack == local_stack.LOCAL_STACK else os.environ.get("ORCHESTRA_ENV") or "production"


def _options(stack: str, env: str | None, as_json: bool, **flags: Any) -> pipeline.Options:
    """Resolve paths and, for the local stack, bring the sandbox up first."""
    stack = parse_stack_name(stack).full
    root = project_root()
    out = sys.stderr if as_json else sys.stdout
    live_names = None
    resolved_env = store_env(stack, env)
    if stack == local_stack.LOCAL_STACK:
        setup = local_stack.prepare(root, resolved_env)
        generated = f"; generated sandbox keys: {', '.join(setup.generated)}" if setup.generated else ""
        print(f"sandbox: Lambda API {setup.lambda_url}, backend {setup.backend_url}{generated}", file=out)
        if setup.master_key_file:
            print(f"sandbox: local store key in {setup.master_key_file}", file=out)
        print(local_stack.VERIFICATION_NOTE, file=out)
        live_names = local_stack.LIVE_NAMES
        if "create" in flags:
            flags["create"] = True   # the sandbox stack is the one a fresh checkout may simply create
    return pipeline.Options(root=root, stack=stack, env=resolved_env, live_names=live_names, out=out, **flags)


def _emit(as_json: bool, result: Any, human: Callable[[], str] | None = None) -> None:
    if as_json:
        print(json.dumps(pipeline.to_jsonable(result), indent=2, sort_keys=True))
    elif human is not None:
        print(human())


@app.command()
def check(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt, skip_verify: bool = SkipVerifyOpt) -> None:
    """Preflight only: keys present, well-formed and valid; engine and backend usable."""
    _emit(as_json, pipeline.check(_options(stack, env, as_json, skip_verify=skip_verify)))


@app.command()
def inject(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt, create: bool = CreateOpt,
           skip_verify: bool = SkipVerifyOpt) -> None:
    """Write the changed keys into the stack config as secrets (values on stdin, never argv)."""
    _emit(as_json, pipeline.inject_only(_options(stack, env, as_json, create=create, skip_verify=skip_verify)))


@app.command()
def preview(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt, create: bool = CreateOpt,
            skip_verify: bool = SkipVerifyOpt) -> None:
    """Preflight, inject, then show what `up` would change."""
    _emit(as_json, pipeline.preview(_options(stack, env, as_json, create=create, skip_verify=skip_verify)))


@app.command()
def up(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt, create: bool = CreateOpt,
       yes: bool = YesOpt, skip_verify: bool = SkipVerifyOpt) -> None:
    """Preflight, inject, preview, confirm, deploy, health-check and write the report."""
    _emit(as_json, pipeline.up(_options(stack, env, as_json, create=create, yes=yes, skip_verify=skip_verify)))


@app.command()
def refresh(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt) -> None:
    """Compare the state with the real resources and record any drift."""
    _emit(as_json, pipeline.refresh(_options(stack, env, as_json)))


@app.command()
def destroy(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt, yes: bool = YesOpt) -> None:
    """Delete every resource of the stack (and, for `local`, stop the sandbox)."""
    opts = _options(stack, env, as_json, yes=yes)
    result = pipeline.destroy(opts)
    if opts.stack == local_stack.LOCAL_STACK:
        local_stack.teardown(opts.root)
        print("sandbox: stopped", file=opts.out)
    _emit(as_json, result)


@app.command()
def health(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt,
           watch: float = WatchOpt, alert_webhook: list[str] = WebhookOpt, alert_command: list[str] = AlertCommandOpt,
           exit_on_failure: bool = ExitOnFailureOpt) -> None:
    """Check the deployed instance, the backend's /health and the frontend (and what it costs)."""
    from automation import monitor

    if watch or alert_webhook or alert_command or exit_on_failure:
        monitor.run(_options(stack, env, as_json), every_s=watch, webhooks=alert_webhook, commands=alert_command,
                    exit_on_failure=exit_on_failure, as_json=as_json)
        return
    from automation import cost

    opts = _options(stack, env, as_json)
    costs, problem = cost.for_stack(opts)
    try:
        result = pipeline.health(opts)
    finally:
        print(cost.render(costs, problem), file=opts.out)
    _emit(as_json, {**pipeline.to_jsonable(result), "cost": cost.to_json(costs)})


@app.command()
def backups(stack: str = StackArg, as_json: bool = JsonOpt) -> None:
    """The state backups taken before every up, refresh and destroy, newest first."""
    from automation import backups as saved

    listed = saved.list_backups(project_root(), parse_stack_name(stack).full)
    _emit(as_json, listed, lambda: saved.render(listed))


@app.command()
def restore(stack: str = StackArg, backup: str = typer.Argument(..., help="a name from `backups STACK`, or a file"),
            as_json: bool = JsonOpt, env: str | None = EnvOpt, yes: bool = YesOpt) -> None:
    """Import a state backup (after confirmation), then refresh it against the real resources."""
    from automation import backups as saved

    _emit(as_json, saved.restore(_options(stack, env, as_json, yes=yes), backup))


@app.command()
def rotate(key: str = typer.Argument(..., help="the key to replace, e.g. LAMBDA_API_KEY"), stack: str = StackArg,
           as_json: bool = JsonOpt, env: str | None = EnvOpt, skip_verify: bool = SkipVerifyOpt) -> None:
    """Replace a key (new value on stdin or a hidden prompt): verify, store, deploy, check; else put the old one back."""
    from automation import rotation

    _emit(as_json, rotation.rotate(_options(stack, env, as_json, skip_verify=skip_verify), key))


@app.command()
def outputs(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt) -> None:
    """The stack outputs (secret ones masked)."""
    from automation import cost

    opts = _options(stack, env, as_json)
    result = pipeline.outputs(opts)
    costs, problem = cost.for_stack(opts)
    _emit(as_json, {**result, "cost": cost.to_json(costs)},
          lambda: "\n".join([*(f"{k}: {v}" for k, v in sorted(result.items())), cost.render(costs, problem)]))


@app.command()
def report(stack: str = StackArg, as_json: bool = JsonOpt, env: str | None = EnvOpt) -> None:
    """Write the Markdown and JSON status reports under reports/ (also before the first deploy)."""
    from automation import report_build

    md_path, json_path = report_build.report(_options(stack, env, as_json))
    _emit(as_json, {"markdown": md_path, "json": json_path}, lambda: f"{md_path}\n{json_path}")


@app.command()
def engine(action: str = typer.Argument("ensure", help="ensure (find, download or build) or where (find only)"),
           as_json: bool = JsonOpt) -> None:
    """Find, download or build the Pulumi engine."""
    from automation.engine.command import main as engine_main

    code = engine_main([action, *(["--json"] if as_json else [])])
    if code:
        raise typer.Exit(code)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the one place that turns exceptions into `error: ...` and exit codes."""
    command = typer.main.get_command(app)
    try:
        # Typer turns KeyboardInterrupt into exit code 130 itself in this mode.
        code = command.main(args=argv, prog_name="orchestra", standalone_mode=False)
    except (AutomationError, SecretsBridgeError) as exc:
        from automation.runbooks import for_error

        runbook = for_error(exc)
        print(f"error: {exc}" + (f" (runbook: {runbook})" if runbook else ""), file=sys.stderr)
        return exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        code = INTERRUPTED_EXIT_CODE
    except typer.TyperException as exc:   # usage errors: exit 2
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    if code == INTERRUPTED_EXIT_CODE:
        print("interrupted: the engine stopped cleanly; re-run to converge", file=sys.stderr)
    return code if isinstance(code, int) else 0
