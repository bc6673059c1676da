"""Run the Pulumi program under mocks, one isolated run per call (used by the tests here).

Each run happens in a fresh contextvars.Context with its own event loop: the
SDK keeps config, the root stack and its settings in context variables, so no
state leaks from one test into the next.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import json
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.settings import SETTINGS

from secrets_bridge.catalog import CATALOG

ROOT = Path(__file__).resolve().parents[2]
DYNAMIC = "pulumi-python:dynamic"  # then ":Resource" or "/module:Name"
# Canary values: if one shows up anywhere not marked secret, a key leaked.
CANARIES = {spec.name: f"canary-{spec.config_key}-5b1e0c7d" for spec in CATALOG}
INSTANCE_IP = "198.51.100.7"
DEPLOYMENT_DOMAINS = ("orchestra-git-main-acme.vercel.app", "orchestra-acme.vercel.app")


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]   # as the engine receives them: secrets still wrapped

    def __getitem__(self, key: str) -> Any:
        return _unwrap(self.inputs[key])

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self.inputs else default

    def is_secret(self, key: str) -> bool:
        return rpc.is_rpc_secret(self.inputs[key])

    @property
    def kind(self) -> str:
        """The dynamic resources all share one type token; tell them apart by their inputs."""
        if not self.type.startswith(DYNAMIC):
            return self.type
        if "instance_type_name" in self.inputs:
            return "LambdaInstance"
        if "rules" in self.inputs:
            return "LambdaFirewallRuleset"
        if "port" in self.inputs:
            return "LambdaFirewallRules"
        return "LambdaSshKey"


def _unwrap(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return _unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Registered] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        reg = Registered(args.typ, args.name, dict(args.inputs))
        self.resources.append(reg)
        outputs = dict(args.inputs)
        if reg.kind == "LambdaInstance":
            outputs.update(ip=INSTANCE_IP, private_ip="10.0.0.7", status="active", hostname="orchestra-host")
            return "0920582c7ff041399e34823a0be62549", outputs
        if reg.kind == "vercel:index/deployment:Deployment":
            # As Vercel answers: the production alias, a per-branch alias and the unique URL.
            outputs.update(url=f"{args.name}-a1b2c3d4-acme.vercel.app", domains=list(DEPLOYMENT_DOMAINS))
        if reg.kind == "LambdaSshKey":
            outputs["private_key"] = rpc.wrap_rpc_secret("-----BEGIN RSA PRIVATE KEY-----canary")
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@dataclass
class Run:
    resources: list[Registered]
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    error: BaseException | None = None

    def of(self, kind: str) -> list[Registered]:
        return [r for r in self.resources if r.kind == kind]

    def one(self, kind: str) -> Registered:
        found = self.of(kind)
        assert len(found) == 1, f"expected one {kind}, got {[r.name for r in found]}"
        return found[0]


def stack_config(stack: str) -> dict[str, Any]:
    """A stack file's config, keys without the namespace (local: the committed template)."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    if stack == "local":
        path = ROOT / "automation" / "sandbox" / "Pulumi.local.template.yaml"
    data = yaml.safe_load(path.read_text())["config"]
    return {k.removeprefix("orchestra:"): v for k, v in data.items()}


def full_config(**overrides: Any) -> dict[str, Any]:
    """A stack with every component enabled and valid."""
    config = {
        "backend_image": "ghcr.io/acme/backend:1.2.3",
        "github_owner": "acme",
        "github_repository": "orchestra",
        "vercel_project_name": "orchestra-web",
    }
    config.update(overrides)
    return config


async def _resolve(value: Any) -> tuple[Any, bool]:
    output = pulumi.Output.from_input(value)
    return await output.future(), await output.is_secret()


def run_program(
    config: dict[str, Any],
    *,
    secrets: dict[str, str] | None = None,
    stack: str = "production",
    program: Callable[[], Any] | None = None,
) -> Run:
    """Run `program` (default: infra/ as the language host runs it) with this stack config.

    `secrets` maps catalog names to values set as secret config (default: every
    canary); values given in `config` are plaintext, as a careless `config set` would be.
    """
    secrets = CANARIES if secrets is None else secrets
    raw = {f"orchestra:{k}": json.dumps(v) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else str(v)
           for k, v in config.items()}
    by_name = {spec.name: spec.config_key for spec in CATALOG}
    raw.update({f"orchestra:{by_name[n]}": v for n, v in secrets.items()})
    secret_keys = [f"orchestra:{by_name[n]}" for n in secrets]

    def inside() -> Run:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        mocks = RecordingMocks()
        run = Run(mocks.resources)
        try:
            # As pulumi.runtime.test does: these two live on the module-level SETTINGS.
            SETTINGS.rpc_manager.clear()
            SETTINGS.outputs.clear()
            pulumi.runtime.set_all_config(raw, secret_keys)
            pulumi.runtime.set_mocks(mocks, project="orchestra", stack=stack, preview=False)
            root = pulumi.runtime.get_root_resource()
            try:
                (program or (lambda: runpy.run_path(str(ROOT), run_name="__main__")))()
            except Exception as exc:  # noqa: BLE001 - handed to the test
                run.error = exc
                return run
            loop.run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
            for name, value in root.outputs.items():
                run.outputs[name], secret = loop.run_until_complete(_resolve(value))
                if secret:
                    run.secret_outputs.add(name)
        finally:
            # Outputs nobody awaited (a failed program, a config-only run) end here, quietly.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            SETTINGS.outputs.clear()
            loop.close()
            asyncio.set_event_loop(None)
        return run

    return contextvars.Context().run(inside)


def plaintext_leaks(run: Run, needles: list[str]) -> list[str]:
    """Where a needle appears outside a secret: inputs, the pickled dynamic provider, outputs."""
    found = []

    def walk(where: str, value: Any) -> None:
        if where.endswith(".__provider"):
            # Pickled into state (secret or not): a captured key would sit in every checkpoint.
            pickled = base64.b64decode(_unwrap(value)).decode("latin-1")
            found.extend(f"{where} holds {n}" for n in needles if n in pickled)
            return
        if rpc.is_rpc_secret(value):
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{where}.{k}", v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(f"{where}[{i}]", v)
        elif isinstance(value, str):
            found.extend(f"{where} holds {n}" for n in needles if n in value)

    for reg in run.resources:
        walk(f"{reg.name}", reg.inputs)
    for name, value in run.outputs.items():
        if name not in run.secret_outputs:
            walk(f"output {name}", value)
    return found
