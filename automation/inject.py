"""Inject resolved keys into the stack's config as secrets, touching only what changed.

Values go to `pulumi config set --secret` on stdin (the Automation API's set_config
would put them on argv, readable in /proc/*/cmdline). The current config is read
once, so an unchanged key costs nothing and Pulumi.<stack>.yaml keeps its
ciphertext instead of churning on every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from automation.backends import explain_provider
from automation.errors import BackendUnreachable, InjectFailed
from automation.workspace import StackSession, engine_error_line
from secrets_bridge.catalog import KeySpec

NAMESPACE = "orchestra"


@dataclass(frozen=True)
class InjectResult:
    changed: tuple[str, ...]      # key names (never values) written to the stack config
    unchanged: tuple[str, ...]
    cli_calls: int                # the one config read plus one `config set` per changed key


def config_key(spec: KeySpec) -> str:
    return f"{NAMESPACE}:{spec.config_key}"


def read_config(session: StackSession) -> dict[str, str]:
    """The stack's config, decrypted, in memory only (stdout captured, never shown)."""
    proc = session.cli(["config", "--show-secrets", "--json"])
    if proc.returncode != 0:
        # The first command that decrypts: a provider that cannot (wrong key or token) is the backend's problem (32).
        unusable = explain_provider(proc.stderr, session.secrets_provider)
        if unusable:
            raise BackendUnreachable(f"stack {session.name}: {unusable}")
        raise InjectFailed(f"reading the config of stack {session.name} failed: {engine_error_line(proc.stderr)}")
    return {key: str(entry.get("value", "")) for key, entry in json.loads(proc.stdout or "{}").items()}


def plan(current: Mapping[str, str], wanted: Mapping[KeySpec, str]) -> tuple[list[KeySpec], list[KeySpec]]:
    """(to set, already equal): a key is set only when its value differs."""
    to_set = [spec for spec, value in wanted.items() if current.get(config_key(spec)) != value]
    same = [spec for spec in wanted if spec not in to_set]
    return to_set, same


def inject(session: StackSession, wanted: Mapping[KeySpec, str], current: Mapping[str, str]) -> InjectResult:
    """Set the changed secrets; `current` is read_config's answer (the caller's one read, counted here)."""
    calls = 1
    to_set, same = plan(current, wanted)
    for spec in to_set:
        proc = session.cli(["config", "set", config_key(spec), "--secret"], stdin=wanted[spec])
        calls += 1
        if proc.returncode != 0:
            raise InjectFailed(f"setting {spec.name} ({config_key(spec)}) on stack {session.name} failed: {engine_error_line(proc.stderr)}")
    return InjectResult(changed=tuple(s.name for s in to_set), unchanged=tuple(s.name for s in same), cli_calls=calls)
