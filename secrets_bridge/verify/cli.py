"""`python -m secrets_bridge verify`: resolve every key through the priority chain,
check them all live, print the report and write the results file.

Exit codes: 0 every check valid; 20 a key invalid, missing or malformed;
21 the only problems are unknown verdicts. Errors of the chain (no master key,
a corrupt store) propagate as SecretsBridgeError for the main CLI to map.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..catalog import CATALOG
from .report import RESULTS_FILE, SecretOrigin, build_document, exit_code, render_json, render_table, write_results_file
from .runner import verify_all_sync
from .urls import ApiUrls


def verify(
    env: Annotated[str | None, typer.Option(help="Environment (default: ORCHESTRA_ENV, else production).")] = None,
    stack: Annotated[str | None, typer.Option(help="Pulumi stack whose config joins the chain.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
    output: Annotated[Path, typer.Option(help="Where to write the results file (mode 0600).")] = Path(RESULTS_FILE),
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds each check may take.")] = 10.0,
) -> None:
    """Check every API key live, concurrently; report, and write the results file."""
    import sys

    from ..errors import StoreUnreadable
    from ..manager import SecretManager

    # Before any check runs: a results file that cannot be written must not cost the checks.
    if not output.parent.is_dir():
        raise StoreUnreadable(f"cannot write the results to {output}: {output.parent} is not a directory; "
                              "create it or pass another --output")
    keys = SecretManager(env, stack=stack, interactive=sys.stdin is not None and sys.stdin.isatty())
    environment = keys.env
    names = [spec.name for spec in CATALOG]
    resolutions = keys.resolve(names)
    values = {name: resolutions[name].value for name in names}
    origins = {name: SecretOrigin.of(r.value, r.source, r.shadowed, r.notes) for name, r in resolutions.items()}

    results = verify_all_sync(values, urls=ApiUrls.from_env(), timeout=timeout)
    document = build_document(results, environment=environment, origins=origins)
    # Separate keys per environment: one revoked key must not take two environments down.
    document["shared_across_envs"] = shared = keys.shared_across_envs()
    if as_json:
        typer.echo(render_json(document))
    else:
        typer.echo(f"Environment: {environment}")
        typer.echo(render_table(results, origins))
        for name, envs in shared.items():
            typer.echo(f"warning: {name} holds the same value in {', '.join(envs)}; use a separate key per environment")
    try:
        written = write_results_file(output, document)
    except OSError as exc:
        # The report is on the screen already; say why the file is not, in one line.
        raise StoreUnreadable(f"cannot write the results to {output}: {exc.strerror}") from exc
    if not as_json:
        typer.echo(f"\nResults written to {written}")
    raise typer.Exit(exit_code(results))


def register(app: typer.Typer) -> None:
    """Add the `verify` command to the secrets_bridge app."""
    app.command("verify")(verify)
