"""Provider hygiene: what Pulumi pickles into state holds no key, and the resources mark secrets."""

from __future__ import annotations

import asyncio
import base64
import contextvars
import logging

import dill
import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc

from infra.lambda_dynamic import (
    FirewallRuleProvider,
    FirewallRulesetProvider,
    InstanceProvider,
    LambdaFirewallRules,
    LambdaInstance,
    LambdaSshKey,
    SshKeyProvider,
)
from tests.support.lambda_keys import CANARY, PUBLIC_KEY


def test_used_providers_pickle_without_the_key(emulator, client, caplog):
    caplog.set_level(logging.DEBUG)
    client.add_ssh_key("orchestra", PUBLIC_KEY)
    api = {"api_key": CANARY, "api_url": emulator.base_url}
    providers = [InstanceProvider(), SshKeyProvider(), FirewallRuleProvider()]
    instance, ssh, firewall = providers
    instance.create(instance.check({}, {**api, "instance_type_name": "gpu_1x_a10", "region_name": "us-east-1",
                                        "ssh_key_names": ["orchestra"], "poll_interval_seconds": 0.05}).inputs)
    ssh.create(ssh.check({}, {**api, "name": "generated"}).inputs)
    firewall.create(firewall.check({}, {**api, "port": 8000}).inputs)
    for provider in providers:
        raw = base64.b64decode(serialize_provider(provider))  # exactly what Pulumi stores
        assert CANARY.encode() not in raw
        assert b"httpx" not in raw and b"_thread" not in raw and b"lock" not in raw.lower()
        assert type(dill.loads(raw)) is type(provider)
    assert CANARY not in caplog.text


class _Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.inputs: dict[str, dict] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.inputs[args.name] = dict(args.inputs)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def _run_program(mocks: _Recorder, program) -> dict:
    """One isolated mock run (the SDK keeps its settings in context variables); awaits what it returns."""
    def run() -> dict:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            pulumi.runtime.set_mocks(mocks, project="orchestra", stack="test", preview=False)
            pending = program()
            loop.run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
            values = loop.run_until_complete(asyncio.gather(*pending.values()))
            return dict(zip(pending, values, strict=True))
        finally:
            loop.close()
            asyncio.set_event_loop(None)
    return contextvars.Context().run(run)


def test_resources_send_the_key_as_a_secret_and_never_inside_the_provider():
    mocks = _Recorder()

    def program() -> dict:
        key = pulumi.Output.from_input(CANARY)  # even a plain value is made secret by the resource
        instance = LambdaInstance("backend", api_key=key, api_url="http://127.0.0.1:1",
                                  instance_type_name="gpu_1x_a10", region_name="us-east-1",
                                  ssh_key_names=["orchestra"], name="backend", user_data="#cloud-config\n",
                                  tags={"project": "orchestra"})
        LambdaSshKey("key", api_key=key, api_url="http://127.0.0.1:1", name="orchestra")
        LambdaFirewallRules("port", api_key=key, api_url="http://127.0.0.1:1", port=8000)
        return {attr: asyncio.ensure_future(getattr(instance, attr).is_secret())
                for attr in ("api_key", "user_data", "ip")}

    secret = _run_program(mocks, program)
    assert secret == {"api_key": True, "user_data": True, "ip": False}
    assert set(mocks.inputs) == {"backend", "key", "port"}
    for name, inputs in mocks.inputs.items():
        provider = inputs["__provider"]
        if rpc.is_rpc_secret(provider):
            provider = rpc.unwrap_rpc_secret(provider)
        assert CANARY.encode() not in base64.b64decode(provider), name
        assert rpc.is_rpc_secret(inputs["api_key"]), name
    assert rpc.is_rpc_secret(mocks.inputs["backend"]["user_data"])


@pytest.mark.parametrize("cls", [InstanceProvider, SshKeyProvider, FirewallRuleProvider, FirewallRulesetProvider])
def test_providers_hold_no_state(cls):
    assert vars(cls()) == {}
