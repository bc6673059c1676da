"""Inject resolved keys into the stack's config as secrets, touching only what changed.

Values go to `pulumi config set --secret` on stdin (the Automation API's set_config
would put them on argv, readable in /proc/*/cmdline). The current config is read
once, so an unchanged key costs nothing and Pulumi.<stack>.yaml keeps its
ciphertext instead of churning on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from automation.engine_cli import engine_error_line
from automation.errors import InjectFailed
from automation.project import config_key
from automation.workspace import StackSession
from secrets_bridge.catalog import KeySpec


@dataclass(frozen=True)
class InjectResult:
    changed: tuple[str, ...]      # key names (never values) written to the stack config
    unchanged: tuple[str, ...]
    cli_calls: int                # the one config read plus one `config set` per changed key


def plan(current: Mapping[str, str], wanted: Mapping[KeySpec, str]) -> tuple[list[KeySpec], list[KeySpec]]:
    """(to set, already equal): a key is set only when its value differs."""
    to_set = [spec for spec, value in wanted.items() if current.get(config_key(spec)) != value]
    same = [spec for spec in wanted if spec not in to_set]
    return to_set, same


def inject(session: StackSession, wanted: Mapping[KeySpec, str]) -> InjectResult:
    """Set the changed secrets; the session's one config read is counted here."""
    calls = 1
    to_set, same = plan(session.config(), wanted)
    for spec in to_set:
        proc = session.cli(["config", "set", config_key(spec), "--secret"], stdin=wanted[spec])
        calls += 1
        if proc.code != 0:
            raise InjectFailed(f"setting {spec.name} ({config_key(spec)}) on stack {session.name} failed: {engine_error_line(proc.stderr)}")
        session.config_changed(config_key(spec), wanted[spec])
    return InjectResult(changed=tuple(s.name for s in to_set), unchanged=tuple(s.name for s in same), cli_calls=calls)
