"""What a GitHub token is (from its public prefix) and whether its scopes can manage
Actions secrets (what the infra's GitHub component does)."""

from __future__ import annotations

_KINDS: tuple[tuple[str, str], ...] = (
    ("github_pat_", "fine-grained"),
    ("ghp_", "classic"),
    ("gho_", "oauth"),
    ("ghu_", "app-user"),
    ("ghs_", "app-installation"),
)

# Classic scopes needed to write repository Actions secrets and the workflows that use them.
REQUIRED_SCOPES: tuple[str, ...] = ("repo", "workflow")

FINE_GRAINED_PERMISSIONS = ("Secrets: Read and write", "Actions: Read and write", "Metadata: Read-only")


def token_kind(token: str) -> str:
    return next((kind for prefix, kind in _KINDS if token.startswith(prefix)), "unknown")


def parse_scopes(header: str | None) -> tuple[str, ...] | None:
    """X-OAuth-Scopes as a tuple; None when the header is absent (fine-grained, app tokens)."""
    if header is None:
        return None
    return tuple(s.strip() for s in header.split(",") if s.strip())


def missing_scopes(granted: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(s for s in REQUIRED_SCOPES if s not in granted)


def scope_advice(granted: tuple[str, ...], missing: tuple[str, ...]) -> str:
    """What to add, in the words of the token settings page."""
    if not missing:
        return ""
    advice = f"Add the scope(s) {', '.join(missing)} to this token at https://github.com/settings/tokens"
    if "repo" in missing and "public_repo" in granted:
        # `repo` includes `public_repo`; the narrower scope cannot reach private repositories.
        advice += " (public_repo only reaches public repositories; repo includes it)"
    return advice + "."
