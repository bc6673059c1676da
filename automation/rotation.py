"""`rotate KEY STACK`: replace a key as a pipeline that either completes or puts the old key back.

    read the new value (stdin, or a hidden prompt on a terminal)
    ─► format check ─► live check (nothing is changed if the provider rejects it)
    ─► store: KEY = new, KEY_PREVIOUS = old (one write; both keep their dates)
    ─► up (preflight, inject, deploy, health) ─► "the old key can now be revoked at <URL>"
    on any failure after the store write: KEY = old again, `up` again, RotationFailed (exit 47)

The previous version lives in the store under a derived name (`<KEY>_PREVIOUS`) through
the store's public API: the store format is unchanged and `secrets_bridge` lists it like
any other entry. A key also set in the environment would shadow the store for the deploy,
so rotation refuses it rather than deploying a value it did not rotate.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from automation.errors import AutomationError, ConfigInvalid, RotationFailed
from secrets_bridge.errors import SecretsBridgeError
from secrets_bridge.masking import mask

PREVIOUS_SUFFIX = "_PREVIOUS"


@dataclass(frozen=True)
class RotationResult:
    key: str
    stack: str
    old: str                 # masked
    new: str                 # masked
    previous_kept_as: str
    deployed: str            # the `up` summary
    healthy: bool
    revoke_at: str           # where the person revokes the old key


def previous_name(name: str) -> str:
    return f"{name}{PREVIOUS_SUFFIX}"


def read_new_value(name: str, stdin: TextIO = sys.stdin) -> str:
    """The value from stdin (a pipe), or a hidden prompt on a terminal: never argv."""
    if stdin.isatty():
        return getpass.getpass(f"New value for {name} (hidden): ").strip()
    return stdin.read().strip()


def _spec(opts: Any, name: str) -> Any:
    from automation.project import required_specs
    from secrets_bridge.catalog import CATALOG

    specs = {s.name: s for s in CATALOG if s.secret}
    if name not in specs:
        raise ConfigInvalid(f"{name} is not a key the platform deploys: rotate one of {', '.join(specs)}, "
                            f"or change a store-only key with `python -m secrets_bridge set {name}`")
    if name not in {s.name for s in required_specs(opts.root, opts.stack)}:
        raise ConfigInvalid(f"stack {opts.stack} does not use {name} (its component is turned off): nothing to rotate")
    shadowing = [n for n in specs[name].env_names if os.environ.get(n)]
    if shadowing:
        raise ConfigInvalid(f"{shadowing[0]} is set in the environment and would win over the rotated store value: "
                            f"unset it, or rotate it where it is set (CI secrets)")
    return specs[name]


def _verify(opts: Any, name: str, value: str) -> None:
    """Format, then live (unless skipped, or the sandbox does not emulate this API)."""
    from secrets_bridge.formats import check_format

    verdict = check_format(name, value)
    if verdict.status == "error":
        raise RotationFailed(f"the new {name} is malformed ({verdict.message}): nothing changed")
    if opts.skip_verify or (opts.live_names is not None and name not in opts.live_names):
        return
    from secrets_bridge.verify import verify_all_sync

    (check,) = verify_all_sync({name: value})
    if check.verdict != "valid":
        raise RotationFailed(f"the new {name} was not accepted live ({check.verdict}: {check.detail or 'no detail'}): "
                             f"nothing changed, the old key stays in place")


def rotate(opts: Any, name: str, *, read: Callable[[str], str] = read_new_value) -> RotationResult:
    from automation import pipeline
    from secrets_bridge.store import SecretStore

    spec = _spec(opts, name)
    store = SecretStore.open(opts.env)
    old = store.get(name)
    if old is None:
        raise ConfigInvalid(f"{name} is not in the {opts.env} store yet: set it with `python -m secrets_bridge set {name}`")
    new = read(name)
    if not new:
        raise ConfigInvalid(f"no new value for {name} on stdin: pipe it in, or run on a terminal for a hidden prompt")
    if new == old:
        raise ConfigInvalid(f"the new {name} is the current one: create a new key at {spec.url} first")
    _verify(opts, name, new)
    earlier = store.get(previous_name(name))
    store.set_many({name: new, previous_name(name): old})

    def say(text: str) -> None:
        print(text, file=opts.out, flush=True)

    say(f"rotate: {name} is now {mask(new)} in the {opts.env} store; {mask(old)} kept as {previous_name(name)}")
    deploy_opts = dataclasses.replace(opts, yes=True)
    try:
        result = pipeline.up(deploy_opts)
    except (AutomationError, SecretsBridgeError, KeyboardInterrupt) as exc:
        reason = str(exc) or type(exc).__name__
        say(f"rotate: the deploy with the new {name} failed ({reason}); putting the old key back and redeploying")
        _put_back(store, name, old, earlier)
        try:
            pipeline.up(deploy_opts)
        except (AutomationError, SecretsBridgeError) as again:
            raise RotationFailed(f"rotation of {name} on stack {opts.stack} failed ({reason}) and the redeploy with the "
                                 f"old key failed too ({again}): the old key is back in the store") from None
        raise RotationFailed(f"rotation of {name} on stack {opts.stack} failed ({reason}): the old key was put back "
                             f"and the stack redeployed healthy; do not revoke it") from None
    say(f"rotate: stack {opts.stack} deployed and healthy with the new {name}; "
        f"the old key ({mask(old)}) can now be revoked at {spec.url}")
    applied = result.applied.summary if result.applied else "no changes"
    return RotationResult(key=name, stack=opts.stack, old=mask(old), new=mask(new), previous_kept_as=previous_name(name),
                          deployed=applied, healthy=bool(result.health and result.health.healthy), revoke_at=spec.url)


def _put_back(store: Any, name: str, old: str, earlier: str | None) -> None:
    store.set(name, old)
    if earlier is None:
        store.delete(previous_name(name))
    else:
        store.set(previous_name(name), earlier)
