"""The priority chain: every source is asked, in order; the first value wins.

    env (canonical, then aliases) › .env.<env> › .env.local › .env › CI secrets JSON
    › stack config (only with a stack) › local encrypted store › catalog defaults

Dotenv files sit right after the process environment and never override it.
Lower sources are still asked after a hit so a person can see what a value
shadows (`explain`): two different values for one key is a common surprise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Mapping

from secrets_bridge.catalog import CATALOG, KeySpec, get_spec
from secrets_bridge.masking import mask
from secrets_bridge.sources import (
    CiSecretsSource,
    DefaultSource,
    EnvSource,
    Hit,
    Source,
    StackConfigSource,
    StoreSource,
    dotenv_sources,
)


@dataclass(frozen=True)
class Resolution:
    name: str
    value: str | None = field(repr=False)
    source: str | None                      # label of the winning source, e.g. "env:GH_TOKEN"
    shadowed: tuple[str, ...]               # labels of lower sources that also had a value
    notes: tuple[str, ...]                  # sources that could not be read, e.g. a locked store
    updated_at: datetime | None = None      # when the winning source knows it (the store does)

    @property
    def masked(self) -> str:
        return mask(self.value) if self.value is not None else "(missing)"


@dataclass(frozen=True)
class Step:
    """One source's answer for one key: what `explain` prints."""

    source: str          # the source's describe()
    hit: Hit | None
    notes: tuple[str, ...]


def build_chain(env: str, *, stack: str | None = None, master_key: str | None = None,
                environ: Mapping[str, str] | None = None, root: Path | None = None) -> list[Source]:
    """The sources in priority order. `root` is the project root (default: the cwd)."""
    environ = os.environ if environ is None else environ
    root = Path.cwd() if root is None else root
    chain: list[Source] = [EnvSource(environ), *dotenv_sources(root, env), CiSecretsSource(environ)]
    if stack:
        chain.append(StackConfigSource(stack, root, environ))
    chain += [StoreSource(env, master_key=master_key), DefaultSource()]
    return chain


def trace(spec: KeySpec, chain: list[Source]) -> list[Step]:
    steps = []
    for source in chain:
        hit = source.lookup(spec)
        steps.append(Step(source.describe(), hit, tuple(source.notes)))
    return steps


def resolve(spec: KeySpec, chain: list[Source]) -> Resolution:
    hits = [step.hit for step in trace(spec, chain) if step.hit is not None]
    notes = tuple(note for source in chain for note in source.notes)
    if not hits:
        return Resolution(spec.name, None, None, (), notes)
    winner = hits[0]
    return Resolution(spec.name, winner.value, winner.label, tuple(h.label for h in hits[1:]),
                      notes, winner.updated_at)


def resolve_all(env: str, *, stack: str | None = None, names: Iterable[str] | None = None,
                master_key: str | None = None, environ: Mapping[str, str] | None = None,
                root: Path | None = None) -> dict[str, Resolution]:
    """Resolve catalog keys (all, or `names`: canonical or aliases) through one chain,
    so each source, the pulumi CLI included, is read once for all of them."""
    specs = CATALOG if names is None else [get_spec(name) for name in names]
    chain = build_chain(env, stack=stack, master_key=master_key, environ=environ, root=root)
    return {spec.name: resolve(spec, chain) for spec in specs}
