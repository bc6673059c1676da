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
    from ..resolver import resolve_all
    from ..store import resolve_env

    environment = resolve_env(env)
    names = [spec.name for spec in CATALOG]
    resolutions = resolve_all(environment, stack=stack, names=names)
    values = {name: resolutions[name].value for name in names}
    origins = {name: SecretOrigin.of(r.value, r.source, r.shadowed, r.notes) for name, r in resolutions.items()}

    results = verify_all_sync(values, urls=ApiUrls.from_env(), timeout=timeout)
    document = build_document(results, environment=environment, origins=origins)
    written = write_results_file(output, document)
    if as_json:
        typer.echo(render_json(document))
    else:
        typer.echo(f"Environment: {environment}")
        typer.echo(render_table(results, origins))
        typer.echo(f"\nResults written to {written}")
    raise typer.Exit(exit_code(results))


def register(app: typer.Typer) -> None:
    """Add the `verify` command to the secrets_bridge app."""
    app.command("verify")(verify)
