"""The priority chain: every source is asked, in order; the first value wins.

Two policies order the same sources (one loop resolves both):

    INSPECT (get, explain, run):
        env (canonical, then aliases) › .env.<env> › .env.local › .env › CI secrets JSON
        › stack config (only with a stack) › local encrypted store › catalog defaults
    DEPLOY (`values_to_deploy`, the driver's preflight):
        env › dotenv › CI secrets JSON › local encrypted store › catalog defaults
        › the stack config the driver already read (only fills gaps)

The driver writes keys into the stack config, so for a deploy that copy is the
last resort: a rotated store key is never shadowed by its old stack copy.
Dotenv files sit right after the process environment and never override it.
Lower sources are still asked after a hit so a person can see what a value
shadows (`explain`): two different values for one key is a common surprise.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from secrets_bridge.catalog import CATALOG, KeySpec, spec_for
from secrets_bridge.masking import mask
from secrets_bridge.project import declared_keys, project_root
from secrets_bridge.sources import (
    CiSecretsSource,
    DefaultSource,
    EnvSource,
    Hit,
    MappingSource,
    Source,
    StackConfigSource,
    StoreSource,
    dotenv_sources,
)


@dataclass(frozen=True)
class Policy:
    """Which kinds of source are asked, highest priority first."""

    name: str
    order: tuple[str, ...]   # of: env, dotenv, ci-secrets, stack-config, store, defaults


INSPECT = Policy("inspect", ("env", "dotenv", "ci-secrets", "stack-config", "store", "defaults"))
DEPLOY = Policy("deploy", ("env", "dotenv", "ci-secrets", "store", "defaults", "stack-config"))


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
                environ: Mapping[str, str] | None = None, root: Path | None = None,
                policy: Policy = INSPECT, stack_config: Mapping[str, str] | None = None,
                strict_store: bool = False, interactive: bool = False,
                store_source: StoreSource | None = None) -> list[Source]:
    """The sources in `policy` order. `root` is the project root (default: found upwards from
    the cwd, see project.project_root). Stack config comes from `stack_config` when given
    (already read), else from the pulumi CLI when a `stack` is named, else it is left out.
    `strict_store` and `interactive`: see StoreSource; `store_source` reuses one already open."""
    environ = os.environ if environ is None else environ
    root = project_root() if root is None else root
    chain: list[Source] = []
    for kind in policy.order:
        if kind == "env":
            chain.append(EnvSource(environ))
        elif kind == "dotenv":
            chain += dotenv_sources(root, env)
        elif kind == "ci-secrets":
            chain.append(CiSecretsSource(environ))
        elif kind == "stack-config" and stack_config is not None:
            chain.append(MappingSource(stack_config, "stack-config", "stack config read by the driver"))
        elif kind == "stack-config" and stack:
            chain.append(StackConfigSource(stack, root, environ))
        elif kind == "store":
            chain.append(store_source or StoreSource(env, master_key=master_key, strict=strict_store,
                                                     interactive=interactive))
        elif kind == "defaults":
            chain.append(DefaultSource())
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
                root: Path | None = None, strict_store: bool = False) -> dict[str, Resolution]:
    """Resolve keys (the catalog's, or `names`: catalog names, aliases or any env-var name)
    through one chain, so each source, the pulumi CLI included, is read once for all of them."""
    chain = build_chain(env, stack=stack, master_key=master_key, environ=environ, root=root,
                        strict_store=strict_store)
    return resolve_specs(specs_for(names, root), chain)


def values_to_deploy(env: str, names: Iterable[str], *, stack_config: Mapping[str, str],
                     environ: Mapping[str, str] | None = None, root: Path | None = None,
                     master_key: str | None = None) -> dict[str, Resolution]:
    """What a deploy injects, by the DEPLOY policy: env › dotenv › CI secrets › store
    › defaults; `stack_config` (catalog name -> value, source "stack-config") only fills gaps."""
    chain = build_chain(env, master_key=master_key, environ=environ, root=root,
                        policy=DEPLOY, stack_config=stack_config)
    return resolve_specs(specs_for(names, root), chain)


def specs_for(names: Iterable[str] | None, root: Path | None = None) -> list[KeySpec]:
    """The specs of `names` (None: the catalog); ValueError for a name that is no env-var name."""
    if names is None:
        return list(CATALOG)
    declared = declared_keys(root)
    return [spec_for(name, declared) for name in names]


def resolve_specs(specs: Iterable[KeySpec], chain: list[Source]) -> dict[str, Resolution]:
    return {spec.name: resolve(spec, chain) for spec in specs}
