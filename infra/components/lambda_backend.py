"""LambdaBackend: the GPU instance that runs the backend, its SSH key and firewall rule."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from infra.config import LambdaSettings
from infra.lambda_dynamic import LambdaFirewallRules, LambdaInstance, LambdaSshKey
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
        child = pulumi.ResourceOptions(parent=self)
        # The Lambda resources make api_key and user_data secret whatever they are given.
        ssh_key = LambdaSshKey(
            f"{name}-ssh-key", api_key=api_key, api_url=settings.api_url, name=settings.ssh_key_name,
            public_key=settings.ssh_public_key, opts=child)
        firewall = LambdaFirewallRules(
            f"{name}-firewall", api_key=api_key, api_url=settings.api_url, port=settings.backend_port,
            description=f"orchestra backend {settings.instance_name}", opts=child)
        user_data = pulumi.Output.all(**app_env).apply(
            lambda env: render_user_data(image=settings.backend_image, port=settings.backend_port, env=env))
        instance = LambdaInstance(
            f"{name}-instance", api_key=api_key, api_url=settings.api_url,
            instance_type_name=settings.instance_type,
            region_name=settings.region,
            ssh_key_names=[settings.ssh_key_name],
            name=settings.instance_name,
            file_system_names=list(settings.file_system_names),
            user_data=user_data,
            tags={"project": "orchestra", "stack": pulumi.get_stack()},
            fallback_regions=list(settings.fallback_regions),
            active_timeout_seconds=settings.active_timeout_seconds,
            # The key must exist to launch, and the port be open before the health check.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ssh_key, firewall]),
        )

        self.instance_id = instance.id
        self.ip = instance.ip
        self.backend_url = pulumi.Output.concat("http://", instance.ip, f":{settings.backend_port}")
        self.register_outputs({"instance_id": self.instance_id, "ip": self.ip, "backend_url": self.backend_url})
