"""Stack locks: who holds one, and how a person clears it."""

from __future__ import annotations

from pathlib import Path

from pulumi.automation import CommandError

from automation.engine_cli import lock_holder


def lock_dir(backend: str) -> Path | None:
    """Where a file backend keeps its lock files (None for other backends)."""
    if not backend.startswith("file://"):
        return None
    return Path(backend.removeprefix("file://")) / ".pulumi" / "locks"


def lock_message(err: CommandError | str, stack: str, backend: str) -> str:
    holder = lock_holder(err)
    locks = lock_dir(backend)
    if locks is not None:
        fix = f"wait for it, or if that process is gone delete its lock file under {locks}"
    else:
        fix = f"wait for it, or if that process is gone run `pulumi cancel --stack {stack}`"
    return f"stack {stack} is locked by {holder}: {fix}"
