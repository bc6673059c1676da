"""LambdaBackend: the GPU instance that runs the backend, its SSH key and its firewall rulesets.

The backend port (and SSH) is opened by a firewall ruleset per region the instance may launch in,
attached at launch, so only this instance is opened, not every instance of the account.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from infra.config import LambdaSettings
from infra.lambda_cloud import REGIONS_WITHOUT_FIREWALL
from infra.lambda_cloud.reconcile import PROJECT_TAG, STACK_TAG
from infra.lambda_dynamic import LambdaFirewallRuleset, LambdaInstance, LambdaSshKey
from infra.user_data import render_user_data


class LambdaBackend(pulumi.ComponentResource):
    instance_id: pulumi.Output[str]
    ip: pulumi.Output[str]
    backend_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        settings: LambdaSettings,
        *,
        api_key: pulumi.Output[str],
        app_env: Mapping[str, pulumi.Output[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("orchestra:infra:LambdaBackend", name, None, opts)
        unguarded = [r for r in (settings.region, *settings.fallback_regions) if r in REGIONS_WITHOUT_FIREWALL]
        if unguarded:
            pulumi.log.warn(f"Lambda Cloud firewall rules do not apply in {', '.join(unguarded)} (API spec): an "
                            f"instance launched there gets no firewall ruleset for port {settings.backend_port}. "
                            f"Remove {'it' if len(unguarded) == 1 else 'them'} from lambda_region / "
                            "lambda_fallback_regions to keep the firewall.", resource=self)
        child = pulumi.ResourceOptions(parent=self)
        # The Lambda resources make api_key and user_data secret whatever they are given.
        ssh_key = LambdaSshKey(
            f"{name}-ssh-key", api_key=api_key, api_url=settings.api_url, name=settings.ssh_key_name,
            public_key=settings.ssh_public_key, opts=child)
        guarded = [r for r in dict.fromkeys((settings.region, *settings.fallback_regions)) if r not in unguarded]
        rules = [{"port": settings.backend_port, "description": f"orchestra backend {settings.instance_name}"},
                 {"port": 22, "description": "SSH"}]
        rulesets = {region: LambdaFirewallRuleset(
            f"{name}-firewall" if region == settings.region else f"{name}-firewall-{region}", api_key=api_key,
            api_url=settings.api_url, name=f"{settings.instance_name}-{region}"[:64], region=region, rules=rules,
            opts=child) for region in guarded}
        user_data = pulumi.Output.all(**app_env).apply(
            lambda env: render_user_data(image=settings.backend_image, port=settings.backend_port, env=env))
        instance = LambdaInstance(
            f"{name}-instance", api_key=api_key, api_url=settings.api_url,
            instance_type_name=settings.instance_type,
            region_name=settings.region,
            # From the key's outputs: a new key (new id) replaces the instance instead of diverging from it.
            ssh_key_names=[ssh_key.name],
            ssh_key_ids=[ssh_key.id],
            name=settings.instance_name,
            file_system_names=list(settings.file_system_names),
            user_data=user_data,
            tags={PROJECT_TAG: "orchestra", STACK_TAG: pulumi.get_stack()},
            fallback_regions=list(settings.fallback_regions),
            active_timeout_seconds=settings.active_timeout_seconds,
            poll_interval_seconds=settings.poll_interval_seconds,
            keep_on_timeout=settings.keep_on_timeout,
            firewall_ruleset_ids={region: ruleset.id for region, ruleset in rulesets.items()},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ssh_key, *rulesets.values()]),
        )

        self.instance_id = instance.id
        self.ip = instance.ip
        self.backend_url = pulumi.Output.concat("http://", instance.ip, f":{settings.backend_port}")
        self.register_outputs({"instance_id": self.instance_id, "ip": self.ip, "backend_url": self.backend_url})
