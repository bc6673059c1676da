"""Which catalog keys a stack needs, and why: the one rule that the program (infra/config.py) and the
driver's preflight and injection (automation/project.py) both apply, so the driver injects exactly
what the program will ask for. No Pulumi import: the driver calls it with the stack file's values.
"""

from __future__ import annotations

from collections.abc import Iterable

from secrets_bridge.catalog import CATALOG

# The keys the backend on the Lambda instance receives (the catalog's "app" component).
APP_KEYS = tuple(spec.name for spec in CATALOG if "app" in spec.components)


def needed_keys(*, lambda_: bool, github_names: Iterable[str] | None, vercel_names: Iterable[str] | None) -> dict[str, str]:
    """Catalog name -> why the stack needs it. `github_names`/`vercel_names` are the catalog keys that
    component publishes (github_ci_secret_names, vercel_env_secret_names), None when it is turned off."""
    needed: dict[str, str] = {}
    if lambda_:
        needed["LAMBDA_API_KEY"] = "enable_lambda is true"
        needed.update({name: "enable_lambda is true (the backend uses it)" for name in APP_KEYS})
    if github_names is not None:
        needed["GITHUB_TOKEN"] = "enable_github is true"
        needed.update({n: "github_ci_secret_names lists it" for n in github_names if n not in needed})
    if vercel_names is not None:
        needed["VERCEL_TOKEN"] = "enable_vercel is true"
        needed.update({n: "vercel_env_secret_names lists it" for n in vercel_names if n not in needed})
    return needed
