"""Live verification of every key, and the connectivity report.

    verify_all / verify_all_sync   run the checks concurrently -> list[CheckResult]
    CheckResult                    one check's verdict: valid | invalid | unknown | missing | malformed
    ApiUrls                        the APIs' base URLs (ORCHESTRA_*_API_URL)
    cli.register(app)              adds `verify` to the secrets_bridge typer app
"""

from .results import CheckResult, Verdict
from .runner import verify_all, verify_all_sync
from .urls import ApiUrls

__all__ = ["ApiUrls", "CheckResult", "Verdict", "verify_all", "verify_all_sync"]
