"""Lambda Cloud resources for the Pulumi program: LambdaInstance, LambdaSshKey, LambdaFirewallRuleset,
LambdaFirewallRules.

Each is a pulumi.dynamic.Resource whose CRUD lives in this package's provider modules. Every resource
takes `api_key` (made secret here whatever the caller passed, and kept secret in state) and
`api_url`; the caller reads ORCHESTRA_LAMBDA_API_URL or stack config for the URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi.dynamic

from infra.lambda_cloud import DEFAULT_API_URL
from infra.lambda_cloud.reconcile import resource_key
from infra.lambda_dynamic.firewall import FirewallRuleProvider
from infra.lambda_dynamic.firewall_ruleset import FirewallRulesetProvider
from infra.lambda_dynamic.instance import InstanceProvider
from infra.lambda_dynamic.ssh_key import SshKeyProvider


def _with_secrets(opts: pulumi.ResourceOptions | None, *names: str) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=list(names)))


def _secret(value: pulumi.Input[str] | None) -> pulumi.Output[str] | None:
    return None if value is None else pulumi.Output.secret(value)


class LambdaInstance(pulumi.dynamic.Resource, module="orchestra", name="LambdaInstance"):
    """A Lambda Cloud instance, launched and polled until `active` (shape of Terraform's lambdalabs_instance).

    Changing the type, region, SSH keys (by name, or the key's id in `ssh_key_ids`), file systems,
    user_data or tags replaces the instance (the new one is launched before the old is terminated);
    changing `name` renames it in place; a new api_key is only stored. Every launch is tagged with
    `launch_token` (from the stack, the resource name and the replace-triggering inputs), so a create
    whose reply was lost, or that was interrupted, adopts its instance instead of launching another.
    If it is not active within active_timeout_seconds (or stays `unhealthy` past
    unhealthy_grace_seconds), it is terminated (unless keep_on_timeout) and the error names it.
    `fallback_regions` are tried in order when region_name has no capacity; `firewall_ruleset_ids`
    (region -> LambdaFirewallRuleset id) attaches the ruleset of the region it launches in.
    """

    api_key: pulumi.Output[str]
    api_url: pulumi.Output[str]
    instance_type_name: pulumi.Output[str]
    region_name: pulumi.Output[str]
    ssh_key_names: pulumi.Output[list[str]]
    ssh_key_ids: pulumi.Output[list[str]]
    firewall_ruleset_ids: pulumi.Output[dict[str, str]]
    name: pulumi.Output[str | None]
    file_system_names: pulumi.Output[list[str]]
    user_data: pulumi.Output[str | None]
    tags: pulumi.Output[dict[str, str]]
    fallback_regions: pulumi.Output[list[str]]
    active_timeout_seconds: pulumi.Output[float]
    poll_interval_seconds: pulumi.Output[float]
    keep_on_timeout: pulumi.Output[bool]
    unhealthy_grace_seconds: pulumi.Output[float]
    launch_token: pulumi.Output[str]
    ip: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    status: pulumi.Output[str]
    hostname: pulumi.Output[str]
    launched_region: pulumi.Output[str]  # region_name, or the fallback region it launched in

    def __init__(
        self,
        resource_name: str,
        *,
        api_key: pulumi.Input[str],
        instance_type_name: pulumi.Input[str],
        region_name: pulumi.Input[str],
        ssh_key_names: pulumi.Input[Sequence[pulumi.Input[str]]],
        api_url: pulumi.Input[str] = DEFAULT_API_URL,
        name: pulumi.Input[str] | None = None,
        file_system_names: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        user_data: pulumi.Input[str] | None = None,
        tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
        fallback_regions: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        active_timeout_seconds: pulumi.Input[float] = 900,
        poll_interval_seconds: pulumi.Input[float] = 10,
        keep_on_timeout: pulumi.Input[bool] = False,
        unhealthy_grace_seconds: pulumi.Input[float] = 60,
        ssh_key_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        firewall_ruleset_ids: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "api_key": pulumi.Output.secret(api_key), "api_url": api_url,
            "instance_type_name": instance_type_name, "region_name": region_name, "ssh_key_names": ssh_key_names,
            "name": name, "file_system_names": file_system_names or [],
            # cloud-init commonly carries the app's keys: always secret.
            "user_data": _secret(user_data), "tags": tags or {}, "fallback_regions": fallback_regions or [],
            "active_timeout_seconds": active_timeout_seconds, "poll_interval_seconds": poll_interval_seconds,
            "keep_on_timeout": keep_on_timeout, "unhealthy_grace_seconds": unhealthy_grace_seconds,
            "ssh_key_ids": ssh_key_ids or [], "firewall_ruleset_ids": firewall_ruleset_ids or {},
            "launch_key": resource_key(pulumi.get_project(), pulumi.get_stack(), resource_name), "launch_token": None,
            "ip": None, "private_ip": None, "status": None, "hostname": None, "launched_region": None,
        }
        super().__init__(InstanceProvider(), resource_name, props, _with_secrets(opts, "api_key", "user_data"))


class LambdaSshKey(pulumi.dynamic.Resource, module="orchestra", name="LambdaSshKey"):
    """An SSH key in the Lambda account. Without public_key Lambda generates the pair and
    `private_key` (secret) holds the private half; it is returned once, so keep the state safe."""

    api_key: pulumi.Output[str]
    api_url: pulumi.Output[str]
    name: pulumi.Output[str]
    public_key: pulumi.Output[str]
    private_key: pulumi.Output[str | None]
    generated: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        *,
        api_key: pulumi.Input[str],
        name: pulumi.Input[str],
        api_url: pulumi.Input[str] = DEFAULT_API_URL,
        public_key: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"api_key": pulumi.Output.secret(api_key), "api_url": api_url, "name": name,
                 "public_key": public_key, "private_key": None, "generated": None}
        super().__init__(SshKeyProvider(), resource_name, props, _with_secrets(opts, "api_key", "private_key"))


class LambdaFirewallRules(pulumi.dynamic.Resource, module="orchestra", name="LambdaFirewallRules"):
    """One inbound rule (e.g. the backend port) added to the account's firewall rules.

    The API replaces the whole list on write, so this reads it, adds its rule and keeps every other
    rule; delete removes only its own rule, and never a rule that was already there before it.
    """

    api_key: pulumi.Output[str]
    api_url: pulumi.Output[str]
    port: pulumi.Output[int]
    protocol: pulumi.Output[str]
    source_network: pulumi.Output[str]
    description: pulumi.Output[str]
    pre_existing: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        *,
        api_key: pulumi.Input[str],
        port: pulumi.Input[int] = 8000,
        api_url: pulumi.Input[str] = DEFAULT_API_URL,
        protocol: pulumi.Input[str] = "tcp",
        source_network: pulumi.Input[str] = "0.0.0.0/0",
        description: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"api_key": pulumi.Output.secret(api_key), "api_url": api_url, "port": port,
                 "protocol": protocol, "source_network": source_network, "description": description,
                 "pre_existing": None}
        super().__init__(FirewallRuleProvider(), resource_name, props, _with_secrets(opts, "api_key"))


class LambdaFirewallRuleset(pulumi.dynamic.Resource, module="orchestra", name="LambdaFirewallRuleset"):
    """Inbound rules in one region, opened only on the instances launched with the ruleset.

    `rules` are `{"port", "protocol"="tcp", "source_network"="0.0.0.0/0", "description"}`; a change of
    name or rules updates in place, a new region replaces it. Regions where firewall rules do not
    apply (us-south-1) are refused.
    """

    api_key: pulumi.Output[str]
    api_url: pulumi.Output[str]
    name: pulumi.Output[str]
    region: pulumi.Output[str]
    rules: pulumi.Output[list[dict[str, Any]]]

    def __init__(
        self,
        resource_name: str,
        *,
        api_key: pulumi.Input[str],
        name: pulumi.Input[str],
        region: pulumi.Input[str],
        rules: pulumi.Input[Sequence[pulumi.Input[Mapping[str, Any]]]],
        api_url: pulumi.Input[str] = DEFAULT_API_URL,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"api_key": pulumi.Output.secret(api_key), "api_url": api_url, "name": name, "region": region,
                 "rules": rules}
        super().__init__(FirewallRulesetProvider(), resource_name, props, _with_secrets(opts, "api_key"))
